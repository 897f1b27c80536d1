"""The one Streamlit helper module: bootstrap, shared filters (kept in the URL), cached calls into
``crm_metrics``, and the presentation pieces every page uses (KPI cards, status badges, charts).

Pages stay thin: they read filters, call functions here or in ``crm_metrics``, and render.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd
import streamlit as st

from crm_metrics.delivery import output
from crm_metrics.delivery.presentation import LOW_CONFIDENCE_N, SERIES_COLOURS, SEVERITY_STYLE, STATUS_STYLE
from crm_metrics.data.store import Store, default_db_path, open_store

APP_TITLE = "CRM Success"

GRAINS = ("day", "week", "month", "quarter", "year")


# -- store and bootstrap ------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _store_for(path: str) -> Store:
    from crm_metrics.data.bootstrap import ensure_sample
    from crm_metrics.data.inbox import serve

    store = open_store(path)
    if os.environ.get("CRM_ENGINE", "duckdb").lower() != "duckdb":
        from crm_metrics.metrics.engines import configure_from_env

        configure_from_env()  # CRM_ENGINE=spark: every KPI of every page runs on Spark
    ensure_sample(store)
    serve(store)  # take loads handed over by `python -m crm_metrics load` while the app holds the store
    # From here on DuckDB may only touch the store's own folders (uploads are spooled there).
    store.lock_down()
    return store


# -- per-run memo --------------------------------------------------------------------------------
# The store handle, the data version, the settings and the filter choices are read once per script
# run (every page calls ``page_setup`` first, which starts a fresh memo), not once per card or chart:
# each read is a DuckDB query or a cache lookup that costs a few milliseconds on every rerun.
_MEMO = "_crm_memo"


class _RunMemo(dict):
    """The per-run memo. It holds the store handle, which cannot be serialised; nothing in it is
    worth keeping beyond the run, so it pickles as an empty memo."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_RunMemo, ())


def _memo() -> dict[str, Any]:
    m = st.session_state.get(_MEMO)
    if m is None:
        m = _RunMemo()
        st.session_state[_MEMO] = m
    return m


def _forget(*keys: str) -> None:
    m = _memo()
    for k in keys or tuple(m):
        m.pop(k, None)


def store() -> Store:
    import duckdb

    m = _memo()
    s = m.get("store")
    if s is not None:
        return s
    try:
        s = _store_for(os.environ.get("CRM_DB") or default_db_path())
    except duckdb.IOException as e:  # a CLI load holds the file right now; failures are not cached
        if "lock" not in str(e).lower():
            raise
        st.warning("The data is being updated by a load running outside the app. This page will be "
                   "available as soon as it has finished — reload in a moment.", icon=":material/hourglass_top:")
        st.stop()
        raise
    m["store"] = s
    return s


def data_version() -> int:
    """The store's data version, read once per run: every cached result is keyed on it."""
    m = _memo()
    v = m.get("version")
    if v is None:
        v = m["version"] = store().data_version()
    return v


def _sv() -> tuple[str, int]:
    """(store path, data version): the first two arguments of every cached call."""
    return store().path, data_version()


_PAGE_DONE = "_crm_page_setup_done"


def page_setup(title: str, icon: str = ":material/insights:", *, with_filters: bool = True) -> Store:
    """Call first on every page: works whether the page was opened directly or via the router."""
    st.session_state[_MEMO] = _RunMemo()  # a fresh per-run memo (store, data version, settings, choices)
    ctx = st.session_state.setdefault("_crm_run", {})
    try:
        st.set_page_config(page_title=f"{title} · {APP_TITLE}", page_icon=icon, layout="wide")
    except st.errors.StreamlitAPIException:
        pass  # already set in this run by the router
    _style()
    _navigation()
    sign_in_gate()
    s = store()
    from crm_metrics.data.bootstrap import showing_sample

    if showing_sample(s):
        st.info("You are looking at **Northwind Bank, a fictional sample company**. Load your own "
                "exports on the **Data** page to measure your CRM.", icon=":material/science:")
    ctx["title"] = title
    if not with_filters:
        _fill_navigation(st.session_state.get("_crm_filters"))
    return s


# (script, label, icon): the sidebar navigation, the same whichever page was opened first.
PAGES: tuple[tuple[str, str, str], ...] = (
    ("app.py", "Scorecard", ":material/target:"),
    ("pages/2_Channels.py", "Channels", ":material/call:"),
    ("pages/3_Segments.py", "Segments", ":material/group_work:"),
    ("pages/4_Relationships.py", "Relationships", ":material/handshake:"),
    ("pages/5_Customers_and_value.py", "Customers & value", ":material/payments:"),
    ("pages/6_Initiatives.py", "Initiatives", ":material/rocket_launch:"),
    ("pages/7_Data.py", "Data", ":material/database:"),
    ("pages/8_Strategy.py", "Strategy", ":material/explore:"),
)


def _navigation() -> None:
    """Reserve the navigation's place at the top of the sidebar; links are filled in by
    ``_fill_navigation`` once this run's filters are known, so they carry the current view."""
    with st.sidebar:
        st.markdown(f"### :material/insights: {APP_TITLE}")
        st.session_state["_crm_nav"] = st.container()
        st.divider()


def _fill_navigation(params: dict[str, str] | None) -> None:
    nav = st.session_state.pop("_crm_nav", None)
    if nav is None:
        return
    with nav:
        for script, label, icon in PAGES:
            try:
                st.page_link(script, label=label, icon=icon, query_params=params or None)
            except st.errors.StreamlitPageNotFoundError:
                # Only when a page file itself is the entry point (AppTest): a plain link instead.
                url = "/" if script == "app.py" else "/" + script.split("_", 1)[1].removesuffix(".py")
                st.markdown(f"[{label}]({url})")


def _style() -> None:
    st.markdown(
        """<style>
        div[data-testid="stMetric"] {background: #F7F9FC; border: 1px solid #E3E8EF; border-radius: 10px;
             padding: 12px 14px;}
        div[data-testid="stMetricLabel"] p {font-size: 0.85rem; color: #44546A;}
        .crm-badge {display:inline-block; padding:2px 10px; border-radius:12px; color:white;
             font-weight:600; font-size:0.8rem;}
        .crm-finding {border-left: 6px solid; padding: 8px 12px; margin: 6px 0; background:#FAFAFA;
             border-radius: 4px;}
        </style>""",
        unsafe_allow_html=True,
    )


# -- shared filters, kept in the URL -------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date
    channels: tuple[str, ...]
    segments: tuple[str, ...]
    grain: str

    def kwargs(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "channels": self.channels, "segments": self.segments}


@st.cache_data(show_spinner=False, max_entries=64)
def _choices(path: str, version: int) -> dict[str, Any]:
    from crm_metrics.metrics.views import filter_choices

    return filter_choices(store())


def choices() -> dict[str, Any]:
    m = _memo()
    c = m.get("choices")
    if c is None:
        c = m["choices"] = _choices(*_sv())
    return c


