"""Query builders shared by the KPI declarations.

Every builder returns a function ``Query -> SQL``. The SQL is plain, portable SQL (it transpiles
to Spark with ``sqlglot.transpile(sql, read="duckdb", write="spark")``): CASE instead of FILTER,
NULLIF-guarded divisions, explicit CASTs, window functions only where a sequence is needed.
The result has one column per requested dimension (in the requested order), ``value`` and ``n``.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Callable

from crm_metrics.data.schema import UNKNOWN
from crm_metrics.metrics.kpis.model import Query, next_period, trunc_date

U = f"'{UNKNOWN}'"

# Dimension expressions per source (allow-list: the only identifiers formatted into SQL).
DIM_SQL: dict[str, dict[str, str]] = {
    "f_interactions": {
        "channel": "channel", "segment": "segment", "region": "region",
        "advisor": f"COALESCE(advisor_id, {U})",
    },
    "f_transactions": {"channel": "channel", "segment": "segment", "region": "region"},
    # transactions attributed to the customer's own dimensions (revenue in customer KPIs)
    "f_transactions_by_customer": {
        "channel": "acquisition_channel", "segment": "segment", "region": "region", "advisor": "customer_advisor",
    },
    "f_surveys": {"channel": "channel", "segment": "segment", "region": "region"},
    # customer KPIs: the channel is the customer's acquisition channel.
    "customers": {
        "channel": f"COALESCE(NULLIF(TRIM(acquisition_channel), ''), {U})",
        "segment": f"COALESCE(segment, {U})",
        "region": f"COALESCE(region, {U})",
        "advisor": f"COALESCE(NULLIF(TRIM(advisor_id), ''), {U})",
    },
}
DAY_SQL = {"f_interactions": "day", "f_transactions": "day", "f_transactions_by_customer": "day", "f_surveys": "day"}

ExprFn = Callable[[Query], str]
Expr = str | ExprFn  # SQL text, or a function of the request (to bind settings)


def _ev(expr: Expr, q: Query) -> str:
    return expr(q) if callable(expr) else expr


def cols(*parts) -> str:
    """Comma-join non-empty column lists/strings."""
    out: list[str] = []
    for p in parts:
        if not p:
            continue
        out.extend(p if isinstance(p, (list, tuple)) else [p])
    return ", ".join(out)


def dim_exprs(q: Query, source: str, dims, day_expr: str | None = None) -> list[str]:
    """``expr AS name`` for each dimension in ``dims`` (period from the row's day)."""
    out = []
    for d in dims:
        if d == "period":
            out.append(f"{q.period_expr(day_expr or DAY_SQL[source])} AS period")
        else:
            out.append(f"{DIM_SQL[source][d]} AS {d}")
    return out


def filters(q: Query, source: str) -> str:
    """`` AND channel IN ($ch0, ...) AND segment IN (...)`` on the source's dimension expressions."""
    out = ""
    if q.channels:
        out += f" AND {DIM_SQL[source]['channel']} IN {q.in_list('ch', q.channels)}"
    if q.segments:
        out += f" AND {DIM_SQL[source]['segment']} IN {q.in_list('sg', q.segments)}"
    return out


def window(q: Query, source: str) -> str:
    return f"{DAY_SQL[source]} BETWEEN {q.p_start} AND {q.p_end}"


def dim_groups(q: Query, source: str, dims, day_expr: str | None = None) -> list[str]:
    """The bare dimension expressions (for GROUP BY)."""
    return [e.rsplit(" AS ", 1)[0] for e in dim_exprs(q, source, dims, day_expr)]


def _where(q: Query, source: str, extra: str) -> str:
    return f"WHERE {window(q, source)}{filters(q, source)}{' AND ' + extra if extra else ''}"


def _order(q: Query) -> str:
    return f"\nORDER BY {cols(list(q.by))}" if q.by else ""


def row_sums(q: Query, source: str, measures: dict[str, Expr], where: Expr = "") -> str:
    """SELECT the requested dimensions and the named additive ``measures`` summed per group.

    The rows are first aggregated per (dimensions, day), then rolled up to periods: DATE_TRUNC runs
    on days, not on every row.
    """
    g = [d for d in q.by if d != "period"]
    day = ["day"] if q.has_period else []
    ms = {m: _ev(e, q) for m, e in measures.items()}
    inner = (f"SELECT {cols(dim_exprs(q, source, g), day, [f'{e} AS {m}' for m, e in ms.items()])}\n"
             f"  FROM {source}\n  {_where(q, source, _ev(where, q))}")
    if g or day:
        inner += f"\n  GROUP BY {cols(dim_groups(q, source, g), day)}"
    outer_dims = [q.period_expr("day") + " AS period" if d == "period" else d for d in q.by]
    outer_groups = [q.period_expr("day") if d == "period" else d for d in q.by]
    sums = (f"SELECT {cols(outer_dims, [f'COALESCE(SUM({m}), 0) AS {m}' for m in ms])}\n"
            f"  FROM ({inner}) x")
    if q.by:
        sums += f"\n  GROUP BY {cols(outer_groups)}"
    return sums


def rows(source: str, measures: dict[str, Expr], value: Expr, n: Expr,
         where: Expr = "") -> Callable[[Query], str]:
    """A KPI aggregated over the rows of a fact table in the window.

    ``measures`` are additive aggregates (COUNT / SUM of row expressions), named; ``value`` and ``n``
    are expressions over those names once summed per group (see :func:`row_sums`).
    """

    def build(q: Query) -> str:
        sql = (f"SELECT {cols(list(q.by), f'{_ev(value, q)} AS value', f'{_ev(n, q)} AS n')}\n"
               f"FROM ({row_sums(q, source, measures, where)}) s")
        return sql + _order(q)

    return build


def per_customer(source: str, inner: Expr, value: Expr, n: Expr,
                 where: Expr = "") -> Callable[[Query], str]:
    """A KPI over customers: per-customer aggregates (``inner``) within each group, then a mean/share."""

    def build(q: Query) -> str:
        dims = list(q.by)
        cust = (f"SELECT {cols(dim_exprs(q, source, dims), 'customer_id', _ev(inner, q))}\n"
                f"FROM {source}\n{_where(q, source, _ev(where, q))}\n"
                f"GROUP BY {cols(dim_groups(q, source, dims), 'customer_id')}")
        sql = (f"SELECT {cols(dims, f'{_ev(value, q)} AS value', f'{_ev(n, q)} AS n')}\n"
               f"FROM ({cust}) c")
        if dims:
            sql += f"\nGROUP BY {cols(dims)}"
        return sql + _order(q)

    return build


def ratio(num: str, den: str, scale: str = "") -> str:
    """``[scale *] num / NULLIF(den, 0)`` as DOUBLE (null when the denominator is 0)."""
    head = f"{scale} * " if scale else ""
    return f"{head}CAST({num} AS DOUBLE) / NULLIF({den}, 0)"


def count_if(cond: str) -> str:
    return f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)"


