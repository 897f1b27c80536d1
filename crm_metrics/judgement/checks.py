"""Every health check, listed once, in display order.

A new check: write ``check_x(ctx: HealthContext) -> list[Finding]`` and its ``Check(...)`` in the
module whose data it judges (crm_metrics.judgement.health for the data, goals and strategy;
crm_metrics.judgement.impact_checks for initiatives), then add it to that module's tuple
(``health.HEALTH_CHECKS`` or ``impact_checks.INITIATIVE_CHECKS``). Nothing registers itself on import.

This module sits above health and impact_checks (both are imported here; neither imports it nor
the other: their types come from judgement.finding), so the list needs no import at the bottom of a
module and makes no cycle.
"""
from __future__ import annotations

from typing import Any

from crm_metrics.data.store import Store
from crm_metrics.judgement import health
from crm_metrics.judgement.finding import Check, Finding
from crm_metrics.judgement.impact_checks import INITIATIVE_CHECKS

CHECKS: tuple[Check, ...] = (*health.HEALTH_CHECKS, *INITIATIVE_CHECKS)


def run_checks(store: Store, start: Any = None, end: Any = None) -> list[Finding]:
    """Every check in ``CHECKS`` over the window (default: the span of the loaded data)."""
    return health.run_checks(store, start, end, CHECKS)


__all__ = ["CHECKS", "INITIATIVE_CHECKS", "run_checks"]
