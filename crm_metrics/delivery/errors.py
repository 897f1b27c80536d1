"""Turning known failures into one sentence a person can act on (never a traceback for bad data)."""
from __future__ import annotations

import duckdb


def user_message(e: BaseException) -> str | None:
    """The sentence to show for a known failure, or None for a genuine bug (let it raise)."""
    try:
        from crm_metrics.metrics.kpis import KpiError
        if isinstance(e, KpiError):
            return str(e)
    except ImportError:  # pragma: no cover - the catalogue is part of the package
        pass
    if isinstance(e, duckdb.IOException) and "lock" in str(e).lower():
        return ("the store is open for writing in another process (the app or another load); "
                "stop it or retry when it has finished. DuckDB allows one writing process per file.")
    if isinstance(e, (duckdb.IOException, OSError)):
        return f"cannot use the file: {e}"
    if isinstance(e, ValueError):
        return str(e)
    return None
