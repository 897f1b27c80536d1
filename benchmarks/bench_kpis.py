"""2. KPIs: every KPI of the catalogue by channel × month (else by month, else whole window), warm,
median of N runs, through ``crm_metrics.metrics.kpis.compute``; the continuity KPIs also by segment. Beside
it, a straightforward pandas computation of a representative set on the same fact tables (read into
pandas once, not timed), timed the same way, and checked against the engine's numbers."""
from __future__ import annotations

import datetime as dt
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from common import Config, ensure_store, now_iso, repeat, wait_quiet

TARGET_MS = 250.0
TARGET_CONTINUITY_MS = 1000.0
TARGET_SPEEDUP = 5.0


def _by(kpi) -> tuple[str, ...]:
    if kpi.supports("channel") and kpi.supports("period"):
        return ("channel", "period")
    if kpi.supports("period"):
        return ("period",)
    return ()


def _as_date(v: Any) -> dt.date:
    return v.date() if isinstance(v, dt.datetime) else v


# -- pandas -----------------------------------------------------------------------------------------
def read_frames(store) -> dict[str, pd.DataFrame]:
    """The fact tables as a pandas user gets them from DuckDB (.df()); the low-cardinality
    dimensions turned into categoricals once (what a careful pandas user does; it makes pandas
    faster, so the comparison is conservative)."""
    cur = store.cursor()
    fi = cur.execute("""SELECT customer_id, occurred_at, day, channel, kind, advisor_id, handle_seconds,
                               resolved, csat, next_contact_at, segment FROM f_interactions""").df()
    ft = cur.execute("SELECT day, channel, amount FROM f_transactions").df()
    cu = cur.execute("SELECT customer_id, joined_on, left_on, acquisition_channel FROM customers").df()
    cur.close()
    for df, cols in ((fi, ("channel", "kind", "segment")), (ft, ("channel",))):
        for c in cols:
            df[c] = df[c].astype("category")
    fi["resolved"] = fi["resolved"].astype("boolean")
    for c in ("day", "occurred_at", "next_contact_at"):
        fi[c] = pd.to_datetime(fi[c])
    ft["day"] = pd.to_datetime(ft["day"])
    cu["channel"] = cu["acquisition_channel"].fillna("").str.strip().replace("", "(unknown)").astype("category")
    cu["joined_on"] = pd.to_datetime(cu["joined_on"])
    cu["left_on"] = pd.to_datetime(cu["left_on"])
    return {"fi": fi, "ft": ft, "cu": cu}


def _month(s: pd.Series) -> np.ndarray:
    return s.values.astype("datetime64[M]")


def _grouped(df: pd.DataFrame, measures: dict[str, pd.Series]) -> pd.DataFrame:
    g = pd.DataFrame({"channel": df["channel"], "period": _month(df["day"]), **measures})
    return g.groupby(["channel", "period"], observed=True).sum()


def pd_contacts(f, s):
    fi = f["fi"]
    g = fi.groupby(["channel", _month(fi["day"])], observed=True).size()
    return pd.DataFrame({"value": g.astype(float), "n": g})


def pd_fcr_rate(f, s):
    fi = f["fi"]
    window = pd.Timedelta(days=float(s["fcr_window_days"]))
    repeated = fi["next_contact_at"].notna() & ((fi["next_contact_at"] - fi["occurred_at"]) <= window)
    first = fi["resolved"].fillna(False) & ~repeated
    g = _grouped(fi, {"first": first.astype("int64"), "known": fi["resolved"].notna().astype("int64")})
    return pd.DataFrame({"value": 100.0 * g["first"] / g["known"].replace(0, np.nan), "n": g["known"]})


def pd_csat(f, s):
    fi = f["fi"]
    g = _grouped(fi, {"top2": (fi["csat"] >= 4).fillna(False).astype("int64"), "answers": fi["csat"].notna().astype("int64")})
    return pd.DataFrame({"value": 100.0 * g["top2"] / g["answers"].replace(0, np.nan), "n": g["answers"]})


def pd_avg_handle_time(f, s):
    fi = f["fi"]
    g = _grouped(fi, {"total": fi["handle_seconds"].fillna(0), "answered": fi["handle_seconds"].notna().astype("int64")})
    return pd.DataFrame({"value": g["total"] / g["answered"].replace(0, np.nan), "n": g["answered"]})


def pd_self_service_share(f, s):
    fi = f["fi"]
    g = _grouped(fi, {"ss": (fi["kind"] == "self_service").fillna(False).astype("int64"), "n": 1})
    return pd.DataFrame({"value": 100.0 * g["ss"] / g["n"], "n": g["n"]})


