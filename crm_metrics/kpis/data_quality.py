"""Data-quality KPIs — is customer information shared? (kpis.md, "Data quality").

advisor_logged_rate and multichannel_rate are data-quality KPIs too; they are declared once, in
service.py, with ``families=("service", "data_quality")``.
"""
from __future__ import annotations

from .model import Kpi, Query
from .sql import cols, count_if, filters, ratio, window

SOURCES = ("f_interactions", "f_transactions", "f_surveys")


def _match_rate(q: Query) -> str:
    parts = [f"SELECT day, known FROM {src} WHERE {window(q, src)}{filters(q, src)}" for src in SOURCES]
    period = [f"{q.period_expr('day')} AS period"] if q.has_period else []
    sql = (f"SELECT {cols(period, ratio(count_if('known'), 'COUNT(*)', '100.0') + ' AS value', 'COUNT(*) AS n')}\n"
           f"FROM ({' UNION ALL '.join(parts)}) x")
    if q.has_period:
        sql += f"\nGROUP BY {q.period_expr('day')}\nORDER BY period"
    return sql


KPIS = [
    Kpi(
        id="customer_match_rate", label="Known customers",
        description="Share of interaction, transaction and survey rows in the window whose customer_id is in "
                    "the customers table. Channel and segment filters apply to each row's channel and "
                    "segment (unknown customers have segment \"(unknown)\").",
        formula="100 × rows of interactions, transactions and surveys in the window whose customer_id is in "
                "customers ÷ all those rows",
        unit="%", better="higher", family="data_quality", tables=("customers",), dimensions=("period",),
        n_label="rows",
        query=_match_rate,
    ),
]
