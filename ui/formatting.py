"""How values read in the app: a number in its KPI's unit, status labels and badges, a KPI's label
and its definition on hover."""
from __future__ import annotations

from typing import Any

from crm_metrics.delivery import output
from crm_metrics.metrics.kpis import get_kpi
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
        return f"{v / 60:.1f} min" if v >= 120 else f"{v:.0f} s"
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
