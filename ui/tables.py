"""Tables: KPIs side by side per channel or segment, stated strategy against observed behaviour
(alignment), and advisors' caseload continuity, each with its CSV download. Each renders inside a
cached function keyed on the store, the data version and the view (see ``ui.cards``)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from crm_metrics.judgement.scorecard import alignment
from crm_metrics.metrics.kpis import KPIS
from crm_metrics.metrics.views import kpi_matrix

from . import precompute, state
from .filters import Filters, cache_key
from .results import kpi
from .widgets import download, missing


@st.cache_data(show_spinner=False, max_entries=256)
def _matrix(path: str, version: int, kpi_ids: tuple[str, ...], by: str, start: dt.date, end: dt.date,
            channels: tuple[str, ...], segments: tuple[str, ...]) -> pd.DataFrame:
    return kpi_matrix(state.store(), kpi_ids, by, start=start, end=end, channels=channels, segments=segments)


def kpi_matrix_table(kpi_ids: Sequence[str], f: Filters, *, by: str, name: str) -> None:
    """KPIs side by side per channel/segment, formatted in each KPI's unit, with definitions on hover."""
    df = _matrix_view(*state.store_key(), tuple(kpi_ids), by, f.start, f.end, tuple(f.channels), tuple(f.segments))
    if df is not None:
        download(df, name)


@st.cache_data(show_spinner=False, max_entries=256)
def _matrix_view(path: str, version: int, kpi_ids: tuple[str, ...], by: str, start: dt.date, end: dt.date,
                 channels: tuple[str, ...], segments: tuple[str, ...]) -> pd.DataFrame | None:
    df = _matrix(path, version, kpi_ids, by, start, end, channels, segments)
    if df.empty or len(df.columns) <= 1:
        missing("No data for these KPIs yet: load interactions.csv (and customers.csv for segments).")
        return None
    by_label = {k.label: k for k in KPIS.values()}
    config: dict[str, Any] = {by: st.column_config.TextColumn(by.capitalize())}
    for col in df.columns[1:]:
        k = by_label[col]
        fmt_str = {"%": "%.1f%%", "count": "%.0f", "seconds": "%.0f s", "ratio": "%.2f",
                   "score": "%.1f", "currency": "%.2f"}[k.unit]
        config[col] = st.column_config.NumberColumn(col, help=f"{k.description} ({k.formula})", format=fmt_str)
    st.dataframe(df, hide_index=True, width="stretch", column_config=config, lazy=False)
    return df


def alignment_table(f: Filters, *, only_misaligned: bool = False) -> None:
    df = _alignment_view(*state.store_key(), f.start, f.end, bool(only_misaligned))
    if df is not None:
        download(df, "alignment" + ("_misaligned" if only_misaligned else ""))


@precompute.remembered("alignment")
@st.cache_data(show_spinner=False, max_entries=256)
def _alignment(path: str, version: int, start: dt.date, end: dt.date) -> pd.DataFrame:
    return alignment(state.store_at(path), start, end)


@st.cache_data(show_spinner=False, max_entries=256)
def _alignment_view(path: str, version: int, start: dt.date, end: dt.date,
                    only_misaligned: bool) -> pd.DataFrame | None:
    df = _alignment(path, version, start, end)
    if df is None or len(df) == 0:
        missing("Load segments.csv (each segment's stated strategy) and interactions.csv to compare "
                "strategy with behaviour.")
        return None
    if only_misaligned:
        df = df[df["misaligned"]]
        if df.empty:
            st.success("No segment with a relationship strategy is served by chance contacts.",
                       icon=":material/check_circle:")
            return None
    view = df.assign(status=df["misaligned"].map({True: "✖ Misaligned", False: "✔ Aligned"}))
    # the verdict and the numbers first; the strategy statement (long prose) last and narrower
    order = ["segment", "status", "strategy", "relationship_share", "pseudo_relationship_share",
             "encounter_share", "n", "csat", "nps", "churn_rate", "statement"]
    st.dataframe(view, hide_index=True, width="stretch", column_order=[c for c in order if c in view.columns],
                 lazy=False, column_config={
        "segment": st.column_config.TextColumn("Segment"),
        "status": st.column_config.TextColumn("Status"),
        "strategy": st.column_config.TextColumn("Strategy"),
        "statement": st.column_config.TextColumn("Statement", width="medium"),
        "n": st.column_config.NumberColumn("Customers", format="%d",
                                           help="Customers with an assisted contact with an advisor (N ≥ 1)"),
        "relationship_share": st.column_config.ProgressColumn("Relationship %", min_value=0, max_value=100,
                                                              format="%.1f%%"),
        "pseudo_relationship_share": st.column_config.NumberColumn("Pseudo %", format="%.1f%%"),
        "encounter_share": st.column_config.NumberColumn("Encounter %", format="%.1f%%"),
        "csat": st.column_config.NumberColumn("CSAT", format="%.1f%%"),
        "nps": st.column_config.NumberColumn("NPS", format="%.1f"),
        "churn_rate": st.column_config.NumberColumn("Churn", format="%.1f%%"),
        "misaligned": None,
    })
    return df


def advisor_continuity_table(f: Filters) -> None:
    df = _advisor_view(*state.store_key(), *cache_key(f))
    if df is not None:
        download(df, "advisor_continuity")


@st.cache_data(show_spinner=False, max_entries=128)
def _advisor_view(path: str, version: int, start: dt.date, end: dt.date,
                  channels: tuple[str, ...], segments: tuple[str, ...], grain: str) -> pd.DataFrame | None:
    f = Filters(start, end, channels, segments, grain)
    df = kpi("upc", f, by=("advisor",))
    if isinstance(df, str):
        missing(df)
        return None
    upc = KPIS["upc"]
    st.dataframe(df.rename(columns={"value": "UPC of their customers", "n": "customers (N ≥ 2)"}),
                 hide_index=True, width="stretch", height=300, lazy=False,
                 column_config={"UPC of their customers": st.column_config.NumberColumn(
                     "UPC of their customers", format="%.2f", help=f"{upc.description} ({upc.formula})")})
    return df
