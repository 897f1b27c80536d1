"""The engine interface and the engine selection that ``crm_metrics.metrics.kpis.compute`` follows.

``compute`` resolves a request and builds its SQL from the KPI's declaration (crm_metrics.metrics.kpis),
the same for every engine; an engine only decides *where* that SQL runs (and supplies the data span
and the settings):

* ``DuckDBEngine`` -- the embedded default: the store's DuckDB file (and its summary tables);
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
import datetime as dt
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

_ACTIVE: contextvars.ContextVar[Engine | None] = contextvars.ContextVar("crm_metrics_engine", default=None)
_DEFAULT: Engine | None = None
_LOCK = threading.Lock()


class EngineError(RuntimeError):
    """An engine cannot be used: not installed, misconfigured, or its data cannot be read."""


class Engine(ABC):
    """Where KPI SQL runs. An engine supplies execution, the data's span and the settings; the
    request itself (KPI, window, filters, SQL from the declaration) is resolved once, by
    ``crm_metrics.metrics.kpis.compute``, the same for every engine."""

    name: str = "engine"
    #: True: the engine can answer from the store's summary tables (built at load time).
    reads_summaries: bool = False

    @abstractmethod
    def has_rows(self, store: Any, tables: Sequence[str]) -> tuple[bool, ...]:
        """For each table (or view) named, whether it holds at least one row."""

    @abstractmethod
    def data_span(self, store: Any = None) -> tuple[dt.date | None, dt.date | None]:
        """First and last day with data in the fact tables, else the customers' joined/left span."""

    @abstractmethod
    def settings(self, store: Any = None) -> dict[str, Any]:
        """The stored settings, defaults applied."""

    @abstractmethod
    def execute(self, store: Any, sql: str, params: Mapping[str, Any]) -> tuple[list[str], list[tuple]]:
        """Run one query -- DuckDB dialect, ``$name`` parameters, as the KPI declarations write
        it -- and return (column names, rows)."""

    def describe(self) -> str:
        return self.name

    def close(self) -> None:  # noqa: B027 - optional: only engines that hold something override it
        """Release what the engine holds (a Spark session it created)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


def active_engine() -> Engine | None:
    """The engine compute uses when none is passed: ``use_engine`` block, else the process default
    (None: the DuckDB store)."""
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
