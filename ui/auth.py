"""Who is using the app: whether sign-in is configured, the user's role and name, and the gate
that keeps signed-out visitors from seeing data."""
from __future__ import annotations

import getpass
from collections.abc import Iterable, Mapping
from typing import Any

import streamlit as st

from crm_metrics.delivery.output import plain_text_markdown


def auth_configured() -> bool:
    """Sign-in is on when an [auth] section is configured in Streamlit's secrets (OIDC)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def role_for(user: Mapping[str, Any], analysts: Iterable[Any]) -> str:
    """The role of a signed-in user from their identity claims: 'analyst' only when the provider
    says the email is verified (``email_verified`` true) and it is in the configured list, compared
    case-insensitively. An unverified address proves nothing: with a provider where users type their
    own address anyone could claim an analyst's."""
    if not user.get("is_logged_in", False):
        return "viewer"
    # some providers send the claim as the string "true"
    verified = user.get("email_verified", False)
    if not (verified is True or (isinstance(verified, str) and verified.strip().lower() == "true")):
        return "viewer"
    email = str(user.get("email", "") or "").strip().casefold()
    if not email:
        return "viewer"
    return "analyst" if email in {str(a).strip().casefold() for a in analysts} else "viewer"


def _user_claims() -> dict[str, Any]:
    try:
        return dict(st.user.to_dict())
    except Exception:
        return {k: getattr(st.user, k, None) for k in ("is_logged_in", "email", "email_verified")}


def role() -> str:
    """'analyst' or 'viewer'. Without configured sign-in the app runs open (everyone is an analyst)."""
    if not auth_configured():
        return "analyst"
    try:
        analysts = list(st.secrets.get("roles", {}).get("analysts", []))
    except Exception:
        analysts = []
    return role_for(_user_claims(), analysts)


def can_write() -> bool:
    return role() == "analyst"


def user_name() -> str:
    if auth_configured() and getattr(st.user, "is_logged_in", False):
        return str(getattr(st.user, "email", "") or "signed-in user")
    try:
        return f"{getpass.getuser()} (open mode)"
    except Exception:
        return "open mode"


def sign_in_gate(app_title: str) -> None:
    """With sign-in configured, nobody sees data before signing in."""
    if not auth_configured():
        st.sidebar.caption(":material/lock_open: Open mode: no sign-in is configured, so everyone "
                           "can load data and edit strategy. See the README to configure sign-in.")
        return
    if not getattr(st.user, "is_logged_in", False):
        st.title(app_title)
        st.write("Please sign in to see your CRM's results.")
        st.button("Sign in", on_click=st.login, type="primary")
        st.stop()
    with st.sidebar:
        # the address comes from the identity provider, where people may type their own
        st.caption(f"Signed in as {plain_text_markdown(user_name())} · {role()}")
        st.button("Sign out", on_click=st.logout)
