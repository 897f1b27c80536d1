"""Goals, segment strategies, channel kinds and settings: read, edit, import and export.

Every edit is validated (a clear message naming the field), runs as one transaction under the
store's write lock, bumps the data version and is recorded in the audit table
``strategy_changes`` with the row before and after as JSON, so any change can be reverted
(the revert being a change in its own right). CSV imports go through crm_metrics.data.ingest.load_file,
so the data contract's rules apply; the load calls :func:`staged_problems` for the rules that span
columns or the KPI catalogue and records what it changed with crm_metrics.data.audit.

Choices (see docs/strategy.md):
- An unknown KPI id is refused (the message lists the known ones). A goal on a neutral KPI must
  state its direction.
- A goal's channel / segment must have been seen somewhere: in the data (customers, interactions,
  transactions, surveys) or in the channels / segments tables. A name that differs only in case
  or surrounding spaces is stored with the spelling already in use. A name never seen anywhere is
  refused (it is almost always a typo, and the goal would silently show no data). CSV loads do
  not apply this rule, because files may arrive in any order.
- ``set_segment_strategy`` / ``set_channel_kind`` refuse a name never seen anywhere unless
  ``allow_new=True`` (declaring a strategy before the segment's customers are loaded).

Modules: rules (vocabularies, parsers, the checks), edits (audited changes, history, revert),
tables (frames, CSV export / import).
"""
from __future__ import annotations

from crm_metrics.judgement.strategy.edits import (
    delete_channel,
    delete_goal,
    delete_segment,
    list_changes,
    revert_change,
    set_channel_kind,
    set_segment_strategy,
    set_setting,
    upsert_goal,
)
from crm_metrics.judgement.strategy.rules import (
    ACTIONS,
    CONTRACT_TABLES,
    DEFAULT_TOLERANCE,
    DIRECTIONS,
    EDITABLE_TABLES,
    GOAL_FIELDS,
    KINDS,
    STRATEGIES,
    StrategyError,
    known_channels,
    known_segments,
    normalise_goal,
    normalise_setting,
    staged_problems,
)
from crm_metrics.judgement.strategy.tables import (
    channel_kinds,
    channels,
    export_csv,
    goals,
    import_csv,
    import_settings_csv,
    segments,
    settings_frame,
)

__all__ = [
    "StrategyError", "EDITABLE_TABLES", "CONTRACT_TABLES", "ACTIONS", "DIRECTIONS", "STRATEGIES", "KINDS",
    "DEFAULT_TOLERANCE", "GOAL_FIELDS", "goals", "segments", "channels", "channel_kinds", "settings_frame",
    "upsert_goal", "delete_goal", "set_segment_strategy", "delete_segment", "set_channel_kind",
    "delete_channel", "set_setting", "revert_change", "list_changes", "normalise_goal",
    "normalise_setting", "known_segments", "known_channels",
    "export_csv", "import_csv", "import_settings_csv", "staged_problems",
]
