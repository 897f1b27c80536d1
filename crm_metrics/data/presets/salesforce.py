"""Salesforce: case and account reports exported as CSV ("Details Only").

Report exports use the columns' labels and the exporting user's locale for dates (en_US:
``3/14/2025 9:05 AM``; en_GB and most of Europe: ``14/03/2025 09:05``). The first format that reads
every value of a column is used, so a file with day 13 or later settles US against European order.
See docs/presets.md, "salesforce-cases" and "salesforce-accounts".
"""
from __future__ import annotations

from crm_metrics.data.presets.model import Preset, ValueMap

_DATETIME = ("%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M", "%d.%m.%Y %H:%M",
             "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z")
_DATE = ("%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y-%m-%d")

SALESFORCE_CASES = Preset(
    name="salesforce-cases",
    label="Salesforce — case report export",
    tool="Salesforce",
    table="interactions",
    columns={
        "Case Number": "interaction_id", "Case ID": "interaction_id",
        "Account ID": "customer_id", "Contact ID": "customer_id",
        "Date/Time Opened": "occurred_at", "Opened Date": "occurred_at",
        "Case Origin": "channel",
        "Case Owner": "advisor_id",
        "Case Reason": "reason", "Type": "reason",
        "Status": "resolved",
    },
    value_maps={
        # the standard Case Origin picklist is Phone, Email, Web; Chat and Messaging come with
        # Service Cloud's chat channels
        "channel": ValueMap({"Phone": "phone", "Email": "email", "Web": "web", "Chat": "chat",
                             "Messaging": "chat"}),
        # standard Status picklist: New, Working, Escalated, Closed
        "resolved": ValueMap({"Closed": "true"}, other="false"),
    },
    timestamp_formats={"occurred_at": _DATETIME},
    documented="Salesforce Help: Case fields (Case Number, Case Origin, Status, Date/Time Opened); "
               "Object reference: Case (Origin, Status picklists).",
)

SALESFORCE_ACCOUNTS = Preset(
    name="salesforce-accounts",
    label="Salesforce — account report export",
    tool="Salesforce",
    table="customers",
    columns={
        "Account ID": "customer_id",
        "Type": "segment",
        "Created Date": "joined_on",
        "Account Owner": "advisor_id",
        "Billing State/Province": "region", "Billing Country": "region",
        "Account Source": "acquisition_channel",
    },
    value_maps={
        # Type is the account's relationship (Customer - Direct, Customer - Channel, Prospect, ...);
        # an empty Type would refuse the row, so it becomes a segment of its own
        "segment": ValueMap({"": "Unspecified"}),
        "acquisition_channel": ValueMap({"Web": "web", "Phone Inquiry": "phone", "Partner Referral": "partner",
                                         "Purchased List": "purchased list", "Other": "other"}),
    },
    timestamp_formats={"joined_on": _DATE + _DATETIME},
    documented="Salesforce Help: Account fields (Account Source, Type, Billing Address); "
               "Object reference: Account.",
)

PRESETS = (SALESFORCE_CASES, SALESFORCE_ACCOUNTS)
