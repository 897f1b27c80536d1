"""What a preset declares: how one tool's export becomes one contract table.

A preset is data, not code: source columns -> contract columns, value maps, timestamp formats, unit
conversions, constants and an optional row filter. ``crm_metrics.data.reshape`` applies it; the
analyst's saved mappings (crm_metrics.data.mappings) are presets too.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from crm_metrics.data.schema import TABLES, normalise_name

# ValueMap.other: an unlisted value is kept as it is (the load's own rules then judge it)
KEEP = "\x00keep"


@dataclass(frozen=True)
class ValueMap:
    """Source value -> contract value for one contract column. Keys match trimmed and
    case-insensitively; the key "" is the empty cell; a None value means "missing" (empty).
    ``other`` says what an unlisted value becomes: KEEP (unchanged), None (missing) or a value."""
    values: Mapping[str, str | None]
    other: str | None = KEEP

    def lookup(self) -> dict[str, str | None]:
        """The keys as they are compared (trimmed, lower case)."""
        return {str(k).strip().lower(): v for k, v in self.values.items()}


@dataclass(frozen=True)
class Conversion:
    """A unit conversion of a number column: contract value = source value * factor."""
    source_unit: str
    target_unit: str
    factor: float


# Unit conversions an analyst can name (CLI --convert COLUMN=UNIT, the app's value mapping)
UNIT_CONVERSIONS: dict[str, Conversion] = {
    "minutes": Conversion("minutes", "seconds", 60.0),
    "hours": Conversion("hours", "seconds", 3600.0),
    "milliseconds": Conversion("milliseconds", "seconds", 0.001),
    "seconds": Conversion("seconds", "seconds", 1.0),
    "cents": Conversion("cents", "units", 0.01),
}


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    tool: str
    table: str
    # SOURCE header -> contract column; several sources may name one column (the first present wins)
    columns: Mapping[str, str]
    value_maps: Mapping[str, ValueMap] = field(default_factory=dict)        # contract column -> map
    timestamp_formats: Mapping[str, Sequence[str]] = field(default_factory=dict)  # contract column -> strptime
    conversions: Mapping[str, Conversion] = field(default_factory=dict)     # contract column -> conversion
    constants: Mapping[str, str] = field(default_factory=dict)              # contract column -> value
    # keep only rows whose SOURCE column holds one of these values (trimmed, case-insensitive)
    keep_rows: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # contract column -> separator: a cell listing several values (HubSpot's "1;2") keeps the first
    first_of_list: Mapping[str, str] = field(default_factory=dict)
    currency_column: str | None = None  # SOURCE header holding each row's currency (transactions)
    documented: str = ""                # where the layout comes from (docs/presets.md has the details)
    saved: bool = False                 # an analyst's saved mapping, not a built-in

    def __post_init__(self) -> None:
        if self.table not in TABLES:
            raise ValueError(f"preset {self.name}: no table {self.table!r}")
        names = set(TABLES[self.table].column_names)
        for col in [*self.columns.values(), *self.value_maps, *self.timestamp_formats,
                    *self.conversions, *self.constants, *self.first_of_list]:
            if col not in names:
                raise ValueError(f"preset {self.name}: {self.table} has no column {col!r}")

    def source_for(self, headers: Sequence[str]) -> dict[str, str]:
        """Contract column -> the header of THIS file that feeds it (the first declared source
        present; headers compare as the contract compares them: case, spaces, hyphens)."""
        present = {normalise_name(h): h for h in headers}
        out: dict[str, str] = {}
        for src, dst in self.columns.items():
            h = present.get(normalise_name(src))
            if h is not None and dst not in out:
                out[dst] = h
        return out

    def missing_required(self, headers: Sequence[str]) -> list[str]:
        """Required contract columns this file cannot fill (neither a source column nor a constant)."""
        have = set(self.source_for(headers)) | set(self.constants)
        return [c.name for c in TABLES[self.table].columns if c.required and c.name not in have]


__all__ = ["KEEP", "UNIT_CONVERSIONS", "Conversion", "Preset", "ValueMap"]