def _qp_list(name: str) -> list[str]:
    vals = st.query_params.get_all(name)
    out: list[str] = []
    for v in vals:
        out += [x for x in v.split(",") if x]
    return out


def _qp_date(name: str, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(st.query_params.get(name, ""))
    except ValueError:
        return default


def filters(*, show_channels: bool = True, show_segments: bool = True, show_grain: bool = True) -> Filters:
    """The sidebar filters. Initial values come from the URL (or this session), and every change
    is written back to the URL so that a copied link reproduces the view."""
    c = choices()
    today = dt.date.today()
    first, last = c["first"] or today, c["last"] or today
    remembered: dict[str, Any] = st.session_state.setdefault("_crm_filters", {})
    if not st.query_params and remembered:  # arrived via page navigation: restore this session's view
        for k, v in remembered.items():
            st.query_params[k] = v
    start = min(max(_qp_date("from", first), first), last)
    end = max(min(_qp_date("to", last), last), start)
    sel_ch = [x for x in _qp_list("channel") if x in c["channels"]]
    sel_seg = [x for x in _qp_list("segment") if x in c["segments"]]
    grain = st.query_params.get("grain", "month")
    grain = grain if grain in GRAINS else "month"

    with st.sidebar:
        st.markdown("### Filters")
        window = st.date_input("Window", value=(start, end), min_value=first, max_value=last,
                               format="YYYY-MM-DD", key="f_window")
        if isinstance(window, (tuple, list)) and len(window) == 2:
            start, end = window
        ch = sel_ch
        if show_channels:
            ch = st.multiselect("Channels", c["channels"], default=sel_ch, placeholder="All channels", key="f_ch")
        seg = sel_seg
        if show_segments:
            seg = st.multiselect("Segments", c["segments"], default=sel_seg, placeholder="All segments", key="f_seg")
        if show_grain:
            grain = st.selectbox("Grain", GRAINS, index=GRAINS.index(grain), key="f_grain")
        st.caption(f"Data from {first} to {last}.")
    params = {"from": start.isoformat(), "to": end.isoformat(), "grain": grain}
    if ch:
        params["channel"] = ",".join(ch)
    if seg:
        params["segment"] = ",".join(seg)
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)
    st.session_state["_crm_filters"] = params
    _fill_navigation(params)
    return Filters(start, end, tuple(ch), tuple(seg), grain)


# -- cached engine calls -------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=2048)
def _kpi(path: str, version: int, kpi_id: str, start: dt.date, end: dt.date, channels: tuple[str, ...],
         segments: tuple[str, ...], by: tuple[str, ...], grain: str) -> pd.DataFrame:
    from crm_metrics.metrics.kpis import compute

    return compute(store(), kpi_id, start=start, end=end, channels=channels, segments=segments, by=by,
                   grain=grain)


def kpi(kpi_id: str, f: Filters, by: Sequence[str] = (), grain: str | None = None,
        start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame | str:
    """A KPI result, or a sentence saying what to load / why it cannot be shown."""
    from crm_metrics.metrics.kpis import KpiError

    try:
        return _kpi(*_sv(), kpi_id, start or f.start, end or f.end, f.channels,
                    f.segments, tuple(by), grain or f.grain)
    except KpiError as e:
        return str(e)


@st.cache_data(show_spinner=False, max_entries=256)
def cached_call(path: str, version: int, fn_name: str, *args: Any) -> Any:
    """Cache any engine function named ``module:function`` on the data version and its arguments."""
    import importlib

    mod, fn = fn_name.split(":")
    return getattr(importlib.import_module(mod), fn)(store(), *args)


def call(fn_name: str, *args: Any) -> Any:
    return cached_call(*_sv(), fn_name, *args)


def clear_caches() -> None:
    """After a change made in this session: drop every cached result and re-read the version."""
    st.cache_data.clear()
    _forget("version", "settings", "choices", "loads")


# -- formatting ----------------------------------------------------------------------------------
def settings() -> dict[str, Any]:
    """The store's settings, read once per run."""
    m = _memo()
    v = m.get("settings")
    if v is None:
        v = m["settings"] = store().settings()
    return v


def currency() -> str:
    return str(settings().get("currency", "USD"))


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
        sym = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency(), currency() + " ")
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


def kpi_help(kpi_id: str) -> str:
    from crm_metrics.metrics.kpis import get_kpi

    k = get_kpi(kpi_id)
    return f"**{k.label}** — {k.description}\n\nFormula: {k.formula}\n\nBetter: {k.better}. Unit: {k.unit}."


# -- cached rendering ----------------------------------------------------------------------------
# The panels below render inside ``st.cache_data`` functions keyed on the store, the data version
# and the view (filters and options). On a cache hit Streamlit replays the recorded elements
# (metrics, tables, charts) instead of running the body again: no KPI look-ups, no pandas
# formatting or styling, no Plotly figure building on a rerun. Widgets (download buttons,
# selectboxes) never go inside them; a view returns the frame its download button needs.
def _fk(f: Filters) -> tuple[dt.date, dt.date, tuple[str, ...], tuple[str, ...], str]:
    """The filters as plain, cheaply hashed cache arguments (start, end, channels, segments, grain)."""
    return f.start, f.end, tuple(f.channels), tuple(f.segments), f.grain


def kpi_card(kpi_id: str, f: Filters, *, container: Any = None) -> None:
    """A metric card: value over the window, change against the previous period of equal length,
    `n`, and a low-confidence mark when n < 30. The definition is on hover."""
    if container is None:
        _cards_view(*_sv(), (kpi_id,), *_fk(f), 0)
    else:
        _card(kpi_id, f, container)


def kpi_cards(kpi_ids: Sequence[str], f: Filters, per_row: int = 4) -> None:
    """KPI cards in rows (labels stay readable)."""
    _cards_view(*_sv(), tuple(kpi_ids), *_fk(f), int(per_row))


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
    from crm_metrics.metrics.kpis import get_kpi

    k = get_kpi(kpi_id)
    cur = kpi(kpi_id, f)
    if isinstance(cur, str):
        target.metric(k.label, "–", help=cur)
        target.caption(cur)
        return
    days = (f.end - f.start).days + 1
    prev_end = f.start - dt.timedelta(days=1)
    prev_start = prev_end - dt.timedelta(days=days - 1)
    first = choices()["first"]
    # A previous period that lies wholly before the data has no value, not a value of 0.
    prev = kpi(kpi_id, f, start=prev_start, end=prev_end) if first and prev_end >= first else None
    value = output.plain(cur["value"].iloc[0]) if len(cur) else None
    n = int(cur["n"].iloc[0]) if len(cur) else 0
    pv = output.plain(prev["value"].iloc[0]) if isinstance(prev, pd.DataFrame) and len(prev) else None
    delta = None
    if value is not None and pv is not None:
        d = value - pv
        delta = f"{d:+.1f} pts" if k.unit == "%" else ("+" if d >= 0 else "−") + fmt(abs(d), k.unit)
    colour = "normal" if k.better == "higher" else ("inverse" if k.better == "lower" else "off")
    target.metric(k.label, fmt(value, k.unit), delta=delta, delta_color=colour, help=kpi_help(kpi_id))
    mark = " · ⚠ low confidence (n < 30)" if n < LOW_CONFIDENCE_N else ""
    target.caption(f"n = {n:,}{mark}" + (f" · previous {fmt(pv, k.unit)}" if pv is not None else ""))


