"""How statuses and severities look, declared once for the app and the report.

Okabe-Ito colours (colour-blind safe); every status also carries an icon and a word, so colour
is never the only signal."""
from __future__ import annotations

STATUS_STYLE: dict[str, tuple[str, str, str]] = {
    "met": ("#009E73", "✔", "Met"),
    "on_track": ("#009E73", "↗", "On track"),    # a period in progress (foresight.md: pace)
    "at_risk": ("#E69F00", "▲", "At risk"),
    "off_track": ("#D55E00", "↘", "Off track"),
    "missed": ("#D55E00", "✖", "Missed"),
    "no_data": ("#8C8C8C", "–", "No data"),
}
SEVERITY_STYLE: dict[str, tuple[str, str, str]] = {
    "critical": ("#D55E00", "✖", "Critical"),
    "warning": ("#E69F00", "▲", "Warning"),
    "ok": ("#009E73", "✔", "OK"),
}
SERIES_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
LOW_CONFIDENCE_N = 30
