"""Benchmark: fit both customer-value models and predict every customer, on a generated sample.

    python benchmarks/bench_clv.py [--customers 1000000] [--workdir DIR] [--with-interactions]

Writes the sample company (``python -m crm_metrics sample``), loads customers and transactions (and,
with --with-interactions, the contacts the relationship classes come from) into a fresh store, then
measures in a child process of its own — so its peak memory is the model's, not the loader's:
reading the per-customer summary from the store, both fits, the predictions, CLV by segment and by
relationship class and the value at risk. Prints one JSON object. Target (issue 22): <= 60 s and
<= 2 GB for 1M customers (2.5M transactions).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def _crm(*args: str) -> None:
    subprocess.run([PY, "-m", "crm_metrics", *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def prepare(customers: int, workdir: Path, with_interactions: bool) -> tuple[Path, dict[str, float]]:
    sample = workdir / f"sample-{customers}"
    db = workdir / f"clv-{customers}{'-i' if with_interactions else ''}.duckdb"
    times: dict[str, float] = {}
    if not (sample / "transactions.csv").exists():
        t0 = time.perf_counter()
        _crm("sample", "--out", str(sample), "--customers", str(customers))
        times["sample_s"] = round(time.perf_counter() - t0, 1)
    if not db.exists():
        files = [sample / "customers.csv", sample / "transactions.csv"]
        if with_interactions:
            files.append(sample / "interactions.csv")
        t0 = time.perf_counter()
        _crm("--db", str(db), "load", *map(str, files), "--wait", "0")
        times["load_s"] = round(time.perf_counter() - t0, 1)
    return db, times


def measure(db: Path, horizon_weeks: float) -> dict[str, object]:
    """In this process: every step the page and clv-predict run, timed; peak RSS at the end."""
    sys.path.insert(0, str(ROOT))
    from crm_metrics.data.store import Store
    from crm_metrics.metrics import customer_value as cv
    from crm_metrics.metrics import customer_value_store as cs

    out: dict[str, object] = {}
    st = Store(db)
    c0 = time.process_time()
    t0 = time.perf_counter()
    cal, hold = cs.resolve_calibration(st, None)
    summary = cs.load_summary(st, cal, "week", hold)
    t1 = time.perf_counter()
    bg = cv.fit_bgnbd(summary["x"], summary["t_x"], summary["T"])
    t2 = time.perf_counter()
    gg = cv.fit_gamma_gamma(summary["x"], summary["monetary"])
    t3 = time.perf_counter()
    pred = cv.predict(summary, bg, gg, horizon_weeks)
    t4 = time.perf_counter()
    model = cs.CustomerValueModel(calibration_end=cal, unit="week", bgnbd=bg, gamma_gamma=gg, holdout=None)
    value = cs.CustomerValue(model=model, horizon_weeks=horizon_weeks, margin=1.0, annual_discount_rate=0.1,
                             customers=pred)
    cs.clv_by(value, "segment")
    cs.clv_by(value, "relationship_class")
    var = cs.value_at_risk(value)
    cs.at_risk_customers(value)
    t5 = time.perf_counter()
    n_tx = st.cursor().execute("SELECT count(*) FROM transactions").fetchone()[0]
    out.update({
        "customers_modelled": len(summary), "transactions": int(n_tx),
        "repeat_customers": int(gg.customers),
        "read_summary_s": round(t1 - t0, 2), "fit_bgnbd_s": round(t2 - t1, 2), "fit_gamma_gamma_s": round(t3 - t2, 2),
        "predict_s": round(t4 - t3, 2), "views_s": round(t5 - t4, 2), "total_s": round(t5 - t0, 2),
        # CPU seconds of this process (all threads): on a shared machine wall time includes waiting
        "total_cpu_s": round(time.process_time() - c0, 2),
        # ru_maxrss is in kB on Linux
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
        "bgnbd": {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b},
        "gamma_gamma": {"p": gg.p, "q": gg.q, "gamma": gg.gamma},
        "value_at_risk_share": var.share,
    })
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--workdir", default=None, help="where the sample and the store go (default: a temp dir)")
    ap.add_argument("--with-interactions", action="store_true",
                    help="also load the contacts (relationship classes; a much longer load)")
    ap.add_argument("--horizon-weeks", type=float, default=52.0)
    ap.add_argument("--measure", default=None, help=argparse.SUPPRESS)  # the child: measure this store
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure), args.horizon_weeks)))
        return 0
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-clv-"))
    workdir.mkdir(parents=True, exist_ok=True)
    db, times = prepare(args.customers, workdir, args.with_interactions)
    child = subprocess.run([PY, __file__, "--measure", str(db), "--horizon-weeks", str(args.horizon_weeks)],
                           cwd=ROOT, check=True, capture_output=True, text=True)
    result = {"customers": args.customers, "with_interactions": args.with_interactions, **times,
              **json.loads(child.stdout.strip().splitlines()[-1]), "cpus": len(os.sched_getaffinity(0)),
              "loadavg_1min": os.getloadavg()[0]}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
