"""Why a goal is off track: its change against the previous period, split by the first dimension
that partitions the KPI's units and that the goal's scope does not fix (explain.md).

    goal_explanations(store, scorecard_df) -> {goal_id: sentence}

Only goals that are missed (or off track, when the scorecard carries a pace) get a sentence, and
only when the decomposition holds (a ratio or sum KPI, a previous period the data covers whole).
"""
from __future__ import annotations

import pandas as pd

from crm_metrics.data import values
from crm_metrics.metrics.explain import contributions_sentence, explain, refusal
from crm_metrics.metrics.kpis import KPIS, KpiError

BAD = ("missed", "off_track")
SPLIT_ORDER = ("channel", "segment", "region")


_text = values.text  # trimmed text, None when missing or blank


def split_for(kpi_id: str, channel: str | None, segment: str | None) -> str | None:
    """The dimension to split a goal's change by: the first the KPI allows that its scope leaves open."""
    kpi = KPIS.get(kpi_id)
    if kpi is None:
        return None
    fixed = {"channel": channel, "segment": segment}
    for d in SPLIT_ORDER:
        if not fixed.get(d) and refusal(kpi, (d,)) is None:
            return d
    return None


def goal_explanations(store, card: pd.DataFrame, currency: str = "", k: int = 2) -> dict[str, str]:
    """For each missed / off-track goal, its ``k`` largest contributions in one sentence."""
    out: dict[str, str] = {}
    for g in card.to_dict(orient="records"):
        if g.get("status") not in BAD and g.get("pace") not in BAD:
            continue
        channel, segment = _text(g.get("channel")), _text(g.get("segment"))
        dim = split_for(str(g.get("kpi")), channel, segment)
        if dim is None or g.get("period_start") is None or g.get("period_end") is None:
            continue
        try:
            ex = explain(store, str(g["kpi"]), by=(dim,), start=g["period_start"], end=g["period_end"],
                         channels=[channel] if channel else (), segments=[segment] if segment else ())
        except KpiError:  # previous period not in the data, nothing in a period: no sentence
            continue
        out[str(g["goal_id"])] = contributions_sentence(ex, k, currency)
    return out


__all__ = ["goal_explanations", "split_for"]
