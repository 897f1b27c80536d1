"""Why did it move? The mix-and-rate (shift-share) decomposition of a KPI's change (explain.md).

    explain(store, "fcr_rate", by=["channel"], start=..., end=..., vs_start=..., vs_end=...)
        -> Explanation(kpi, dims, periods, previous, current, change, mix, rate, groups)

For a ``ratio`` KPI between a previous period A and a current period B, split by dimensions whose
groups partition the KPI's units: per group g, weight w = n_g ÷ Σn and value r_g (both from one
``compute(..., by=dims)`` per period: a ratio KPI's value per group is Σnum ÷ Σden over its units);
mix_g = (w_gB − w_gA)(r_gA + r_gB)/2, rate_g = (r_gB − r_gA)(w_gA + w_gB)/2. A group present in one
period only has w = 0 in the other and r equal to its r where it exists. R = Σ w·r, and
Σ (mix_g + rate_g) = R_B − R_A exactly (the midpoint formulas leave no interaction term).
For ``sum`` KPIs a group's contribution is the change of its value (mix 0, rate = contribution).
Other kinds are refused, and so are dimensions that do not partition the units.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from crm_metrics.metrics.kpis.engine import as_tuple, compute, kpi_date
from crm_metrics.metrics.kpis.model import Kpi, KpiError
from crm_metrics.metrics.kpis.registry import get_kpi

EXPLAINABLE_KINDS = ("ratio", "sum")
GROUP_COLUMNS = ("n_prev", "n_cur", "w_prev", "w_cur", "value_prev", "value_cur", "mix", "rate", "contribution")
JSON_GROUP_FIELDS = ("n_prev", "n_cur", "value_prev", "value_cur", "mix", "rate", "contribution")

# The first day of each table's data (the previous period must lie inside it, strategy.md).
_FIRST_DAY_SQL = {
    "interactions": "SELECT min(day) FROM f_interactions",
    "transactions": "SELECT min(day) FROM f_transactions",
    "surveys": "SELECT min(day) FROM f_surveys",
    "customers": "SELECT min(joined_on) FROM customers",
}


@dataclass(frozen=True)
class Explanation:
    kpi: Kpi
    dims: tuple[str, ...]
    start: date
    end: date
    vs_start: date
    vs_end: date
    previous: float
    current: float
    change: float
    mix: float
    rate: float
    groups: pd.DataFrame  # dims..., GROUP_COLUMNS; ordered by |contribution|, largest first

    def to_json(self) -> dict[str, Any]:
        """The spec's JSON: kpi, unit, current, previous, change, mix, rate, groups[...]"""
        groups = []
        for g in self.groups.to_dict(orient="records"):
            row = {d: g[d] for d in self.dims}
            for f in JSON_GROUP_FIELDS:
                v = g[f]
                row[f] = int(v) if f.startswith("n_") else (None if _nan(v) else float(v))
            groups.append(row)
        return {"kpi": self.kpi.id, "unit": self.kpi.unit, "current": self.current, "previous": self.previous,
                "change": self.change, "mix": self.mix, "rate": self.rate, "groups": groups}


