"""The "why" view (explain.md): a KPI's change split into mix and rate by group (waterfall, groups,
one sentence) and the records behind the number (paginated, downloadable, customer ids masked for
viewers). Opened from KPI cards and scorecard rows through :func:`why_url`."""
from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from crm_metrics.data.pseudonyms import reveal_customer_ids
from crm_metrics.delivery import output
from crm_metrics.metrics.explain import explain, groups_table, refusal, sentence, waterfall
from crm_metrics.metrics.kpis import KPIS, KpiError, get_kpi
from crm_metrics.metrics.records import mask_customer_ids, no_records_reason, records

from . import auth, state
from .filters import Filters
from .formatting import fmt, md
from .widgets import plotly_chart

PAGE_URL = "/Why"
PAGE_ROWS = 100          # records shown per page
CSV_LIMIT = 200_000      # records a browser download may hold; above it the CLI writes the file
SPLITS = (("channel",), ("segment",), ("region",), ("channel", "segment"))


def explainable(kpi_id: str) -> bool:
    k = KPIS.get(kpi_id)
    return k is not None and any(refusal(k, d) is None for d in SPLITS)


def splits_for(kpi_id: str) -> list[str]:
    """The splits the KPI allows, as URL values ("channel", "channel,segment", ...)."""
    k = get_kpi(kpi_id)
    return [",".join(d) for d in SPLITS if refusal(k, d) is None]


def why_url(kpi_id: str, start: Any, end: Any, channels: tuple[str, ...] = (), segments: tuple[str, ...] = (),
            by: str | None = None) -> str:
    """The why view's URL for a KPI and scope (the filters ride along, so the link is shareable)."""
    params: dict[str, str] = {"kpi": kpi_id, "from": str(start), "to": str(end)}
    if by:
        params["by"] = by
    if channels:
        params["channel"] = ",".join(channels)
    if segments:
        params["segment"] = ",".join(segments)
    return f"{PAGE_URL}?{urlencode(params)}"


# -- explain ------------------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=256)
def _explained(path: str, version: int, kpi_id: str, by: tuple[str, ...], start: dt.date, end: dt.date,
               vs_start: dt.date | None, vs_end: dt.date | None, channels: tuple[str, ...],
               segments: tuple[str, ...], currency: str) -> dict[str, Any] | str:
    """Plain, picklable results (a KPI declaration holds query functions, so not the Explanation)."""
    try:
        ex = explain(state.store_at(path), kpi_id, by=by, start=start, end=end, vs_start=vs_start, vs_end=vs_end,
                     channels=channels, segments=segments)
    except KpiError as e:
        return str(e)
    return {"json": ex.to_json(), "sentence": sentence(ex, currency), "waterfall": waterfall(ex),
            "groups": groups_table(ex), "periods": (ex.vs_start, ex.vs_end, ex.start, ex.end)}


def explain_panel(kpi_id: str, by: tuple[str, ...], f: Filters, vs_start: dt.date | None,
                  vs_end: dt.date | None) -> None:
    k = get_kpi(kpi_id)
    res = _explained(*state.store_key(), kpi_id, by, f.start, f.end, vs_start, vs_end, f.channels, f.segments,
                     state.currency())
    if isinstance(res, str):
        st.info(res, icon=":material/block:")
        return
    a, b, s, e = res["periods"]
    st.caption(f"{a} – {b} → {s} – {e}, by {' × '.join(by)}")
    st.markdown(f"**{md(res['sentence'])}**")  # names of channels and segments come from data
    _waterfall_chart(res["waterfall"], k.unit)
    g = res["groups"]
    st.dataframe(g, hide_index=True, width="stretch", column_config={
        "weight_prev_pct": st.column_config.NumberColumn("weight before (%)", format="%.1f"),
        "weight_cur_pct": st.column_config.NumberColumn("weight now (%)", format="%.1f"),
        "value_prev": st.column_config.NumberColumn("value before", format="%.2f"),
        "value_cur": st.column_config.NumberColumn("value now", format="%.2f"),
        "mix": st.column_config.NumberColumn("mix", format="%.2f"),
        "rate": st.column_config.NumberColumn("rate", format="%.2f"),
        "contribution": st.column_config.NumberColumn("contribution", format="%.2f"),
    })
    st.download_button("Download the groups (CSV)", lambda: output.to_csv(res["json"]["groups"], safe=True),
                       file_name=f"why-{kpi_id}-{s}-{e}.csv", mime="text/csv", key="dl_why_groups")


