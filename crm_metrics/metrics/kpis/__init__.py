"""The KPI catalogue (one declaration per KPI) and the compute API.

    from crm_metrics.metrics.kpis import KPIS, get_kpi, compute, KpiError, MissingDataError
    compute(store, "fcr_rate", start=date, end=date, channels=[...], segments=[...],
            by=["channel", "period"], grain="month")     # -> DataFrame: dims..., value, n
"""
from __future__ import annotations

from crm_metrics.metrics.kpis.engine import build_sql, compute, units
from crm_metrics.metrics.kpis.model import DIMENSIONS, FAMILIES, GRAINS, UNITS, Kpi, KpiError, MissingDataError, Query
from crm_metrics.metrics.kpis.registry import KPIS, get_kpi, kpis_in_family


def render_kpi_reference() -> str:
    """The KPI reference (docs/kpis.md) generated from the registry; see crm_metrics.metrics.kpis.docs."""
    from crm_metrics.metrics.kpis.docs import render_kpi_reference as _render

    return _render()


__all__ = [
    "KPIS", "Kpi", "KpiError", "MissingDataError", "Query", "get_kpi", "kpis_in_family", "compute",
    "build_sql", "units", "render_kpi_reference", "DIMENSIONS", "GRAINS", "FAMILIES", "UNITS",
]
