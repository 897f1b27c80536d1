"""4. Report: ``python -m crm_metrics report --out X.html`` (and .pdf with Chromium) on the bench store,
plus where the time goes in-process (collect vs build_html).
5. Analysis: scorecard, alignment, health checks and impact, in-process (first call and warm median)
and as the CLI commands a cron job runs."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from common import Config, crm, ensure_store, now_iso, repeat, run_child, timed, wait_quiet

TARGET_REPORT_S = 60.0


def _report_module_ready(say: Callable[[str], None], polls: int = 5) -> bool:
    """report.py may still be in progress elsewhere: poll a few times (60 s apart)."""
    for i in range(polls + 1):
        try:
            from crm_metrics.delivery import report  # noqa: F401
            return hasattr(report, "write_report") and hasattr(report, "render_html")
        except ImportError:
            if i == polls:
                return False
            say("  crm_metrics.delivery.report not importable yet; waiting 60 s ...")
            time.sleep(60)
    return False


def run_report(cfg: Config, say: Callable[[str], None] = print) -> dict[str, Any]:
    ensure_store(cfg, say)
    res: dict[str, Any] = {"when": now_iso(), "customers": cfg.customers, "quiet": wait_quiet(cfg.quiet_wait, say)}
    if not _report_module_ready(say):
        res["html"] = res["pdf"] = {"not_measured": "crm_metrics.delivery.report (render_html / write_report) does not exist"}
        return res
    for ext in ("html", "pdf"):
        if ext == "pdf":
            from crm_metrics.delivery.report import ReportError, chromium_path
            try:
                chromium_path()
            except ReportError as e:
                res["pdf"] = {"not_measured": str(e)}
                continue
        out = cfg.workdir / f"report-{cfg.customers}.{ext}"
        out.unlink(missing_ok=True)
        say(f"  python -m crm_metrics report --out {out.name} ...")
        c = run_child(crm(cfg, "report", "--out", str(out)))
        r = {**c.brief(), "target_s": TARGET_REPORT_S, "ok": c.rc == 0 and c.wall_s < TARGET_REPORT_S,
             "bytes": out.stat().st_size if out.exists() else None}
        if c.rc != 0:
            r["error"] = c.stderr_text()[-1500:]
        res[ext] = r
        say(f"    {c.wall_s:.1f} s wall, {c.cpu_s:.1f} s CPU, {c.max_rss_mb:.0f} MB peak (rc {c.rc})")

    # in process: where the time goes
    from crm_metrics.data.store import Store
    from crm_metrics.delivery import report

    store = Store(cfg.store_path)
    t_collect, data = timed(lambda: report.collect(store))
    t_build, html = timed(lambda: report.build_html(data))
    res["in_process"] = {"collect_s": round(t_collect, 2), "build_html_s": round(t_build, 2),
                         "html_bytes": len(html.encode("utf-8"))}
    say(f"    in process: collect {t_collect:.1f} s, build_html {t_build:.1f} s")
    store.close()
    return res


def run_analysis(cfg: Config, say: Callable[[str], None] = print) -> dict[str, Any]:
    from crm_metrics.data.store import Store
    from crm_metrics.judgement import checks, impact, scorecard

    ensure_store(cfg, say)
    res: dict[str, Any] = {"when": now_iso(), "customers": cfg.customers, "quiet": wait_quiet(cfg.quiet_wait, say),
                           "in_process": [], "cli": []}
    store = Store(cfg.store_path)
    inits = [r["initiative_id"] for r in impact.initiatives(store)]
    calls: list[tuple[str, Callable[[], Any]]] = [
        ("scorecard.scorecard", lambda: scorecard.scorecard(store)),
        ("scorecard.alignment", lambda: scorecard.alignment(store)),
        ("checks.run_checks", lambda: checks.run_checks(store)),
        ("impact.impact (90 days)", lambda: impact.impact(store)),
    ] + [(f"impact.weekly_series({i})", (lambda i=i: impact.weekly_series(store, i))) for i in inits]
    n = max(3, min(cfg.repeats, 5))
    for name, fn in calls:
        first, _ = timed(fn)
        r = repeat(fn, n, warmup=0)
        r.pop("result")
        res["in_process"].append({"call": name, "first_s": round(first, 3), **r})
        say(f"  {name:36s} first {first:6.2f} s, then median {r['median_ms'] / 1000:6.2f} s")
    store.close()
    # alerts as a dry run: the bench store's alert state stays as it was (nothing recorded)
    for cmd in (["scorecard", "--format", "json"], ["health", "--format", "json"], ["impact", "--format", "json"],
                ["alerts", "--dry-run", "--format", "json"]):
        c = run_child(crm(cfg, *cmd))
        res["cli"].append({"command": "python -m crm_metrics " + " ".join(cmd), **c.brief()})
        say(f"  {' '.join(cmd):36s} {c.wall_s:6.2f} s wall, {c.max_rss_mb:.0f} MB peak (rc {c.rc})")
    return res
