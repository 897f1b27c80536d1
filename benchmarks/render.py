"""docs/benchmarks.md from the sections' JSON (benchmarks/out/*.json) and benchmarks/findings.md."""
from __future__ import annotations

from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FINDINGS = HERE / "findings.md"


def _ok(flag: Any) -> str:
    if flag is None:
        return "–"
    return "✔ met" if flag else "✖ **missed**"


def _s(v: Any, digits: int = 1) -> str:
    if v is None:
        return "–"
    return f"{float(v):,.{digits}f}"


def _table(headers: list[str], rows: list[list[Any]], right: set[int] | None = None) -> str:
    right = right or set()
    out = ["| " + " | ".join(headers) + " |",
           "|" + "|".join("---:" if i in right else "---" for i in range(len(headers))) + "|"]
    out += ["| " + " | ".join("–" if c is None else str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _quiet(res: dict[str, Any]) -> str:
    q = res.get("quiet") or {}
    end = res.get("load_end")
    parts = [f"load average {q.get('load_at_start', '?')} at the start"]
    if end is not None:
        parts.append(f"{end} at the end")
    if q.get("waited_s"):
        parts.append(f"waited {q['waited_s']:.0f} s for a quieter machine")
    code = res.get("code") or {}
    if code:
        parts.append(f"engine code {code.get('sha256_12')}, last changed {code.get('newest_change')}"
                     + (" — **the engine code changed while this section ran**" if code.get("changed_during_section") else ""))
    return "Measured " + res.get("when", "?") + " (" + ", ".join(parts) + ")."


def summary(r: dict[str, Any]) -> str:
    rows: list[list[Any]] = []
    load = r.get("load")
    if load:
        i = load["interactions"]
        rows.append(["Load interactions.csv: DuckDB CTAS time ÷ our time", "≥ 50 %",
                     f"{i['ratio_wall'] * 100:.1f} % ({i['raw_wall_s']:.1f} s vs {i['our_wall_s']:.1f} s; by CPU time "
                     f"{(i.get('ratio_cpu') or 0) * 100:.1f} %)",
                     _ok(i["ratio_ok"])])
        rows.append(["Load interactions.csv: peak memory (max RSS)", "≤ 2 GB",
                     f"{i['our_max_rss_mb'] / 1024:.2f} GiB ({i['our_max_rss_mb']:,.0f} MB)", _ok(i["rss_ok"])])
    k = r.get("kpis")
    if k:
        cat = [x for x in k["catalogue"] if x["family"] != "relationships"]
        worst = max(cat, key=lambda x: x["median_ms"])
        n_bad = sum(1 for x in cat if not x["ok"])
        rows.append([f"Each KPI by channel × month, warm median ({len(cat)} non-continuity KPIs)", "≤ 250 ms",
                     f"slowest {worst['kpi']} {worst['median_ms']:.0f} ms; {n_bad} over target",
                     _ok(n_bad == 0)])
        cont = k["continuity"]
        worst = max(cont, key=lambda x: x["median_ms"])
        n_bad = sum(1 for x in cont if not x["ok"])
        rows.append(["Continuity KPIs by segment, warm median", "≤ 1 s",
                     f"slowest {worst['kpi']} {worst['median_ms']:.0f} ms; {n_bad} over target", _ok(n_bad == 0)])
        rows.append(["Engine vs straightforward pandas (same KPIs, same data)", "≥ 5× faster",
                     f"{k['speedup_total']:.1f}× overall; numbers equal: {'yes' if k['all_equal'] else '**no**'}",
                     _ok(k["speedup_ok"])])
    app = r.get("app")
    if app:
        pages = app["pages"]
        ok_pages = [p for p in pages if "warm_median_ms" in p]
        if ok_pages:
            worst = max(ok_pages, key=lambda p: p["warm_median_ms"])
            n_bad = sum(1 for p in pages if not p.get("ok"))
            rows.append(["App rerun on a cache hit (AppTest), per page", "≤ 300 ms",
                         f"slowest {worst['page']} {worst['warm_median_ms']:.0f} ms; {n_bad} of {len(pages)} over target",
                         _ok(n_bad == 0)])
    rep = r.get("report")
    if rep:
        for ext in ("html", "pdf"):
            x = rep.get(ext) or {}
            if "not_measured" in x:
                rows.append([f"Report .{ext}", "< 1 min", "not measured: " + x["not_measured"], "–"])
            elif x:
                rows.append([f"Report .{ext} (`python -m crm_metrics report`)", "< 1 min",
                             f"{x['wall_s']:.1f} s", _ok(x["ok"])])
    return _table(["what", "target", "measured", "verdict"], rows)


def section_load(load: dict[str, Any]) -> str:
    lines = ["## 1. Load", "", _quiet(load), ""]
    rows = []
    for t, o in load["ours"].items():
        raw = load["raw"].get(t)
        ratio = f"{raw['wall_s'] / o['wall_s'] * 100:.1f} %" if raw else "–"
        rows.append([f"{t}.csv", _s(load["file_mb"].get(t)), _s(raw["wall_s"], 1) if raw else "–",
                     _s(o["wall_s"]), _s(o["cpu_s"]), f"{o['max_rss_mb']:,.0f}", ratio])
    lines.append(_table(["file", "MB", "DuckDB CTAS, s", "our load, s (wall)", "our CPU, s", "our peak RSS, MB",
                         "DuckDB ÷ ours"], rows, {1, 2, 3, 4, 5, 6}))
    lines += ["", "Our load is `python -m crm_metrics --db STORE load FILE --progress` in a child process, files in "
              "the order a first load uses (customers first) into a fresh store; DuckDB's is "
              "`CREATE TABLE t AS SELECT * FROM read_csv('FILE')` into a fresh database file, also in a child "
              "process (wall time includes starting Python in both). Peak RSS is the child's maximum resident set "
              "size from GNU `time -f %M` (`os.wait4` alone would report at least the benchmark process's own peak: "
              "Linux carries a parent's peak RSS into a child at exec). CPU is user + system time of the child "
              "(DuckDB uses both cores, so CPU can exceed wall). Files are read once beforehand so both start from "
              "the page cache.", ""]
    bound = load.get("bound")
    if bound:
        does = {"ctas": "`CREATE TABLE t AS SELECT * FROM read_csv(FILE)` (types sniffed)",
                "typed": "the same with the contract's column types given: no sniffing, no rules",
                "typed_window": "typed, plus the per-contact window facts (next contact, previous advisor) "
                                "in the same pass, one table",
                "typed_then_window": "typed table, then a second table with the window facts (two tables, as the "
                                     "store keeps them)"}
        lines += ["What DuckDB alone needs, in-process, for the interactions file with the facts KPIs need but none "
                  "of the contract's rules, joins or summaries (`benchmarks/load_bound.py`, same run):", ""]
        lines.append(_table(["step", "does", "s", "CTAS ÷ this"],
                            [[k, does.get(k, ""), _s(v), f"{bound['ctas'] / v * 100:.0f} %"] for k, v in bound.items()],
                            {2, 3}))
        lines.append("")
    ph = load["ours"].get("interactions", {}).get("phases")
    if ph:
        total = sum(ph.values())
        lines += ["Where the interactions load spends its time (from the `--progress` messages):", ""]
        names = {"startup": "start Python, open the store", "scan": "SHA-256, NUL and UTF-8 scan, header",
                 "read_csv": "fast path: read a 50 000-row sample, plan columns (careful path: stage every cell as text)",
                 "check_write": "fast path: one pass reading the file, checking every rule, writing the table; "
                                "duplicate-key check",
                 "validate": "careful path: plan columns, validate every rule, duplicate keys",
                 "write": "careful path: typed copy, undo snapshot, insert",
                 "facts": "rebuild f_interactions and its summary tables, unmatched count, commit",
                 "exit": "after the commit (process exit)"}
        lines.append(_table(["phase", "does", "s", "share"],
                            [[k, names.get(k, ""), _s(v), f"{v / total * 100:.0f} %"] for k, v in ph.items()], {2, 3}))
        lines.append("")
    lines.append(f"Store file after the full load: {_s(load.get('store_mb'))} MB. Sample generation: "
                 f"{load['sample'].get('seconds', '?')} s (when it was generated).")
    return "\n".join(lines)


def section_kpis(k: dict[str, Any]) -> str:
    lines = ["## 2. KPIs", "", _quiet(k), "",
             f"`crm_metrics.metrics.kpis.compute(store, kpi, start, end, by=..., grain='month')` over the whole data window "
             f"({k['window'][0]} – {k['window'][1]}), warm: one untimed call, then the median of {k['repeats']}. "
             "Target ≤ 250 ms; the continuity KPIs (relationships family) are judged against their own target "
             "(≤ 1 s, by segment, table below) and shown here by channel × month for information.", ""]
    rows = [[x["kpi"], x["family"], x["by"], _s(x["median_ms"]), _s(x["min_ms"]), _s(x["max_ms"]),
             _s(x.get("cpu_median_ms")), x["rows"], f"{x['target_ms']:.0f}", _ok(x["ok"])] for x in k["catalogue"]]
    lines.append(_table(["KPI", "family", "by", "median ms", "min ms", "max ms", "CPU ms", "rows", "target ms", "verdict"],
                        rows, {3, 4, 5, 6, 7, 8}))
    lines += ["", "Continuity KPIs by segment:", ""]
    rows = [[x["kpi"], _s(x["median_ms"]), _s(x["min_ms"]), _s(x["max_ms"]), _s(x.get("cpu_median_ms")),
             f"{x['target_ms']:.0f}", _ok(x["ok"])] for x in k["continuity"]]
    lines.append(_table(["KPI", "median ms", "min ms", "max ms", "CPU ms", "target ms", "verdict"], rows, {1, 2, 3, 4, 5}))
    lines += ["", "*CPU ms*: CPU time of the measuring process per call (all threads, DuckDB's included), the median. "
              "It hardly depends on other work on the machine; on an idle machine with 2 cores a query cannot take "
              "less wall time than half of it."]
    lines += ["", "### Engine vs pandas", "",
              "The fact tables read into pandas once (`.df()`, not timed; channel, kind and segment made categorical, "
              "which makes pandas faster), then a straightforward groupby per KPI. Engine and pandas calls alternate "
              "(one warm-up each, then engine, pandas, engine, pandas, ...), so both see the same machine; medians. "
              "`equal`: same groups, same `n`, values within 1e-9 relative.", ""]
    rows = []
    for x in k["pandas"]:
        s = x["sanity"]
        eq = "yes" if s["equal"] else (f"**no** (rows only in engine {s['rows_only_engine']}, only in pandas "
                                       f"{s['rows_only_pandas']}, n mismatches {s['n_mismatches']}, max rel diff "
                                       f"{s['max_rel_diff']:.1e})")
        rows.append([x["kpi"], x["by"], _s(x["engine_ms"]), _s(x["pandas_ms"]), _s(x.get("engine_cpu_ms")),
                     _s(x.get("pandas_cpu_ms")), f"{x['speedup']:.1f}×", eq])
    rows.append(["**total**", "", _s(k["engine_total_ms"]), _s(k["pandas_total_ms"]), "", "",
                 f"**{k['speedup_total']:.1f}×**", ""])
    lines.append(_table(["KPI", "by", "engine ms", "pandas ms", "engine CPU ms", "pandas CPU ms", "engine faster by (wall)",
                         "equal"], rows, {2, 3, 4, 5, 6}))
    return "\n".join(lines)


def section_app(app: dict[str, Any]) -> str:
    lines = ["## 3. App", "", _quiet(app), "",
             f"`streamlit.testing.v1.AppTest` with `CRM_DB` = the bench store, one fresh process per page: the first "
             f"`at.run()` (cold: empty caches, store opened), then {app['repeats']} more `at.run()` on a cache hit "
             "(median). Target: a rerun on a cache hit ≤ 300 ms.", ""]
    rows = []
    for p in app["pages"]:
        if "error" in p:
            rows.append([p["page"], "error", "", "", "", "", p["error"][-120:].replace("\n", " ")])
            continue
        el = p.get("elements", {})
        rows.append([p["page"], _s(p["cold_s"], 2), _s(p["warm_median_ms"]), _s(p["warm_min_ms"]), f"{p['max_rss_mb']:,.0f}",
                     f"{el.get('dataframes', 0)} tables, {el.get('plotly', 0)} charts, {el.get('metrics', 0)} cards",
                     _ok(p["ok"]) + (" (exception: " + p["exceptions"][0][:80] + ")" if p.get("exceptions") else "")])
    lines.append(_table(["page", "cold run, s", "cached rerun, median ms", "min ms", "peak RSS, MB", "renders", "verdict"],
                        rows, {1, 2, 3, 4}))
    base = {b["page"]: b for b in app.get("baselines", [])}
    tr, su = base.get(":trivial:"), base.get(":setup:")
    lines += ["", "AppTest overhead, measured the same way: "
              + (f"a one-line page (`st.write`) reruns in {tr['warm_median_ms']:.0f} ms" if tr and "warm_median_ms" in tr else "")
              + (f"; a page doing only `page.page_setup` + `filters.sidebar` (store lookup, data version, sample banner, "
                 f"navigation, sidebar filters) in {su['warm_median_ms']:.0f} ms" if su and "warm_median_ms" in su else "")
              + ". AppTest runs the script in-process without a browser or websocket, so it leaves out sending the "
                "page to the browser and the browser's rendering; it does include building every element "
                "(dataframe serialisation to Arrow, Plotly figure JSON)."]
    return "\n".join(lines)


def section_report(rep: dict[str, Any]) -> str:
    lines = ["## 4. Report", "", _quiet(rep), ""]
    rows = []
    for ext in ("html", "pdf"):
        x = rep.get(ext) or {}
        if "not_measured" in x:
            rows.append([f".{ext}", "not measured", "", "", "", x["not_measured"]])
        elif x:
            rows.append([f".{ext}", _s(x["wall_s"]), _s(x["cpu_s"]), f"{x['max_rss_mb']:,.0f}",
                         f"{(x.get('bytes') or 0) / 1e6:.1f} MB", _ok(x["ok"]) + (" " + x["error"][-150:] if x.get("error") else "")])
    lines.append(_table(["format", "wall s", "CPU s", "peak RSS MB", "file", "verdict (< 60 s)"], rows, {1, 2, 3}))
    ip = rep.get("in_process")
    if ip:
        lines += ["", f"In process: `report.collect` (every number of the report) {ip['collect_s']:.1f} s, "
                      f"`report.build_html` {ip['build_html_s']:.1f} s. The PDF adds Chromium (launch, draw the charts, print)."]
    return "\n".join(lines)


def section_analysis(an: dict[str, Any]) -> str:
    lines = ["## 5. Scorecard, health checks, impact", "", _quiet(an), "",
             "In process on the bench store, default window (the whole data span): the first call, then the median "
             "of further calls (no result cache in the engine; DuckDB's buffer pool is warm after the first).", ""]
    rows = [[x["call"], _s(x["first_s"], 2), _s(x["median_ms"] / 1000, 2)] for x in an["in_process"]]
    lines.append(_table(["call", "first, s", "then, s (median)"], rows, {1, 2}))
    lines += ["", "As a cron job runs them (a fresh process each):", ""]
    rows = [[f"`{x['command']}`", _s(x["wall_s"], 2), f"{x['max_rss_mb']:,.0f}", x["rc"]] for x in an["cli"]]
    lines.append(_table(["command", "wall s", "peak RSS MB", "exit"], rows, {1, 2}))
    return "\n".join(lines)


def document(r: dict[str, Any]) -> str:
    meta = r.get("meta", {})
    m = meta.get("machine", {})
    customers = meta.get("customers", 1_000_000)
    rows = (r.get("load") or {}).get("sample", {}).get("rows") or {}
    parts = [
        "# Benchmarks",
        "",
        "Generated by `benchmarks/run.py` (do not edit by hand; the findings come from `benchmarks/findings.md`). "
        "Raw results: `benchmarks/out/*.json` (git-ignored).",
        "",
        "```bash",
        ".venv/bin/python benchmarks/run.py [--customers 1000000] [--workdir /tmp/crm-bench] "
        "[--only load|kpis|app|report|analysis[,...]] [--repeats 5]",
        "```",
        "",
        f"Data: the sample company at {customers:,} customers (`crm_metrics.data.sample.generate(dir, customers={customers}, "
        f"seed=42)`)" + (f": {rows.get('interactions', 0):,} interactions, {rows.get('transactions', 0):,} transactions, "
                         f"{rows.get('surveys', 0):,} survey answers" if rows else "") + ".",
        "",
        f"Machine: {m.get('nproc', '?')} cores ({m.get('cpu', '?')}), {m.get('ram_gb', '?')} GB RAM, {m.get('os', '?')}; "
        f"Python {m.get('python', '?')}, DuckDB {m.get('duckdb', '?')}, pandas {m.get('pandas', '?')}, "
        f"Streamlit {m.get('streamlit', '?')}. Each section states when it was measured and the machine's load "
        "average then: **this machine is shared with other work** (load averages between about 1 and 14 on its 2 "
        "cores during the day), so wall times measured under load are pessimistic; each section waits (up to a "
        "limit) for the load average to drop below the core count, and CPU times and the same-run ratios are the "
        "steadier figures.",
        "",
        "## Summary",
        "",
        summary(r),
        "",
    ]
    if r.get("load"):
        parts += [section_load(r["load"]), ""]
    if r.get("kpis"):
        parts += [section_kpis(r["kpis"]), ""]
    if r.get("app"):
        parts += [section_app(r["app"]), ""]
    if r.get("report"):
        parts += [section_report(r["report"]), ""]
    if r.get("analysis"):
        parts += [section_analysis(r["analysis"]), ""]
    if FINDINGS.exists():
        parts += [FINDINGS.read_text().rstrip(), ""]
    return "\n".join(parts)
