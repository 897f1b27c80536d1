"""Relationships vs encounters — continuity of the customer–advisor relationship (kpis.md).

Population: assisted contacts (kind = 'assisted') with an advisor_id, in the window and filters.
Per customer, within each group of the requested dimensions (channel, segment, region, period):
N = their contacts, n_a = those with advisor a; UPC = max n_a ÷ N; COC = (Σ n_a² − N) ÷ (N(N − 1));
SECON = consecutive pairs (ordered by occurred_at, interaction_id) with the same advisor ÷ (N − 1).

The ``advisor`` dimension attributes each customer to their *usual advisor* within the group: the
advisor with the most of their contacts; ties go to the advisor seen most recently (latest
occurred_at), then to the smallest advisor_id.
"""
from __future__ import annotations

from collections.abc import Callable

from crm_metrics.metrics.kpis.model import Kpi, Query
from crm_metrics.metrics.kpis.sql import cols, count_if, dim_exprs, filters, ratio, window

SRC = "f_interactions"
TABLES = ("interactions",)
DIMS = ("channel", "segment", "period", "advisor", "region")


def continuity(value: Callable[[Query], str] | str, n: str, secon: bool = False) -> Callable[[Query], str]:
    """The plain query: each customer's contacts grouped per advisor within the window."""
    return lambda q: _continuity_sql(q, value, n, secon=secon)


def continuity_summary(value: Callable[[Query], str] | str, n: str) -> Callable[[Query], str | None]:
    """The same numbers without grouping most contacts per advisor (DuckDB store only).

    ``f_interactions`` carries, per assisted contact with an advisor, its (customer, advisor) pair's
    contact count and first / last day over the whole history. A pair whose contacts all fall inside
    the window (and inside the contact's period) has n_a = that count, so its contacts only need
    grouping per customer; only pairs cut by the window's or a period's edge are grouped per advisor.
    Channel filters and splits measure within channels (the pair counts span all channels) and the
    advisor split names the usual advisor: both keep the plain query."""
    def build(q: Query) -> str | None:
        if q.channels or "channel" in q.by or "advisor" in q.by:
            return None
        g, keys, where = _scope(q)
        return _continuity_select(q, _pair_count_ctes(q, g, keys, where), value, n)
    return build


def _scope(q: Query) -> tuple[list[str], list[str], str]:
    """The groups continuity is measured within, those plus the customer, and the population's WHERE.

    Customers and advisors are grouped by their integer keys (f_interactions.customer_key /
    advisor_key: one per id); advisor_id itself is only needed to name the usual advisor."""
    g = [d for d in q.by if d != "advisor"]
    # advisor_key is NULL exactly when advisor_id is (an integer column is cheaper to test)
    where = f"WHERE {window(q, SRC)} AND kind = 'assisted' AND advisor_key IS NOT NULL{filters(q, SRC)}"
    return g, g + ["customer_key"], where


