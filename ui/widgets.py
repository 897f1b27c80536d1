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
        (st.error if kind == "error" else st.success)(text)