def pd_upc_by_segment(f, s):
    fi = f["fi"]
    a = fi[(fi["kind"] == "assisted") & fi["advisor_id"].notna()]
    n_a = a.groupby(["segment", "customer_id", "advisor_id"], observed=True).size()
    per = n_a.groupby(level=[0, 1], observed=True).agg(["sum", "max"])
    per = per[per["sum"] >= 2]
    upc = (per["max"] / per["sum"]).groupby(level=0, observed=True)
    return pd.DataFrame({"value": upc.mean(), "n": upc.size()})


def pd_churn_rate(f, s, start: dt.date, end: dt.date):
    cu = f["cu"]
    joined, left, ch = cu["joined_on"], cu["left_on"], cu["channel"]
    parts = []
    for p in pd.period_range(start, end, freq="M"):
        ps = max(p.start_time, pd.Timestamp(start))
        pe = min(p.end_time.normalize(), pd.Timestamp(end))
        s_begin = (joined < ps) & (left.isna() | (left >= ps))
        churned = s_begin & (left <= pe)
        g = pd.DataFrame({"channel": ch, "s": s_begin, "c": churned}).groupby("channel", observed=True).sum()
        g["period"] = np.datetime64(p.start_time.date(), "M")
        parts.append(g.reset_index())
    g = pd.concat(parts).set_index(["channel", "period"])
    return pd.DataFrame({"value": 100.0 * g["c"] / g["s"].replace(0, np.nan), "n": g["s"]})


def pd_revenue(f, s):
    ft = f["ft"]
    g = ft.groupby(["channel", _month(ft["day"])], observed=True)["amount"].agg(["sum", "size"])
    return pd.DataFrame({"value": g["sum"], "n": g["size"]})


PANDAS: dict[str, tuple[tuple[str, ...], Callable]] = {
    "contacts": (("channel", "period"), pd_contacts),
    "fcr_rate": (("channel", "period"), pd_fcr_rate),
    "csat": (("channel", "period"), pd_csat),
    "avg_handle_time": (("channel", "period"), pd_avg_handle_time),
    "self_service_share": (("channel", "period"), pd_self_service_share),
    "upc": (("segment",), pd_upc_by_segment),
    "churn_rate": (("channel", "period"), pd_churn_rate),
    "revenue": (("channel", "period"), pd_revenue),
}


def _flat(df: pd.DataFrame, by: tuple[str, ...], indexed: bool) -> pd.DataFrame:
    """Keys as text (period as YYYY-MM), value, n; rows with n = 0 dropped (the engine drops them)."""
    if indexed:
        df = df.reset_index()
        df.columns = [*by, *df.columns[len(by):]]
    out = pd.DataFrame({d: (pd.to_datetime(df[d]).dt.strftime("%Y-%m") if d == "period" else df[d].astype(str))
                        for d in by})
    out["value"] = df["value"].astype(float).values
    out["n"] = df["n"].astype("int64").values
    return out[out["n"] > 0].set_index(list(by))


def compare(engine: pd.DataFrame, pandas_df: pd.DataFrame, by: tuple[str, ...]) -> dict[str, Any]:
    """Engine rows against pandas rows on the same keys: same keys and n, values within 1e-9 (relative)."""
    e, p = _flat(engine, by, False), _flat(pandas_df, by, True)
    j = e.join(p, how="outer", lsuffix="_engine", rsuffix="_pandas")
    only_e = int(j["n_pandas"].isna().sum())
    only_p = int(j["n_engine"].isna().sum())
    both = j.dropna(subset=["n_engine", "n_pandas"])
    ve, vp = both["value_engine"], both["value_pandas"]
    rel = (ve - vp).abs() / vp.abs().clip(lower=1.0)
    nan_mismatch = int((ve.isna() != vp.isna()).sum())
    max_rel = float(rel.max()) if rel.notna().any() else 0.0
    n_diff = int((both["n_engine"] != both["n_pandas"]).sum())
    return {"rows_engine": int(len(e)), "rows_pandas": int(len(p)), "rows_only_engine": only_e,
            "rows_only_pandas": only_p, "max_rel_diff": max_rel, "n_mismatches": n_diff,
            "null_mismatches": nan_mismatch,
            "equal": only_e == 0 and only_p == 0 and n_diff == 0 and nan_mismatch == 0 and max_rel <= 1e-9}