def _continuity_sql(q: Query, value: Callable[[Query], str] | str, n: str, *, secon: bool) -> str:
    g, keys, where = _scope(q)
    by_advisor = "advisor" in q.by
    base_cols = cols(dim_exprs(q, SRC, g), "customer_key", "advisor_key",
                     "advisor_id, occurred_at" if by_advisor else "")
    if secon and not q.channels and "channel" not in q.by:
        # the previous assisted contact is precomputed per customer over all channels (f_interactions);
        # a pair counts when that contact is in the window and in the same period
        same_period = (f" AND {q.period_expr('prev_advisor_day')} = {q.period_expr('day')}"
                       if q.has_period else "")
        base = (f"SELECT {base_cols}, CASE WHEN same_advisor_as_prev AND prev_advisor_day >= {q.p_start}"
                f"{same_period} THEN 1 ELSE 0 END AS same_prev FROM {SRC} {where}")
    elif secon:
        # within a channel: each contact knows whether the previous one (same customer, same group,
        # ordered by occurred_at then interaction_id) was with the same advisor
        inner = f"SELECT {cols(base_cols, '' if by_advisor else 'occurred_at')}, interaction_id FROM {SRC} {where}"
        base = (f"SELECT {cols(g, 'customer_key', 'advisor_key', 'advisor_id, occurred_at' if by_advisor else '')}, "
                f"CASE WHEN advisor_key = LAG(advisor_key) OVER (PARTITION BY {cols(keys)} "
                f"ORDER BY occurred_at, interaction_id) THEN 1 ELSE 0 END AS same_prev FROM ({inner}) b")
    else:
        base = f"SELECT {base_cols} FROM {SRC} {where}"
    ctes = [f"base AS ({base})"]
    if secon and not by_advisor:
        # SECON needs only N and the same-advisor pairs per customer: no grouping per advisor
        ctes.append(f"cust AS (SELECT {cols(keys, 'COUNT(*) AS n_tot', 'SUM(same_prev) AS same_pairs')}"
                    f"\n  FROM base GROUP BY {cols(keys)})")
        return _continuity_select(q, ctes, value, n)
    same_a = ", SUM(same_prev) AS same_pairs" if secon else ""
    named = "MIN(advisor_id) AS advisor_id, MAX(occurred_at) AS last_at" if by_advisor else ""
    same_c = ", SUM(same_pairs) AS same_pairs" if secon else ""
    ctes += [
        f"ca AS (SELECT {cols(keys, 'advisor_key', 'COUNT(*) AS n_a', named)}"
        f"{same_a}\n  FROM base GROUP BY {cols(keys, 'advisor_key')})",
        f"cust AS (SELECT {cols(keys, 'SUM(n_a) AS n_tot', 'MAX(n_a) AS n_max', 'SUM(n_a * n_a) AS n_sq')}"
        f"{same_c}\n  FROM ca GROUP BY {cols(keys)})",
    ]
    joins = ""
    if by_advisor:
        # the customer's usual advisor within the group: most contacts, then latest, then smallest id
        ctes.append(
            f"usual AS (SELECT {cols(keys, 'advisor_id AS advisor')} FROM (\n"
            f"  SELECT {cols(keys, 'advisor_id')}, ROW_NUMBER() OVER (PARTITION BY {cols(keys)} "
            f"ORDER BY n_a DESC, last_at DESC, advisor_id) AS rn FROM ca) u WHERE rn = 1)")
        joins = f"\n  JOIN usual u ON {' AND '.join(f'u.{k} = c.{k}' for k in keys)}"
    return _continuity_select(q, ctes, value, n, joins)


def _pair_count_ctes(q: Query, g: list[str], keys: list[str], where: str) -> list[str]:
    """``cust`` (n_tot, n_max, n_sq per customer) from the pair facts: contacts of pairs wholly
    inside the window / period get pair_key NULL and carry their pair's count; the rest are
    grouped per advisor as in the plain query."""
    inside = f"pair_first_day >= {q.p_start} AND pair_last_day <= {q.p_end}"
    if q.has_period:
        inside += "".join(f" AND {q.period_expr(d)} = {q.period_expr('day')}"
                          for d in ("pair_first_day", "pair_last_day"))
    base = (f"SELECT {cols(dim_exprs(q, SRC, g), 'customer_key')}, "
            f"CASE WHEN {inside} THEN NULL ELSE advisor_key END AS pair_key, pair_contacts FROM {SRC} {where}")
    return [
        f"base AS ({base})",
        f"ca AS (SELECT {cols(keys, 'pair_key', 'COUNT(*) AS n_a')}, MAX(pair_contacts) AS inside_max, "
        f"SUM(pair_contacts) AS inside_sq\n  FROM base GROUP BY {cols(keys, 'pair_key')})",
        # a wholly inside pair contributes n_a = pair_contacts (max) and n_a² = Σ of pair_contacts over its rows
        f"cust AS (SELECT {cols(keys, 'SUM(n_a) AS n_tot')}, "
        f"MAX(CASE WHEN pair_key IS NULL THEN inside_max ELSE n_a END) AS n_max, "
        f"SUM(CASE WHEN pair_key IS NULL THEN inside_sq ELSE n_a * n_a END) AS n_sq\n  FROM ca GROUP BY {cols(keys)})",
    ]


