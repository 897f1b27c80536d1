"""The data contract, declared once: every table an analyst can upload, its columns and rules.

Everything else (DDL, CSV reading, validation, column matching, docs) is derived from these
declarations, so the contract in ``docs`` and the code cannot drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["text", "date", "timestamp", "number", "integer", "boolean"]
TableKind = Literal["fact", "strategy"]

SQL_TYPES: dict[str, str] = {
    "text": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "number": "DOUBLE",
    "integer": "BIGINT",
    "boolean": "BOOLEAN",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    meaning: str = ""

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


@dataclass(frozen=True)
class Table:
    name: str
    kind: TableKind
    key: str
    columns: tuple[Column, ...]
    description: str = ""
    date_column: str | None = None
    has_customer: bool = False
    aliases: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


# Aliases shared by every table that has a customer key.
_CUSTOMER_ALIASES = ("client_id", "cust_id", "customer", "customer_no", "customer_number", "client")
# Generic date aliases map to the table's date column (see data contract: "How a file is read").
_DATE_ALIASES = ("date", "timestamp", "created_at", "datetime", "time")

TABLES: dict[str, Table] = {}


def _register(t: Table) -> Table:
    TABLES[t.name] = t
    return t


CUSTOMERS = _register(Table(
    name="customers", kind="fact", key="customer_id", has_customer=True,
    description="one row per customer (required for the segment dimension)",
    columns=(
        Column("customer_id", "text", required=True, aliases=_CUSTOMER_ALIASES, meaning="the CRM's customer key"),
        Column("segment", "text", required=True, aliases=("customer_segment", "segment_name"),
               meaning="the customer's segment"),
        Column("joined_on", "date", required=True,
               aliases=("joined", "join_date", "start_date", "since", "customer_since", "opened_on") + _DATE_ALIASES,
               meaning="the day the customer relationship started"),
        Column("left_on", "date", aliases=("left", "leave_date", "end_date", "closed_on", "churned_on"),
               meaning="the day it ended; empty = still a customer"),
        Column("advisor_id", "text", aliases=("advisor", "rm_id", "relationship_manager", "agent_id"),
               meaning="assigned relationship manager"),
        Column("region", "text", aliases=("area", "territory")),
        Column("acquisition_channel", "text", aliases=("acquired_via", "source_channel", "acquisition"),
               meaning="channel through which the customer was acquired"),
    ),
))

INTERACTIONS = _register(Table(
    name="interactions", kind="fact", key="interaction_id", date_column="occurred_at", has_customer=True,
    aliases=("contacts", "interaction"),
    description="one row per contact between a customer and the company",
    columns=(
        Column("interaction_id", "text", required=True, aliases=("contact_id", "id", "case_id", "ticket_id")),
        Column("customer_id", "text", required=True, aliases=_CUSTOMER_ALIASES),
        Column("occurred_at", "timestamp", required=True,
               aliases=("started_at", "contact_time", "start_time", "contacted_at") + _DATE_ALIASES,
               meaning="when the contact started"),
        Column("channel", "text", required=True, aliases=("contact_channel", "medium"),
               meaning="branch, phone, email, chat, web, mobile ..."),
        Column("advisor_id", "text", aliases=("advisor", "agent_id", "agent", "employee_id", "handled_by"),
               meaning="the employee who handled it; empty = self-service or not recorded"),
        Column("reason", "text", aliases=("contact_reason", "topic", "category"),
               meaning="service, sales, complaint, inquiry ..."),
        Column("handle_seconds", "number", minimum=0, aliases=("handle_time", "aht", "duration_seconds", "handle_time_seconds")),
        Column("wait_seconds", "number", minimum=0, aliases=("wait_time", "queue_seconds", "wait_time_seconds")),
        Column("resolved", "boolean", aliases=("is_resolved", "resolution")),
        Column("csat", "integer", minimum=1, maximum=5, aliases=("satisfaction", "csat_score")),
        Column("ces", "integer", minimum=1, maximum=7, aliases=("effort", "ces_score", "customer_effort")),
    ),
))

TRANSACTIONS = _register(Table(
    name="transactions", kind="fact", key="transaction_id", date_column="occurred_on", has_customer=True,
    aliases=("sales", "orders", "transaction"),
    description="one row per sale, product opening or other revenue event",
    columns=(
        Column("transaction_id", "text", required=True, aliases=("order_id", "sale_id", "id")),
        Column("customer_id", "text", required=True, aliases=_CUSTOMER_ALIASES),
        Column("occurred_on", "timestamp", required=True,
               aliases=("occurred_at", "order_date", "sale_date", "transaction_date") + _DATE_ALIASES),
        Column("product", "text", required=True, aliases=("product_name", "product_line", "item")),
        Column("amount", "number", required=True, aliases=("revenue", "value", "total", "amount_usd")),
        Column("channel", "text", aliases=("sales_channel",)),
    ),
))

SURVEYS = _register(Table(
    name="surveys", kind="fact", key="response_id", date_column="answered_on", has_customer=True,
    aliases=("nps", "survey", "responses"),
    description="relationship surveys (NPS)",
    columns=(
        Column("response_id", "text", required=True, aliases=("survey_id", "id")),
        Column("customer_id", "text", required=True, aliases=_CUSTOMER_ALIASES),
        Column("answered_on", "date", required=True, aliases=("answered_at", "response_date") + _DATE_ALIASES),
        Column("nps", "integer", required=True, minimum=0, maximum=10, aliases=("score", "nps_score", "likelihood")),
        Column("channel", "text"),
    ),
))

INITIATIVES = _register(Table(
    name="initiatives", kind="fact", key="initiative_id", date_column="go_live",
    aliases=("projects", "initiative"),
    description="CRM projects: what was spent, and when it went live",
    columns=(
        Column("initiative_id", "text", required=True, aliases=("project_id", "id")),
        Column("name", "text", required=True, aliases=("project", "title", "initiative")),
        Column("go_live", "date", required=True, aliases=("go_live_date", "launched_on", "launch_date") + _DATE_ALIASES),
        Column("cost", "number", required=True, minimum=0, aliases=("tco", "total_cost", "spent")),
        Column("budget", "number", minimum=0, aliases=("planned_cost", "planned")),
        Column("channel", "text"),
        Column("segment", "text"),
        Column("kpi", "text", aliases=("kpi_id", "target_kpi")),
        Column("objective", "text", aliases=("strategic_objective",)),
    ),
))

GOALS = _register(Table(
    name="goals", kind="strategy", key="goal_id",
    aliases=("targets", "goal"),
    description="the stated targets",
    columns=(
        Column("goal_id", "text", required=True, aliases=("id",)),
        Column("kpi", "text", required=True, aliases=("kpi_id", "metric")),
        Column("target", "number", required=True, aliases=("target_value", "goal")),
        Column("direction", "text", choices=("at_least", "at_most")),
        Column("channel", "text"),
        Column("segment", "text"),
        Column("period_start", "date", aliases=("from", "start")),
        Column("period_end", "date", aliases=("to", "end")),
        Column("tolerance", "number", minimum=0),
        Column("objective", "text", aliases=("strategic_objective",)),
        Column("owner", "text", aliases=("responsible",)),
    ),
))

SEGMENTS = _register(Table(
    name="segments", kind="strategy", key="segment",
    aliases=("segment_strategies",),
    description="the customer strategy per segment",
    columns=(
        Column("segment", "text", required=True, aliases=("segment_name",)),
        Column("strategy", "text", required=True, choices=("relationship", "transactional")),
        Column("statement", "text", aliases=("description",)),
    ),
))

CHANNELS = _register(Table(
    name="channels", kind="strategy", key="channel",
    aliases=("channel_kinds",),
    description="how each channel counts",
    columns=(
        Column("channel", "text", required=True, aliases=("channel_name",)),
        Column("kind", "text", required=True, choices=("assisted", "self_service")),
    ),
))

FACT_TABLES = tuple(t for t in TABLES.values() if t.kind == "fact")
STRATEGY_TABLES = tuple(t for t in TABLES.values() if t.kind == "strategy")

# Channels missing from the `channels` table default by name (data contract).
SELF_SERVICE_CHANNEL_NAMES: tuple[str, ...] = (
    "web", "website", "online", "mobile", "app", "mobile_app", "ivr", "self_service", "atm", "kiosk",
)

UNKNOWN = "(unknown)"

# Settings with their defaults (kpis.md). Values are stored as text and parsed by type here.
SETTINGS_DEFAULTS: dict[str, float | str | bool] = {
    "fcr_window_days": 7.0,
    "relationship_upc_threshold": 0.75,
    "sla_wait_seconds": 60.0,
    "margin": 1.0,
    "discount_rate": 0.10,
    "annual_discount_rate": 0.10,  # discounts the predicted CLV (customer-value.md)
    "alignment_threshold": 50.0,
    # pace of a goal in progress (foresight.md): on track when p_meet >= pace_on_track, off track below
    # pace_off_track
    "pace_on_track": 0.7,
    "pace_off_track": 0.3,
    # alerts (foresight.md): a status flip caused only by a value this share of the target or less
    # from the boundary it crossed is not reported (no flapping at equality)
    "alert_deadband": 0.005,
    # the store's one currency: every amount is in it (a file in another needs a rate; crm_metrics.data.currency)
    "currency": "USD",
    # after a load: warn when more than this share of the rows have a customer not in customers
    "unknown_customer_warn_share": 0.05,
    # viewers see real customer ids in record views (else a keyed pseudonym; analysts always see them)
    "show_customer_ids": False,
}

_FLAG_WORDS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


def parse_flag(key: str, value: object) -> bool:
    """A yes/no setting from its stored or typed text; ValueError naming the accepted words."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word not in _FLAG_WORDS:
        raise ValueError(f"Setting {key!r} needs true or false (yes/no, on/off, 1/0), got {value!r}")
    return _FLAG_WORDS[word]


def normalise_name(name: str) -> str:
    """Header normalisation from the contract: case-insensitive, trimmed, spaces/hyphens -> '_'."""
    out = name.strip().strip("\ufeff").strip().lower()
    for ch in (" ", "-"):
        out = out.replace(ch, "_")
    while "__" in out:
        out = out.replace("__", "_")
    return out


def table_for_file(file_name: str) -> Table | None:
    """The table a file names: `customers.csv` -> customers; also accepts table aliases."""
    stem = file_name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    for ext in (".csv", ".txt", ".tsv"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
            break
    key = normalise_name(stem)
    if key in TABLES:
        return TABLES[key]
    for t in TABLES.values():
        if key in t.aliases:
            return t
    return None
