"""The KPI catalogue, in the order of kpis.md."""
from __future__ import annotations

from crm_metrics.metrics.kpis import customers, data_quality, relationships, service, value
from crm_metrics.metrics.kpis.model import Kpi, KpiError

KPIS: dict[str, Kpi] = {}
for _module in (service, relationships, customers, value, data_quality):
    for _k in _module.KPIS:
        assert _k.id not in KPIS, _k.id
        KPIS[_k.id] = _k


def get_kpi(kpi_id: str) -> Kpi:
    try:
        return KPIS[kpi_id]
    except (KeyError, TypeError):
        raise KpiError(f"Unknown KPI {kpi_id!r}; known KPIs: {', '.join(KPIS)}.") from None


def kpis_in_family(family: str) -> list[Kpi]:
    """The KPIs of a family, including those that belong to it as a second family."""
    return [k for k in KPIS.values() if family in k.families]
