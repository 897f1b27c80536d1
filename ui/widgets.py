"""Small pieces every panel uses: the CSV download button, the "nothing to show yet" note, and the
one-shot message (flash) that survives the rerun after an edit."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
import streamlit as st

from crm_metrics.delivery import output

_FLASH = "_crm_flash"


def download(df: pd.DataFrame, name: str, label: str = "Download CSV") -> None:
    """A download button with cells escaped against spreadsheet formula injection. The CSV is made
    when the button is clicked (deferred), not on every rerun: for a large table that is most of
    a rerun's time, and the file is not sent to the browser until it is asked for."""
    st.download_button(label, lambda: output.safe_csv(df), file_name=f"{name}.csv", mime="text/csv",
                       key=f"dl_{name}")


DASH = "–"


def readable(df: pd.DataFrame, formats: Mapping[str, Callable[[Any], str]] | None = None) -> pd.DataFrame:
    """A copy with no null left for the grid to print as "None": text cells get a dash; a number
    column with an empty cell becomes text, formatted by ``formats[column]`` (e.g. the KPI's own
    formatter, so the table reads like its card) or plainly; dates and times likewise."""
    out = df.copy()
    formats = formats or {}
    for col in out.columns:
        s = out[col]
        if not s.isna().any():
            continue
        f = formats.get(col)
        if f is None:
            if pd.api.types.is_datetime64_any_dtype(s):
                f = lambda v: f"{v:%Y-%m-%d %H:%M}"  # noqa: E731
            elif pd.api.types.is_float_dtype(s):
                f = lambda v: f"{v:,.2f}".rstrip("0").rstrip(".")  # noqa: E731
            else:
                f = str
        out[col] = [DASH if pd.isna(v) else f(v) for v in s.astype(object)]
    return out


def table(df: pd.DataFrame, *, formats: Mapping[str, Callable[[Any], str]] | None = None, **kwargs: Any) -> None:
    """st.dataframe without "None" cells (see :func:`readable`), full width, index hidden."""
    kwargs.setdefault("hide_index", True)
    kwargs.setdefault("width", "stretch")
    st.dataframe(readable(df, formats), **kwargs)


def missing(message: str) -> None:
    st.info(message, icon=":material/upload_file:")


def set_flash(kind: str, text: str) -> None:
    """Show ``text`` ('error' or 'success') at the next :func:`flash`, usually after ``st.rerun()``."""
    st.session_state[_FLASH] = (kind, text)


def flash() -> None:
    msg = st.session_state.pop(_FLASH, None)
    if msg:
        kind, text = msg
        (st.error if kind == "error" else st.success)(output.plain_text_markdown(text))


def _plotly_text(value: Any) -> Any:
    # Plotly draws <a href>, <b>, <br>... inside trace names, tick labels and hover text; as
    # entities they show as the characters they are.
    if isinstance(value, str):
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value


def plain_plotly(fig: Any) -> Any:
    """Text from data in a figure (legend names, categories, bar texts) shown as text: no link or
    markup from a loaded channel or segment name."""
    for trace in fig.data:
        if isinstance(getattr(trace, "name", None), str):
            trace.name = _plotly_text(trace.name)
        for attr in ("x", "y", "text", "labels"):
            if attr not in trace:
                continue
            values = trace[attr]
            if isinstance(values, str):
                trace[attr] = _plotly_text(values)
            elif values is not None and not isinstance(values, (int, float)) and \
                    any(isinstance(v, str) for v in values):
                trace[attr] = [_plotly_text(v) for v in values]
    # annotations (a goal line's "goal <id>: <target>") carry goal ids from data; none uses markup
    for note in fig.layout.annotations or ():
        if isinstance(note.text, str):
            note.text = _plotly_text(note.text)
    return fig


def plotly_chart(fig: Any, *, key: str | None = None, static: bool = False) -> None:
    """Every chart of the app: data text made plain, Plotly's logo off (``static``: no interaction)."""
    config = {"displaylogo": False, **({"staticPlot": True} if static else {})}
    st.plotly_chart(plain_plotly(fig), width="stretch", config=config, key=key)
