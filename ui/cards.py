"""KPI cards: a KPI's value over the window, its change against the previous period, n, and a
low-confidence mark.

The panels of this package render inside ``st.cache_data`` functions keyed on the store, the data
version and the view (filters and options). On a cache hit Streamlit replays the recorded elements
(metrics, tables, charts) instead of running the body again: no KPI look-ups, no pandas formatting
or styling, no Plotly figure building on a rerun. Widgets (download buttons, selectboxes) never go
inside them; a view returns the frame its download button needs.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from crm_metrics.delivery import output
from crm_metrics.delivery.presentation import LOW_CONFIDENCE_N
from crm_metrics.judgement.goals import covered_previous
from crm_metrics.metrics.kpis import Kpi, get_kpi

from . import state, why
from .filters import Filters, cache_key, choices
from .formatting import delta_colour, fmt, fmt_change, kpi_help, n_text
from .results import kpi


def kpi_card(kpi_id: str, f: Filters, *, container: Any = None) -> None:
    """A metric card: value over the window, change against the previous period of equal length,
    `n`, and a low-confidence mark when n < 30. The definition is on hover."""
    if container is None:
        _cards_view(*state.store_key(), (kpi_id,), *cache_key(f), 0)
    else:
        _card(kpi_id, f, container)


def kpi_cards(kpi_ids: Sequence[str], f: Filters, per_row: int = 4) -> None:
    """KPI cards in rows (labels stay readable)."""
    _cards_view(*state.store_key(), tuple(kpi_ids), *cache_key(f), int(per_row))


@st.cache_data(show_spinner=False, max_entries=512)
def _cards_view(path: str, version: int, kpi_ids: tuple[str, ...], start: dt.date, end: dt.date,
                channels: tuple[str, ...], segments: tuple[str, ...], grain: str, per_row: int) -> None:
    """``per_row`` 0: the cards one after another in the current container (no columns)."""
    f = Filters(start, end, channels, segments, grain)
    if not per_row:
        for kpi_id in kpi_ids:
            _card(kpi_id, f, st)
        return
    for i in range(0, len(kpi_ids), per_row):
        row = kpi_ids[i:i + per_row]
        for col, kpi_id in zip(st.columns(per_row), row):
            with col:
                _card(kpi_id, f, st)


def _card(kpi_id: str, f: Filters, target: Any) -> None:
    k = get_kpi(kpi_id)
    cur = kpi(kpi_id, f)
    if isinstance(cur, str):
        target.metric(k.label, "–", help=cur)
        target.caption(cur)
        return
    # The previous period counts only when the data cover it whole (strategy.md): a period the data
    # cover in part would report the missing days as a change.
    previous = covered_previous(f.start, f.end, choices()["first"])
    prev = kpi(kpi_id, f, start=previous[0], end=previous[1]) if previous else None
    value = output.plain(cur["value"].iloc[0]) if len(cur) else None
    n = int(cur["n"].iloc[0]) if len(cur) else 0
    pv = output.plain(prev["value"].iloc[0]) if isinstance(prev, pd.DataFrame) and len(prev) else None
    metric(target, k, value, pv, n, _why_link(kpi_id, f))


def metric(target: Any, k: Kpi, value: float | None, previous: float | None, n: int, link: str = "") -> None:
    """One card from its numbers: the change's arrow from its sign (ASCII, see fmt_change), its
    colour from the KPI's better direction, n with what it counts."""
    delta = fmt_change(value - previous, k.unit) if value is not None and previous is not None else None
    same = delta is not None and value == previous     # no change: no arrow, no colour
    target.metric(k.label, fmt(value, k.unit), delta=delta, delta_color="off" if same else delta_colour(k),
                  delta_arrow="off" if same else "auto", help=kpi_help(k.id))
    mark = " · ⚠ low confidence (n < 30)" if n < LOW_CONFIDENCE_N else ""
    target.caption(f"n = {n_text(n, k)}{mark}"
                   + (f" · previous period {fmt(previous, k.unit)}" if previous is not None else "") + link)


def _why_link(kpi_id: str, f: Filters) -> str:
    """" · why?" (the decomposition) or " · records" (the units behind the number), as a link."""
    label = "why?" if why.explainable(kpi_id) else ("records" if get_kpi(kpi_id).units is not None else None)
    return f" · [{label}]({why.why_url(kpi_id, f.start, f.end, f.channels, f.segments)})" if label else ""
