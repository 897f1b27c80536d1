"""How statuses and severities look, declared once for the app and the report.

Okabe-Ito colours (colour-blind safe); every status also carries an icon and a word, so colour
is never the only signal."""
from __future__ import annotations

# Fewer observations than this: a value is shown with the low-confidence mark. Declared where the
# scorecard judges it (a layer below); re-exported here for the app and the report.
from crm_metrics.judgement.scorecard import LOW_CONFIDENCE_N  # noqa: F401

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
# An objective's verdict from its goals' statuses: colour, icon and word like a goal's status.
OBJECTIVE_STYLE: dict[str, tuple[str, str, str]] = {
    "on_track": ("#009E73", "✔", "On track"),
    "at_risk": ("#E69F00", "▲", "At risk"),
    "partly_off_track": ("#E69F00", "↘", "Partly off track"),
    "off_track": ("#D55E00", "✖", "Off track"),
    "no_data": ("#8C8C8C", "–", "No data"),
}
# The impact analysis's verdicts (impact_uncertainty.VERDICTS) as a board reads them.
INITIATIVE_STYLE: dict[str, tuple[str, str, str]] = {
    "improved": ("#009E73", "✔", "Improved"),
    "worsened": ("#D55E00", "✖", "Worsened"),
    "no detectable effect": ("#8C8C8C", "–", "No detectable effect"),
    "doubtful": ("#E69F00", "▲", "Doubtful"),
    "provisional": ("#8C8C8C", "…", "Provisional"),
    "not_measured": ("#8C8C8C", "–", "Not measured"),
}
# The relationship mix, in the app's charts and the report alike: relationship dark blue,
# pseudo-relationship (a usual advisor not yet a relationship) light blue, encounter orange.
RELATIONSHIP_MIX: tuple[tuple[str, str, str], ...] = (
    ("relationship_share", "Relationship", "#0072B2"),
    ("pseudo_relationship_share", "Pseudo-relationship", "#56B4E9"),
    ("encounter_share", "Encounter", "#E69F00"),
)
# A segment's strategy against its behaviour (alignment tables in the app and the report).
ALIGNMENT_STYLE: dict[str, tuple[str, str, str]] = {
    "misaligned": ("#D55E00", "✖", "Misaligned"),
    "aligned": ("#009E73", "✔", "Aligned"),
    "transactional": ("#8C8C8C", "–", "Transactional"),
}
# Lines that are not data (goals, go-live marks): a mid grey reads on a light and a dark theme.
REFERENCE_COLOUR = "#7F7F7F"
SERIES_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
