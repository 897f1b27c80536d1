"""The analyst's saved mappings: presets of their own, kept in the store (table ``saved_mappings``,
one JSON spec per name) and offered beside the built-in presets."""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from crm_metrics.data.audit import current_user
from crm_metrics.data.presets import PRESETS, Conversion, Preset, ValueMap
from crm_metrics.data.presets.model import KEEP
from crm_metrics.data.store import Store

DDL = ("CREATE TABLE IF NOT EXISTS saved_mappings (name VARCHAR, table_name VARCHAR, spec VARCHAR, "
       "saved_by VARCHAR, saved_at TIMESTAMP)")
MAX_NAME = 60


def _exists(store: Store) -> bool:
    return bool(store.cursor().execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'saved_mappings'").fetchone()[0])


def _spec(p: Preset) -> dict[str, Any]:
    return {
        "label": p.label, "tool": p.tool, "table": p.table, "columns": dict(p.columns),
        "value_maps": {c: {"values": dict(vm.values), "other": "keep" if vm.other == KEEP else vm.other}
                       for c, vm in p.value_maps.items()},
        "timestamp_formats": {c: list(f) for c, f in p.timestamp_formats.items()},
        "conversions": {c: [v.source_unit, v.target_unit, v.factor] for c, v in p.conversions.items()},
        "constants": dict(p.constants),
        "first_of_list": dict(p.first_of_list),
    }


def _from_spec(name: str, spec: Mapping[str, Any]) -> Preset:
    return Preset(
        name=name, label=spec.get("label") or name, tool=spec.get("tool") or "saved mapping",
        table=spec["table"], columns=dict(spec.get("columns") or {}),
        value_maps={c: ValueMap(dict(v["values"]), KEEP if v.get("other") == "keep" else v.get("other"))
                    for c, v in (spec.get("value_maps") or {}).items()},
        timestamp_formats={c: tuple(f) for c, f in (spec.get("timestamp_formats") or {}).items()},
        conversions={c: Conversion(str(a), str(b), float(x)) for c, (a, b, x) in (spec.get("conversions") or {}).items()},
        constants=dict(spec.get("constants") or {}), first_of_list=dict(spec.get("first_of_list") or {}),
        saved=True)


def save_mapping(store: Store, name: str, *, table: str, columns: Mapping[str, str],
                 value_maps: Mapping[str, ValueMap] | None = None,
                 conversions: Mapping[str, Conversion] | None = None,
                 timestamp_formats: Mapping[str, Sequence[str]] | None = None,
                 constants: Mapping[str, str] | None = None, label: str | None = None,
                 first_of_list: Mapping[str, str] | None = None, saved_by: str | None = None) -> Preset:
    """Save (or replace) a mapping under ``name``: source header -> contract column, value maps,
    conversions, formats. ValueError for a built-in's name or an invalid mapping."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"a saved mapping needs a name of 1 to {MAX_NAME} characters")
    if name in PRESETS:
        raise ValueError(f"{name!r} is a built-in preset; choose another name")
    preset = Preset(name=name, label=label or name, tool="saved mapping", table=table, columns=dict(columns),
                    value_maps=dict(value_maps or {}), conversions=dict(conversions or {}),
                    timestamp_formats={c: tuple(f) for c, f in (timestamp_formats or {}).items()},
                    constants=dict(constants or {}), first_of_list=dict(first_of_list or {}),
                    saved=True)  # validates the columns
    with store.transaction() as cur:
        cur.execute(DDL)
        cur.execute("DELETE FROM saved_mappings WHERE name = ?", [name])
        cur.execute("INSERT INTO saved_mappings VALUES (?, ?, ?, ?, CAST(timezone('UTC', now()) AS TIMESTAMP))",
                    [name, table, json.dumps(_spec(preset), ensure_ascii=False), saved_by or current_user()])
    return preset


def saved_presets(store: Store) -> dict[str, Preset]:
    if not _exists(store):
        return {}
    rows = store.cursor().execute("SELECT name, spec FROM saved_mappings ORDER BY name").fetchall()
    return {n: _from_spec(n, json.loads(s)) for n, s in rows}


def delete_mapping(store: Store, name: str) -> bool:
    if not _exists(store):
        return False
    with store.transaction() as cur:
        n = cur.execute("SELECT count(*) FROM saved_mappings WHERE name = ?", [name]).fetchone()[0]
        cur.execute("DELETE FROM saved_mappings WHERE name = ?", [name])
    return bool(n)


def all_presets(store: Store | None) -> dict[str, Preset]:
    """Built-in presets and the store's saved mappings, by name."""
    return {**PRESETS, **(saved_presets(store) if store is not None else {})}


def find_preset(store: Store | None, name: str) -> Preset:
    """A built-in preset or a saved mapping by name; KeyError naming the choices."""
    found = all_presets(store)
    if name not in found:
        raise KeyError(f"no preset or saved mapping {name!r}; known: {', '.join(sorted(found))}")
    return found[name]


__all__ = ["all_presets", "delete_mapping", "find_preset", "save_mapping", "saved_presets"]
