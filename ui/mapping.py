"""The Data page's plan for one uploaded file: the export format (preset) and the table, both
detected from the headers and changeable; every contract column with its label and the file's
column that feeds it (three sample values each); value mapping and unit conversion for any
column; the transactions file's currency; saving the mapping as the analyst's own preset."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from crm_metrics.data import upload_plan as up
from crm_metrics.data.detect import name_hint
from crm_metrics.data.mappings import all_presets, save_mapping
from crm_metrics.data.presets import Conversion, Preset, ValueMap
from crm_metrics.data.schema import TABLES

from . import auth, state
from .formatting import md

NONE = "—"
NO_PRESET = "none: the contract's own columns"
KEEP_VALUE = "(keep as it is)"
MISSING_VALUE = "(missing)"


@dataclass
class FilePlan:
    """One file, ready to load (or not yet: ``missing`` names the required columns still unmapped)."""
    name: str                      # the name shown (and the widget keys' base)
    file_name: str                 # the uploaded file's own name
    path: str
    table: str
    preset: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)          # header -> contract column
    value_maps: dict[str, ValueMap] = field(default_factory=dict)  # contract column -> map
    conversions: dict[str, Conversion] = field(default_factory=dict)
    currency: str | None = None
    rate: float | None = None
    missing: list[str] = field(default_factory=list)

    def load_options(self) -> dict[str, Any]:
        """The load's options beyond the ones every load takes (only those set)."""
        extra: dict[str, Any] = {"preset": self.preset, "value_maps": self.value_maps or None,
                                 "conversions": self.conversions or None, "currency": self.currency,
                                 "rate": self.rate}
        return {k: v for k, v in extra.items() if v is not None}


@st.cache_data(show_spinner=False, max_entries=32)
def _look(path: str, file_name: str, presets_key: tuple[str, ...]) -> up.FileLook:
    return up.look(path, file_name, list(_presets().values()))


def _presets() -> dict[str, Preset]:
    return all_presets(state.store())


def _sample_text(samples: dict[str, Any], header: str) -> str:
    vals = list(samples.get(header) or [])
    return f"{header}  ·  e.g. {', '.join(vals)}" if vals else f"{header}  ·  (empty)"


def file_plan(name: str, file_name: str, path: str) -> FilePlan:
    """Draw the plan of one file (inside the caller's container) and return it."""
    presets = _presets()
    file = _look(path, file_name, tuple(sorted(presets)))
    if not file.headers:
        for p in file.problems:
            st.error(md(p))
        return FilePlan(name, file_name, path, file.best_table or "customers", missing=["(the file's header)"])
    preset = _preset_choice(name, file, presets)
    table = _table_choice(name, file_name, file, preset)
    st.caption(f"{len(file.headers)} columns · encoding {file.encoding} · delimiter {file.delimiter!r}")
    mapping, fed = _column_editor(name, table, file, preset)
    plan = FilePlan(name, file_name, path, table, preset.name if preset else None, mapping,
                    missing=up.missing_required(table, fed, preset))
    if plan.missing:
        labels = ", ".join(f"{up.column_label(TABLES[table].column(c))} ({c})" for c in plan.missing)
        st.warning(f"Required columns not mapped yet: {labels}. Choose the file's column for each "
                   f"above; Load waits until every one is mapped.", icon=":material/swap_horiz:")
    _value_editor(name, table, file, path, fed, plan)
    if preset is not None and preset.table == table:
        plan.value_maps = {c: up.merged_value_map(preset.value_maps.get(c), vm) for c, vm in plan.value_maps.items()}
    if table == "transactions":
        _currency_editor(name, plan)
    _save_editor(name, plan)
    return plan


def _preset_choice(name: str, file: up.FileLook, presets: dict[str, Preset]) -> Preset | None:
    names = [NO_PRESET, *presets]
    idx = names.index(file.preset) if file.preset in names else 0
    pick = st.selectbox(f"Export format of {md(name)}", names, index=idx, key=f"preset_{name}",
                        format_func=lambda n: n if n == NO_PRESET else f"{presets[n].label} ({n})",
                        help="A preset maps a CRM or help-desk tool's export onto the contract: columns, "
                             "values, date formats and units (docs/presets.md). Your saved mappings are "
                             "listed too.")
    if file.preset:
        st.caption(f"Detected from the headers: **{md(presets[file.preset].label)}**.")
    return None if pick == NO_PRESET else presets[pick]


def _table_choice(name: str, file_name: str, file: up.FileLook, preset: Preset | None) -> str:
    tables = list(TABLES)
    best = preset.table if preset else file.best_table
    idx = tables.index(best) if best in tables else 0
    # the key carries the preset: choosing another format proposes that format's table again
    table = st.selectbox(f"Table for {md(name)}", tables, index=idx, key=f"tbl_{name}_{preset.name if preset else ''}")
    if not preset and file.candidates:
        c = file.candidates[0]
        n_cols = len(TABLES[c.table].columns)
        if c.complete:
            st.caption(f"Best match from the headers: **{c.table}** ({len(c.matched)} of {n_cols} columns; "
                       f"every required column found).")
        else:
            hint = name_hint(file_name)
            st.caption(f"No table's required columns are all in the headers (closest: **{c.table}**, "
                       f"{len(c.matched)} of {n_cols} columns); "
                       f"{'the file name says **' + hint + '**' if hint else 'choose the table'}.")
    return table


