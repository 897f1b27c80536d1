"""`explain` of every ratio KPI by channel × segment, warm (target ≤ 1 s each; explain.md).

    python benchmarks/bench_explain.py STORE.duckdb [--repeats N] [--from D --to D]

The store: the sample company at 1,000,000 customers, loaded (see docs/benchmarks.md). Each KPI is
explained once to warm DuckDB's caches, then timed ``repeats`` times; the median and the worst are
printed. Also times `records` (count + first 50 rows) of the same KPIs.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from crm_metrics.data.store import Store  # noqa: E402
from crm_metrics.metrics.explain import explain, refusal  # noqa: E402
from crm_metrics.metrics.kpis import KPIS  # noqa: E402
from crm_metrics.metrics.records import records  # noqa: E402


def timed(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), max(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("store")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--from", dest="start", default=None)
    ap.add_argument("--to", dest="end", default=None)
    args = ap.parse_args()
    st = Store(args.store)
    dims = ("channel", "segment")
    print(f"{'kpi':22} {'explain median':>15} {'worst':>7} {'records median':>15} {'worst':>7}")
    for k in KPIS.values():
        if k.kind != "ratio" or refusal(k, dims):
            continue
        med, worst = timed(lambda k=k: explain(st, k.id, by=dims, start=args.start, end=args.end), args.repeats)
        r_med, r_worst = timed(lambda k=k: records(st, k.id, start=args.start, end=args.end, limit=50), args.repeats)
        print(f"{k.id:22} {med:14.3f}s {worst:6.3f}s {r_med:14.3f}s {r_worst:6.3f}s")
    st.close()


if __name__ == "__main__":
    main()
