"""The engine interface and the engine selection that ``crm_metrics.metrics.kpis.compute`` follows.

An engine answers one KPI request with the DataFrame of ``compute`` (dims..., value, n). Every
KPI is declared once (crm_metrics.metrics.kpis); an engine only decides *where* its SQL runs:

* ``DuckDBEngine`` -- the embedded default: the store's DuckDB file (``in_process = True``: compute
  runs its own code);
* ``SparkEngine`` -- Apache Spark: the same SQL transpiled by SQLGlot, over Parquet exported by
  ``python -m crm_metrics export`` or tables in the Spark catalog.

Selection, from the most local to the most global:

    compute(store, kpi_id, ..., engine=eng)     # this call
    with use_engine(eng): scorecard(store)       # everything computed inside the block (this thread)
    set_default_engine(eng)                      # the whole process (e.g. the app at start-up)

Code built on ``compute`` (scorecard, health, impact, report) follows the selection unchanged;
their own small queries (goals, initiatives, settings, the data span) stay on the DuckDB store.
"""
from __future__ import annotations

import contextlib
import contextvars
import threading
from abc import ABC, abstractmethod
from typing import Any, Iterable, Iterator, Mapping

import pandas as pd

_ACTIVE: contextvars.ContextVar["Engine | None"] = contextvars.ContextVar("crm_metrics_engine", default=None)
_DEFAULT: "Engine | None" = None
_LOCK = threading.Lock()


class EngineError(RuntimeError):
    """An engine cannot be used: not installed, misconfigured, or its data cannot be read."""


class Engine(ABC):
    """Where KPI SQL runs. Subclasses implement :meth:`compute` with compute's signature."""

    name: str = "engine"
    #: True: ``crm_metrics.metrics.kpis.compute`` runs the request itself on the DuckDB store.
    in_process: bool = False

    @abstractmethod
    def compute(self, store: Any, kpi_id: str, *, start: Any = None, end: Any = None,
                channels: Iterable[str] = (), segments: Iterable[str] = (), by: Iterable[str] | str = (),
                grain: str = "month", settings: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """One KPI: dims..., value (float64), n (int64), like ``crm_metrics.metrics.kpis.compute``."""

    def sql(self, kpi_id: str, *, start: Any, end: Any, channels: Iterable[str] = (),
            segments: Iterable[str] = (), by: Iterable[str] | str = (), grain: str = "month",
            settings: Mapping[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """The SQL text and parameters this engine runs for the request (for inspection)."""
        from crm_metrics.metrics.kpis import build_sql
        return build_sql(kpi_id, start=start, end=end, channels=channels, segments=segments, by=by,
                         grain=grain, settings=settings)

    def describe(self) -> str:
        return self.name

    def close(self) -> None:
        """Release what the engine holds (a Spark session it created)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


def active_engine() -> Engine | None:
    """The engine compute uses when none is passed: ``use_engine`` block, else the process default
    (None: the DuckDB store, compute's own code)."""
    eng = _ACTIVE.get()
    return eng if eng is not None else _DEFAULT


@contextlib.contextmanager
def use_engine(engine: Engine | None) -> Iterator[Engine | None]:
    """Within the block (this thread / task), compute -- and scorecard, health, impact, report built
    on it -- runs on ``engine`` (None: back to the default)."""
    token = _ACTIVE.set(engine)
    try:
        yield engine
    finally:
        _ACTIVE.reset(token)


def set_default_engine(engine: Engine | None) -> Engine | None:
    """The process-wide engine (e.g. ``set_default_engine(get_engine())`` at app start-up, which
    honours CRM_ENGINE). Returns the previous one."""
    global _DEFAULT
    with _LOCK:
        prev, _DEFAULT = _DEFAULT, engine
    return prev


def default_engine() -> Engine | None:
    return _DEFAULT


__all__ = ["Engine", "EngineError", "active_engine", "use_engine", "set_default_engine", "default_engine"]
