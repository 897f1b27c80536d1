"""The report's constants (title, file types, Chromium, marks and colours) and its error."""
from __future__ import annotations

from crm_metrics.delivery.presentation import RELATIONSHIP_MIX

TITLE = "What did our CRM bring us?"
SUBTITLE = ("Executive report: the goals set for customer relationship management, measured on the "
            "organisation's own data, the known ways CRM programmes fail, and what each initiative changed.")
EXTENSIONS = (".html", ".pdf")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
CHROMIUM_FALLBACKS = ("/usr/bin/chromium",)
INSTALL_CHROMIUM = ("apt-get install chromium (Debian/Ubuntu; as root), or set CRM_CHROMIUM to a Chromium "
                    "or Chrome executable")

LOW_CONFIDENCE_MARK = "⚠"
MIX_KPIS = tuple(k for k, _, _ in RELATIONSHIP_MIX)
MIX_STYLE = {k: (label, colour) for k, label, colour in RELATIONSHIP_MIX}  # KPI id -> (label, colour)
TREATED_COLOUR, CONTROL_COLOUR, TARGET_COLOUR = "#0072B2", "#7F7F7F", "#000000"
SOURCE_TABLES = ("customers", "interactions", "transactions", "surveys", "initiatives", "goals", "segments",
                 "channels")
PAGE_WIDTH_PX = 680          # A4 portrait minus the page margins, in CSS pixels
HALF_WIDTH_PX = 332


class ReportError(ValueError):
    """The report cannot be written (bad file name, no Chromium for PDF); the message says what to do."""
