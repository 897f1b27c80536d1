"""The analysis commands of the CLI (kpis, kpi, scorecard, health, impact, report)."""
from __future__ import annotations

import argparse
from typing import Any

from . import cli, output


# -- scorecard -----------------------------------------------------------------------------------
_SCORECARD_TABLE = ["goal_id", "kpi", "channel", "segment", "period_start", "period_end", "direction",
                    "target", "actual", "n", "status", "attainment", "previous", "change", "low_confidence",
                    "objective", "owner"]


def cmd_scorecard(args: argparse.Namespace) -> int:
    from .scorecard import alignment, objective_rollup, resolve_window, scorecard
    store = cli._store(args)
    start, end = resolve_window(store, args.start, args.end)
    card = scorecard(store, start, end)
    goals = output.records(card)
    if args.format == "csv":
        cli._emit(goals, "csv", list(card.columns))
        return cli.EXIT_OK
    objectives = output.records(objective_rollup(card))
    aligned = output.records(alignment(store, start, end))
    if args.format == "json":
        cli._emit(goals, "json", json_obj={"from": start, "to": end, "goals": goals,
                                           "objectives": objectives, "alignment": aligned})
        return cli.EXIT_OK
    print(f"scorecard {start or '-'} .. {end or '-'}")
    if not goals:
        print("no goals yet: add them on the Strategy page or load goals.csv")
    else:
        cli._emit(goals, "table", _SCORECARD_TABLE)
        print()
        print("per strategic objective:")
        cli._emit(objectives, "table")
    if aligned:
        print()
        print("strategy alignment per segment:")
        cli._emit(aligned, "table", [c for c in aligned[0] if c != "statement"])
    return cli.EXIT_OK


def _register_scorecard(sub: Any, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("scorecard", parents=[common], help="goals against actuals, per objective, alignment")
    cli.add_window_args(s)
    cli.add_format_arg(s)
    s.set_defaults(func=cmd_scorecard)


cli._EXTRA_COMMANDS.append(_register_scorecard)


# -- health ----------------------------------------------------------------------------------------
def cmd_health(args: argparse.Namespace) -> int:
    from .health import FINDING_FIELDS, run_checks
    from .scorecard import resolve_window
    store = cli._store(args)
    start, end = resolve_window(store, args.start, args.end)
    findings = [f.record() for f in run_checks(store, start, end)]
    if args.format == "json":
        cli._emit(findings, "json", json_obj={"from": start, "to": end, "findings": findings})
    elif args.format == "csv":
        cli._emit(findings, "csv", list(FINDING_FIELDS))
    else:
        print(f"health checks {start or '-'} .. {end or '-'}")
        for f in findings:
            subject = f" ({f['subject']})" if f["subject"] else ""
            print(f"[{f['severity'].upper():8}] {f['id']}{subject}: {f['finding']}")
            if f["severity"] != "ok":
                print(f"           next: {f['next_step']}")
    return cli.EXIT_OK


def _register_health(sub: Any, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("health", parents=[common], help="the health checks (known ways CRM programmes fail)")
    cli.add_window_args(s)
    cli.add_format_arg(s)
    s.set_defaults(func=cmd_health)


cli._EXTRA_COMMANDS.append(_register_health)
