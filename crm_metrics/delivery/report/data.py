"""Everything the report shows, computed once with the engine's APIs (``collect``)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crm_metrics.data import values
from crm_metrics.data.store import Store
from crm_metrics.delivery.report.base import MIX_KPIS
from crm_metrics.delivery.report.text import scope_text
from crm_metrics.judgement import checks, health
from crm_metrics.judgement import impact as impact_mod
from crm_metrics.judgement import scorecard as sc
from crm_metrics.judgement.why import goal_explanations
from crm_metrics.metrics.kpis import KPIS, KpiError
from crm_metrics.metrics.kpis.engine import missing_message


# -- the data of the report ---------------------------------------------------------------------------
@dataclass
class Trend:
    kpi: str
    channel: str | None
    segment: str | None
    goals: list[dict[str, Any]]
    frame: pd.DataFrame | None = None
    note: str | None = None


@dataclass
class Initiative:
    row: dict[str, Any]
    series: pd.DataFrame | None
    note: str | None = None


@dataclass
class ReportData:
    start: dt.date | None
    end: dt.date | None
    generated_at: dt.datetime
    currency: str
    settings: dict[str, Any]
    sample: bool
    counts: dict[str, int]
    span: tuple[Any, Any]
    last_loads: dict[str, dict[str, Any]]
    card: pd.DataFrame
    rollup: pd.DataFrame
    findings: list[health.Finding]
    alignment: pd.DataFrame
    mix: pd.DataFrame | None
    mix_note: str | None
    trends: list[Trend]
    initiatives: list[Initiative]
    initiatives_note: str | None
    missing: list[str] = field(default_factory=list)
    kpis_shown: list[str] = field(default_factory=list)
    why: dict[str, str] = field(default_factory=dict)  # goal_id -> its two largest contributions
    sample_mixed: bool = False  # the analyst's own data and the sample company together


def _missing_tables(counts: dict[str, int], kpi_id: str) -> tuple[str, ...]:
    kpi = KPIS.get(kpi_id)
    return tuple(t for t in kpi.tables if counts.get(t, 0) == 0) if kpi else ()


def collect(store: Store, start: Any = None, end: Any = None) -> ReportData:
    """Everything the report shows, computed with the engine's APIs (a modest number of queries:
    one per goal scope for the trends, one per mix KPI split by segment, the scorecard, the health
    checks, the impact analysis once, and the weekly series of each initiative)."""
    s, e = sc.resolve_window(store, start, end)
    ctx = health.HealthContext(store=store, start=s, end=e, settings=store.settings(), goal_window=(start, end))
    settings = ctx.settings
    currency = str(settings.get("currency", "") or "")
    counts = store.row_counts()
    last_loads: dict[str, dict[str, Any]] = {}
    for h in store.load_history():  # newest first
        last_loads.setdefault(str(h.get("table_name")), h)
    from crm_metrics.data.reset import store_contents
    contents = store_contents(store)

    # one context for the checks and the report: the scorecard and alignment are computed once
    findings = health.run_in(ctx, checks.CHECKS)
    card = ctx.scorecard
    rollup = sc.objective_rollup(card)
    alignment = ctx.alignment

    # what is missing: each KPI the report would show whose tables are empty
    kpis_shown: list[str] = []

    def shown(kpi_id: Any) -> None:
        k = values.text(kpi_id)
        if k and k in KPIS and k not in kpis_shown:
            kpis_shown.append(k)

    for k in card["kpi"]:
        shown(k)
    for k in MIX_KPIS:
        shown(k)

    # relationship mix by segment. With stated segment strategies it is the alignment table's (the
    # health checks computed it already); without, one query per share, split by segment.
    mix, mix_note = None, None
    if s is None:
        mix_note = "No data loaded."
    elif counts.get("interactions", 0) == 0:
        mix_note = missing_message(KPIS["relationship_share"], ("interactions",))
    elif not alignment.empty:
        mix = alignment[alignment["n"] > 0][["segment", *MIX_KPIS, "n"]].reset_index(drop=True)
    else:
        parts = []
        for k in MIX_KPIS:
            df = ctx.kpi(k, by=("segment",))
            if df is None:
                mix_note = ctx.missing(k) or f"no {k} over the window"
                parts = []
                break
            parts.append(df[["segment", "value", "n"]].rename(columns={"value": k, "n": f"n_{k}"}))
        if parts:
            mix = parts[0]
            for p in parts[1:]:
                mix = mix.merge(p, on="segment", how="outer")
            mix = mix.rename(columns={"n_relationship_share": "n"})[["segment", *MIX_KPIS, "n"]]
    if mix is not None:
        mix = mix.sort_values("segment", kind="stable", ignore_index=True)
        if mix.empty:
            mix, mix_note = None, f"no customer had an assisted contact with an advisor in {s} – {e}"

    # monthly trend per goal KPI and scope: one query per distinct (kpi, channel, segment)
    trends: dict[tuple[str, str | None, str | None], Trend] = {}
    for g in card.to_dict(orient="records"):
        key = (g["kpi"], values.text(g["channel"]), values.text(g["segment"]))
        trends.setdefault(key, Trend(*key, goals=[])).goals.append(g)
    for t in trends.values():
        if t.kpi not in KPIS:
            t.note = f"{t.kpi!r} is not a KPI of the catalogue"
            continue
        if s is None:
            t.note = "No data loaded."
            continue
        try:
            df = ctx.kpi(t.kpi, channels=[t.channel] if t.channel else (),
                         segments=[t.segment] if t.segment else (), by=("period",))
        except KpiError as err:
            t.note = str(err)
            continue
        if df is None:
            t.note = ctx.missing(t.kpi) or "no data"
        elif df.empty:
            t.note = f"no data for {scope_text(t.channel, t.segment)} in {s} – {e}"
        else:
            t.frame = df

    # initiatives: the impact analysis (shared with the no_return check) and the weekly series
    inits: list[Initiative] = []
    inits_note = None
    if counts.get("initiatives", 0) == 0:
        inits_note = "Load initiatives.csv to see each CRM initiative's before/after, cost and ROI."
    else:
        w = impact_mod.DEFAULT_WINDOW_DAYS
        imp = ctx.shared(("impact", w), lambda: impact_mod.impact(store, window_days=w))
        for r in imp.to_dict(orient="records"):
            shown(r.get("kpi"))
            try:
                series = impact_mod.weekly_series(store, r["initiative_id"], window_days=w)
                note = series.attrs.get("note")
            except (KpiError, ValueError) as err:
                series, note = None, str(err)
            inits.append(Initiative(r, series if series is not None and not series.empty else None, note))
        shown("revenue")

    missing: list[str] = []
    for table, what in (("goals", "Load goals.csv (or set goals on the Strategy page) to see the scorecard."),
                        ("segments", "Load segments.csv to compare each segment's stated strategy with how "
                                     "its customers are served.")):
        if counts.get(table, 0) == 0:
            missing.append(what)
    if inits_note:
        missing.append(inits_note)
    for k in kpis_shown:
        tables = _missing_tables(counts, k)
        if tables:
            msg = missing_message(KPIS[k], tables)
            if msg not in missing:
                missing.append(msg)
    for t in ("customers", "interactions", "transactions", "surveys"):
        if counts.get(t, 0) == 0:
            labels = [k.label for k in KPIS.values() if t in k.tables]
            more = len(labels) > 4
            names = ", ".join(labels[:4]) + (" and more" if more else "")
            if not more and len(labels) > 1:
                names = ", ".join(labels[:-1]) + " and " + labels[-1]
            msg = f"Load {t}.csv to see {names}."
            if msg not in missing:
                missing.append(msg)
    order = {k: i for i, k in enumerate(KPIS)}
    kpis_shown.sort(key=lambda k: order.get(k, len(order)))

    return ReportData(
        start=s, end=e, generated_at=dt.datetime.now().replace(microsecond=0), currency=currency,
        settings=settings, sample=contents == "sample", counts=counts, span=store.data_span(),
        last_loads=last_loads, card=card, rollup=rollup, findings=findings, alignment=alignment,
        mix=mix, mix_note=mix_note, trends=list(trends.values()), initiatives=inits,
        initiatives_note=inits_note, missing=missing, kpis_shown=kpis_shown,
        why=goal_explanations(store, card, currency), sample_mixed=contents == "mixed")