def download(df: pd.DataFrame, name: str, label: str = "Download CSV") -> None:
    """A download button with cells escaped against spreadsheet formula injection. The CSV is made
    when the button is clicked (deferred), not on every rerun: for a large table that is most of
    a rerun's time, and the file is not sent to the browser until it is asked for."""
    st.download_button(label, lambda: output.safe_csv(df), file_name=f"{name}.csv", mime="text/csv",
                       key=f"dl_{name}")


def missing(message: str) -> None:
    st.info(message, icon=":material/upload_file:")


def plotly_layout(fig: Any, *, height: int = 360, title: str | None = None) -> Any:
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                      title=title, colorway=SERIES_COLOURS, legend=dict(orientation="h", y=-0.2),
                      plot_bgcolor="white", hovermode="x unified")
    fig.update_xaxes(showgrid=False)
    fig.update_yaxes(gridcolor="#EEE")
    return fig


# -- roles ---------------------------------------------------------------------------------------
def auth_configured() -> bool:
    """Sign-in is on when an [auth] section is configured in Streamlit's secrets (OIDC)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def role() -> str:
    """'analyst' or 'viewer'. Without configured sign-in the app runs open (everyone is an analyst)."""
    if not auth_configured():
        return "analyst"
    if not getattr(st.user, "is_logged_in", False):
        return "viewer"
    email = str(getattr(st.user, "email", "") or "").lower()
    try:
        analysts = [str(x).lower() for x in st.secrets.get("roles", {}).get("analysts", [])]
    except Exception:
        analysts = []
    return "analyst" if email in analysts else "viewer"


def can_write() -> bool:
    return role() == "analyst"


def user_name() -> str:
    if auth_configured() and getattr(st.user, "is_logged_in", False):
        return str(getattr(st.user, "email", "") or "signed-in user")
    import getpass

    try:
        return f"{getpass.getuser()} (open mode)"
    except Exception:
        return "open mode"


def sign_in_gate() -> None:
    """With sign-in configured, nobody sees data before signing in."""
    if not auth_configured():
        st.sidebar.caption(":material/lock_open: Open mode: no sign-in is configured, so everyone "
                           "can load data and edit strategy. See the README to configure sign-in.")
        return
    if not getattr(st.user, "is_logged_in", False):
        st.title(APP_TITLE)
        st.write("Please sign in to see your CRM's results.")
        st.button("Sign in", on_click=st.login, type="primary")
        st.stop()
    with st.sidebar:
        st.caption(f"Signed in as {user_name()} · {role()}")
        st.button("Sign out", on_click=st.logout)


# -- uploads -------------------------------------------------------------------------------------
def spool_upload(up: Any) -> str:
    """Streamlit uploads arrive in memory: write each to a temporary file once and load from the path."""
    import hashlib
    import tempfile
    from pathlib import Path

    folder = st.session_state.get("_crm_spool")
    if not folder or not Path(folder).exists():
        # inside the store's spool folder: the only place the locked-down DuckDB may read from
        folder = tempfile.mkdtemp(prefix="session-", dir=store().spool_dir)
        st.session_state["_crm_spool"] = folder
    data = up.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:16]
    path = Path(folder) / f"{digest}.csv"
    if not path.exists():
        path.write_bytes(data)
    return str(path)


def column_mapping_editor(file_name: str, table: str, insp: Any) -> dict[str, str]:
    """Show how the file's columns match the contract; ask for a mapping where they don't."""
    from crm_metrics.data.schema import TABLES

    tdef = TABLES[table]
    mapping: dict[str, str] = {}
    unmatched = [c for c in tdef.columns if c.name not in insp.columns]
    missing_required = [c for c in unmatched if c.required]
    matched = ", ".join(f"{h} → {c}" if h.strip().lower() != c else c for c, h in insp.columns.items())
    if matched:
        st.caption(f"Matched: {matched}")
    if insp.extra_columns:
        st.caption("Ignored (not in the contract): " + ", ".join(insp.extra_columns))
    if not insp.headers:
        for p in insp.problems:
            st.error(str(p))
        return mapping
    if missing_required:
        st.warning("Some required columns were not recognised. Choose which column of the file holds each.",
                   icon=":material/swap_horiz:")
    options = ["—"] + list(insp.headers)
    show = missing_required or unmatched
    if show:
        with st.expander("Map columns", expanded=bool(missing_required)):
            cols = st.columns(2)
            for i, c in enumerate(unmatched):
                label = f"{c.name}{' (required)' if c.required else ''}"
                pick = cols[i % 2].selectbox(label, options, key=f"map_{file_name}_{table}_{c.name}",
                                             help=c.meaning or None)
                if pick != "—":
                    mapping[pick] = c.name
    return mapping


def _loads_key() -> tuple[str, int, int]:
    """(store path, data version, latest load id), read once per run: the key of the load caches."""
    m = _memo()
    marker = m.get("loads")
    if marker is None:
        from crm_metrics.metrics.views import load_marker

        marker = m["loads"] = load_marker(store())
    return store().path, data_version(), marker


@st.cache_data(show_spinner=False, max_entries=16)
def _load_history(path: str, version: int, marker: int) -> list[dict[str, Any]]:
    return store().load_history()


@st.cache_data(show_spinner=False, max_entries=16)
def _undoable(path: str, version: int, marker: int) -> list[int]:
    from crm_metrics.data.undo import undoable_loads

    return undoable_loads(store())


@st.cache_data(show_spinner=False, max_entries=16)
def _table_counts(path: str, version: int) -> dict[str, int]:
    return store().row_counts()


def load_history_frame() -> pd.DataFrame:
    rows = _load_history(*_loads_key())
    cols = ["load_id", "loaded_at", "table_name", "file_name", "mode", "rows_read", "inserted", "updated",
            "unchanged", "removed", "unmatched", "undo_of", "encoding", "loaded_by", "sha256"]
    return pd.DataFrame(rows, columns=cols)


def table_counts_frame() -> pd.DataFrame:
    return pd.DataFrame([{"table": t, "rows": n} for t, n in _table_counts(*_sv()).items()])


# -- charts --------------------------------------------------------------------------------------
def goals_for(kpi_id: str, f: Filters) -> list[dict[str, Any]]:
    """Goals on this KPI whose scope fits the current filters (unscoped goals always fit)."""
    from crm_metrics.metrics.views import goals_in_view

    return goals_in_view(store(), kpi_id, f.channels, f.segments)


def trend_chart(kpi_id: str, f: Filters, *, by: str | None = None, title: str | None = None,
                height: int = 340) -> None:
    """The KPI over time (optionally one line per channel/segment), with goal lines and tolerance bands."""
    _trend_view(*_sv(), kpi_id, *_fk(f), by, title, int(height))


@st.cache_data(show_spinner=False, max_entries=512)
def _trend_view(path: str, version: int, kpi_id: str, start: dt.date, end: dt.date,
                channels: tuple[str, ...], segments: tuple[str, ...], grain: str,
                by: str | None, title: str | None, height: int) -> None:
    import plotly.graph_objects as go

    from crm_metrics.metrics.kpis import get_kpi

    f = Filters(start, end, channels, segments, grain)
    k = get_kpi(kpi_id)
    dims = ("period",) if by is None else (by, "period")
    df = kpi(kpi_id, f, by=dims)
    if isinstance(df, str):
        missing(df)
        return
    fig = go.Figure()
    if by is None:
        fig.add_trace(go.Scatter(x=df["period"], y=df["value"], mode="lines+markers", name=k.label,
                                 customdata=df["n"], hovertemplate="%{y:.2f} (n=%{customdata:,})<extra></extra>"))
    else:
        for i, (key, part) in enumerate(df.groupby(by, sort=True)):
            fig.add_trace(go.Scatter(x=part["period"], y=part["value"], mode="lines+markers", name=str(key),
                                     customdata=part["n"],
                                     hovertemplate=f"{key}: %{{y:.2f}} (n=%{{customdata:,}})<extra></extra>",
                                     line=dict(color=SERIES_COLOURS[i % len(SERIES_COLOURS)])))
    # Goals on KPIs whose value depends on the period's length (churn over the window, counts,
    # revenue totals) are judged on the whole window, so a line on a per-period trend would mislead.
    comparable = k.comparable_across_period_lengths
    for g in goals_for(kpi_id, f) if comparable else []:
        tol = g["tolerance"] if g["tolerance"] is not None else 0.05
        band = abs(g["target"]) * tol
        fig.add_hrect(y0=g["target"] - band, y1=g["target"] + band, fillcolor="#E69F00", opacity=0.12,
                      line_width=0)
        fig.add_hline(y=g["target"], line_dash="dash", line_color="#444",
                      annotation_text=f"goal {g['goal_id']}: {fmt(g['target'], k.unit)}",
                      annotation_position="top left")
    plotly_layout(fig, height=height, title=title or k.label)
    fig.update_yaxes(title=k.unit)
    st.plotly_chart(fig, width="stretch", config={"displaylogo": False})


def kpi_label(kpi_id: str) -> str:
    from crm_metrics.metrics.kpis import get_kpi

    return get_kpi(kpi_id).label


@st.cache_data(show_spinner=False, max_entries=256)
def _matrix(path: str, version: int, kpi_ids: tuple[str, ...], by: str, start: dt.date, end: dt.date,
            channels: tuple[str, ...], segments: tuple[str, ...]) -> pd.DataFrame:
    from crm_metrics.metrics.views import kpi_matrix

    return kpi_matrix(store(), kpi_ids, by, start=start, end=end, channels=channels, segments=segments)


def kpi_matrix_table(kpi_ids: Sequence[str], f: Filters, *, by: str, name: str) -> None:
    """KPIs side by side per channel/segment, formatted in each KPI's unit, with definitions on hover."""
    df = _matrix_view(*_sv(), tuple(kpi_ids), by, f.start, f.end, tuple(f.channels), tuple(f.segments))
    if df is not None:
        download(df, name)


