"""Every health check, listed once, in display order.

A new check: write ``check_x(ctx: HealthContext) -> list[Finding]`` and its ``Check(...)`` in the
module whose data it judges (crm_metrics.judgement.health for the data, goals and strategy;
crm_metrics.judgement.impact for initiatives), then add it to that module's tuple
(``health.HEALTH_CHECKS``) or to ``INITIATIVE_CHECKS`` below. Nothing registers itself on import.

This module sits above health and impact (both are imported here, neither imports it), so the
list needs no import at the bottom of a module and makes no cycle.
"""
from __future__ import annotations

from typing import Any

from crm_metrics.data.store import Store
from crm_metrics.judgement import health, impact
from crm_metrics.judgement.health import Check, Finding

INITIATIVE_CHECKS: tuple[Check, ...] = (impact.TECHNOLOGY_BEFORE_STRATEGY, impact.COST_UNDERESTIMATED, impact.NO_RETURN)

CHECKS: tuple[Check, ...] = (*health.HEALTH_CHECKS, *INITIATIVE_CHECKS)


def run_checks(store: Store, start: Any = None, end: Any = None) -> list[Finding]:
    """Every check in ``CHECKS`` over the window (default: the span of the loaded data)."""
    return health.run_checks(store, start, end, CHECKS)


__all__ = ["CHECKS", "INITIATIVE_CHECKS", "run_checks"]
