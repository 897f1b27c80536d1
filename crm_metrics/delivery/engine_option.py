"""``--engine duckdb|spark [--spark-master URL] [--spark-data DIR] [--spark-tables MAP]`` on the
analysis commands (kpi, scorecard, health, impact, report).

The option wraps the command: it runs inside ``use_engine(engine)``, so every KPI value the command
computes (through crm_metrics.metrics.kpis.compute) comes from that engine; the command's other queries
(goals, initiatives, settings, the data span) read the DuckDB store as before.
"""
from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crm_metrics.delivery.cli_support import Refused

if TYPE_CHECKING:
    from crm_metrics.metrics.engines.base import Engine

ENGINE_COMMANDS = ("kpi", "scorecard", "health", "impact", "report")


def add_engine_args(s: argparse.ArgumentParser) -> None:
    g = s.add_argument_group("engine (docs/scale-out.md)")
    g.add_argument("--engine", choices=("duckdb", "spark"), default=None,
                   help="where KPI queries run (default: env CRM_ENGINE, else duckdb)")
    g.add_argument("--spark-master", dest="spark_master", default=None, metavar="URL",
                   help="local[N], spark://host:7077, yarn, k8s://... or sc://host:15002 "
                        "(default: env CRM_SPARK_MASTER, else local[*])")
    g.add_argument("--spark-data", dest="spark_data", default=None, metavar="DIR",
                   help="folder written by `export --format parquet` (default: env CRM_SPARK_DATA)")
    g.add_argument("--spark-tables", dest="spark_tables", default=None, metavar="VIEW=TABLE,...",
                   help="Spark catalog tables, e.g. f_interactions=crm.f_interactions (default: env CRM_SPARK_TABLES)")


def engine_from_args(args: argparse.Namespace) -> Engine:
    """The engine the options (else the environment) select."""
    from crm_metrics.metrics.engines import get_engine
    spark_opts = any(getattr(args, k, None) for k in ("spark_master", "spark_data", "spark_tables"))
    name = getattr(args, "engine", None) or (None if not spark_opts else "spark")
    return get_engine(name, master=getattr(args, "spark_master", None), data=getattr(args, "spark_data", None),
                      tables=getattr(args, "spark_tables", None))


def _on_engine(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        from crm_metrics.metrics.engines import EngineError, use_engine
        try:
            engine = engine_from_args(args)
        except EngineError as e:
            raise Refused(str(e)) from None
        with use_engine(engine):
            return func(args)
    run.__crm_engine__ = True  # type: ignore[attr-defined]
    return run


def register_engine_options(sub: Any) -> None:
    """Add the engine options to the analysis commands (``ENGINE_COMMANDS``) already registered:
    called once by crm_metrics.delivery.cli.build_parser after every command is registered."""
    for name in ENGINE_COMMANDS:
        p = sub.choices.get(name)
        if p is None or getattr(p.get_default("func"), "__crm_engine__", False):
            continue
        add_engine_args(p)
        p.set_defaults(func=_on_engine(p.get_default("func")))


__all__ = ["add_engine_args", "engine_from_args", "register_engine_options", "ENGINE_COMMANDS"]