def _column_editor(name: str, table: str, file: up.FileLook, preset: Preset | None
                   ) -> tuple[dict[str, str], dict[str, str]]:
    """Every contract column with the file's column feeding it; returns (mapping header -> column
    for the load, contract column -> header as chosen)."""
    auto = up.sources(table, file.headers, preset)
    options = [NONE, *file.headers]
    samples = dict(file.samples)
    mapping: dict[str, str] = {}
    fed: dict[str, str] = {}
    tdef = TABLES[table]
    unmatched_required = [c for c in tdef.columns if c.required and c.name not in auto]
    with st.expander(f"Columns of {md(name)} ({len(auto)} of {len(tdef.columns)} matched)",
                     expanded=bool(unmatched_required)):
        cols = st.columns(2)
        pkey = preset.name if preset else ""
        for i, c in enumerate(tdef.columns):
            default = auto.get(c.name)
            label = f"{up.column_label(c)}{' (required)' if c.required else ''}"
            pick = cols[i % 2].selectbox(label, options, index=options.index(default) if default in options else 0,
                                         key=f"map_{name}_{table}_{pkey}_{c.name}",
                                         format_func=lambda h: h if h == NONE else _sample_text(samples, h),
                                         help=f"{c.name}: {c.meaning}" if c.meaning else c.name)
            if pick != NONE:
                fed[c.name] = pick
                mapping[pick] = c.name
        extra = [h for h in file.headers if h not in fed.values()]
        if extra:
            st.caption("Not loaded (not in the contract): " + ", ".join(md(h) for h in extra))
    return mapping, fed


def _value_editor(name: str, table: str, file: up.FileLook, path: str, fed: dict[str, str], plan: FilePlan) -> None:
    tdef = TABLES[table]
    mappable = [c for c in fed if c != tdef.key]
    if not mappable:
        return
    with st.expander(f"Map values of {md(name)}"):
        chosen = st.multiselect("Columns whose values to map or convert", mappable, key=f"vm_cols_{name}_{table}",
                                format_func=lambda c: up.column_label(tdef.column(c)))
        for col_name in chosen:
            col = tdef.column(col_name)
            header = fed[col_name]
            st.markdown(f"**{md(up.column_label(col))}** ← {md(header)}")
            if col_name in up.UNITS:
                units = up.UNITS[col_name]
                unit = st.selectbox(f"Unit of {header} in the file", units, key=f"unit_{name}_{col_name}")
                conv = up.conversion(col_name, unit)
                if conv is not None:
                    plan.conversions[col_name] = conv
                    st.caption(f"Converted: {conv.source_unit} × {conv.factor:g} = {conv.target_unit}.")
                continue
            plan_map = _value_rows(name, col, header, path, file)
            if plan_map is not None:
                plan.value_maps[col_name] = plan_map


def _value_rows(name: str, col: Any, header: str, path: str, file: up.FileLook) -> ValueMap | None:
    found = up.values_of(path, header, file)
    allowed = up.value_choices(col)
    choices: dict[str, str | None] = {}
    for i, (value, count) in enumerate(found):
        shown = value if value else "(empty)"
        label = f"{shown} · {count:,} row{'s' if count != 1 else ''}"
        key = f"val_{name}_{col.name}_{i}"
        if allowed is not None:
            pick = st.selectbox(label, [KEEP_VALUE, MISSING_VALUE, *allowed], key=key)
            choices[value] = None if pick == KEEP_VALUE else (up.MISSING if pick == MISSING_VALUE else pick)
        else:
            typed = st.text_input(label, key=key, placeholder="keep as it is",
                                  help="The contract value; leave empty to keep the value as it is.")
            choices[value] = typed.strip() or None
    if len(found) >= 30:
        st.caption("The 30 most frequent values are shown; other values are kept as they are.")
    return up.value_map(choices)


def _currency_editor(name: str, plan: FilePlan) -> None:
    store_cur = state.currency()
    st.caption(f"Amounts are kept in the store's currency, **{md(store_cur)}**.")
    code = st.text_input("Currency of this file's amounts", value=store_cur, key=f"cur_{name}", max_chars=3)
    code = (code or store_cur).strip().upper()
    if code != store_cur:
        plan.currency = code
        rate = st.number_input(f"Rate: 1 {code} = ? {store_cur}", min_value=0.0, value=0.0, format="%.6f",
                               key=f"rate_{name}")
        plan.rate = rate if rate > 0 else None
        if plan.rate is None:
            st.warning(f"The file's amounts are in {md(code)}, the store's in {md(store_cur)}: give the rate, "
                       f"or the file is refused.")


def _save_editor(name: str, plan: FilePlan) -> None:
    with st.popover("Save this mapping as my preset"):
        label = st.text_input("Name", key=f"save_name_{name}", max_chars=60)
        if st.button("Save mapping", key=f"save_map_{name}", disabled=not label.strip()):
            try:
                save_mapping(state.store(), label, table=plan.table, columns=plan.mapping,
                             value_maps=plan.value_maps, conversions=plan.conversions,
                             saved_by=auth.user_name())
            except ValueError as e:
                st.error(md(str(e)))
            else:
                st.success(f"Saved as {md(label.strip())}: choose it as the export format of the next file.")


__all__ = ["FilePlan", "file_plan"]