# -- cumulative ("stock") KPIs ------------------------------------------------------------------

def cumulative(q: Query, events: str, dims: list[str], flows: list[str], stocks: list[str],
               pre: tuple[str, ...] = ()) -> str:
    """CTEs ending in ``cum``: one row per (dims, period) of the grid with flows and stocks.

    ``events`` is a SELECT yielding the dimension columns ``dims`` (non-period), ``ev_day`` and one
    numeric column per measure. For each period of the window (``q.periods()``), ``<m>_in`` sums the
    measure over events inside the clipped period, and for measures in ``stocks`` ``<m>_cum`` sums it
    over every event on or before the period's clipped end (all history). The grid is every period
    × every combination of ``dims`` present in the events. ``pre`` are CTEs ``events`` may use.
    """
    assert stocks, "a cumulative KPI needs at least one stock"
    measures = list(dict.fromkeys(flows + stocks))
    pkey = q.period_expr("ev_day") if q.has_period else f"CAST({q.p_start} AS DATE)"
    m_sum = cols([f"SUM({m}) AS {m}" for m in measures])
    grid_dims = f"SELECT DISTINCT {cols(dims)} FROM ev" if dims else None
    ev_sum = cols([f"SUM({m}) AS {m}" for m in measures])
    parts = list(pre) + [
        # events pre-aggregated per (dims, day): everything below works on days, not on rows
        f"ev AS (SELECT {cols(dims, 'ev_day', ev_sum)} FROM ({events}) e GROUP BY {cols(dims, 'ev_day')})",
        f"periods AS (SELECT * FROM {q.periods_sql()})",
        f"flows AS (SELECT {cols(dims, f'{pkey} AS period', m_sum)} FROM ev\n"
        f"  WHERE ev_day BETWEEN {q.p_start} AND {q.p_end} GROUP BY {cols(dims, pkey)})",
        (f"opening AS (SELECT {cols(dims, cols([f'SUM({m}) AS {m}' for m in stocks]))} FROM ev\n"
         f"  WHERE ev_day < {q.p_start}{' GROUP BY ' + cols(dims) if dims else ''})"),
        (f"grid AS (SELECT {cols(dims, 'periods.period', 'p_start', 'p_end', 'days')} FROM ({grid_dims}) g "
         f"CROSS JOIN periods)" if dims else
         "grid AS (SELECT period, p_start, p_end, days FROM periods)"),
    ]
    part_by = f"PARTITION BY {cols([f'grid.{d}' for d in dims])} " if dims else ""
    sel = [f"COALESCE(f.{m}, 0) AS {m}_in" for m in measures]
    sel += [
        f"COALESCE(o.{m}, 0) + SUM(COALESCE(f.{m}, 0)) OVER ({part_by}ORDER BY grid.period "
        f"ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS {m}_cum" for m in stocks]
    on_f = " AND ".join(f"f.{d} = grid.{d}" for d in dims + ["period"])
    join_o = (f"LEFT JOIN opening o ON {' AND '.join(f'o.{d} = grid.{d}' for d in dims)}" if dims
              else "CROSS JOIN opening o")
    parts.append(
        f"cum AS (SELECT {cols([f'grid.{d} AS {d}' for d in dims], 'grid.period AS period', 'grid.days AS days', sel)}\n"
        f"  FROM grid LEFT JOIN flows f ON {on_f} {join_o})")
    return "WITH " + ",\n".join(parts)


