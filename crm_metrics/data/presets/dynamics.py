"""Microsoft Dynamics 365 Customer Service / Sales: case and contact views exported to Excel and
saved as CSV.

The export's first columns are hidden keys named "(Do Not Modify) <entity>" (the record's GUID),
then the view's columns by display name. Dates follow the user's locale (``3/14/2025 9:05 AM``,
``14.03.2025 09:05``); Excel saves a European CSV with ``;`` and a byte-order mark.
See docs/presets.md, "dynamics-cases" and "dynamics-contacts".
"""
from __future__ import annotations

from crm_metrics.data.presets.model import Preset, ValueMap

_DATETIME = ("%m/%d/%Y %I:%M %p", "%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M",
             "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z")
_DATE = ("%m/%d/%Y", "%d.%m.%Y", "%d/%m/%Y", "%Y-%m-%d") + _DATETIME

DYNAMICS_CASES = Preset(
    name="dynamics-cases",
    label="Dynamics 365 — cases (exported view)",
    tool="Dynamics 365",
    table="interactions",
    columns={
        "Case Number": "interaction_id", "(Do Not Modify) Case": "interaction_id",
        # a lookup exports its display name: add the customer's key to the view as "Customer ID"
        "Customer ID": "customer_id", "Contact ID": "customer_id", "Customer": "customer_id",
        "Created On": "occurred_at",
        "Origin": "channel",
        "Owner": "advisor_id",
        "Case Type": "reason",
        "Status": "resolved",
        "Satisfaction": "csat",
    },
    value_maps={
        # caseorigincode: 1 Phone, 2 Email, 3 Web, 2483 Facebook, 3986 Twitter, 700610000 IoT
        "channel": ValueMap({"Phone": "phone", "Email": "email", "Web": "web", "Facebook": "social",
                             "Twitter": "social", "IoT": "iot", "Chat": "chat"}),
        # statecode: Active, Resolved, Cancelled
        "resolved": ValueMap({"Resolved": "true"}, other="false"),
        # customersatisfactioncode: 5 Very Satisfied ... 1 Very Dissatisfied
        "csat": ValueMap({"Very Satisfied": "5", "Satisfied": "4", "Neutral": "3", "Dissatisfied": "2",
                          "Very Dissatisfied": "1", "": None}),
    },
    timestamp_formats={"occurred_at": _DATETIME},
    documented="Microsoft Learn: Case (incident) entity reference (ticketnumber, caseorigincode, statecode, "
               "customersatisfactioncode, createdon, ownerid); export to Excel.",
)

DYNAMICS_CONTACTS = Preset(
    name="dynamics-contacts",
    label="Dynamics 365 — contacts (exported view)",
    tool="Dynamics 365",
    table="customers",
    columns={
        "(Do Not Modify) Contact": "customer_id", "Contact ID": "customer_id",
        "Relationship Type": "segment",
        "Created On": "joined_on",
        "Owner": "advisor_id",
        "Address 1: State/Province": "region", "Address 1: Country/Region": "region",
    },
    value_maps={"segment": ValueMap({"": "Unspecified"})},
    timestamp_formats={"joined_on": _DATE},
    documented="Microsoft Learn: Contact entity reference (contactid, customertypecode 'Relationship Type', "
               "createdon, ownerid, address1_stateorprovince); export to Excel.",
)

PRESETS = (DYNAMICS_CASES, DYNAMICS_CONTACTS)