def _waterfall_chart(w: pd.DataFrame, unit: str) -> None:
    import plotly.graph_objects as go
    fig = go.Figure(go.Waterfall(
        x=w["step"].tolist(), y=w["value"].tolist(), measure=w["measure"].tolist(),
        text=[fmt(v, unit) if m == "absolute" else f"{v:+.2f}" for v, m in zip(w["value"], w["measure"])],
        textposition="outside", increasing={"marker": {"color": "#009E73"}},
        decreasing={"marker": {"color": "#D55E00"}}, totals={"marker": {"color": "#0072B2"}}))
    lo = min(0.0, float(w["value"].min()))
    fig.update_layout(height=380, margin={"l": 10, "r": 10, "t": 30, "b": 10}, showlegend=False,
                      yaxis={"rangemode": "tozero" if lo >= 0 else "normal"})
    plotly_chart(fig, key="why_waterfall")


# -- records ------------------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=256)
def _records_page(path: str, version: int, kpi_id: str, start: dt.date, end: dt.date, channels: tuple[str, ...],
                  segments: tuple[str, ...], limit: int | None, offset: int) -> tuple[pd.DataFrame, int, float | None] | str:
    try:
        r = records(state.store_at(path), kpi_id, start=start, end=end, channels=channels, segments=segments,
                    limit=limit, offset=offset)
    except KpiError as e:
        return str(e)
    return r.frame, r.n, r.value


def records_panel(kpi_id: str, f: Filters) -> None:
    k = get_kpi(kpi_id)
    why_not = no_records_reason(k)
    if why_not:
        st.info(why_not, icon=":material/block:")
        return
    key = (*state.store_key(), kpi_id, f.start, f.end, f.channels, f.segments)
    first = _records_page(*key, PAGE_ROWS, 0)
    if isinstance(first, str):
        st.info(first, icon=":material/block:")
        return
    n, value = first[1], first[2]
    pages = max(1, -(-n // PAGE_ROWS))
    st.caption(f"{n:,} {k.unit_of_count}s in {f.start} – {f.end}; {k.label} recomputed from them: "
               f"{fmt(value, k.unit)}")
    page_no = 1
    if pages > 1:
        page_no = int(st.number_input(f"Page (of {pages:,}; {PAGE_ROWS} records each)", min_value=1,
                                      max_value=pages, value=1, step=1, key="why_records_page"))
        st.info(f"{n:,} records: more than the {PAGE_ROWS} a page shows. Browse the pages, or download the CSV "
                "for all of them.", icon=":material/table_rows:")
    frame = first[0] if page_no == 1 else _records_page(*key, PAGE_ROWS, (page_no - 1) * PAGE_ROWS)[0]
    reveal = reveal_customer_ids(auth.role(), state.settings())
    shown = frame if reveal else mask_customer_ids(state.store(), frame)
    if not reveal:
        st.caption("Customer ids are pseudonymised (the same customer has the same pseudonym everywhere in this "
                   "store). Analysts see them, or the setting show_customer_ids shows them to everyone.")
    st.dataframe(shown, hide_index=True, width="stretch")
    if n > CSV_LIMIT:
        st.warning(f"{n:,} records are more than a browser download holds ({CSV_LIMIT:,}). Narrow the window or "
                   f"the filters, or write the file with `python -m crm_metrics records {kpi_id} --from {f.start} "
                   f"--to {f.end} --format csv`.", icon=":material/warning:")
        return

    def _records_safe_csv() -> bytes:  # escaped: output.safe_csv
        all_rows = _records_page(*key, None, 0)
        df = all_rows[0] if not isinstance(all_rows, str) else pd.DataFrame()
        return output.safe_csv(df if reveal else mask_customer_ids(state.store(), df))

    st.download_button(f"Download all {n:,} records (CSV)", _records_safe_csv, file_name=f"records-{kpi_id}-{f.start}-{f.end}.csv",
                       mime="text/csv", key="dl_why_records")


__all__ = ["why_url", "explainable", "splits_for", "explain_panel", "records_panel"]
