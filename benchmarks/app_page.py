"""Child process of bench_app: one page in Streamlit's AppTest against the bench store.

    CRM_DB=store.duckdb .venv/bin/python benchmarks/app_page.py PAGE [--repeats 5] [--profile N]

PAGE is a script path relative to the project (app.py, pages/2_Channels.py, ...) or ``:trivial:``
(a one-line page: AppTest's own cost) or ``:setup:`` (only ``page.page_setup`` and the filters: the
fixed cost every page pays). Prints one JSON line: the cold run (fresh process, empty caches,
store opened), then ``repeats`` timed reruns on a cache hit (median / min / max), element counts,
exceptions. ``--profile N``: cProfile one more rerun and add the top N functions by cumulative time.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

SCRIPTS = {
    ":trivial:": "import streamlit as st\nst.write('hello')\n",
    ":setup:": "from ui import filters, page\npage.page_setup('Bench')\nf = filters.sidebar()\n",
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("page")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--profile", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=900)
    a = ap.parse_args()
    from streamlit.testing.v1 import AppTest

    t_import = time.perf_counter()
    if a.page in SCRIPTS:
        at = AppTest.from_string(SCRIPTS[a.page], default_timeout=a.timeout)
    else:
        at = AppTest.from_file(str(ROOT / a.page), default_timeout=a.timeout)
    t0 = time.perf_counter()
    at.run()
    cold = time.perf_counter() - t0
    errors = [str(e.value)[:300] for e in at.exception]
    warm = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - t0)
        errors += [str(e.value)[:300] for e in at.exception]
    out = {
        "page": a.page, "cold_s": round(cold, 3),
        "warm_median_ms": round(statistics.median(warm) * 1000, 1),
        "warm_min_ms": round(min(warm) * 1000, 1), "warm_max_ms": round(max(warm) * 1000, 1),
        "repeats": a.repeats, "exceptions": errors[:5],
        "elements": {"dataframes": len(at.dataframe), "metrics": len(at.metric), "markdown": len(at.markdown),
                     "plotly": len(at.get("plotly_chart")), "tables": len(at.table)},
        "setup_s": round(t0 - t_import, 3),
    }
    if a.profile:
        # The script runs in Streamlit's script-runner thread: profile inside that thread.
        from streamlit.runtime.scriptrunner import script_runner

        prof = cProfile.Profile()
        original = script_runner.exec_func_with_error_handling

        def profiled(*args, **kwargs):
            prof.enable()
            try:
                return original(*args, **kwargs)
            finally:
                prof.disable()

        script_runner.exec_func_with_error_handling = profiled
        t0 = time.perf_counter()
        at.run()
        out["profiled_run_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        script_runner.exec_func_with_error_handling = original
        buf = io.StringIO()
        st_ = pstats.Stats(prof, stream=buf)
        st_.sort_stats("cumulative").print_stats(a.profile)
        st_.sort_stats("tottime").print_stats(20)
        out["profile"] = buf.getvalue()
    print("RESULT " + json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
