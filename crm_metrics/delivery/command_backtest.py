"""The `backtest` command (foresight.md, "Honest forecasts: the backtest").

    python -m crm_metrics backtest KPI [--grain month|week] [--horizon N] [--channel X] [--segment Y]
                                       [--format table|json]

Rolling origins over the KPI's history: at each origin, forecast the next N sub-periods' combined
value from the history before it and compare with what happened. Prints the mean absolute
percentage error (MAPE) and the share of outcomes inside the 80 % interval (coverage).
"""
from __future__ import annotations

import argparse
from typing import Any

from crm_metrics.delivery import output
from crm_metrics.delivery.cli_support import EXIT_OK, add_format_arg, store_for


def cmd_backtest(args: argparse.Namespace) -> int:
    from crm_metrics.judgement.forecast import backtest
    store = store_for(args)
    bt = backtest(store, args.kpi, grain=args.grain, horizon=args.horizon, channel=args.channel,
                  segment=args.segment)
    summary = {"kpi": bt.kpi, "grain": bt.grain, "horizon": bt.horizon, "channel": args.channel,
               "segment": args.segment, "origins": len(bt.origins), "mape": bt.mape, "coverage": bt.coverage,
               "method": bt.method}
    if args.format == "json":
        output.emit([], "json", json_obj={**summary, "results": bt.origins})
        return EXIT_OK
    scope = ", ".join(x for x in (args.channel, args.segment) if x) or "all customers"
    print(f"backtest {bt.kpi} ({scope}): {bt.grain}ly, horizon {bt.horizon}, {len(bt.origins)} origins, "
          f"{bt.method or 'no model fitted'}")
    if not bt.origins:
        print("too little history: a backtest needs at least 6 sub-periods before an origin plus the horizon")
        return EXIT_OK
    output.emit(bt.origins, "table", ["origin", "to", "actual", "forecast", "low", "high", "inside"])
    mape = "n/a (every outcome was 0)" if bt.mape is None else f"{bt.mape:.1f} %"
    print(f"MAPE {mape}; 80 % interval coverage {bt.coverage:.1f} % ({sum(o['inside'] for o in bt.origins)} "
          f"of {len(bt.origins)} outcomes inside)")
    return EXIT_OK


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of periods, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"the horizon must be at least 1, got {n}")
    return n


def register_backtest(subparsers: Any, common_parent: argparse.ArgumentParser) -> None:
    s = subparsers.add_parser("backtest", parents=[common_parent],
                              help="how good the goal forecasts are: rolling-origin error and interval coverage")
    s.add_argument("kpi", help="a KPI id (see `kpis`); per-customer KPIs are not forecast")
    s.add_argument("--grain", choices=("month", "week"), default="month")
    s.add_argument("--horizon", type=_positive, default=3, help="sub-periods forecast at each origin (default 3)")
    s.add_argument("--channel", default=None)
    s.add_argument("--segment", default=None)
    add_format_arg(s, ("table", "json"))
    s.set_defaults(func=cmd_backtest)


__all__ = ["register_backtest", "cmd_backtest"]