@st.cache_data(show_spinner=False, max_entries=256)
def _matrix_view(path: str, version: int, kpi_ids: tuple[str, ...], by: str, start: dt.date, end: dt.date,
                 channels: tuple[str, ...], segments: tuple[str, ...]) -> pd.DataFrame | None:
    from crm_metrics.metrics.kpis import KPIS

    df = _matrix(path, version, kpi_ids, by, start, end, channels, segments)
    if df.empty or len(df.columns) <= 1:
        missing("No data for these KPIs yet: load interactions.csv (and customers.csv for segments).")
        return None
    by_label = {k.label: k for k in KPIS.values()}
    config: dict[str, Any] = {by: st.column_config.TextColumn(by.capitalize())}
    for col in df.columns[1:]:
        k = by_label[col]
        fmt_str = {"%": "%.1f%%", "count": "%,d" if False else "%.0f", "seconds": "%.0f s", "ratio": "%.2f",
                   "score": "%.1f", "currency": "%.2f"}[k.unit]
        config[col] = st.column_config.NumberColumn(col, help=f"{k.description} ({k.formula})", format=fmt_str)
    st.dataframe(df, hide_index=True, width="stretch", column_config=config, lazy=False)
    return df


def mix_chart(kpi_id: str, f: Filters, *, by: str, title: str) -> None:
    _mix_view(*_sv(), kpi_id, *_fk(f), by, title)


@st.cache_data(show_spinner=False, max_entries=256)
def _mix_view(path: str, version: int, kpi_id: str, start: dt.date, end: dt.date,
              channels: tuple[str, ...], segments: tuple[str, ...], grain: str,
              by: str, title: str) -> None:
    import plotly.express as px

    f = Filters(start, end, channels, segments, grain)
    df = kpi(kpi_id, f, by=(by, "period"))
    if isinstance(df, str):
        missing(df)
        return
    fig = px.area(df, x="period", y="value", color=by, color_discrete_sequence=SERIES_COLOURS,
                  groupnorm="percent", labels={"value": "% of contacts", "period": "", by: ""})
    plotly_layout(fig, title=title)
    st.plotly_chart(fig, width="stretch", config={"displaylogo": False})


def dual_trend_chart(left_kpi: str, right_kpi: str, f: Filters, *, title: str) -> None:
    _dual_view(*_sv(), left_kpi, right_kpi, *_fk(f), title)


@st.cache_data(show_spinner=False, max_entries=256)
def _dual_view(path: str, version: int, left_kpi: str, right_kpi: str, start: dt.date, end: dt.date,
               channels: tuple[str, ...], segments: tuple[str, ...], grain: str,
               title: str) -> None:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    f = Filters(start, end, channels, segments, grain)
    a, b = kpi(left_kpi, f, by=("period",)), kpi(right_kpi, f, by=("period",))
    if isinstance(a, str) or isinstance(b, str):
        missing(a if isinstance(a, str) else str(b))
        return
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=a["period"], y=a["value"], name=kpi_label(left_kpi), mode="lines+markers",
                             line=dict(color=SERIES_COLOURS[0])), secondary_y=False)
    fig.add_trace(go.Scatter(x=b["period"], y=b["value"], name=kpi_label(right_kpi), mode="lines+markers",
                             line=dict(color=SERIES_COLOURS[1], dash="dot")), secondary_y=True)
    plotly_layout(fig, title=title)
    fig.update_yaxes(title_text=kpi_label(left_kpi), secondary_y=False)
    fig.update_yaxes(title_text=kpi_label(right_kpi), secondary_y=True, showgrid=False)
    st.plotly_chart(fig, width="stretch", config={"displaylogo": False})


