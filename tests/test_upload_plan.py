"""The Data page's planning helpers (crm_metrics.data.upload_plan), without Streamlit."""
from __future__ import annotations

from crm_metrics.data import upload_plan as up
from crm_metrics.data.presets import KEEP, PRESETS, ValueMap
from crm_metrics.data.schema import TABLES


def test_labels_read_as_words():
    assert up.column_label(TABLES["interactions"].column("customer_id")) == "Customer ID"
    assert up.column_label(TABLES["interactions"].column("csat")) == "CSAT"
    assert up.column_label(TABLES["customers"].column("joined_on")) == "Joined on"


def test_missing_required_after_mapping():
    headers = ["Kunde", "Segment", "Seit"]
    fed = up.sources("customers", headers)
    assert fed == {"segment": "Segment"}
    assert up.missing_required("customers", fed) == ["customer_id", "joined_on"]
    fed = up.sources("customers", headers, mapping={"Kunde": "customer_id", "Seit": "joined_on"})
    assert up.missing_required("customers", fed) == []


def test_value_choices_and_maps():
    assert up.value_choices(TABLES["interactions"].column("csat")) == ["1", "2", "3", "4", "5"]
    assert up.value_choices(TABLES["interactions"].column("resolved")) == ["true", "false"]
    assert up.value_choices(TABLES["interactions"].column("channel")) is None
    assert up.value_map({"Good": "5", "Offered": up.MISSING, "Bad": None}) == ValueMap({"Good": "5", "Offered": None})
    assert up.value_map({"x": "", "y": None}) is None


def test_the_analysts_choice_wins_over_the_presets_and_keeps_the_rest():
    base = PRESETS["zendesk-tickets"].value_maps["channel"]
    mine = ValueMap({"Web form": "webform"}, KEEP)
    merged = up.merged_value_map(base, mine).lookup()
    assert merged["web form"] == "webform" and merged["voicemail"] == "phone"


def test_conversions():
    assert up.conversion("handle_seconds", "seconds") is None
    assert up.conversion("handle_seconds", "minutes").factor == 60.0
    assert up.conversion("amount", "cents").factor == 0.01
