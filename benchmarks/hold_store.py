#!/usr/bin/env python
"""Hold a store as the app does, without Streamlit: open it for writing and serve its inbox, so
that `python -m crm_metrics load ... --db STORE` is handed over to this process (what happens in
production, where the app always holds the store). For benchmarks (bench_append.py --held).

    .venv/bin/python benchmarks/hold_store.py STORE

Prints "ready" once it serves the inbox; runs until its standard input closes or it is terminated.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crm_metrics.data.store import open_store  # noqa: E402
from crm_metrics.delivery import remote  # noqa: E402


def main() -> int:
    store = open_store(sys.argv[1])
    remote.serve(store)  # as ui.state._store_for: loads and commands handed over through the inbox
    print("ready", flush=True)
    sys.stdin.read()  # until the benchmark closes the pipe
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