def relationship_mix_chart(f: Filters) -> None:
    """Stacked bars: relationship / pseudo-relationship / encounter share of customers per segment."""
    _relationship_mix_view(*_sv(), *_fk(f))


@st.cache_data(show_spinner=False, max_entries=256)
def _relationship_mix_view(path: str, version: int, start: dt.date, end: dt.date,
                           channels: tuple[str, ...], segments: tuple[str, ...], grain: str) -> None:
    import plotly.graph_objects as go

    f = Filters(start, end, channels, segments, grain)
    parts = [("relationship_share", "Relationship", "#0072B2"),
             ("pseudo_relationship_share", "Pseudo-relationship", "#E69F00"),
             ("encounter_share", "Encounter", "#BBBBBB")]
    fig = go.Figure()
    for kpi_id, name, colour in parts:
        df = kpi(kpi_id, f, by=("segment",))
        if isinstance(df, str):
            missing(df)
            return
        fig.add_trace(go.Bar(y=df["segment"], x=df["value"], name=name, orientation="h", marker_color=colour,
                             customdata=df["n"], hovertemplate=f"{name}: %{{x:.1f}}% of %{{customdata:,}}<extra></extra>"))
    fig.update_layout(barmode="stack")
    # a short title: the long one was cut off in a half-width column; the axis says what 100 % is
    plotly_layout(fig, title="Relationship mix by segment")
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(range=[0, 100], title="% of customers with an advisor contact")
    st.plotly_chart(fig, width="stretch", config={"displaylogo": False})


def alignment_table(f: Filters, *, only_misaligned: bool = False) -> None:
    df = _alignment_view(*_sv(), f.start, f.end, bool(only_misaligned))
    if df is not None:
        download(df, "alignment" + ("_misaligned" if only_misaligned else ""))


@st.cache_data(show_spinner=False, max_entries=256)
def _alignment_view(path: str, version: int, start: dt.date, end: dt.date,
                    only_misaligned: bool) -> pd.DataFrame | None:
    df = call("crm_metrics.judgement.scorecard:alignment", start, end)
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
    df = _advisor_view(*_sv(), *_fk(f))
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
    from crm_metrics.metrics.kpis import KPIS
    upc = KPIS["upc"]
    st.dataframe(df.rename(columns={"value": "UPC of their customers", "n": "customers (N ≥ 2)"}),
                 hide_index=True, width="stretch", height=300, lazy=False,
                 column_config={"UPC of their customers": st.column_config.NumberColumn(
                     "UPC of their customers", format="%.2f", help=f"{upc.description} ({upc.formula})")})
    return df


@st.cache_data(show_spinner=False, max_entries=64)
def _cohorts(path: str, version: int, start: dt.date, end: dt.date, segments: tuple[str, ...],
             channels: tuple[str, ...]) -> pd.DataFrame:
    from crm_metrics.metrics.views import cohort_retention

    return cohort_retention(store(), start=start, end=end, segments=segments, channels=channels)


def cohort_heatmap(f: Filters) -> None:
    _cohort_view(*_sv(), f.start, f.end, tuple(f.segments), tuple(f.channels))


@st.cache_data(show_spinner=False, max_entries=64)
def _cohort_view(path: str, version: int, start: dt.date, end: dt.date, segments: tuple[str, ...],
                 channels: tuple[str, ...]) -> None:
    import plotly.graph_objects as go

    df = _cohorts(path, version, start, end, segments, channels)
    if df.empty:
        missing("Load customers.csv with join and leave dates to see cohort retention.")
        return
    pivot = df.pivot(index="cohort", columns="month", values="retained")
    sizes = df[df["month"] == 0].set_index("cohort")["customers"]
    fig = go.Figure(go.Heatmap(
        z=pivot.values, x=[f"M{m}" for m in pivot.columns], y=[f"{c:%Y-%m} (n={sizes.get(c, 0):,})" for c in pivot.index],
        colorscale="Blues", zmin=max(0, float(df["retained"].min()) - 5), zmax=100,
        hovertemplate="cohort %{y}, %{x}: %{z:.1f}% retained<extra></extra>", colorbar=dict(title="% retained")))
    plotly_layout(fig, height=max(320, 22 * len(pivot.index) + 80))
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(autorange="reversed")
    st.plotly_chart(fig, width="stretch", config={"displaylogo": False})
    st.caption("Each row is the customers who joined in a month; each column the share of them still a "
               "customer at the end of the n-th month after joining.")


# -- scorecard and health --------------------------------------------------------------------
def health_panel(f: Filters) -> None:
    _health_view(*_sv(), f.start, f.end)


@st.cache_data(show_spinner=False, max_entries=128)
def _health_view(path: str, version: int, start: dt.date, end: dt.date) -> None:
    findings = call("crm_metrics.judgement.checks:run_checks", start, end)
    st.subheader("Health checks")
    counts = {s: sum(1 for x in findings if x.severity == s) for s in ("critical", "warning", "ok")}
    cols = st.columns(3)
    for col, sev in zip(cols, ("critical", "warning", "ok")):
        colour, icon, word = SEVERITY_STYLE[sev]
        col.markdown(f'<div class="crm-finding" style="border-color:{colour}"><b>{icon} {counts[sev]} {word}'
                     f'</b></div>', unsafe_allow_html=True)
    criticals = [x for x in findings if x.severity == "critical"]
    warnings = [x for x in findings if x.severity == "warning"]
    for x in criticals:
        _finding_box(x)
    if warnings:
        # Criticals stay in view; warnings fold away when there are criticals to read first.
        with st.expander(f"▲ {len(warnings)} warning{'s' if len(warnings) != 1 else ''}", expanded=not criticals):
            for x in warnings:
                _finding_box(x)
    oks = [x for x in findings if x.severity == "ok"]
    if oks:
        with st.expander(f"{len(oks)} checks passed"):
            for x in oks:
                st.markdown(f"✔ **{x.title}** — {x.finding}")


def _finding_box(x: Any) -> None:
    colour, icon, word = SEVERITY_STYLE[x.severity]
    subject = f" · {_html(x.subject)}" if x.subject else ""
    st.markdown(
        f'<div class="crm-finding" style="border-color:{colour}"><b>{icon} {word}: {_html(x.title)}{subject}</b><br>'
        f'{_html(x.finding)}<br><span style="color:#555">Next: {_html(x.next_step)}</span></div>',
        unsafe_allow_html=True)


def _html(text: str) -> str:
    import html

    return html.escape(str(text))


def scorecard_panel(f: Filters) -> None:
    df = _scorecard_view(*_sv(), f.start, f.end)
    if df is not None:
        download(df, "scorecard")


