"""Turning known failures into one sentence a person can act on (never a traceback for bad data).

In the data layer because the inbox (which runs loads for the CLI inside the app) needs it too."""
from __future__ import annotations

import duckdb


def user_message(e: BaseException) -> str | None:
    """The sentence to show for a known failure, or None for a genuine bug (let it raise)."""
    if isinstance(e, duckdb.IOException) and "lock" in str(e).lower():
        return ("the store is open for writing in another process (the app or another load); "
                "stop it or retry when it has finished. DuckDB allows one writing process per file.")
    if isinstance(e, (duckdb.IOException, OSError)):
        return f"cannot use the file: {e}"
    if isinstance(e, ValueError):  # the refusals of every layer (KpiError, LoadRefused, StrategyError, ...)
        return str(e)
    return None
