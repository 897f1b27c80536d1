"""HubSpot: contact, ticket and deal exports (CRM > object > Export, CSV).

Exports name columns by the properties' labels; dates are written ``2025-03-14 09:05`` in the
account's time zone. Associations export as "Associated Contact IDs" (several ids are separated by
``;``: the first is taken). See docs/presets.md, "hubspot-contacts", "hubspot-tickets",
"hubspot-deals".
"""
from __future__ import annotations

from crm_metrics.data.presets.model import Preset, ValueMap

_DATETIME = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%m/%d/%Y %H:%M", "%m/%d/%Y")

HUBSPOT_CONTACTS = Preset(
    name="hubspot-contacts",
    label="HubSpot — contacts export",
    tool="HubSpot",
    table="customers",
    columns={
        "Record ID": "customer_id", "Contact ID": "customer_id",
        "Lifecycle Stage": "segment",
        "Create Date": "joined_on",
        "Contact owner": "advisor_id",
        "State/Region": "region", "Country/Region": "region",
        "Original Source": "acquisition_channel",
    },
    value_maps={"segment": ValueMap({"": "Unspecified"})},
    timestamp_formats={"joined_on": _DATETIME},
    documented="HubSpot knowledge base: default contact properties (Lifecycle stage: Subscriber, Lead, "
               "Marketing Qualified Lead, Sales Qualified Lead, Opportunity, Customer, Evangelist, Other; "
               "Original source), exporting records.",
)

HUBSPOT_TICKETS = Preset(
    name="hubspot-tickets",
    label="HubSpot — tickets export",
    tool="HubSpot",
    table="interactions",
    columns={
        "Ticket ID": "interaction_id",
        "Associated Contact IDs": "customer_id", "Associated Contact ID": "customer_id",
        "Create date": "occurred_at",
        "Source": "channel",
        "Ticket owner": "advisor_id",
        "Category": "reason",
        "Ticket status": "resolved",
    },
    value_maps={
        "channel": ValueMap({"Chat": "chat", "Email": "email", "Form": "web", "Phone": "phone"}),
        # default support pipeline: New, Waiting on contact, Waiting on us, Closed
        "resolved": ValueMap({"Closed": "true"}, other="false"),
    },
    timestamp_formats={"occurred_at": _DATETIME},
    first_of_list={"customer_id": ";"},
    documented="HubSpot knowledge base: default ticket properties (Ticket status, Source: Chat, Email, "
               "Form, Phone; Category), the default support pipeline.",
)

HUBSPOT_DEALS = Preset(
    name="hubspot-deals",
    label="HubSpot — deals export (closed won only)",
    tool="HubSpot",
    table="transactions",
    columns={
        "Record ID": "transaction_id", "Deal ID": "transaction_id",
        "Associated Contact IDs": "customer_id", "Associated Contact ID": "customer_id",
        "Close Date": "occurred_on",
        "Pipeline": "product",
        "Amount": "amount",
    },
    timestamp_formats={"occurred_on": _DATETIME},
    first_of_list={"customer_id": ";"},
    # only won deals are revenue; open and lost deals are skipped and counted in the report
    keep_rows={"Deal Stage": ("Closed won", "closedwon")},
    currency_column="Currency",
    documented="HubSpot knowledge base: default deal properties (Deal stage, Pipeline, Amount, Close "
               "date; the default sales pipeline's stages end in Closed won / Closed lost).",
)

PRESETS = (HUBSPOT_CONTACTS, HUBSPOT_TICKETS, HUBSPOT_DEALS)