@st.cache_data(show_spinner=False, max_entries=128)
def _scorecard_view(path: str, version: int, start: dt.date, end: dt.date) -> pd.DataFrame | None:
    from crm_metrics.judgement.scorecard import objective_rollup

    df = call("crm_metrics.judgement.scorecard:scorecard", start, end)
    st.subheader("Goals against actuals")
    if df is None or len(df) == 0:
        missing("No goals yet. State what the CRM should achieve on the **Strategy** page (or load goals.csv): "
                "without goals there is no way to judge success.")
        return None
    counts = df["status"].value_counts()
    cols = st.columns(4)
    for col, status in zip(cols, ("met", "at_risk", "missed", "no_data")):
        colour, icon, word = STATUS_STYLE[status]
        col.markdown(f'<div class="crm-finding" style="border-color:{colour}"><span style="font-size:1.6rem;'
                     f'font-weight:700">{int(counts.get(status, 0))}</span> {icon} {word}</div>',
                     unsafe_allow_html=True)
    rollup = objective_rollup(df)
    for _, obj in rollup.iterrows():
        name = obj["objective"] or "(no strategic objective)"
        goals = df[df["objective"].fillna("") == (obj["objective"] or "")]
        st.markdown(f"#### {name}")
        st.caption(f"{int(obj['met'])} of {int(obj['goals'])} goals met · {int(obj['at_risk'])} at risk · "
                   f"{int(obj['missed'])} missed · {int(obj['no_data'])} without data")
        _goal_table(goals)
    return df


def _goal_table(goals: pd.DataFrame) -> None:
    from crm_metrics.metrics.kpis import get_kpi

    rows = []
    for _, g in goals.iterrows():
        k = get_kpi(g["kpi"])
        scope = " · ".join(str(x) for x in (g.get("channel"), g.get("segment")) if output.plain(x)) or "all"
        arrow = "≥" if g["direction"] == "at_least" else "≤"
        low = " ⚠" if bool(g.get("low_confidence")) else ""
        change = output.plain(g.get("change"))
        rows.append({
            "Status": status_label(g["status"]),
            "Goal": f"{k.label} {arrow} {fmt(g['target'], k.unit)}",
            "Scope": scope,
            "Actual": fmt(g["actual"], k.unit) + low,
            "Attainment": f"{g['attainment']:.0f}%" if output.plain(g.get("attainment")) is not None else "–",
            "Change": ("–" if change is None else (f"{change:+.1f} pts" if k.unit == "%" else
                                                     ("+" if change >= 0 else "−") + fmt(abs(change), k.unit))),
            "n": int(g["n"]) if output.plain(g.get("n")) is not None else 0,
            "Period": f"{g['period_start']} – {g['period_end']}",
            "Owner": output.plain(g.get("owner")) or "",
            "Definition": k.formula,
        })
    view = pd.DataFrame(rows)

    def colour(v: str) -> str:
        for status, (c, icon, _) in STATUS_STYLE.items():
            if v.startswith(icon):
                return f"color: white; background-color: {c}; font-weight: 600"
        return ""

    st.dataframe(view.style.map(colour, subset=["Status"]), hide_index=True, width="stretch",
                 column_config={"Definition": st.column_config.TextColumn("Definition", width="medium"),
                                "Actual": st.column_config.TextColumn("Actual", help="⚠ = low confidence (n < 30)")})


def report_download(f: Filters) -> None:
    try:
        from crm_metrics.delivery import report as report_mod  # noqa: F401
    except ImportError:
        return
    st.subheader("Executive report")
    if st.button("Prepare the report (HTML)", key="prep_report"):
        with st.spinner("Building the report"):
            html_text = report_mod.render_html(store(), start=f.start, end=f.end)
        st.download_button("Download report", html_text.encode("utf-8"),
                           file_name=f"crm-report-{f.start}-{f.end}.html", mime="text/html", key="dl_report")


# -- initiatives ---------------------------------------------------------------------------------
def impact_table(window_days: int) -> pd.DataFrame | None:
    df = _impact_view(*_sv(), int(window_days))
    if df is not None:
        download(df, f"initiative_impact_{window_days}d")
    return df


@st.cache_data(show_spinner=False, max_entries=64)
def _impact_view(path: str, version: int, window_days: int) -> pd.DataFrame | None:
    df = _impact(window_days)
    if df is None or len(df) == 0:
        missing("Load initiatives.csv (each CRM project with its go-live date, cost, budget, scope and the "
                "KPI it was meant to move) to judge what it brought.")
        return None
    cur_code = currency()
    rows = []
    for _, r in df.iterrows():
        unit = r["unit"] if isinstance(r["unit"], str) else "ratio"
        roi = output.plain(r["roi"])
        over = output.plain(r["over_budget_pct"])
        rows.append({
            "Initiative": f"{r['initiative_id']} · {r['name']}",
            "Go-live": r["go_live"],
            "Scope": " · ".join(str(x) for x in (output.plain(r["channel"]), output.plain(r["segment"])) if x) or "all",
            "KPI": kpi_label(r["kpi"]) if r["kpi"] in _kpi_ids() else str(r["kpi"]),
            "Treated before → after": f"{fmt(r['treated_before'], unit)} → {fmt(r['treated_after'], unit)}",
            "Control before → after": (f"{fmt(r['control_before'], unit)} → {fmt(r['control_after'], unit)}"
                                       if bool(r["has_control"]) else "no control"),
            "Effect (DiD)": fmt(r["effect"], unit) if unit != "%" or output.plain(r["effect"]) is None
            else f"{r['effect']:+.1f} pts",
            "Incremental revenue": fmt(r["incremental_revenue"], "currency"),
            "Cost": fmt(r["cost"], "currency"),
            "Budget": fmt(r["budget"], "currency"),
            "Over budget": "–" if over is None else (f"✖ +{over:.0f}%" if over >= 25 else
                                                      (f"▲ +{over:.0f}%" if over > 0 else f"✔ {over:.0f}%")),
            "First-year ROI": "–" if roi is None else f"{'✔' if roi >= 0 else '✖'} {roi * 100:+.0f}%",
            "Provisional": "⏳ yes" if bool(r["provisional"]) else "",
            "Notes": output.plain(r["notes"]) or "",
        })
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config={
        "Effect (DiD)": st.column_config.TextColumn(help="(treated after − before) − (control after − before)"),
        "First-year ROI": st.column_config.TextColumn(
            help=f"(incremental revenue × 365 ÷ w × margin − cost) ÷ cost; currency {cur_code}"),
        "Provisional": st.column_config.TextColumn(help="the after-window runs past the data"),
    }, lazy=False)
    return df


@st.cache_data(show_spinner=False, max_entries=32)
def _impact_cached(path: str, version: int, window_days: int) -> pd.DataFrame:
    from crm_metrics.judgement.impact import impact

    return impact(store(), window_days=window_days)


def _impact(window_days: int) -> pd.DataFrame:
    return _impact_cached(*_sv(), int(window_days))


def _kpi_ids() -> set[str]:
    from crm_metrics.metrics.kpis import KPIS

    return set(KPIS)


def initiative_name(table: pd.DataFrame, initiative_id: str) -> str:
    return str(table.loc[table["initiative_id"] == initiative_id, "name"].iloc[0])


@st.cache_data(show_spinner=False, max_entries=64)
def _weekly(path: str, version: int, initiative_id: str, window_days: int) -> pd.DataFrame:
    from crm_metrics.judgement.impact import weekly_series

    return weekly_series(store(), initiative_id, window_days=window_days)


