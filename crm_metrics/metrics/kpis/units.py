"""Builders of the ``units`` queries: the records behind a KPI (explain.md, "The records behind a number").

Each builder returns a function ``Query -> SQL`` listing one row per unit that the KPI's ``n``
counts, in the request's window and filters (``q.by`` is ignored), with the columns documented on
:class:`crm_metrics.metrics.kpis.model.Kpi`: the unit's id, ``customer_id``, the dimensions, the day
or time, the deciding columns, and ``value`` (the unit's contribution: the KPI is the mean of
``value``, or its sum for additive KPIs). The window and filters are the ones the KPI's own query
applies (:func:`crm_metrics.metrics.kpis.sql.window` / ``filters``), so the count equals ``n``.
The SQL has no ORDER BY: counting ten million contacts must not sort them; the records view orders
its page by the unit's id (a top-N, not a sort).
"""
from __future__ import annotations

from collections.abc import Callable

from crm_metrics.metrics.kpis.model import Query
from crm_metrics.metrics.kpis.sql import DIM_SQL, Expr, cols, filters, window

# The id column and time column of each fact table.
_IDS = {"f_interactions": ("interaction_id", "occurred_at"), "f_transactions": ("transaction_id", "occurred_on"),
        "f_surveys": ("response_id", "day")}


def _ev(expr: Expr, q: Query) -> str:
    return expr(q) if callable(expr) else expr


def flag(cond: str) -> str:
    """A unit's contribution to a percentage: 100 when ``cond`` holds, else 0."""
    return f"CASE WHEN {cond} THEN 100.0 ELSE 0.0 END"


def fact_units(source: str, deciding: dict[str, Expr], value: Expr, where: Expr = "") -> Callable[[Query], str]:
    """One row per row of a fact table in the window and filters that satisfies ``where``."""
    unit_id, time_col = _IDS[source]

    def build(q: Query) -> str:
        dims = [f"{DIM_SQL[source][d]} AS {d}" for d in ("channel", "segment", "region")]
        if source == "f_interactions":
            dims.append("advisor_id")
        extra = _ev(where, q)
        sql = (f"SELECT {cols(unit_id, 'customer_id', dims, time_col, [f'{_ev(e, q)} AS {n}' for n, e in deciding.items()])}, "
               f"CAST({_ev(value, q)} AS DOUBLE) AS value\n"
               f"FROM {source}\nWHERE {window(q, source)}{filters(q, source)}{' AND ' + extra if extra else ''}")
        return sql

    return build


def per_customer_units(source: str, aggregates: dict[str, str], value: str) -> Callable[[Query], str]:
    """One row per customer with a row of ``source`` in the window and filters (``aggregates`` are
    per-customer aggregates, named; ``value`` an expression over those names). Segment and region
    are the customer's own (one each); the channel is not a column (a customer uses several)."""

    def build(q: Query) -> str:
        inner = (f"SELECT {cols('customer_id', 'MIN(segment) AS segment', 'MIN(region) AS region', [f'{e} AS {n}' for n, e in aggregates.items()])}\n"
                 f"  FROM {source} WHERE {window(q, source)}{filters(q, source)} GROUP BY customer_id")
        return (f"SELECT {cols('customer_id', 'segment', 'region', list(aggregates))}, CAST({value} AS DOUBLE) AS value\n"
                f"FROM ({inner}) c")

    return build


def customer_units(cond: Expr, value: Expr) -> Callable[[Query], str]:
    """One row per customer of the customers table (with the filters on their own acquisition channel
    and segment) satisfying ``cond``, a condition on joined_on / left_on and the window."""

    def build(q: Query) -> str:
        d = DIM_SQL["customers"]
        return (f"SELECT {cols('customer_id', [f'{d[x]} AS {x}' for x in ('channel', 'segment', 'region')], 'joined_on', 'left_on')}, "
                f"CAST({_ev(value, q)} AS DOUBLE) AS value\n"
                f"FROM customers WHERE joined_on IS NOT NULL{filters(q, 'customers')} AND {_ev(cond, q)}")

    return build
