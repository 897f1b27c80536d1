"""Value KPIs — over transactions and surveys (kpis.md, "Value")."""
from __future__ import annotations

from collections.abc import Callable

from crm_metrics.metrics.kpis.model import Kpi, Query
from crm_metrics.metrics.kpis.sql import (
    MULTI_CHANNEL,
    cols,
    count_if,
    cumulative,
    dim_exprs,
    filters,
    finish_cum,
    per_customer,
    per_customer_summary,
    ratio,
    rows,
)
from crm_metrics.metrics.kpis.units import fact_units, flag, per_customer_units

TX = "f_transactions"
TX_TABLES = ("transactions",)
CUBE = ("f_buyer_channels",)
DIMS = ("channel", "segment", "period", "region")
_TX_COLS = {"product": "product", "amount": "amount"}


def _holdings(value: str, n: str, cross_sell: bool = False) -> Callable[[Query], str]:
    """Products held: per customer (within each group), the distinct products bought on or before the
    end of the window (or of each period), over all history. A product counts from its first purchase;
    a customer counts from their first transaction, and holds two products from the first day on
    which a second distinct product was bought (ranked by first purchase day)."""

    def build(q: Query) -> str:
        g = [d for d in q.by if d != "period"]
        t = (f"t AS (SELECT {cols(dim_exprs(q, TX, g), 'customer_id', 'product', 'day')}\n"
             f"  FROM {TX} WHERE day <= {q.p_end}{filters(q, TX)})")
        fp = (f"fp AS (SELECT {cols(g, 'customer_id', 'product', 'MIN(day) AS first_day')} FROM t\n"
              f"  GROUP BY {cols(g, 'customer_id', 'product')})")
        if cross_sell:
            pre = (t, fp, f"fr AS (SELECT {cols(g, 'first_day')}, ROW_NUMBER() OVER (PARTITION BY "
                          f"{cols(g, 'customer_id')} ORDER BY first_day) AS rn FROM fp)")
            events = (f"SELECT {cols(g, 'first_day AS ev_day')}, CASE WHEN rn = 1 THEN 1 ELSE 0 END AS buyers, "
                      f"CASE WHEN rn = 2 THEN 1 ELSE 0 END AS multi FROM fr WHERE rn <= 2")
            stocks = ["buyers", "multi"]
        else:
            pre = (t, fp)
            events = (f"SELECT {cols(g, 'first_day AS ev_day', '1 AS pairs', '0 AS buyers')} FROM fp\n"
                      f"  UNION ALL SELECT {cols(g, 'MIN(first_day) AS ev_day', '0 AS pairs', '1 AS buyers')} FROM fp "
                      f"GROUP BY {cols(g, 'customer_id')}")
            stocks = ["pairs", "buyers"]
        return finish_cum(q, cumulative(q, events, g, [], stocks, pre=pre), value, n)

    return build


def _holdings_summary(value: str, n: str, cross_sell: bool = False) -> Callable[[Query], str | None]:
    """:func:`_holdings` from f_holding_events (crm_metrics.data.summaries), whose first purchases are
    per customer over all channels (scope 'all') or within each channel (scope 'channel'). A filter on
    several channels without the channel dimension needs first purchases within that set: not there."""

    def build(q: Query) -> str | None:
        if len(q.channels) > 1 and "channel" not in q.by:
            return None
        g = [d for d in q.by if d != "period"]
        scope = "channel" if (q.channels or "channel" in q.by) else "all"
        stocks = ["buyers", "multi"] if cross_sell else ["pairs", "buyers"]
        events = (f"SELECT {cols(g, 'ev_day', stocks)} FROM f_holding_events\n"
                  f"  WHERE scope = '{scope}' AND ev_day <= {q.p_end}{filters(q, TX)}")
        return finish_cum(q, cumulative(q, events, g, [], stocks), value, n)

    return build


# repeat purchase within the channels measured: two of them, or two transactions in one
REPEAT = f"CASE WHEN {MULTI_CHANNEL} OR (c.channels_two & k.m) <> 0 THEN c.customers ELSE 0 END"