def initiative_detail(table: pd.DataFrame, initiative_id: str, window_days: int) -> None:
    """Weekly KPI for treated and control with the go-live marked, and the before/after bars.
    ``table`` is :func:`impact_table`'s frame for the same ``window_days``."""
    _initiative_view(*_sv(), str(initiative_id), int(window_days))


@st.cache_data(show_spinner=False, max_entries=128)
def _initiative_view(path: str, version: int, initiative_id: str, window_days: int) -> None:
    import plotly.graph_objects as go

    table = _impact(window_days)
    r = table[table["initiative_id"] == initiative_id].iloc[0]
    series = _weekly(path, version, initiative_id, window_days)
    unit = r["unit"] if isinstance(r["unit"], str) else "ratio"
    label = kpi_label(r["kpi"]) if r["kpi"] in _kpi_ids() else str(r["kpi"])
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Effect (difference-in-differences)", fmt(r["effect"], unit) if unit != "%" or
              output.plain(r["effect"]) is None else f"{r['effect']:+.1f} pts")
    c2.metric("Incremental revenue", fmt(r["incremental_revenue"], "currency"))
    roi = output.plain(r["roi"])
    c3.metric("First-year ROI", "–" if roi is None else f"{roi * 100:+.0f}%")
    c4.metric("Cost vs budget", fmt(r["cost"], "currency"),
              delta=None if output.plain(r["over_budget_pct"]) is None else f"{r['over_budget_pct']:+.0f}% vs budget",
              delta_color="inverse")
    left, right = st.columns([3, 2])
    with left:
        if series.empty:
            missing(series.attrs.get("note") or "No weekly data around this go-live.")
        else:
            fig = go.Figure()
            for i, (group, part) in enumerate(series.groupby("group", sort=False)):
                fig.add_trace(go.Scatter(x=part["period"], y=part["value"], name=str(group).capitalize(),
                                         mode="lines+markers", customdata=part["n"],
                                         line=dict(color=SERIES_COLOURS[0 if group == "treated" else 1],
                                                   dash="solid" if group == "treated" else "dot"),
                                         hovertemplate="%{y:.2f} (n=%{customdata:,})<extra></extra>"))
            g = series.attrs.get("go_live")
            if g is not None:
                fig.add_vline(x=pd.Timestamp(g).timestamp() * 1000, line_dash="dash", line_color="#D55E00",
                              annotation_text="go-live", annotation_position="top")
            plotly_layout(fig, title=f"{label}, weekly: treated vs control")
            st.plotly_chart(fig, width="stretch", config={"displaylogo": False})
    with right:
        fig = go.Figure()
        groups = [("Treated", r["treated_before"], r["treated_after"], SERIES_COLOURS[0])]
        if bool(r["has_control"]):
            groups.append(("Control", r["control_before"], r["control_after"], SERIES_COLOURS[1]))
        for name, before, after, colour in groups:
            fig.add_trace(go.Bar(x=["Before", "After"], y=[output.plain(before), output.plain(after)], name=name,
                                 marker_color=colour, text=[fmt(before, unit), fmt(after, unit)],
                                 textposition="outside"))
        plotly_layout(fig, title=f"{label}: {window_days} days before vs after")
        fig.update_layout(barmode="group", hovermode="closest")
        st.plotly_chart(fig, width="stretch", config={"displaylogo": False})
    note = output.plain(r["notes"])
    if note:
        st.caption(f"Note: {note}")
    if bool(r["provisional"]):
        st.warning("Provisional: the after-window runs past the data; the effect may still change.",
                   icon=":material/hourglass_top:")


# -- strategy editing ----------------------------------------------------------------------------
def _strategy_action(fn: Any, *args: Any, success: str, **kwargs: Any) -> None:
    """Run an edit; show the validation message on refusal; refresh caches on success."""
    from crm_metrics.judgement.strategy import StrategyError

    try:
        change = fn(store(), *args, user=user_name(), **kwargs)
    except StrategyError as e:
        st.session_state["_crm_flash"] = ("error", str(e))
    else:
        clear_caches()
        st.session_state["_crm_flash"] = ("success", success if change is not None else "Nothing changed.")


def flash() -> None:
    msg = st.session_state.pop("_crm_flash", None)
    if msg:
        kind, text = msg
        (st.error if kind == "error" else st.success)(text)


@st.cache_data(show_spinner=False, max_entries=64)
def _strategy_table_view(path: str, version: int, what: str) -> pd.DataFrame:
    """A strategy table (``crm_metrics.judgement.strategy.<what>``) shown as a table; every strategy edit
    bumps the data version, so it is cached on it like the KPIs."""
    from crm_metrics.judgement import strategy

    df = getattr(strategy, what)(store())
    st.dataframe(df, hide_index=True, width="stretch", lazy=False)
    return df


def goals_editor(can_write: bool) -> None:
    from crm_metrics.judgement import strategy
    from crm_metrics.metrics.kpis import KPIS

    flash()
    df = _strategy_table_view(*_sv(), "goals")
    c1, c2 = st.columns(2)
    with c1:
        download(df, "goals", "Export goals (CSV)")
    if not can_write:
        return
    with c2:
        up = st.file_uploader("Import goals (CSV, merged by goal_id)", type=["csv"], key="goals_import")
        if up is not None and st.button("Import", key="goals_import_btn"):
            _import(up, "goals")
    st.markdown("#### Add or edit a goal")
    ids = ["(new goal)"] + list(df["goal_id"])
    pick = st.selectbox("Goal", ids, key="goal_pick")
    cur = df[df["goal_id"] == pick].iloc[0].to_dict() if pick != "(new goal)" else {}
    kpi_ids = list(KPIS)
    c = choices()
    with st.form("goal_form"):
        a, b, d = st.columns(3)
        goal_id = a.text_input("Goal id", value=cur.get("goal_id", ""), disabled=pick != "(new goal)")
        kpi_id = b.selectbox("KPI", kpi_ids, index=kpi_ids.index(cur["kpi"]) if cur.get("kpi") in kpi_ids else 0,
                             format_func=lambda k: f"{KPIS[k].label} ({k}, {KPIS[k].unit}, better {KPIS[k].better})")
        target = d.text_input("Target (in the KPI's unit)", value="" if output.plain(cur.get("target")) is None
                              else str(cur.get("target")))
        a, b, d = st.columns(3)
        dirs = ["(from the KPI)", "at_least", "at_most"]
        direction = a.selectbox("Direction", dirs, index=dirs.index(cur["direction"]) if output.plain(
            cur.get("direction")) in dirs else 0)
        chs = ["(all)"] + c["channels"]
        channel = b.selectbox("Channel", chs, index=chs.index(cur["channel"]) if output.plain(cur.get("channel")) in chs else 0)
        segs = ["(all)"] + c["segments"]
        segment = d.selectbox("Segment", segs, index=segs.index(cur["segment"]) if output.plain(cur.get("segment")) in segs else 0)
        a, b, d = st.columns(3)
        period_start = a.text_input("Period start (YYYY-MM-DD, empty = the window viewed)",
                                    value=str(output.plain(cur.get("period_start")) or ""))
        period_end = b.text_input("Period end", value=str(output.plain(cur.get("period_end")) or ""))
        tolerance = d.text_input("Tolerance (fraction of |target|, default 0.05)",
                                 value=str(output.plain(cur.get("tolerance")) or ""))
        a, b = st.columns(2)
        objective = a.text_input("Strategic objective it serves", value=str(output.plain(cur.get("objective")) or ""))
        owner = b.text_input("Owner", value=str(output.plain(cur.get("owner")) or ""))
        saved = st.form_submit_button("Save goal", type="primary")
    if saved:
        goal = {"goal_id": goal_id if pick == "(new goal)" else pick, "kpi": kpi_id, "target": target,
                "direction": None if direction == "(from the KPI)" else direction,
                "channel": None if channel == "(all)" else channel, "segment": None if segment == "(all)" else segment,
                "period_start": period_start or None, "period_end": period_end or None,
                "tolerance": tolerance or None, "objective": objective or None, "owner": owner or None}
        _strategy_action(strategy.upsert_goal, goal, success=f"Goal {goal['goal_id']} saved.")
        st.rerun()
    if pick != "(new goal)" and st.button(f"Delete goal {pick}", key="goal_delete"):
        _strategy_action(strategy.delete_goal, pick, success=f"Goal {pick} deleted (undo in the change log).")
        st.rerun()


