"""Small pieces every panel uses: the CSV download button, the "nothing to show yet" note, and the
one-shot message (flash) that survives the rerun after an edit."""
from __future__ import annotations

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
