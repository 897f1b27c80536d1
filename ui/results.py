"""KPI results from the engine, cached on the store, the data version and the view."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from crm_metrics.metrics.kpis import KpiError, compute

from . import precompute, state
from .filters import Filters


@precompute.remembered("kpi")
@st.cache_data(show_spinner=False, max_entries=2048)
def _kpi(path: str, version: int, kpi_id: str, start: dt.date, end: dt.date, channels: tuple[str, ...],
         segments: tuple[str, ...], by: tuple[str, ...], grain: str) -> pd.DataFrame:
    return compute(state.store_at(path), kpi_id, start=start, end=end, channels=channels, segments=segments, by=by,
                   grain=grain)


def kpi(kpi_id: str, f: Filters, by: Sequence[str] = (), grain: str | None = None,
        start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame | str:
    """A KPI result, or a sentence saying what to load / why it cannot be shown."""
    try:
        return _kpi(*state.store_key(), kpi_id, start or f.start, end or f.end, f.channels,
                    f.segments, tuple(by), grain or f.grain)
    except KpiError as e:
        return str(e)
