"""Small HTML pieces of the report: escaping, numbers, dates, badges, tables."""
from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable
from typing import Any

import pandas as pd

from crm_metrics.data import values
from crm_metrics.delivery.formatting import format_value
from crm_metrics.delivery.presentation import LOW_CONFIDENCE_N, STATUS_STYLE
from crm_metrics.delivery.report.base import LOW_CONFIDENCE_MARK
from crm_metrics.metrics.kpis import KPIS


# -- formatting -------------------------------------------------------------------------------------
def esc(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def fmt_roi(value: Any) -> str:
    """First-year ROI as a percentage of the cost: 0.45 -> +45%."""
    v = values.number(value)
    return "–" if v is None else f"{v * 100:+,.0f}%"


def fmt_money(value: Any, currency: str) -> str:
    """An initiative's money without decimals: 318,000 USD."""
    v = values.number(value)
    return "–" if v is None else f"{v:,.0f}{' ' + currency if currency else ''}"


def fmt_n(n: Any, low: bool | None = None) -> str:
    v = values.number(n)
    if v is None:
        return "–"
    low = v < LOW_CONFIDENCE_N if low is None else low
    text = format_value(v, "count")
    return f'{text} <span class="low" title="fewer than {LOW_CONFIDENCE_N} observations: low confidence">' \
           f'{LOW_CONFIDENCE_MARK}</span>' if low else text


def fmt_date(v: Any) -> str:
    if values.is_na(v):
        return "–"
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def badge(status: str, styles: dict[str, tuple[str, str, str]] = STATUS_STYLE) -> str:
    colour, icon, word = styles.get(status, ("#8C8C8C", "?", status))
    return f'<span class="badge" style="background:{colour}">{icon} {esc(word)}</span>'


def status_word(status: str) -> str:
    return STATUS_STYLE.get(status, ("", "", status))[2]


def scope_text(channel: Any, segment: Any) -> str:
    parts = [p for p in (values.text(channel), values.text(segment)) if p]
    return " · ".join(parts) if parts else "all customers"


def target_text(target: Any, direction: Any, unit: str | None, currency: str) -> str:
    sym = {"at_least": "≥ ", "at_most": "≤ "}.get(str(direction), "")
    return sym + format_value(target, unit, currency)


def table_html(headers: Iterable[tuple[str, bool]], rows: Iterable[Iterable[str]], row_attrs: Iterable[str] | None = None,
           widths: Iterable[int] | None = None) -> str:
    hs = list(headers)
    cols = ""
    if widths is not None:
        cols = "<colgroup>" + "".join(f'<col style="width:{w}%">' for w in widths) + "</colgroup>"
    head = "".join(f'<th class="{"num" if num else ""}">{esc(h)}</th>' for h, num in hs)
    body = []
    attrs = list(row_attrs) if row_attrs is not None else None
    for i, r in enumerate(rows):
        cells = "".join(f'<td class="{"num" if num else ""}">{c}</td>' for c, (_, num) in zip(r, hs))
        body.append(f"<tr{(' ' + attrs[i]) if attrs else ''}>{cells}</tr>")
    cls = ' class="fixed"' if widths is not None else ""
    return f"<table{cls}>{cols}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def period_words(start: Any, end: Any) -> str:
    """A goal's period in words: "2026", "Jan–Jun 2026", "Mar 2026", else the two dates."""
    a = None if values.is_na(start) else pd.Timestamp(start).date()
    b = None if values.is_na(end) else pd.Timestamp(end).date()
    if a is None or b is None:
        return f"{fmt_date(a)} – {fmt_date(b)}"
    if a.day == 1 and (b + dt.timedelta(days=1)).day == 1 and a.year == b.year:
        if (a.month, b.month) == (1, 12):
            return str(a.year)
        return f"{a:%b %Y}" if a.month == b.month else f"{a:%b}–{b:%b %Y}"
    return f"{a} – {b}"


def goal_words(g: dict[str, Any], currency: str) -> str:
    """A goal in words, no id: "Net Promoter Score ≥ 25.0 (all customers, 2026)"."""
    kpi = KPIS.get(str(g["kpi"]))
    label = kpi.label if kpi else str(g["kpi"])
    scope = scope_text(g.get("channel"), g.get("segment")).replace(" · ", ", ")
    target = target_text(g["target"], g["direction"], g.get("unit"), currency)
    return f"{label} {target} ({scope}, {period_words(g.get('period_start'), g.get('period_end'))})"
