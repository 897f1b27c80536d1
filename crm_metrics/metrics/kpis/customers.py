"""Customer KPIs — the customer base (kpis.md, "Customers").

For a period [start, end] (the window, or each calendar period clipped to it):
S = customers with joined_on < start and (left_on empty or left_on ≥ start), on the books when the
period began. The dimensions are the customer's: channel = acquisition_channel (empty →
"(unknown)"), segment, region, advisor = the assigned advisor_id (empty → "(unknown)").

Computed with cumulative counts so that every period of the window costs the same: per customer,
a +1 "joined" event on joined_on, a +1 "gone" event on max(joined_on, left_on) when left_on is set,
and a "churned" event on left_on when joined_on is before the start of the period containing
left_on. Then base(end) = joined up to end − gone up to end, S = base(start − 1 day),
new = joined within the period, churned within it, retained = S − churned.
"""
from __future__ import annotations

from collections.abc import Callable

from crm_metrics.metrics.kpis.model import Kpi, Query
from crm_metrics.metrics.kpis.sql import cols, cumulative, dim_exprs, filters, ratio
from crm_metrics.metrics.kpis.units import customer_units, flag

TABLES = ("customers",)
DIMS = ("channel", "segment", "period", "advisor", "region")


def _build(value: str | Callable[[Query], str], n: str, revenue: bool = False) -> Callable[[Query], str]:
    def build(q: Query) -> str:
        g = [d for d in q.by if d != "period"]
        pkey_left = q.period_expr("left_on") if q.has_period else f"CAST({q.p_start} AS DATE)"
        c = (f"c AS (SELECT {cols(dim_exprs(q, 'customers', g), 'customer_id', 'joined_on', 'left_on')}\n"
             f"  FROM customers WHERE joined_on IS NOT NULL{filters(q, 'customers')})")
        zero_rev = ", 0 AS rev" if revenue else ""
        events = [
            f"SELECT {cols(g, 'joined_on AS ev_day', '1 AS joined', '0 AS gone', '0 AS churned')}{zero_rev} FROM c",
            f"SELECT {cols(g, 'GREATEST(joined_on, left_on) AS ev_day', '0 AS joined', '1 AS gone', '0 AS churned')}"
            f"{zero_rev} FROM c WHERE left_on IS NOT NULL",
            f"SELECT {cols(g, 'left_on AS ev_day', '0 AS joined', '0 AS gone')}, "
            f"CASE WHEN joined_on < GREATEST({pkey_left}, CAST({q.p_start} AS DATE)) THEN 1 ELSE 0 END AS churned"
            f"{zero_rev} FROM c WHERE left_on IS NOT NULL",
        ]
        if revenue:
            # revenue in the period from the customers counted: known customers matching the filters,
            # attributed to their own segment / acquisition channel / region / advisor (on f_transactions)
            src = "f_transactions_by_customer"
            zeros = "0 AS joined, 0 AS gone, 0 AS churned"
            events.append(
                f"SELECT {cols(dim_exprs(q, src, g), 'day AS ev_day', zeros, 'amount AS rev')} FROM f_transactions"
                f" WHERE known AND day BETWEEN {q.p_start} AND {q.p_end}{filters(q, src)}")
        flows = ["joined", "gone", "churned"] + (["rev"] if revenue else [])
        ctes = cumulative(q, "\n  UNION ALL ".join(events), g, flows, ["joined", "gone"], pre=(c,))
        k = (f"k AS (SELECT {cols(g, 'period', 'days')}, joined_in AS new_customers,\n"
             f"  joined_cum - gone_cum AS base, joined_cum - gone_cum - joined_in + gone_in AS s_begin,\n"
             f"  churned_in AS churned{', rev_in AS revenue' if revenue else ''} FROM cum)")
        v = value(q) if callable(value) else value
        sql = f"{ctes},\n{k}\nSELECT {cols(list(q.by), f'{v} AS value', f'{n} AS n')}\nFROM k"
        if q.by:
            sql += f"\nORDER BY {cols(list(q.by))}"
        return sql

    return build


RETENTION = "CAST(s_begin - churned AS DOUBLE) / NULLIF(s_begin, 0)"


