"""How values read in the app: a number in its KPI's unit, status labels and badges, a KPI's label
and its definition on hover."""
from __future__ import annotations

from typing import Any

from crm_metrics.delivery import output
from crm_metrics.metrics.kpis import Kpi, get_kpi
from crm_metrics.delivery.presentation import STATUS_STYLE

from . import state


def fmt(value: Any, unit: str) -> str:
    v = output.plain(value)
    if v is None:
        return "–"
    v = float(v)
    if unit == "%":
        return f"{v:.1f}%"
    if unit == "count":
        return f"{v:,.0f}"
    if unit == "seconds":
        # always seconds: a card and its table show the same unit (tables format "%.0f s")
        return f"{v:,.0f} s"
    if unit == "currency":
        currency = state.currency()
        sym = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, currency + " ")
        if abs(v) >= 1e6:
            return f"{sym}{v / 1e6:,.2f}M"
        if abs(v) >= 1e4:
            return f"{sym}{v / 1e3:,.1f}k"
        return f"{sym}{v:,.2f}"
    if unit == "ratio":
        return f"{v:.2f}"
    if unit == "score":
        return f"{v:.1f}"
    return f"{v:,.2f}"


def fmt_change(change: Any, unit: str) -> str:
    """A change in its KPI's unit with an ASCII sign ("+12", "-9 s", "+1.5 pts"): ``st.metric``
    reads the arrow from the first character, and a Unicode minus reads as a rise. The dash for no
    value; a % KPI's change is in percentage points."""
    d = output.plain(change)
    if d is None:
        return "–"
    d = float(d)
    sign = "-" if d < 0 else "+"
    if unit == "%":
        return f"{sign}{abs(d):.1f} pts"
    return sign + fmt(abs(d), unit)


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


def window_note(kpi_id: str, grain: str = "month") -> str:
    """For a per-period chart: a KPI whose value depends on the window's length (churn over the
    window, counts, totals, per-customer measures) is measured on each period alone, which is not
    the number on its card."""
    if get_kpi(kpi_id).comparable_across_period_lengths:
        return ""
    return f" per {grain} (each {grain} measured on its own)"


def badge(status: str, styles: dict[str, tuple[str, str, str]] = STATUS_STYLE) -> str:
    colour, icon, word = styles.get(status, ("#8C8C8C", "?", status))
    return f'<span class="crm-badge" style="background:{colour}">{icon} {word}</span>'


def status_label(status: str) -> str:
    _, icon, word = STATUS_STYLE.get(status, ("", "?", status))
    return f"{icon} {word}"


def kpi_label(kpi_id: str) -> str:
    return get_kpi(kpi_id).label


def kpi_help(kpi_id: str) -> str:
    k = get_kpi(kpi_id)
    return f"**{k.label}** — {k.description}\n\nFormula: {k.formula}\n\nBetter: {k.better}. Unit: {k.unit}."
