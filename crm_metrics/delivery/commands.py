"""The analysis commands of the CLI (kpis, kpi, scorecard, health, impact, report,
clv-model, clv-predict); each has a
``register_x(sub, common)`` that crm_metrics.delivery.cli lists in ``COMMANDS``."""
from __future__ import annotations

import argparse
from typing import Any

from crm_metrics.delivery import output
from crm_metrics.delivery.cli_support import (
    EXIT_OK,
    Refused,
    add_format_arg,
    add_window_args,
    date_arg,
    positive_int,
    store_for,
)
from crm_metrics.delivery.formatting import format_change, format_value


# -- kpis / kpi -------------------------------------------------------------------------------------
def cmd_kpis(args: argparse.Namespace) -> int:
    from crm_metrics.metrics.kpis import KPIS
    rows = [{"id": k.id, "label": k.label, "family": k.family, "unit": k.unit, "better": k.better, "kind": k.kind,
             "dimensions": ",".join(k.dimensions), "tables": ",".join(k.tables),
             "description": k.description, "formula": k.formula} for k in KPIS.values()]
    if args.format == "json":
        output.emit(rows, "json")
    else:
        output.emit(rows, "table", ["id", "label", "unit", "better", "dimensions", "description"])
    return EXIT_OK


def _split_dims(text: str | None) -> list[str]:
    return [d.strip() for d in (text or "").split(",") if d.strip()]


def cmd_kpi(args: argparse.Namespace) -> int:
    from crm_metrics.metrics.kpis import compute, get_kpi
    kpi = get_kpi(args.id)  # KpiError (unknown KPI) becomes exit 1 with its message
    by = _split_dims(args.by)
    store = store_for(args)
    df = compute(store, args.id, start=args.start, end=args.end, channels=tuple(args.channel or ()),
                 segments=tuple(args.segment or ()), by=by, grain=args.grain)
    rows = output.records(df)
    for r in rows:
        r["n"] = int(r["n"]) if r.get("n") is not None else 0
    columns = [*by, "value", "n"]
    if args.format == "json":
        output.emit(rows, "json", json_obj={"kpi": kpi.id, "unit": kpi.unit, "rows": rows})
    elif args.format == "csv":
        output.emit(rows, "csv", columns)
    else:
        print(f"{kpi.label} ({kpi.id}, {kpi.unit}, better: {kpi.better})")
        currency = str(store.settings().get("currency") or "")
        shown = [{**r, "value": format_value(r["value"], kpi.unit, currency)} for r in rows]
        output.emit(shown, "table", columns)
    return EXIT_OK


