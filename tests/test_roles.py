"""Roles: viewers read and download; analysts also upload, map and edit strategy. With sign-in
configured nobody sees data before signing in; without it the app runs open and says so."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest
from test_app import ROOT, TIMEOUT, _reset, db, sample_db, shown  # noqa: F401  (fixtures)

AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "id", "client_secret": "secret",
        "server_metadata_url": "https://login.example.com/.well-known/openid-configuration"}


def run_as(script: str, email: str | None, verified: bool = True) -> AppTest:
    at = AppTest.from_file(str(ROOT / script), default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    at.secrets["roles"] = {"analysts": ["ana@bank.example"]}
    at.user = {"is_logged_in": email is not None,
               **({"email": email, "email_verified": verified} if email else {})}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_signed_out_sees_only_the_sign_in(db):
    at = run_as("app.py", None)
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.dataframe and not at.metric


def test_viewer_cannot_see_write_actions_on_data_page(db):
    at = run_as("pages/7_Data.py", "exec@bank.example")
    assert len(at.file_uploader) == 0
    assert not [b for b in at.button if b.label.startswith("Load")]
    assert any("Viewers can read" in i.value for i in at.info)
    assert any("exec@bank.example" in shown(c.value) and "viewer" in c.value for c in at.sidebar.caption)


def test_viewer_cannot_edit_strategy(db):
    at = run_as("pages/8_Strategy.py", "exec@bank.example")
    labels = [b.label for b in at.button]
    assert "Save goal" not in labels and "Undo this change" not in labels
    assert len(at.file_uploader) == 0 and len(at.form) == 0
    # crafting widget state for a form that is not rendered does nothing
    at.session_state["goal_pick"] = "G05"
    at.run()
    assert "Save goal" not in [b.label for b in at.button]


def test_analyst_sees_write_actions(db):
    at = run_as("pages/7_Data.py", "ana@bank.example")
    assert len(at.file_uploader) == 1
    at = run_as("pages/8_Strategy.py", "ana@bank.example")
    assert "Save goal" in [b.label for b in at.button]


def test_open_mode_says_so_on_every_page(db):
    for script in ("app.py", "pages/2_Channels.py", "pages/8_Strategy.py"):
        at = AppTest.from_file(str(ROOT / script), default_timeout=TIMEOUT)
        at.run()
        assert any("Open mode" in c.value for c in at.sidebar.caption), script


def test_analyst_with_unverified_email_is_a_viewer(db):
    at = run_as("pages/7_Data.py", "ana@bank.example", verified=False)
    assert len(at.file_uploader) == 0
    assert any("ana@bank.example" in shown(c.value) and "viewer" in c.value for c in at.sidebar.caption)


@pytest.mark.parametrize("claims, expected", [
    ({"is_logged_in": True, "email": "Ana@Bank.Example", "email_verified": True}, "analyst"),  # case differs
    ({"is_logged_in": True, "email": "ana@bank.example", "email_verified": "true"}, "analyst"),  # claim as text
    ({"is_logged_in": True, "email": "Ana@Bank.Example"}, "viewer"),  # no claim: unverified
    ({"is_logged_in": True, "email": "ana@bank.example", "email_verified": False}, "viewer"),
    ({"is_logged_in": True, "email": "ana@bank.example", "email_verified": "false"}, "viewer"),
    ({"is_logged_in": True, "email": "ana@bank.example", "email_verified": 1}, "viewer"),  # only true counts
    ({"is_logged_in": True, "email": "exec@bank.example", "email_verified": True}, "viewer"),  # not listed
    ({"is_logged_in": True, "email": "", "email_verified": True}, "viewer"),
    ({"is_logged_in": False, "email": "ana@bank.example", "email_verified": True}, "viewer"),
])
def test_role_needs_a_verified_listed_email(claims, expected):
    from ui.auth import role_for

    assert role_for(claims, ["ANA@bank.example", "bo@bank.example"]) == expected


def test_signed_in_address_shown_as_text(db):
    at = run_as("pages/2_Channels.py", "[x](https://evil.example)@bank.example", verified=False)
    caption = next(c.value for c in at.sidebar.caption if "Signed in as" in c.value)
    assert "[x](https://evil.example)" not in caption
    assert "[x](https://evil.example)@bank.example" in shown(caption)
