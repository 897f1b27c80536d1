"""Tables: KPIs side by side per channel or segment, stated strategy against observed behaviour
(alignment), and advisors' caseload continuity, each with its CSV download. Each renders inside a
cached function keyed on the store, the data version and the view (see ``ui.cards``)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from crm_metrics.delivery import output
from crm_metrics.delivery.presentation import ALIGNMENT_STYLE
from crm_metrics.judgement.scorecard import alignment
from crm_metrics.metrics.kpis import KPIS
from crm_metrics.metrics.views import kpi_matrix

from . import precompute, state
from .filters import Filters, cache_key
from .formatting import fmt, population, status_label
from .results import kpi
from .widgets import download, missing, readable, table


@precompute.remembered("kpi_matrix")
@st.cache_data(show_spinner=False, max_entries=256)
def _matrix(path: str, version: int, kpi_ids: tuple[str, ...], by: str, start: dt.date, end: dt.date,
            channels: tuple[str, ...], segments: tuple[str, ...]) -> pd.DataFrame:
    return kpi_matrix(state.store_at(path), kpi_ids, by, start=start, end=end, channels=channels, segments=segments)


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
    view = matrix_view(df, by)
    # tall enough for every KPI: a row hidden behind a scrollbar is a KPI nobody sees
    st.dataframe(view, hide_index=True, width="stretch", lazy=False, height=35 * (len(view) + 1) + 3,
                 column_config={"KPI": st.column_config.TextColumn("KPI", width=175, pinned=True),
                                **{c: st.column_config.TextColumn(c, width=82) for c in view.columns[1:-1]},
                                "Measured over": st.column_config.TextColumn(
                                    "Measured over",
                                    help="What each KPI counts: the same word can count different people "
                                         "(e.g. customers at the end of the window, customers with an "
                                         "advisor contact)")})
    if df.isna().any().any():
        st.caption("– : nothing to measure for this group in the window.")
    return df


def matrix_view(df: pd.DataFrame, by: str) -> pd.DataFrame:
    """KPIs as rows and groups as columns (a dozen KPIs side by side do not fit a laptop's width;
    a handful of channels or segments do), each value formatted like its card, with what the KPI
    counts."""
    by_label = {k.label: k for k in KPIS.values()}
    rows = []
    for col in df.columns[1:]:
        k = by_label[col]
        row: dict[str, Any] = {"KPI": k.label}
        for group, value in zip(df[by], df[col]):
            row[str(group)] = fmt(value, k.unit)
        row["Measured over"] = population(k)
        rows.append(row)
    return pd.DataFrame(rows)


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
    # the verdict and the numbers that fit a laptop's width; the strategy statements (long prose)
    # under the table; pseudo-relationship and encounter shares are on the Relationships page
    pct = lambda v: fmt(v, "%")  # noqa: E731
    view = readable(pd.DataFrame({
        "Segment": df["segment"],
        # the same verdicts (icon, word, colour) as the report's alignment table
        "Status": [status_label("misaligned" if bad else ("aligned" if s == "relationship" else "transactional"),
                                ALIGNMENT_STYLE) for bad, s in zip(df["misaligned"], df["strategy"])],
        "Strategy": df["strategy"],
        "Relationship %": df["relationship_share"],
        "Customers with an advisor contact": df["n"],
        "CSAT": df["csat"], "NPS": df["nps"], "Churn": df["churn_rate"],
    }), {"Relationship %": pct, "CSAT": pct, "Churn": pct, "NPS": lambda v: fmt(v, "score"),
         "Customers with an advisor contact": lambda v: f"{int(v):,}"})
    numeric = pd.api.types.is_numeric_dtype(view["Relationship %"])
    st.dataframe(view, hide_index=True, width="stretch", lazy=False, column_config={
        "Segment": st.column_config.TextColumn("Segment", width=130, pinned=True),
        "Status": st.column_config.TextColumn("Status", width=115),
        "Strategy": st.column_config.TextColumn("Strategy", width=110),
        "Relationship %": (st.column_config.ProgressColumn("Relationship %", min_value=0, max_value=100,
                                                           format="%.1f%%", width=120) if numeric else
                           st.column_config.TextColumn("Relationship %", width=120)),
        "Customers with an advisor contact": st.column_config.NumberColumn(
            "Customers with an advisor contact", format="%d", width=230,
            help="The shares are of these customers (an assisted contact with an advisor recorded in the "
                 "window); the Customers KPI counts everyone on the books, so it differs"),
        "CSAT": st.column_config.NumberColumn("CSAT", format="%.1f%%", width=75),
        "NPS": st.column_config.NumberColumn("NPS", format="%.1f", width=65),
        "Churn": st.column_config.NumberColumn("Churn", format="%.1f%%", width=75,
                                               help="Of the customers at the start of the window"),
    })
    statements = [(s, output.plain(x)) for s, x in zip(df["segment"], df["statement"]) if output.plain(x)]
    if statements:
        with st.expander("Each segment's strategy in its own words"):
            for s, x in statements:
                st.markdown(f"**{s}**: {x}")
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
    table(df.rename(columns={"value": "UPC of their customers", "n": f"n ({population(upc)})"}),
                 formats={"UPC of their customers": lambda v: fmt(v, "ratio")}, height=300, lazy=False,
                 column_config={"UPC of their customers": st.column_config.NumberColumn(
                     "UPC of their customers", format="%.2f", help=f"{upc.description} ({upc.formula})")})
    return df
