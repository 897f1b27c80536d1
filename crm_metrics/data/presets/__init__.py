"""Presets: declared mappings of CRM and help-desk exports onto the contract (one module per tool).

``PRESETS`` holds the built-ins by name; ``detect_preset`` picks the one a file's headers fit.
The analyst's own saved mappings are in crm_metrics.data.mappings (``find_preset`` looks in both).
"""
from __future__ import annotations

from collections.abc import Sequence

from crm_metrics.data.presets import dynamics, hubspot, salesforce, zendesk
from crm_metrics.data.presets.model import KEEP, UNIT_CONVERSIONS, Conversion, Preset, ValueMap
from crm_metrics.data.schema import normalise_name

PRESETS: dict[str, Preset] = {p.name: p for p in
                              (*zendesk.PRESETS, *salesforce.PRESETS, *hubspot.PRESETS, *dynamics.PRESETS)}


def preset_names() -> list[str]:
    return sorted(PRESETS)


def get_preset(name: str) -> Preset:
    """A built-in preset by name; KeyError with the known names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"no preset {name!r}; known: {', '.join(preset_names())}") from None


def detect_preset(headers: Sequence[str], candidates: Sequence[Preset] | None = None) -> Preset | None:
    """The preset whose required columns this file's headers all supply and which recognises the
    most of them (ties: the order declared). None when no preset fits, or when the headers are
    already the contract's (a contract file needs no preset)."""
    norm = {normalise_name(h) for h in headers}
    best: tuple[int, Preset] | None = None
    for p in candidates if candidates is not None else PRESETS.values():
        if p.missing_required(headers):
            continue
        found = sum(1 for src in p.columns if normalise_name(src) in norm)
        # a preset must recognise some of its own columns, not only names the contract shares
        own = sum(1 for src, dst in p.columns.items() if normalise_name(src) in norm and normalise_name(src) != dst)
        if own < 2:
            continue
        if best is None or found > best[0]:
            best = (found, p)
    return best[1] if best else None


__all__ = ["KEEP", "PRESETS", "UNIT_CONVERSIONS", "Conversion", "Preset", "ValueMap", "detect_preset",
           "get_preset", "preset_names"]