# -- the run ------------------------------------------------------------------------------------------
def run(cfg: Config, say: Callable[[str], None] = print) -> dict[str, Any]:
    from crm_metrics.data.store import Store
    from crm_metrics.metrics.kpis import KPIS, compute

    ensure_store(cfg, say)
    store = Store(cfg.store_path)
    lo, hi = store.data_span()
    start, end = _as_date(lo), _as_date(hi)
    settings = store.settings()
    res: dict[str, Any] = {"when": now_iso(), "customers": cfg.customers, "window": [str(start), str(end)],
                           "repeats": cfg.repeats, "quiet": wait_quiet(cfg.quiet_wait, say),
                           "catalogue": [], "continuity": [], "pandas": []}

    def engine(kpi_id: str, by: tuple[str, ...]) -> dict[str, Any]:
        r = repeat(lambda: compute(store, kpi_id, start=start, end=end, by=by, grain="month"), cfg.repeats)
        r["rows"] = len(r["result"])
        return r

    engine_frames: dict[tuple[str, tuple[str, ...]], pd.DataFrame] = {}
    for kpi in KPIS.values():
        by = _by(kpi)
        r = engine(kpi.id, by)
        engine_frames[(kpi.id, by)] = r.pop("result")
        continuity = kpi.family == "relationships"
        target = TARGET_CONTINUITY_MS if continuity else TARGET_MS
        res["catalogue"].append({"kpi": kpi.id, "family": kpi.family, "by": " × ".join(by) or "(window)",
                                 **r, "target_ms": target, "ok": r["median_ms"] <= target})
        say(f"  {kpi.id:28s} by {' x '.join(by) or '-':18s} {r['median_ms']:9.1f} ms (min {r['min_ms']:.1f}, {r['rows']} rows)")
    for kpi in KPIS.values():
        if kpi.family != "relationships":
            continue
        r = engine(kpi.id, ("segment",))
        engine_frames[(kpi.id, ("segment",))] = r.pop("result")
        res["continuity"].append({"kpi": kpi.id, "by": "segment", **r, "target_ms": TARGET_CONTINUITY_MS,
                                  "ok": r["median_ms"] <= TARGET_CONTINUITY_MS})
        say(f"  {kpi.id:28s} by segment            {r['median_ms']:9.1f} ms")

    # pandas beside it: engine and pandas calls alternate (same machine conditions for both)
    say("  reading the fact tables into pandas (not timed) ...")
    frames = read_frames(store)
    for kpi_id, (by, fn) in PANDAS.items():
        call = (lambda fn=fn: fn(frames, settings, start, end)) if kpi_id == "churn_rate" else (lambda fn=fn: fn(frames, settings))
        def ecall(kpi_id: str = kpi_id, by: list[str] = by) -> Any:
            return compute(store, kpi_id, start=start, end=end, by=by, grain="month")
        gc.collect()
        pdf, edf = call(), ecall()  # warm-up, and the results compared
        pt, et, pc, ec = [], [], [], []
        for _ in range(cfg.repeats):
            for fn_, times, cpus in ((call, pt, pc), (ecall, et, ec)):
                c0 = time.process_time()
                t0 = time.perf_counter()
                fn_()
                times.append((time.perf_counter() - t0) * 1000)
                cpus.append((time.process_time() - c0) * 1000)
        p_ms, e_ms = statistics.median(pt), statistics.median(et)
        check = compare(edf, pdf, by)
        res["pandas"].append({"kpi": kpi_id, "by": " × ".join(by), "engine_ms": round(e_ms, 2), "pandas_ms": round(p_ms, 2),
                              "engine_cpu_ms": round(statistics.median(ec), 2), "pandas_cpu_ms": round(statistics.median(pc), 2),
                              "pandas_min_ms": round(min(pt), 2), "speedup": round(p_ms / e_ms, 2) if e_ms else None,
                              "sanity": check})
        say(f"  pandas {kpi_id:20s} {p_ms:9.1f} ms vs engine {e_ms:8.1f} ms "
            f"({p_ms / e_ms:5.1f}x); equal: {check['equal']} (max rel diff {check['max_rel_diff']:.2e})")
    tot_p = sum(x["pandas_ms"] for x in res["pandas"])
    tot_e = sum(x["engine_ms"] for x in res["pandas"])
    res["pandas_total_ms"], res["engine_total_ms"] = round(tot_p, 1), round(tot_e, 1)
    res["speedup_total"] = round(tot_p / tot_e, 2)
    res["speedup_ok"] = tot_p / tot_e >= TARGET_SPEEDUP
    res["all_equal"] = all(x["sanity"]["equal"] for x in res["pandas"])
    res["load_end"] = __import__("common").loadavg()[0]
    store.close()
    return res
