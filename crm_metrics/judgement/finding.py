"""What a health check is and what it returns (strategy.md, "Health checks"), shared by the checks
in :mod:`crm_metrics.judgement.health` and the initiative checks in
:mod:`crm_metrics.judgement.impact_checks` (so that neither imports the other's module for its types).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Severity = Literal["ok", "warning", "critical"]
SEVERITIES: tuple[str, ...] = ("ok", "warning", "critical")
FINDING_FIELDS = ("id", "title", "severity", "subject", "finding", "next_step")


@dataclass(frozen=True)
class Finding:
    check_id: str
    title: str
    severity: Severity
    finding: str
    next_step: str
    subject: str | None = None

    def record(self) -> dict[str, Any]:
        """The finding with the spec's field names (id, title, severity, finding, next_step, subject)."""
        return {"id": self.check_id, "title": self.title, "severity": self.severity,
                "subject": self.subject, "finding": self.finding, "next_step": self.next_step}


class CheckContext(Protocol):
    """What a check may use: the store, the settings and values shared between checks
    (health.HealthContext is the implementation)."""

    store: Any
    settings: dict[str, Any]

    def shared(self, name: Any, make: Callable[[], Any]) -> Any: ...


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    fails: str  # the failure it detects
    run: Callable[[Any], list[Finding]]  # (HealthContext) -> findings

    def finding(self, severity: Severity, finding: str, next_step: str, subject: str | None = None) -> Finding:
        return Finding(self.id, self.title, severity, finding, next_step, subject)


__all__ = ["Finding", "Check", "CheckContext", "Severity", "SEVERITIES", "FINDING_FIELDS"]
