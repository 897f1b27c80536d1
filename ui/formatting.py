"""How values read in the app: a number in its KPI's unit, status labels and badges, a KPI's label
and its definition on hover."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from crm_metrics.data import values
from crm_metrics.delivery import output
from crm_metrics.delivery.formatting import APP, format_change, format_value
from crm_metrics.delivery.presentation import STATUS_STYLE
from crm_metrics.metrics.kpis import Kpi, get_kpi

from . import state


def _currency(unit: str) -> str:
    # the store's currency setting is read only when an amount is shown
    return state.currency() if unit == "currency" else ""


def fmt(value: Any, unit: str) -> str:
    """A value in its KPI's unit as the app shows it (formatting.APP: seconds always in seconds, so a
    card and its table show the same unit; amounts with the currency's symbol, compact)."""
    return format_value(value, unit, _currency(unit), style=APP)


def fmt_change(change: Any, unit: str) -> str:
    """A change in its KPI's unit with an ASCII sign ("+12", "-9 s", "+1.5 pts"): ``st.metric``
    reads the arrow from the first character, and a Unicode minus reads as a rise. The dash for no
    value; a % KPI's change is in percentage points."""
    return format_change(change, unit, _currency(unit), style=APP)


def _k(kpi: str | Kpi) -> Kpi:
    return kpi if isinstance(kpi, Kpi) else get_kpi(kpi)


def delta_colour(kpi: str | Kpi) -> str:
    """``st.metric``'s delta_color from the KPI's better direction: a rise is green when higher is
    better (normal), red when lower is better (inverse), grey when neither (off)."""
    return {"higher": "normal", "lower": "inverse"}.get(_k(kpi).better, "off")


def population(kpi: str | Kpi) -> str:
    """What a KPI's n counts, in words ("customers at the start of the window"): two numbers of
    the same thing can differ because they count different people."""
    return _k(kpi).n_label or "rows"


def n_text(n: Any, kpi: str | Kpi) -> str:
    v = output.plain(n)
    return "–" if v is None else f"{int(v):,} {population(kpi)}"


def window_note(kpi_id: str, grain: str = "month", whole: str = "the card measures the whole window"
                ) -> tuple[str, str]:
    """For a per-period chart: the title's suffix and a line under it. A KPI whose value depends
    on the window's length (churn over the window, counts, totals, per-customer measures) is
    measured on each period alone, which is not the number on its card."""
    k = get_kpi(kpi_id)
    if k.comparable_across_period_lengths:
        return "", ""
    if k.kind == "stock":
        return f" at each {grain}'s end", ""
    if k.kind == "sum":
        return f" per {grain}", "the card shows the whole window's total"
    return f" per {grain}", f"each {grain} measured on its own; {whole}"


def as_date(v: Any) -> dt.date | None:
    """A day from a cell (date, datetime, ISO text); None when missing or unreadable."""
    try:
        return values.day(v)
    except ValueError:
        return None


def period_text(start: Any, end: Any) -> str:
    """A goal's period in words: "2026", "Jan–Jun 2026", "Mar 2026", or the dates."""
    a, b = as_date(start), as_date(end)
    if a is None and b is None:
        return "the window viewed"
    if a is None or b is None:
        return f"from {a}" if b is None else f"until {b}"
    month_end = (b + dt.timedelta(days=1)).day == 1
    if a.day == 1 and month_end:
        if a.year == b.year:
            if a.month == 1 and b.month == 12:
                return str(a.year)
            if a.month == b.month:
                return f"{a:%b %Y}"
            return f"{a:%b}–{b:%b %Y}"
        return f"{a:%b %Y}–{b:%b %Y}"
    return f"{a} – {b}"


def goal_text(goal: Mapping[str, Any], *, prefix: str = "Goal: ", with_period: bool = True) -> str:
    """A goal in words: "Goal: First-contact resolution ≥ 75.0% (phone, 2026)"."""
    k = get_kpi(str(goal["kpi"]))
    direction = output.plain(goal.get("direction")) or ("at_most" if k.better == "lower" else "at_least")
    arrow = "≤" if direction == "at_most" else "≥"
    scope = [str(x) for x in (output.plain(goal.get("channel")), output.plain(goal.get("segment"))) if x]
    if with_period:
        scope.append(period_text(goal.get("period_start"), goal.get("period_end")))
    return f"{prefix}{k.label} {arrow} {fmt(goal.get('target'), k.unit)}" + (f" ({', '.join(scope)})" if scope else "")


def badge(status: str, styles: dict[str, tuple[str, str, str]] = STATUS_STYLE) -> str:
    colour, icon, word = styles.get(status, ("#8C8C8C", "?", status))
    return f'<span class="crm-badge" style="background:{colour}">{icon} {word}</span>'


def status_label(status: str, styles: dict[str, tuple[str, str, str]] = STATUS_STYLE) -> str:
    _, icon, word = styles.get(status, ("", "?", status))
    return f"{icon} {word}"


def kpi_label(kpi_id: str) -> str:
    return get_kpi(kpi_id).label


def kpi_help(kpi_id: str) -> str:
    k = get_kpi(kpi_id)
    return f"**{k.label}** — {k.description}\n\nFormula: {k.formula}\n\nBetter: {k.better}. Unit: {k.unit}."


def md(text: Any) -> str:
    """Text from data for anything that renders markdown (st.markdown, captions, alerts, labels of
    buttons and expanders): shown as written, no link, image, emphasis or directive."""
    return output.plain_text_markdown(text)


# Characters that are markdown syntax (or Streamlit's :directive[...]) once an HTML block ends: as
# numeric entities they show as themselves and never become syntax.
_HTML_CHARS = {c: f"&#{ord(c)};" for c in "&<>\"'[]()!*_`~#:\\|{}$"}


def html_text(text: Any) -> str:
    """Text from data inside markup passed with ``unsafe_allow_html``: HTML-escaped, markdown
    characters as entities, and line breaks as <br> (a blank line would end the HTML block and
    markdown would start again)."""
    s = "".join(_HTML_CHARS.get(c, c) for c in ("" if text is None else str(text)))
    return s.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")
