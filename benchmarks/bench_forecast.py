"""The Scorecard's goal forecasts, cold: a fresh process computes the scorecard (every goal in
progress fitted and simulated, judgement/ets.py) and then the health checks, and prints the CPU
seconds of each and of the fits alone. Issue 15's target: the forecasts add at most 3 s of CPU to
the Scorecard's cold render on the 1M-customer store.

    python benchmarks/bench_forecast.py STORE.duckdb            # a copy: the store is opened read-write
    OPENBLAS_NUM_THREADS=2 python benchmarks/bench_forecast.py STORE.duckdb   # as before the thread limit
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crm_metrics.data.store import Store  # noqa: E402  (crm_metrics first: it sets the BLAS threads)
from crm_metrics.judgement import ets, forecast  # noqa: E402
from crm_metrics.judgement import scorecard as sc  # noqa: E402
from crm_metrics.judgement.checks import run_checks  # noqa: E402


def main(db: str) -> str:
    store = Store(db)
    fits = {"series": 0, "cpu": 0.0}
    fit_and_simulate = ets._simulate  # measured by wrapping: the fits and simulations alone

    def counted(*args, **kwargs):
        c = time.process_time()
        fits["series"] += 1
        try:
            return fit_and_simulate(*args, **kwargs)
        finally:
            fits["cpu"] += time.process_time() - c

    ets._simulate = counted
    history_cpu = {"queries": 0, "cpu": 0.0}
    by_period = forecast.by_period  # the forecasts' other cost: one history query per goal in progress

    def timed(*args, **kwargs):
        c = time.process_time()
        history_cpu["queries"] += 1
        try:
            return by_period(*args, **kwargs)
        finally:
            history_cpu["cpu"] += time.process_time() - c

    forecast.by_period = timed
    w, c = time.perf_counter(), time.process_time()
    card = sc.scorecard(store)
    card_wall, card_cpu = time.perf_counter() - w, time.process_time() - c
    w, c = time.perf_counter(), time.process_time()
    run_checks(store, *sc.resolve_window(store))
    checks_wall, checks_cpu = time.perf_counter() - w, time.process_time() - c
    store.close()
    return (f"BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS')}; load average "
            f"{os.getloadavg()[0]:.1f}; {len(card)} goal rows; scorecard CPU {card_cpu:.1f} s (wall {card_wall:.1f}); "
            f"fits and simulations: {fits['series']} series, CPU {fits['cpu']:.1f} s (with the statsmodels import); "
            f"history queries: {history_cpu['queries']}, CPU {history_cpu['cpu']:.1f} s; "
            f"health checks after it CPU {checks_cpu:.1f} s (wall {checks_wall:.1f})")


if __name__ == "__main__":
    print(main(sys.argv[1]))
