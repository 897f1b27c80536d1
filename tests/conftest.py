"""Shared fixtures: tiny hand-written stores for hand-computed expectations."""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from crm_metrics.data.bootstrap import load_sample
from crm_metrics.data.schema import TABLES
from crm_metrics.data.store import Store


def fill_store(store: Store, tables: dict[str, list[dict[str, Any]]]) -> Store:
    """Insert literal rows (dicts; missing columns are NULL) and rebuild the fact tables."""
    cur = store.cursor()
    cur.execute("BEGIN")
    for name, rows in tables.items():
        t = TABLES[name]
        cols = t.column_names
        marks = ", ".join("?" for _ in cols)
        for row in rows:
            unknown = set(row) - set(cols)
            assert not unknown, f"unknown columns for {name}: {unknown}"
            cur.execute(f"INSERT INTO {name} VALUES ({marks})", [row.get(c) for c in cols])
    store.refresh_facts(cur, Store.facts_for(tables))
    store.bump_version(cur)
    cur.execute("COMMIT")
    return store


@pytest.fixture
def make_store(tmp_path) -> Callable[..., Store]:
    """make_store(customers=[...], interactions=[...], ...) -> a Store in a fresh DuckDB file."""
    created: list[Store] = []

    def _make(**tables: list[dict[str, Any]]) -> Store:
        st = Store(tmp_path / f"t{len(created)}.duckdb")
        created.append(st)
        return fill_store(st, tables)

    yield _make
    for st in created:
        st.close()


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory) -> Store:
    """The committed sample company loaded into a fresh store (one per test module; read only)."""
    st = Store(tmp_path_factory.mktemp("sample") / "sample.duckdb")
    load_sample(st)
    yield st
    st.close()


@pytest.fixture(scope="session")
def oidc_provider():
    """A real OpenID Connect provider (oidc-provider-mock) on 127.0.0.1, its own process from its own
    Python >= 3.12 venv (.venv-oidc/, created once). See tests/oidc_provider.py for signing in."""
    import oidc_provider as op

    try:
        op.ensure_venv()
    except op.NoPython as e:
        if os.environ.get("CI"):  # CI must run the sign-in tests (.ci/run creates the venv)
            pytest.fail(str(e))
        pytest.skip(str(e))
    with op.run_provider() as provider:
        yield provider