def _import(up: Any, table: str) -> None:
    from crm_metrics.judgement import strategy
    from crm_metrics.data.ingest import LoadRefused

    try:
        strategy.import_csv(store(), table, up.getvalue(), user=user_name())
    except LoadRefused as e:
        st.session_state["_crm_flash"] = ("error", e.report.summary())
    except ValueError as e:
        st.session_state["_crm_flash"] = ("error", str(e))
    else:
        clear_caches()
        st.session_state["_crm_flash"] = ("success", f"{up.name} imported into {table}.")
    st.rerun()


def segments_editor(can_write: bool) -> None:
    from crm_metrics.judgement import strategy

    flash()
    df = _strategy_table_view(*_sv(), "segments")
    download(df, "segments", "Export segment strategies (CSV)")
    if not can_write:
        return
    up = st.file_uploader("Import segment strategies (CSV)", type=["csv"], key="seg_import")
    if up is not None and st.button("Import", key="seg_import_btn"):
        _import(up, "segments")
    segs = sorted(set(choices()["segments"]) | set(df["segment"]))
    with st.form("segment_form"):
        a, b = st.columns(2)
        segment = a.selectbox("Segment", segs)
        strategy_value = b.radio("Strategy", ["relationship", "transactional"], horizontal=True,
                                 help="relationship: the customer should come back to the same advisor; "
                                      "transactional: whoever is available is fine")
        statement = st.text_input("The strategy in one sentence")
        saved = st.form_submit_button("Save segment strategy", type="primary")
    if saved:
        _strategy_action(strategy.set_segment_strategy, segment, strategy_value, statement or None,
                         success=f"Strategy for {segment} saved.")
        st.rerun()


def channels_editor(can_write: bool) -> None:
    from crm_metrics.judgement import strategy

    flash()
    df = _strategy_table_view(*_sv(), "channel_kinds")
    download(df, "channel_kinds", "Export channel kinds (CSV)")
    if not can_write:
        return
    with st.form("channel_form"):
        a, b = st.columns(2)
        channel = a.selectbox("Channel", list(df["channel"]))
        kind = b.radio("Kind", ["assisted", "self_service"], horizontal=True)
        saved = st.form_submit_button("Save channel kind", type="primary")
    if saved:
        _strategy_action(strategy.set_channel_kind, channel, kind, success=f"{channel} is now {kind}.")
        st.rerun()


def settings_editor(can_write: bool) -> None:
    from crm_metrics.judgement import strategy

    flash()
    df = _strategy_table_view(*_sv(), "settings_frame")
    download(df, "settings", "Export settings (CSV)")
    if not can_write:
        return
    with st.form("settings_form"):
        a, b = st.columns(2)
        key = a.selectbox("Setting", list(df["key"]))
        value = b.text_input("New value (empty = back to the default)")
        saved = st.form_submit_button("Save setting", type="primary")
    if saved:
        _strategy_action(strategy.set_setting, key, value or None, success=f"{key} saved.")
        st.rerun()


def change_log(can_write: bool) -> None:
    from crm_metrics.judgement import strategy

    flash()
    view = _changes_view(*_sv())
    if view is None:
        return
    df, labels = view
    download(df, "strategy_changes")
    if not can_write:
        return
    with st.form("revert_form"):
        change_id = st.selectbox("Undo change", list(df["change_id"]),
                                 format_func=lambda i: labels.get(i) or _change_label(df, i))
        undo = st.form_submit_button("Undo this change")
    if undo:
        _strategy_action(strategy.revert_change, int(change_id), success=f"Change {change_id} undone.")
        st.rerun()


@st.cache_data(show_spinner=False, max_entries=16)
def _changes_view(path: str, version: int) -> tuple[pd.DataFrame, dict[Any, str]] | None:
    """The change log (newest 500) as a table, and each change's label for the undo choice."""
    from crm_metrics.judgement import strategy

    df = strategy.list_changes(store(), limit=500)
    if df.empty:
        missing("No changes recorded yet.")
        return None
    st.dataframe(df, hide_index=True, width="stretch", lazy=False)
    return df, {cid: _change_label(df, cid) for cid in df["change_id"]}


def _change_label(df: pd.DataFrame, change_id: Any) -> str:
    r = df[df["change_id"] == change_id].iloc[0]
    return f"#{change_id} · {r['action']} {r['table_name']} {r['key']} · {r['changed_by']} · {r['changed_at']}"


def undo_panel(can_write: bool) -> None:
    """Undo a load (the previous version of the table is kept for the latest loads)."""
    from crm_metrics.data.undo import UndoError, undo_load

    if not can_write:
        return
    ids = _undoable(*_loads_key())
    if not ids:
        st.caption("No load can be undone right now (the previous versions of the last loads per table "
                   "are kept).")
        return
    history = {h["load_id"]: h for h in _load_history(*_loads_key())}
    with st.form("undo_load_form"):
        load_id = st.selectbox("Undo a load", ids, format_func=lambda i: (
            f"#{i} · {history[i]['mode']} {history[i]['file_name']} → {history[i]['table_name']} · "
            f"{history[i]['loaded_at']:%Y-%m-%d %H:%M}" if i in history else f"#{i}"))
        go = st.form_submit_button("Undo this load")
    if go:
        try:
            rep = undo_load(store(), int(load_id), user=user_name())
        except UndoError as e:
            st.session_state["_crm_flash"] = ("error", str(e))
        else:
            clear_caches()
            st.session_state["_crm_flash"] = ("success", rep.summary())
        st.rerun()
