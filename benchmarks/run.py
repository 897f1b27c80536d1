#!/usr/bin/env python
"""The benchmarks: load, KPIs, app, report, analysis on the sample company at scale.

    .venv/bin/python benchmarks/run.py [--customers 1000000] [--workdir /tmp/crm-bench]
                                       [--only load|kpis|app|report|analysis[,...]] [--repeats 5]

Generates the sample once (``crm_metrics.data.sample.generate(dir, customers=N, seed=42)``, reused when
present), loads it into a bench store (the ``load`` section does that timed; the others build it
untimed when it is missing), measures, writes raw JSON to benchmarks/out/<section>.json and
regenerates docs/benchmarks.md from every section's latest JSON (a section not run keeps its
previous results, with their date). ``benchmarks/findings.md`` (hand-written: where the time goes,
proposed fixes) is included in the document as it is.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DOC, OUT, Config, code_state, load_results, machine, now_iso, plain, save  # noqa: E402

SECTIONS = ("load", "kpis", "app", "report", "analysis")


def say(msg: str) -> None:
    print(msg, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/crm-bench"))
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help="comma-separated sections: " + ", ".join(SECTIONS) + " (default: all)")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per warm measurement (median)")
    ap.add_argument("--quiet-wait", type=float, default=300,
                    help="seconds to wait for the load average to drop below the core count before a section")
    ap.add_argument("--profile-app", type=int, default=0, metavar="N",
                    help="add a cProfile of one cached rerun per page (top N functions) to out/app.json")
    ap.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks.md")
    a = ap.parse_args(argv)
    only = [s.strip() for s in a.only.split(",") if s.strip()]
    bad = [s for s in only if s not in SECTIONS]
    if bad:
        ap.error(f"unknown section(s) {', '.join(bad)}; choose from {', '.join(SECTIONS)}")
    a.workdir.mkdir(parents=True, exist_ok=True)
    cfg = Config(customers=a.customers, workdir=a.workdir.resolve(), repeats=a.repeats, quiet_wait=a.quiet_wait)

    save("meta", {"machine": machine(), "when": now_iso(), "customers": cfg.customers, "workdir": str(cfg.workdir)})
    for section in SECTIONS:
        if section not in only:
            continue
        say(f"== {section} ({cfg.customers:,} customers) ==")
        t0 = time.perf_counter()
        code_before = code_state()
        if section == "load":
            import bench_load
            res = bench_load.run(cfg, say)
        elif section == "kpis":
            import bench_kpis
            res = bench_kpis.run(cfg, say)
        elif section == "app":
            import bench_app
            res = bench_app.run(cfg, say, profile=a.profile_app)
        elif section == "report":
            import bench_report
            res = bench_report.run_report(cfg, say)
        else:
            import bench_report
            res = bench_report.run_analysis(cfg, say)
        res["section_s"] = round(time.perf_counter() - t0, 1)
        res["code"] = code_state()
        if res["code"] != code_before:
            res["code"]["changed_during_section"] = True
            res["code"]["before"] = code_before
        path = save(section, plain(res))
        say(f"   -> {path.relative_to(OUT.parent.parent)} ({res['section_s']} s)")
    if not a.no_doc:
        import render
        DOC.write_text(render.document(load_results()))
        say(f"wrote {DOC.relative_to(DOC.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