def _clv(q: Query) -> str:
    m = f"(CAST(revenue AS DOUBLE) / NULLIF(base, 0) * 365.0 / NULLIF(days, 0) * {q.setting('margin')})"
    r = f"POWER({RETENTION}, 365.0 / NULLIF(days, 0))"
    return f"{m} * {r} / NULLIF(1 + {q.setting('discount_rate')} - {r}, 0)"


def _not_gone(day: str) -> str:
    """Not gone by ``day``: the "gone" event falls on max(joined_on, left_on) (see the module doc)."""
    return f"(left_on IS NULL OR GREATEST(joined_on, left_on) > {day})"


def _in_s(q: Query) -> str:
    """Member of S: joined before the start and not gone before it."""
    return f"joined_on < {q.p_start} AND (left_on IS NULL OR GREATEST(joined_on, left_on) >= {q.p_start})"


def _stayed(q: Query) -> str:
    """A member of S still a customer at the end (left_on ≥ start for members of S)."""
    return f"(left_on IS NULL OR left_on > {q.p_end})"


_S = ("S = customers with joined_on < start and (left_on empty or left_on ≥ start), on the books when the "
      "period began.")

KPIS = [
    Kpi(
        id="customer_base", label="Customers",
        description="Customers on the books at the end of the period: joined on or before it and not left "
                    "by then. Channel = acquisition channel.",
        formula="customers with joined_on ≤ end and (left_on empty or left_on > end)",
        unit="count", better="higher", kind="stock", family="customers", tables=TABLES, dimensions=DIMS,
        n_label="customers at the end of the window",
        query=_build("CAST(base AS DOUBLE)", "base"),
        unit_of_count="customer",
        units=customer_units(lambda q: f"joined_on <= {q.p_end} AND {_not_gone(q.p_end)}", "1"),
    ),
    Kpi(
        id="new_customers", label="New customers",
        description="Customers who joined during the period. Channel = acquisition channel.",
        formula="customers with start ≤ joined_on ≤ end",
        unit="count", better="higher", kind="sum", family="customers", tables=TABLES, dimensions=DIMS,
        n_label="customers who joined in the window",
        query=_build("CAST(new_customers AS DOUBLE)", "new_customers"),
        unit_of_count="customer",
        units=customer_units(lambda q: f"joined_on BETWEEN {q.p_start} AND {q.p_end}", "1"),
    ),
    Kpi(
        id="retention_rate", label="Retention",
        description="Share of the customers on the books when the period began who are still customers at its "
                    "end. " + _S,
        formula="100 × members of S with left_on empty or left_on > end ÷ |S|",
        unit="%", better="higher", kind="survival", family="customers", tables=TABLES, dimensions=DIMS,
        n_label="customers at the start of the window",
        query=_build(ratio("s_begin - churned", "s_begin", "100.0"), "s_begin"),
        unit_of_count="customer",
        units=customer_units(_in_s, lambda q: flag(_stayed(q))),
    ),
    Kpi(
        id="churn_rate", label="Churn",
        description="Share of the customers on the books when the period began who left by its end. " + _S,
        formula="100 × members of S with left_on ≤ end ÷ |S|",
        unit="%", better="lower", kind="survival", family="customers", tables=TABLES, dimensions=DIMS,
        n_label="customers at the start of the window",
        query=_build(ratio("churned", "s_begin", "100.0"), "s_begin"),
        unit_of_count="customer",
        units=customer_units(_in_s, lambda q: flag(f"NOT {_stayed(q)}")),
    ),
    Kpi(
        id="clv", label="Customer lifetime value",
        description="Constant-margin, constant-retention lifetime value (Gupta & Lehmann) from the period's "
                    "annualised revenue per customer and annualised retention. Revenue counts every transaction "
                    "in the period of the known customers matching the filters (segment, acquisition channel, "
                    "region, advisor), including refunds. Null when the base or S is empty.",
        formula="m × r ÷ (1 + d − r), where D = days in the period, r = (retention_rate ÷ 100)^(365 ÷ D), "
                "m = revenue in the period from the customers counted (the same segment / acquisition channel) "
                "÷ customer_base × 365 ÷ D × `margin`, d = `discount_rate`",
        unit="currency", better="higher", kind="distinct", family="customers", tables=("customers", "transactions"),
        dimensions=DIMS, n_label="customers at the end of the window", settings=("margin", "discount_rate"),
        query=_build(_clv, "base", revenue=True),
        unit_of_count="customer",
    ),
]