def _nan(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


# -- refusals ------------------------------------------------------------------------------------
def refusal(kpi: Kpi, dims: Iterable[str]) -> str | None:
    """Why the KPI's change cannot be split by ``dims`` (None when it can)."""
    if kpi.kind not in EXPLAINABLE_KINDS:
        why = {
            "survival": "a retention or churn rate over a period is re-based on the customers on the books "
                        "when the period began, so group changes do not add up to the whole",
            "stock": "a level at the period's end is not a flow over the period",
            "distinct": "it is a per-customer measure, and a customer can count in several groups or periods",
        }[kpi.kind]
        return (f"{kpi.label} ({kpi.id}) is a {kpi.kind} KPI and cannot be decomposed: {why}. "
                f"Explain works for ratio KPIs (mix and rate) and sum KPIs (contributions).")
    dims = tuple(dims)
    if not dims:
        return "name at least one dimension to split the change by (--by channel, segment or region)."
    if len(set(dims)) != len(dims):
        return f"a dimension is named twice in {', '.join(dims)}."
    for d in dims:
        why = kpi.partition_refusal(d)
        if why:
            return why
    return None


# -- periods -------------------------------------------------------------------------------------
def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of equal length just before [start, end]."""
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def data_first_day(store, kpi: Kpi) -> date | None:
    """The first day of the KPI's data: the latest of its tables' first days (None: no data)."""
    cur = store.cursor()
    try:
        firsts = [kpi_date(cur.execute(_FIRST_DAY_SQL[t]).fetchone()[0], t) for t in kpi.tables]
    finally:
        cur.close()
    if not firsts or any(f is None for f in firsts):
        return None
    return max(f for f in firsts if f is not None)


def default_window(store) -> tuple[date, date]:
    """The last complete calendar month of the data (the month of its last day when that day ends it)."""
    lo, hi = store.data_span()
    hi = kpi_date(hi, "end")
    if hi is None:
        raise KpiError("no data loaded: nothing to explain.")
    first = hi.replace(day=1)
    if (hi + timedelta(days=1)).month == hi.month:  # the last month is not complete: the one before
        hi = first - timedelta(days=1)
        first = hi.replace(day=1)
    return first, hi


def resolve_periods(store, kpi: Kpi, start: Any = None, end: Any = None, vs_start: Any = None,
                    vs_end: Any = None) -> tuple[date, date, date, date]:
    """(start, end, vs_start, vs_end): the current period (default: the last complete month) and the
    previous one (default: equal length just before), which the data must cover whole."""
    s, e = kpi_date(start, "start"), kpi_date(end, "end")
    if s is None or e is None:
        ds, de = default_window(store)
        if s is None:
            s = ds if e is None or ds <= e else e
        if e is None:
            e = de if de >= s else s
    if s > e:
        raise KpiError(f"the current period starts ({s}) after it ends ({e}).")
    vs, ve = kpi_date(vs_start, "vs_start"), kpi_date(vs_end, "vs_end")
    if (vs is None) != (ve is None):
        raise KpiError("give both --vs-from and --vs-to, or neither (the period of equal length just before).")
    if vs is None:
        vs, ve = previous_period(s, e)
    assert ve is not None
    if vs > ve:
        raise KpiError(f"the previous period starts ({vs}) after it ends ({ve}).")
    first = data_first_day(store, kpi)
    if first is None or vs < first:
        raise KpiError(f"the data does not cover the previous period {vs} – {ve} whole "
                       f"(the data of {kpi.label} begins {first or 'nowhere: none loaded'}); "
                       f"choose a later period or give --vs-from / --vs-to inside the data.")
    return s, e, vs, ve


# -- the decomposition ------------------------------------------------------------------------------
def decompose(kind: str, prev: pd.DataFrame, cur: pd.DataFrame, dims: tuple[str, ...]) -> pd.DataFrame:
    """Per group (dims...), the spec's columns from two frames of (dims..., value, n).

    Pure arithmetic (no store): the hand-computed tests call it directly as well as through
    :func:`explain`.
    """
    a = prev[[*dims, "value", "n"]].rename(columns={"value": "value_prev", "n": "n_prev"})
    b = cur[[*dims, "value", "n"]].rename(columns={"value": "value_cur", "n": "n_cur"})
    if dims:
        g = a.merge(b, on=list(dims), how="outer")
    else:
        g = pd.concat([a.reset_index(drop=True), b.reset_index(drop=True)], axis=1)
    g["n_prev"] = g["n_prev"].fillna(0).astype("int64")
    g["n_cur"] = g["n_cur"].fillna(0).astype("int64")
    na, nb = int(g["n_prev"].sum()), int(g["n_cur"].sum())
    g["w_prev"] = g["n_prev"] / na if na else 0.0
    g["w_cur"] = g["n_cur"] / nb if nb else 0.0
    if kind == "ratio":
        # a group missing in one period: r there = its r in the other (w = 0 there already)
        ra = g["value_prev"].where(g["n_prev"] > 0, g["value_cur"]).astype("float64")
        rb = g["value_cur"].where(g["n_cur"] > 0, g["value_prev"]).astype("float64")
        g["mix"] = (g["w_cur"] - g["w_prev"]) * (ra + rb) / 2
        g["rate"] = (rb - ra) * (g["w_prev"] + g["w_cur"]) / 2
        g["contribution"] = g["mix"] + g["rate"]
    else:  # sum: a group's contribution is the change of its value
        g["contribution"] = g["value_cur"].fillna(0.0) - g["value_prev"].fillna(0.0)
        g["mix"] = 0.0
        g["rate"] = g["contribution"]
    g.loc[g["n_prev"] == 0, "value_prev"] = float("nan")
    g.loc[g["n_cur"] == 0, "value_cur"] = float("nan")
    order = g["contribution"].abs().sort_values(ascending=False, kind="stable").index
    return g.loc[order, [*dims, *GROUP_COLUMNS]].reset_index(drop=True)


def total(kind: str, groups: pd.DataFrame, side: str) -> float:
    """R for one period from its groups: Σ w·r (ratio) or Σ value (sum)."""
    n, v = groups[f"n_{side}"], groups[f"value_{side}"]
    if kind == "ratio":
        w = groups[f"w_{side}"]
        return float((w[n > 0] * v[n > 0]).sum())
    return float(v.fillna(0.0).sum())


def explain(store, kpi_id: str, *, by: Iterable[str] | str, start: Any = None, end: Any = None,
            vs_start: Any = None, vs_end: Any = None, channels: Iterable[str] = (),
            segments: Iterable[str] = (), settings: Mapping[str, Any] | None = None) -> Explanation:
    """Decompose the KPI's change from the previous period to the current one by ``by`` (two queries)."""
    kpi = get_kpi(kpi_id)
    dims = as_tuple(by)
    why = refusal(kpi, dims)
    if why:
        raise KpiError(why)
    s, e, vs, ve = resolve_periods(store, kpi, start, end, vs_start, vs_end)
    ch, sg = as_tuple(channels), as_tuple(segments)
    prev = compute(store, kpi.id, start=vs, end=ve, channels=ch, segments=sg, by=dims, settings=settings)
    cur = compute(store, kpi.id, start=s, end=e, channels=ch, segments=sg, by=dims, settings=settings)
    for frame, (a, b), name in ((prev, (vs, ve), "previous"), (cur, (s, e), "current")):
        if int(frame["n"].sum()) == 0:
            raise KpiError(f"{kpi.label}: no {kpi.n_label or 'units'} in the {name} period {a} – {b}"
                           f"{' within the filters' if ch or sg else ''}; nothing to compare.")
    groups = decompose(kpi.kind, prev, cur, dims)
    r_a, r_b = total(kpi.kind, groups, "prev"), total(kpi.kind, groups, "cur")
    return Explanation(kpi=kpi, dims=dims, start=s, end=e, vs_start=vs, vs_end=ve, previous=r_a, current=r_b,
                       change=r_b - r_a, mix=float(groups["mix"].sum()), rate=float(groups["rate"].sum()),
                       groups=groups)


# -- the sentence ------------------------------------------------------------------------------------
MINUS = "\u2212"  # a typographic minus: a hyphen before a number reads as a dash


def _fmt(x: float, unit: str, currency: str = "", signed: bool = True, words: bool = False) -> str:
    """A number in the KPI's unit for a sentence; ``words`` adds "points", "s" or the currency."""
    mag = abs(x)
    if unit == "count":
        text = f"{mag:,.0f}"
    elif unit == "currency":
        text = f"{mag:,.2f}" + (f" {currency}" if words and currency else "")
    elif unit == "ratio":
        text = f"{mag:.2f}"
    else:
        text = f"{mag:.1f}"
        if words:
            text += {"%": " points", "score": " points", "seconds": " s"}.get(unit, "")
    if not signed:
        return text
    zero = _fmt(0.0, unit, signed=False) == _fmt(x, unit, signed=False)
    return text if zero else (MINUS if x < 0 else "+") + text


def _shown_zero(x: float, unit: str) -> bool:
    return _fmt(x, unit, signed=False) == _fmt(0.0, unit, signed=False)


def group_name(row: Mapping[str, Any], dims: Iterable[str]) -> str:
    return " · ".join(str(row[d]) for d in dims)


def _headline(ex: Explanation, currency: str) -> str:
    unit, label = ex.kpi.unit, ex.kpi.label
    if _shown_zero(ex.change, unit):
        return f"{label} did not change"
    verb = "rose" if ex.change > 0 else "fell"
    return f"{label} {verb} {_fmt(ex.change, unit, currency, signed=False, words=True)}"


def _mix_part(ex: Explanation) -> str | None:
    g, unit = ex.groups, ex.kpi.unit
    if len(g) < 2 or _shown_zero(ex.mix, unit):
        return None
    shift = g["w_cur"] - g["w_prev"]
    to, frm = g.loc[shift.idxmax()], g.loc[shift.idxmin()]
    units = f"{ex.kpi.unit_of_count}s"
    r_to = to["value_cur"] if not _nan(to["value_cur"]) else to["value_prev"]
    r_from = frm["value_prev"] if not _nan(frm["value_prev"]) else frm["value_cur"]
    a, b = group_name(frm, ex.dims), group_name(to, ex.dims)
    if (r_to - r_from) * ex.mix > 0:  # the main shift explains the sign of the mix effect
        where = "higher" if r_to > r_from else "lower"
        return f"{units} moved from {a} to {b}, where {ex.kpi.label} is {where} ({_fmt(ex.mix, unit)})"
    return f"the mix of {units} shifted towards {b} ({_fmt(ex.mix, unit)})"


def _rate_part(ex: Explanation) -> str | None:
    g, unit = ex.groups, ex.kpi.unit
    if g.empty or _shown_zero(ex.rate, unit):
        return None
    top = g.loc[g["rate"].abs().idxmax()]
    if _shown_zero(top["rate"], unit):
        return None
    verb = "rose" if top["rate"] > 0 else "fell"
    return f"{group_name(top, ex.dims)}'s own {ex.kpi.label} {verb} ({_fmt(top['rate'], unit)})"


def sentence(ex: Explanation, currency: str = "") -> str:
    """One sentence naming the largest rate and mix contributions (sum KPIs: the two largest
    contributions), e.g. "First-contact resolution fell 3.1 points: phone's own First-contact
    resolution fell (−2.4), and contacts moved from branch to mobile, where First-contact resolution
    is lower (−0.7)." """
    head = _headline(ex, currency)
    if ex.kpi.kind != "ratio":
        return head + _largest(ex, 2, " contributed most") + "."
    g = ex.groups
    top_rate = float(g["rate"].abs().max()) if not g.empty else 0.0
    # the larger of the two numbers shown first: the top group's rate, the total mix
    parts = [(top_rate, _rate_part(ex)), (abs(ex.mix), _mix_part(ex))]
    parts = [p for p in sorted(parts, key=lambda p: -p[0]) if p[1]]
    if not parts:
        return head + "."
    return head + ": " + ", and ".join(p for _, p in parts) + "."


def _largest(ex: Explanation, k: int, tail: str) -> str:
    top = [r for r in ex.groups.head(k).to_dict(orient="records") if not _shown_zero(r["contribution"], ex.kpi.unit)]
    if not top:
        return ""
    names = [f"{group_name(r, ex.dims)} ({_fmt(r['contribution'], ex.kpi.unit)})" for r in top]
    return ": " + " and ".join(names) + tail


def contributions_sentence(ex: Explanation, k: int = 2, currency: str = "") -> str:
    """The change and its ``k`` largest contributions by group, e.g. "Churn rose 1.2 points against
    2025-01-01 – 2025-03-31; largest contributions: Mass Retail (+0.9) and SME (+0.4)." """
    head = f"{_headline(ex, currency)} against {ex.vs_start} – {ex.vs_end}"
    top = _largest(ex, k, "")
    return head + (f"; largest contributions by {' × '.join(ex.dims)}" + top if top else "") + "."


# -- for display (the app's why view) -----------------------------------------------------------------
def waterfall(ex: Explanation, top: int = 6) -> pd.DataFrame:
    """The bars of a waterfall from the previous value to the current one: ``step`` (a label),
    ``value`` (the previous total, each of the ``top`` largest contributions, the rest summed, the
    current total) and ``measure`` ("absolute" for the totals, "relative" for the steps)."""
    steps = [(f"{ex.vs_start} – {ex.vs_end}", ex.previous, "absolute")]
    g = ex.groups
    for r in g.head(top).to_dict(orient="records"):
        steps.append((group_name(r, ex.dims), float(r["contribution"]), "relative"))
    if len(g) > top:
        steps.append((f"the other {len(g) - top}", float(g["contribution"].iloc[top:].sum()), "relative"))
    steps.append((f"{ex.start} – {ex.end}", ex.current, "absolute"))
    return pd.DataFrame(steps, columns=["step", "value", "measure"])


def groups_table(ex: Explanation) -> pd.DataFrame:
    """The groups with their weights in % (previous, current), values, mix, rate and contribution."""
    g = ex.groups
    out = g[list(ex.dims)].copy()
    out["weight_prev_pct"] = 100 * g["w_prev"]
    out["weight_cur_pct"] = 100 * g["w_cur"]
    for c in ("n_prev", "n_cur", "value_prev", "value_cur", "mix", "rate", "contribution"):
        out[c] = g[c]
    return out


__all__ = ["Explanation", "waterfall", "groups_table", "explain", "decompose", "refusal", "resolve_periods", "previous_period",
           "default_window", "sentence", "contributions_sentence", "group_name", "EXPLAINABLE_KINDS"]