def _continuity_select(q: Query, ctes: list[str], value: Callable[[Query], str] | str, n: str,
                       joins: str = "") -> str:
    """The KPI over the per-customer rows ``cust`` (n_tot, and n_max / n_sq / same_pairs as built)."""
    out = ["u.advisor AS advisor" if d == "advisor" else f"c.{d} AS {d}" for d in q.by]
    group = ["u.advisor" if d == "advisor" else f"c.{d}" for d in q.by]
    v = value(q) if callable(value) else value
    sql = (f"WITH {', '.join(ctes)}\nSELECT {cols(out, f'{v} AS value', f'{n} AS n')}\n"
           f"FROM cust c{joins}")
    if q.by:
        sql += f"\nGROUP BY {cols(group)}\nORDER BY {cols(list(q.by))}"
    return sql


MULTI = "c.n_tot >= 2"
# every division is NULLIF-guarded (N >= 1 here, but engines in ANSI mode must never see x / 0)
UPC = "CAST(c.n_max AS DOUBLE) / NULLIF(c.n_tot, 0)"
N_MULTI = count_if(MULTI)


def _mean_multi(expr: str) -> str:
    return f"AVG(CASE WHEN {MULTI} THEN {expr} END)"


def _share(cond: Callable[[Query], str]) -> Callable[[Query], str]:
    return lambda q: ratio(count_if(cond(q)), "COUNT(*)", "100.0")


def _relationship(q: Query) -> str:
    return f"{MULTI} AND {UPC} >= {q.setting('relationship_upc_threshold')}"


def _pseudo(q: Query) -> str:
    return f"{MULTI} AND {UPC} < {q.setting('relationship_upc_threshold')}"


def _by_pairs(value: Callable[[Query], str] | str, n: str) -> dict:
    """query and summary of a KPI computed from each customer's contact counts per advisor."""
    return {"query": continuity(value, n), "summary": continuity_summary(value, n)}


_POP = "assisted contacts with an advisor_id in the window"

