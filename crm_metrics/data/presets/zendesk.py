"""Zendesk Support: the tickets export (Reporting > Export > CSV, or a view exported as CSV).

Column names and values as the export writes them; the mapping is the one issue 17 states.
Timestamps carry the account's UTC offset with a space before it: ``2025-02-02 03:25:00 +0100``.
See docs/presets.md, "zendesk-tickets".
"""
from __future__ import annotations

from crm_metrics.data.presets.model import Preset, ValueMap

ZENDESK_TICKETS = Preset(
    name="zendesk-tickets",
    label="Zendesk — tickets export",
    tool="Zendesk",
    table="interactions",
    columns={
        "Id": "interaction_id",
        "Requester external id": "customer_id",
        "Created at": "occurred_at",
        "Via": "channel",
        "Assignee": "advisor_id",
        "Satisfaction Score": "csat",
        "Status": "resolved",
    },
    value_maps={
        "channel": ValueMap({
            "Phone call (incoming)": "phone", "Phone call (outgoing)": "phone", "Voicemail": "phone",
            "Email": "email",
            "Web form": "web", "Web service (API)": "web",
            "Chat": "chat", "Messaging": "chat",
            "Mobile SDK": "mobile",
        }),
        # Zendesk's CSAT is good/bad; "offered" / "unoffered" mean no answer (yet)
        "csat": ValueMap({"Good": "5", "Bad": "1", "Good with comment": "5", "Bad with comment": "1",
                          "Offered": None, "Unoffered": None, "": None}),
        "resolved": ValueMap({"solved": "true", "closed": "true"}, other="false"),
    },
    timestamp_formats={"occurred_at": ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z", "%Y-%m-%dT%H:%M:%S%z",
                                       "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")},
    documented="Zendesk help center: exporting ticket data (CSV); Ticket API field reference "
               "(via.channel, satisfaction_rating.score good/bad/offered/unoffered, status).",
)

PRESETS = (ZENDESK_TICKETS,)