KPIS = [
    Kpi(
        id="revenue", label="Revenue",
        description="Sum of transaction amounts in the window; refunds (negative amounts) reduce it.",
        formula="sum of amount in the window",
        unit="currency", better="higher", kind="sum", family="value", tables=TX_TABLES, dimensions=DIMS,
        n_label="transactions",
        query=rows(TX, {"revenue": "SUM(amount)", "transactions": "COUNT(*)"}, "CAST(revenue AS DOUBLE)",
                   "transactions"),
        unit_of_count="transaction", units=fact_units(TX, _TX_COLS, "amount"),
    ),
    Kpi(
        id="revenue_per_customer", label="Revenue per buying customer",
        description="Revenue divided by the distinct customers with a transaction in the window (refunds "
                    "included in both).",
        formula="revenue ÷ distinct customers with a transaction in the window",
        unit="currency", better="higher", kind="distinct", family="value", tables=TX_TABLES, dimensions=DIMS,
        n_label="customers with a transaction",
        query=per_customer(TX, "SUM(amount) AS revenue", ratio("SUM(revenue)", "COUNT(*)"), "COUNT(*)"),
        summary=per_customer_summary(TX, {"customers": "c.customers"}, ratio("num.revenue", "den.customers"),
                                     "COALESCE(den.customers, 0)", row_measures={"revenue": "SUM(amount)"}),
        summary_tables=CUBE,
        unit_of_count="customer",
        units=per_customer_units(TX, {"transactions": "COUNT(*)", "revenue": "SUM(amount)"}, "revenue"),
    ),
    Kpi(
        id="avg_order_value", label="Average order value",
        description="Mean transaction amount in the window (refunds included as negative amounts).",
        formula="mean amount",
        unit="currency", better="higher", kind="ratio", family="value", tables=TX_TABLES, dimensions=DIMS,
        n_label="transactions",
        query=rows(TX, {"revenue": "SUM(amount)", "transactions": "COUNT(*)"}, ratio("revenue", "transactions"),
                   "transactions"),
        unit_of_count="transaction", units=fact_units(TX, _TX_COLS, "amount"),
    ),
    Kpi(
        id="repeat_purchase_rate", label="Repeat purchase rate",
        description="Share of buying customers with at least two transactions in the window (within each "
                    "group); every transaction row counts, refunds included.",
        formula="100 × customers with ≥ 2 transactions in the window ÷ customers with ≥ 1",
        unit="%", better="higher", kind="distinct", family="value", tables=TX_TABLES, dimensions=DIMS,
        n_label="customers with ≥ 1 transaction",
        query=per_customer(TX, "COUNT(*) AS n_tx", ratio(count_if("n_tx >= 2"), "COUNT(*)", "100.0"), "COUNT(*)"),
        summary=per_customer_summary(TX, {"customers": "c.customers", "repeaters": REPEAT},
                                     ratio("den.repeaters", "den.customers", "100.0"), "COALESCE(den.customers, 0)"),
        summary_tables=CUBE,
        unit_of_count="customer",
        units=per_customer_units(TX, {"transactions": "COUNT(*)"}, flag("transactions >= 2")),
    ),
    Kpi(
        id="products_per_customer", label="Products per customer",
        description="Mean number of distinct products per customer, counting every product bought on or before "
                    "the end of the window (or period) over all history, among customers with a transaction by "
                    "then. A product counts from its first transaction (refund rows included).",
        formula="mean, over customers with ≥ 1 transaction on or before the window's end, of distinct products "
                "bought on or before it (all history)",
        unit="ratio", better="higher", kind="distinct", family="value", tables=TX_TABLES, dimensions=DIMS,
        n_label="customers with a transaction by the end",
        query=_holdings(ratio("pairs_cum", "buyers_cum"), "buyers_cum"),
        summary=_holdings_summary(ratio("pairs_cum", "buyers_cum"), "buyers_cum"),
        summary_tables=("f_holding_events",),
        unit_of_count="customer",
    ),
    Kpi(
        id="cross_sell_rate", label="Cross-sell rate",
        description="Share of customers with a transaction on or before the end of the window (or period), "
                    "over all history, who hold at least two distinct products.",
        formula="100 × of the customers with ≥ 1 transaction on or before the window's end, the ones holding "
                "≥ 2 distinct products",
        unit="%", better="higher", kind="distinct", family="value", tables=TX_TABLES, dimensions=DIMS,
        n_label="customers with a transaction by the end",
        query=_holdings(ratio("multi_cum", "buyers_cum", "100.0"), "buyers_cum", cross_sell=True),
        summary=_holdings_summary(ratio("multi_cum", "buyers_cum", "100.0"), "buyers_cum", cross_sell=True),
        summary_tables=("f_holding_events",),
        unit_of_count="customer",
    ),
    Kpi(
        id="nps", label="Net Promoter Score",
        description="Promoters (9–10) minus detractors (0–6), as a share of relationship-survey answers in the "
                    "window.",
        formula="100 × (answers 9–10 − answers 0–6) ÷ answers",
        unit="score", better="higher", kind="ratio", family="value", tables=("surveys",), dimensions=DIMS,
        n_label="survey answers",
        query=rows("f_surveys", {"promoters": count_if("nps >= 9"), "detractors": count_if("nps <= 6"),
                                 "answers": "COUNT(nps)"},
                   ratio("promoters - detractors", "answers", "100.0"), "answers"),
        unit_of_count="answer",
        units=fact_units("f_surveys", {"nps": "nps"}, "CASE WHEN nps >= 9 THEN 100.0 WHEN nps <= 6 THEN -100.0 ELSE 0.0 END",
                         "nps IS NOT NULL"),
    ),
]