def register_kpis(sub: Any, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("kpis", parents=[common], help="the KPI catalogue")
    add_format_arg(s, ("table", "json"))
    s.set_defaults(func=cmd_kpis)


def register_kpi(sub: Any, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("kpi", parents=[common], help="compute one KPI")
    s.add_argument("id", metavar="ID", help="a KPI id (see `kpis`)")
    s.add_argument("--by", default=None, metavar="DIM[,DIM...]",
                   help="split by channel, segment, period, advisor, region")
    s.add_argument("--grain", default="month", choices=("day", "week", "month", "quarter", "year"))
    add_window_args(s)
    s.add_argument("--channel", action="append", metavar="X", help="only this channel (repeatable)")
    s.add_argument("--segment", action="append", metavar="Y", help="only this segment (repeatable)")
    add_format_arg(s)
    s.set_defaults(func=cmd_kpi)



# -- scorecard -----------------------------------------------------------------------------------
_SCORECARD_TABLE = ["goal_id", "kpi", "channel", "segment", "period_start", "period_end", "direction",
                    "target", "actual", "n", "status", "attainment", "previous", "change", "low_confidence",
                    "forecast", "forecast_low", "forecast_high", "p_meet", "objective", "owner"]


def _shown_goal(g: dict[str, Any], currency: str) -> dict[str, Any]:
    """A scorecard row for the terminal: target, actual, previous and change in the KPI's unit."""
    unit = g.get("unit")
    return {**g, **{c: format_value(g.get(c), unit, currency) for c in ("target", "actual", "previous")},
            "change": format_change(g.get("change"), unit, currency)}


def cmd_scorecard(args: argparse.Namespace) -> int:
    from crm_metrics.judgement.scorecard import alignment, objective_rollup, resolve_window, scorecard
    store = store_for(args)
    # --from/--to only choose which goal rows are listed (a row's status belongs to its own period);
    # the strategy alignment is still measured over the window (default: the data's span).
    card = scorecard(store, args.start, args.end)
    start, end = resolve_window(store, args.start, args.end)
    goals = output.records(card)
    if args.format == "csv":
        output.emit(goals, "csv", list(card.columns))
        return EXIT_OK
    objectives = output.records(objective_rollup(card))
    aligned = output.records(alignment(store, start, end))
    if args.format == "json":
        output.emit(goals, "json", json_obj={"from": start, "to": end, "goals": goals,
                                           "objectives": objectives, "alignment": aligned})
        return EXIT_OK
    currency = str(store.settings().get("currency") or "")
    print(f"scorecard {start or '-'} .. {end or '-'}")
    if not goals:
        print("no goals yet: add them on the Strategy page or load goals.csv")
    else:
        output.emit([_shown_goal(g, currency) for g in goals], "table", _SCORECARD_TABLE)
        print()
        print("per strategic objective:")
        output.emit(objectives, "table")
    if aligned:
        print()
        print("strategy alignment per segment:")
        output.emit(aligned, "table", [c for c in aligned[0] if c != "statement"])
    return EXIT_OK


def register_scorecard(sub: Any, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("scorecard", parents=[common], help="goals against actuals, per objective, alignment")
    add_window_args(s)
    add_format_arg(s)
    s.set_defaults(func=cmd_scorecard)



# -- health ----------------------------------------------------------------------------------------
def cmd_health(args: argparse.Namespace) -> int:
    from crm_metrics.judgement.checks import run_checks
    from crm_metrics.judgement.health import FINDING_FIELDS
    from crm_metrics.judgement.scorecard import resolve_window
    store = store_for(args)
    start, end = resolve_window(store, args.start, args.end)
    findings = [f.record() for f in run_checks(store, start, end)]
    if args.format == "json":
        output.emit(findings, "json", json_obj={"from": start, "to": end, "findings": findings})
    elif args.format == "csv":
        output.emit(findings, "csv", list(FINDING_FIELDS))
    else:
        print(f"health checks {start or '-'} .. {end or '-'}")
        for f in findings:
            subject = f" ({f['subject']})" if f["subject"] else ""
            print(f"[{f['severity'].upper():8}] {f['id']}{subject}: {f['finding']}")
            if f["severity"] != "ok":
                print(f"           next: {f['next_step']}")
    return EXIT_OK


def register_health(sub: Any, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("health", parents=[common], help="the health checks (known ways CRM programmes fail)")
    add_window_args(s)
    add_format_arg(s)
    s.set_defaults(func=cmd_health)



# -- impact ----------------------------------------------------------------------------------------
_IMPACT_TABLE = ["initiative_id", "name", "go_live", "channel", "segment", "kpi", "treated_before",
                 "treated_after", "control_before", "control_after", "effect", "effect_95ci", "p_value", "verdict",
                 "incremental_revenue", "cost", "budget", "over_budget_pct", "roi_annualised", "roi_95ci", "status"]


def _interval(lo, hi, fmt: str) -> str | None:
    """"[low, high]" of a 95 % interval, or None when there is none."""
    if lo is None or hi is None:
        return None
    return f"[{lo:{fmt}}, {hi:{fmt}}]"


def _impact_table_rows(rows: list[dict]) -> list[dict]:
    """The table's view: the effect with its 95 % interval, the verdict, ROI labelled annualised."""
    out = []
    for r in rows:
        t = dict(r)
        t["effect_95ci"] = _interval(r.get("effect_ci_low"), r.get("effect_ci_high"), "+.3g")
        t["roi_annualised"] = r.get("roi")
        t["roi_95ci"] = _interval(r.get("roi_low"), r.get("roi_high"), "+.2f")
        out.append(t)
    return out


def cmd_impact(args: argparse.Namespace) -> int:
    from crm_metrics.judgement.impact import ImpactError, impact
    store = store_for(args)
    try:
        df = impact(store, initiative_id=args.initiative, window_days=args.window_days)
    except ImpactError as e:
        raise Refused(str(e)) from None
    rows = output.records(df)
    if args.format == "json":
        output.emit(rows, "json", json_obj={"window_days": args.window_days, "initiatives": rows})
    elif args.format == "csv":
        output.emit(rows, "csv", list(df.columns))
    else:
        print(f"initiative impact, {args.window_days} days before / after go-live "
              f"(effect with its 95 % interval; ROI annualised: × 365 ÷ {args.window_days})")
        if not rows:
            print("no initiatives yet: load initiatives.csv")
            return EXIT_OK
        output.emit(_impact_table_rows(rows), "table", _IMPACT_TABLE)
        noted = [r for r in rows if r["notes"]]
        if noted:
            print()
            for r in noted:
                print(f"{r['initiative_id']}: {r['notes']}")
    return EXIT_OK


def register_impact(sub: Any, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("impact", parents=[common], help="initiatives before / after go-live, with control and ROI")
    s.add_argument("--initiative", default=None, metavar="ID", help="one initiative (default: all)")
    s.add_argument("--window-days", dest="window_days", type=positive_int, default=90, metavar="N",
                   help="days before and after go-live (default 90)")
    add_format_arg(s)
    s.set_defaults(func=cmd_impact)



# -- report ----------------------------------------------------------------------------------------
def cmd_report(args: argparse.Namespace) -> int:
    """Write the executive report (.html or .pdf by extension); print its path."""
    from crm_metrics.delivery.report import ReportError, check_extension, write_report
    try:
        check_extension(args.out)  # refuse a bad name before opening the store
    except ReportError as e:
        raise Refused(str(e)) from None
    store = store_for(args)
    try:
        path = write_report(store, args.out, args.start, args.end)
    except ReportError as e:
        raise Refused(str(e)) from None
    print(path)
    return EXIT_OK


def register_report(sub: Any, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("report", parents=[common],
                       help="the executive report as one offline file (.html or .pdf)")
    s.add_argument("--out", required=True, metavar="FILE",
                   help="the file to write; .html (works offline) or .pdf (needs Chromium)")
    add_window_args(s)
    s.set_defaults(func=cmd_report)



# -- customer value (customer-value.md) ------------------------------------------------------------
def _positive_number(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return v


def _customer_value(args: argparse.Namespace, **kw: Any):
    from crm_metrics.metrics.customer_value import CustomerValueError
    from crm_metrics.metrics.customer_value_store import customer_value
    try:
        return customer_value(store_for(args), calibration_end=args.calibration_end, **kw)
    except CustomerValueError as e:
        raise Refused(str(e)) from None


def cmd_clv_model(args: argparse.Namespace) -> int:
    from crm_metrics.metrics.customer_value_store import model_record
    value = _customer_value(args, unit=args.unit, segments=tuple(args.segment or ()))
    rec = model_record(value.model)
    if args.format == "json":
        output.emit([], "json", json_obj=rec)
        return EXIT_OK
    bg, gg = rec["bgnbd"], rec["gamma_gamma"]
    print(f"customer value models, calibration to {rec['calibration_end']}, times in {rec['unit']}s")
    print(f"BG/NBD (purchases, dropout): r {bg['r']:.4f}, alpha {bg['alpha']:.4f}, a {bg['a']:.4f}, "
          f"b {bg['b']:.4f}; log-likelihood {bg['loglik']:.2f} over {bg['customers']:,} customers")
    print(f"Gamma-Gamma (spend per purchase): p {gg['p']:.4f}, q {gg['q']:.4f}, gamma {gg['gamma']:.4f}; "
          f"log-likelihood {gg['loglik']:.2f} over {gg['customers']:,} repeat customers")
    h = rec["holdout"]
    if h is None:
        print("holdout: none (give --calibration-end before the last purchase day to validate)")
        return EXIT_OK
    print(f"holdout {h['start']} .. {h['end']}: predicted {h['predicted']:,.1f} repeat purchases, "
          f"actual {h['actual']:,.0f}, {h['customers']:,} customers")
    print("mean repeat purchases in the holdout by purchases in calibration (x):")
    output.emit(h["by_x"], "table", ["x", "customers", "predicted", "actual"])
    return EXIT_OK


def cmd_clv_predict(args: argparse.Namespace) -> int:
    from crm_metrics.metrics.customer_value_store import PREDICT_COLUMNS, prediction_rows
    value = _customer_value(args, horizon_weeks=args.horizon_weeks)
    rows = output.records(prediction_rows(value))
    output.emit(rows, args.format, list(PREDICT_COLUMNS))
    return EXIT_OK


def register_clv_model(sub: Any, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("clv-model", parents=[common],
                       help="fit the purchase (BG/NBD) and spend (Gamma-Gamma) models; holdout validation")
    s.add_argument("--calibration-end", dest="calibration_end", type=date_arg, default=None, metavar="D",
                   help="last day of the calibration period (default: the last purchase day; an earlier day "
                        "keeps the days after it as the holdout)")
    s.add_argument("--unit", choices=("week", "day"), default="week", help="time unit of t_x, T and alpha")
    s.add_argument("--segment", action="append", metavar="Y", help="only customers of this segment (repeatable)")
    add_format_arg(s, ("table", "json"))
    s.set_defaults(func=cmd_clv_model)


def register_clv_predict(sub: Any, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("clv-predict", parents=[common],
                       help="per customer: expected purchases, P(alive), expected spend and CLV over a horizon")
    s.add_argument("--calibration-end", dest="calibration_end", type=date_arg, default=None, metavar="D",
                   help="the models see purchases up to this day and predict from it (default: the last purchase day)")
    s.add_argument("--horizon-weeks", dest="horizon_weeks", type=_positive_number, default=52.0, metavar="H",
                   help="weeks after the calibration end to predict over (default 52)")
    s.add_argument("--format", choices=("csv", "json"), default="csv")
    s.set_defaults(func=cmd_clv_predict)

