"""3. App: each page in Streamlit's AppTest against the bench store, one fresh process per page
(so every page starts with empty caches): the cold first run, then reruns on a cache hit."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from common import PY, ROOT, Config, ensure_store, now_iso, run_child, wait_quiet

PAGES = ("app.py", "pages/2_Channels.py", "pages/3_Segments.py", "pages/4_Relationships.py",
         "pages/5_Customers_and_value.py", "pages/6_Initiatives.py", "pages/7_Data.py", "pages/8_Strategy.py")
BASELINES = (":trivial:", ":setup:")
TARGET_MS = 300.0


def page(cfg: Config, script: str, profile: int = 0) -> dict[str, Any]:
    cmd = [PY, str(ROOT / "benchmarks" / "app_page.py"), script, "--repeats", str(cfg.repeats)]
    if profile:
        cmd += ["--profile", str(profile)]
    c = run_child(cmd, env={"CRM_DB": str(cfg.store_path)})
    line = next((ln for ln in c.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if c.rc != 0 or line is None:
        return {"page": script, "error": (c.stderr_text() or c.stdout)[-2000:], **c.brief()}
    r = json.loads(line[len("RESULT "):])
    r["max_rss_mb"] = round(c.max_rss_mb, 1)
    r["process_wall_s"] = round(c.wall_s, 2)
    return r


def run(cfg: Config, say: Callable[[str], None] = print, profile: int = 0) -> dict[str, Any]:
    ensure_store(cfg, say)
    res: dict[str, Any] = {"when": now_iso(), "customers": cfg.customers, "repeats": cfg.repeats,
                           "quiet": wait_quiet(cfg.quiet_wait, say), "pages": [], "baselines": []}
    for script in BASELINES:
        r = page(cfg, script)
        res["baselines"].append(r)
        say(f"  {script:32s} cold {r.get('cold_s', '?')} s, rerun {r.get('warm_median_ms', '?')} ms")
    for script in PAGES:
        r = page(cfg, script, profile)
        r["target_ms"] = TARGET_MS
        r["ok"] = "warm_median_ms" in r and r["warm_median_ms"] <= TARGET_MS and not r.get("exceptions")
        res["pages"].append(r)
        say(f"  {script:32s} cold {r.get('cold_s', '?')} s, rerun {r.get('warm_median_ms', '?')} ms"
            f"{' EXCEPTIONS ' + str(r.get('exceptions')) if r.get('exceptions') else ''}"
            f"{' ERROR ' + r['error'][-300:] if r.get('error') else ''}")
    res["load_end"] = __import__("common").loadavg()[0]
    return res