def finish_cum(q: Query, ctes: str, value: str, n: str) -> str:
    """The final SELECT over ``cum`` (or a CTE with the same dimension columns)."""
    return f"{ctes}\nSELECT {cols(list(q.by), f'{value} AS value', f'{n} AS n')}\nFROM cum{_order(q)}"


# -- summary tables (crm_metrics.data.summaries) -----------------------------------------------------
# A KPI may declare, next to its plain query, a query over the summary tables built at load time.
# The builders below return None when the request cannot be answered exactly from them; the plain
# query then runs. Tests check both give the same numbers.

# source fact table -> (customer cube, channel bits)
CUBES: dict[str, tuple[str, str]] = {
    "f_interactions": ("f_contact_cube", "f_contact_channels"),
    "f_transactions": ("f_buyer_cube", "f_buyer_channels"),
}

# the mask of channels a cube row is measured on (``k.m``) restricted to the row's channel set
_IN_MASK = "(c.channels & k.m)"
# more than one channel of the set: x & (x - 1) clears the lowest bit
MULTI_CHANNEL = f"({_IN_MASK} & ({_IN_MASK} - 1)) <> 0"


def fits_month_cubes(q: Query) -> bool:
    """Whether every period of the request is a whole calendar month (what the cubes hold): the
    window starts on a first and ends on a last day of a month, and is split by month (or is one
    month); no advisor dimension (the cubes are per customer, not per advisor)."""
    if "advisor" in q.by or (q.has_period and q.grain != "month"):
        return False
    if q.start != trunc_date(q.start, "month"):
        return False
    if q.end != next_period(trunc_date(q.end, "month"), "month") - timedelta(days=1):
        return False
    return q.has_period or trunc_date(q.start, "month") == trunc_date(q.end, "month")


def cube_sums(q: Query, source: str, measures: dict[str, str]) -> str | None:
    """SELECT the requested dimensions and ``measures`` summed over the customer cube of ``source``.

    Each cube row is a set of customers with the same channel set ``c.channels`` in a month; ``k.m``
    is the set of channels the row is measured on: the row's channel when split by channel, else
    the filtered channels (all when unfiltered). Customers count where they used a channel of
    ``k.m``. Measures are per-row expressions (use ``c.customers`` as the weight).
    """
    if not fits_month_cubes(q):
        return None
    cube, bits = CUBES[source]
    only = f" WHERE channel IN {q.in_list('ch', q.channels)}" if q.channels else ""
    if "channel" in q.by:
        join = f"JOIN (SELECT channel, bit AS m FROM {bits}{only}) k ON {_IN_MASK} <> 0"
    else:
        join = f"CROSS JOIN (SELECT BIT_OR(bit) AS m FROM {bits}{only}) k"
    dims = ["k.channel AS channel" if d == "channel" else f"c.{d} AS {d}" for d in q.by]
    groups = ["k.channel" if d == "channel" else f"c.{d}" for d in q.by]
    seg = f" AND c.segment IN {q.in_list('sg', q.segments)}" if q.segments else ""
    sql = (f"SELECT {cols(dims, [f'SUM({e}) AS {name}' for name, e in measures.items()])}\n"
           f"  FROM {cube} c {join}\n"
           f"  WHERE c.period BETWEEN {q.p_start} AND {q.p_end} AND {_IN_MASK} <> 0{seg}")
    if q.by:
        sql += f"\n  GROUP BY {cols(groups)}"
    return sql


def per_customer_summary(source: str, cube_measures: dict[str, str], value: str, n: str,
                         row_measures: dict[str, Expr] | None = None) -> Callable[[Query], str | None]:
    """The summary query of a :func:`per_customer` KPI: customer counts from the cube (``den``),
    joined to additive row measures (``num``, e.g. contacts or revenue) when the value needs them."""

    def build(q: Query) -> str | None:
        den = cube_sums(q, source, cube_measures)
        if den is None:
            return None
        dims = [f"den.{d} AS {d}" for d in q.by]
        sql = f"SELECT {cols(dims, f'{value} AS value', f'{n} AS n')}\nFROM ({den}) den"
        if row_measures:
            num = row_sums(q, source, row_measures)
            on = " AND ".join(f"num.{d} = den.{d}" for d in q.by)
            sql += f"\nLEFT JOIN ({num}) num ON {on}" if on else f"\nCROSS JOIN ({num}) num"
        return sql + _order(q)

    return build
