"""One formatter per unit, for the app, the report and the CLI: the formatter itself is
crm_metrics.metrics.unit_format (beside the KPIs' units, so that judgement's sentences use it too);
this module is where delivery takes it from. See that module for the table of units and styles."""
from __future__ import annotations

from crm_metrics.metrics.unit_format import (
    APP,
    MISSING,
    REPORT,
    SENTENCE,
    Style,
    format_change,
    format_share,
    format_value,
)

__all__ = ["MISSING", "Style", "REPORT", "APP", "SENTENCE", "format_value", "format_change", "format_share"]