KPIS = [
    Kpi(
        id="upc", label="Usual-advisor continuity",
        description="How concentrated each customer's assisted contacts are on their usual advisor: "
                    "UPC = max_a n_a ÷ N per customer, averaged over customers with N ≥ 2 (" + _POP + ").",
        formula="mean UPC over customers with N ≥ 2, UPC = max_a n_a ÷ N",
        unit="ratio", better="higher", kind="distinct", family="relationships", tables=TABLES, dimensions=DIMS,
        n_label="customers with 2+ advisor contacts",
        **_by_pairs(_mean_multi(UPC), N_MULTI),
        unit_of_count="customer",
    ),
    Kpi(
        id="coc", label="Continuity index (COC)",
        description="Bice–Boxerman continuity of care applied to advisors: COC = (Σ_a n_a² − N) ÷ (N (N − 1)) "
                    "per customer, averaged over customers with N ≥ 2 (" + _POP + ").",
        formula="mean COC over customers with N ≥ 2, COC = (Σ_a n_a² − N) ÷ (N (N − 1))",
        unit="ratio", better="higher", kind="distinct", family="relationships", tables=TABLES, dimensions=DIMS,
        n_label="customers with 2+ advisor contacts",
        **_by_pairs(_mean_multi("CAST(c.n_sq - c.n_tot AS DOUBLE) / NULLIF(c.n_tot * (c.n_tot - 1), 0)"), N_MULTI),
        unit_of_count="customer",
    ),
    Kpi(
        id="secon", label="Sequential continuity",
        description="Share of consecutive contacts (ordered by occurred_at, then interaction_id) handled by "
                    "the same advisor: SECON = same-advisor consecutive pairs ÷ (N − 1) per customer, averaged "
                    "over customers with N ≥ 2 (" + _POP + ").",
        formula="mean SECON over customers with N ≥ 2, SECON = consecutive pairs with the same advisor ÷ (N − 1)",
        unit="ratio", better="higher", kind="distinct", family="relationships", tables=TABLES, dimensions=DIMS,
        n_label="customers with 2+ advisor contacts",
        query=continuity(_mean_multi("CAST(c.same_pairs AS DOUBLE) / NULLIF(c.n_tot - 1, 0)"), N_MULTI, secon=True),
        unit_of_count="customer",
    ),
    Kpi(
        id="relationship_share", label="Relationship customers",
        description="Share of customers with an assisted contact who are in a relationship: N ≥ 2 and "
                    "UPC ≥ relationship_upc_threshold (they come back to the same advisor).",
        formula="100 × relationship customers (N ≥ 2 and UPC ≥ `relationship_upc_threshold`) ÷ customers with N ≥ 1",
        unit="%", better="higher", kind="distinct", family="relationships", tables=TABLES, dimensions=DIMS,
        n_label="customers with an advisor contact", settings=("relationship_upc_threshold",),
        **_by_pairs(_share(_relationship), "COUNT(*)"),
        unit_of_count="customer",
    ),
    Kpi(
        id="pseudo_relationship_share", label="Pseudo-relationship customers",
        description="Share of customers with an assisted contact in a pseudo-relationship: N ≥ 2 and UPC "
                    "below relationship_upc_threshold (they come back, but to whoever is available).",
        formula="100 × pseudo-relationship customers (N ≥ 2 and UPC < `relationship_upc_threshold`) ÷ "
                "customers with N ≥ 1",
        unit="%", better="neutral", kind="distinct", family="relationships", tables=TABLES, dimensions=DIMS,
        n_label="customers with an advisor contact", settings=("relationship_upc_threshold",),
        **_by_pairs(_share(_pseudo), "COUNT(*)"),
        unit_of_count="customer",
    ),
    Kpi(
        id="encounter_share", label="Encounter customers",
        description="Share of customers with an assisted contact who had exactly one (N = 1): an encounter.",
        formula="100 × encounter customers (N = 1) ÷ customers with N ≥ 1",
        unit="%", better="neutral", kind="distinct", family="relationships", tables=TABLES, dimensions=DIMS,
        n_label="customers with an advisor contact",
        **_by_pairs(_share(lambda q: "c.n_tot = 1"), "COUNT(*)"),
        unit_of_count="customer",
    ),
]


RELATIONSHIP_CLASSES = ("relationship", "pseudo-relationship", "encounter")


def customer_class_sql() -> str:
    """Each customer's relationship class from their assisted contacts with an advisor on or before a
    day (parameters: that day, relationship_upc_threshold) — the definitions of the
    relationship_share / pseudo_relationship_share / encounter_share KPIs above (MULTI, UPC), per
    customer: relationship = N >= 2 and UPC >= threshold, pseudo-relationship = N >= 2 and UPC below
    it, encounter = N = 1. Customers without such a contact have no row."""
    # grouped on the integer customer_key (one per customer_id), as the continuity KPIs do: faster
    # than grouping ten million contacts on the text id
    return (f"WITH ca AS (SELECT customer_key, advisor_key, ANY_VALUE(customer_id) AS customer_id, COUNT(*) AS n_a\n"
            f"  FROM {SRC} WHERE kind = 'assisted' AND advisor_key IS NOT NULL AND day <= ?\n"
            "  GROUP BY customer_key, advisor_key),\n"
            "c AS (SELECT ANY_VALUE(customer_id) AS customer_id, SUM(n_a) AS n_tot, MAX(n_a) AS n_max FROM ca\n"
            "  GROUP BY customer_key)\n"
            f"SELECT c.customer_id, CASE WHEN {MULTI} AND {UPC} >= ? THEN 'relationship'\n"
            f"  WHEN {MULTI} THEN 'pseudo-relationship' ELSE 'encounter' END AS relationship_class FROM c")
