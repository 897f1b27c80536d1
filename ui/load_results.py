"""The outcome of the Data page's loads: running the planned files, then for each the green tick,
or the warnings that replace it (unknown customers, rows a replace removed, unit or currency
anomalies), or the refusal summarised per column and rule with the cell-level list to download."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
import streamlit as st

from crm_metrics.data.ingest import LoadRefused, LoadReport, load_file
from crm_metrics.data.problems import problem_rows, summarise
from crm_metrics.data.upload_plan import warnings_after
from crm_metrics.delivery.output import plain_text_markdown
from crm_metrics.judgement.strategy import staged_problems

from . import auth, state, widgets
from .mapping import FilePlan

RESULTS = "last_load"


@dataclass
class Outcome:
    status: Literal["ok", "refused"]
    report: LoadReport
    warnings: list[str] = field(default_factory=list)


def run(plans: Sequence[FilePlan], mode: str, progress: Callable[[float, str], None]) -> list[Outcome]:
    """Load each planned file (each its own transaction: a refused file changes nothing)."""
    store = state.store()
    out: list[Outcome] = []
    for i, plan in enumerate(plans):
        def say(frac: float, msg: str, i: int = i) -> None:
            progress(min(1.0, (i + frac) / len(plans)), msg)
        try:
            rep = load_file(store, plan.path, table=plan.table, mode=mode, mapping=plan.mapping,
                            file_name=plan.file_name, loaded_by=auth.user_name(), progress=say,
                            table_rules=staged_problems, **plan.load_options())
        except LoadRefused as e:
            out.append(Outcome("refused", e.report))
            continue
        customers = int(store.cursor().execute("SELECT count(*) FROM customers").fetchone()[0])
        warns = [str(w) for w in warnings_after(rep, customers, store.settings())]
        out.append(Outcome("ok", rep, warns))
    return out


def _summary_frame(rep: LoadReport) -> pd.DataFrame:
    summaries = getattr(rep, "summaries", None) or summarise(rep.problems)
    return pd.DataFrame([{
        "column": s.column or "(file)", "rule": s.rule, "rows": s.count,
        "first lines": ", ".join(str(n) for n in s.first_lines if n is not None),
        "first values": ", ".join(str(v) for v in s.first_values if v is not None),
    } for s in summaries])


def show(outcomes: Sequence[Outcome]) -> None:
    for k, o in enumerate(outcomes):
        rep = o.report
        name = plain_text_markdown(rep.file_name)
        if o.status == "ok" and not o.warnings:
            st.success(plain_text_markdown(rep.summary()), icon=":material/check_circle:")
        elif o.status == "ok":
            items = "\n".join(f"- {plain_text_markdown(w)}" for w in o.warnings)
            st.warning(f"**{name}** was loaded into {rep.table}, but check:\n{items}", icon=":material/warning:")
            st.caption(plain_text_markdown(rep.summary()))
        else:
            st.error(f"**{name}** was refused; nothing changed in {rep.table}.", icon=":material/block:")
            for w in o.warnings:
                st.caption(plain_text_markdown(w))
            if rep.problems or getattr(rep, "summaries", None):
                _refusal(rep, k)


def _refusal(rep: LoadReport, k: int) -> None:
    frame = _summary_frame(rep)
    st.caption(f"{rep.problem_count:,} problem{'s' if rep.problem_count != 1 else ''}, one line per column "
               f"and rule:")
    widgets.table(frame)
    cells: list[Any] = list(getattr(rep, "all_problems", None) or rep.problems)
    if cells:
        more = "" if len(cells) >= rep.problem_count else f" (the first {len(cells):,})"
        widgets.download(pd.DataFrame(problem_rows(cells), columns=["line", "column", "value", "rule"]),
                         f"problems_{k}", label=f"Download every problem, cell by cell{more}")


__all__ = ["RESULTS", "Outcome", "run", "show"]
