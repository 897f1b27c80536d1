"""Data-quality KPIs — is customer information shared? (kpis.md, "Data quality").

advisor_logged_rate and multichannel_rate are data-quality KPIs too; they are declared once, in
service.py, with ``families=("service", "data_quality")``.
"""
from __future__ import annotations

from crm_metrics.metrics.kpis.model import Kpi, Query
from crm_metrics.metrics.kpis.sql import cols, count_if, filters, ratio, window

SOURCES = ("f_interactions", "f_transactions", "f_surveys")


def _match_rate(q: Query) -> str:
    day = ["day"] if q.has_period else []
    parts = [f"SELECT {cols(day, count_if('known') + ' AS known_rows', 'COUNT(*) AS all_rows')} FROM {src}\n"
             f"  WHERE {window(q, src)}{filters(q, src)}{' GROUP BY day' if day else ''}" for src in SOURCES]
    period = [f"{q.period_expr('day')} AS period"] if q.has_period else []
    sums = (f"SELECT {cols(period, 'SUM(known_rows) AS known_rows', 'SUM(all_rows) AS all_rows')}\n"
            f"  FROM ({' UNION ALL '.join(parts)}) x")
    if q.has_period:
        sums += f" GROUP BY {q.period_expr('day')}"
    sql = (f"SELECT {cols(['period'] if day else [], ratio('known_rows', 'all_rows', '100.0') + ' AS value')}, "
           f"COALESCE(all_rows, 0) AS n\nFROM ({sums}) s")
    return sql + ("\nORDER BY period" if q.has_period else "")


KPIS = [
    Kpi(
        id="customer_match_rate", label="Known customers",
        description="Share of interaction, transaction and survey rows in the window whose customer_id is in "
                    "the customers table. Channel and segment filters apply to each row's channel and "
                    "segment (unknown customers have segment \"(unknown)\").",
        formula="100 × rows of interactions, transactions and surveys in the window whose customer_id is in "
                "customers ÷ all those rows",
        unit="%", better="higher", kind="ratio", family="data_quality", tables=("customers",), dimensions=("period",),
        n_label="contact, transaction and survey rows",
        query=_match_rate,
        unit_of_count="row",
    ),
]
