"""The store's one currency: every amount in the store is in it (setting ``currency``, default USD).

A transactions file in another currency is refused unless a rate is given, then converted
(crm_metrics.data.reshape); reports and pages show the currency with every amount.
"""
from __future__ import annotations

import re

from crm_metrics.data.schema import SETTINGS_DEFAULTS
from crm_metrics.data.store import Store

_CODE = re.compile(r"^[A-Z]{3}$")


def store_currency(store: Store) -> str:
    """The currency every amount in the store is in (ISO 4217 code, e.g. USD)."""
    return str(store.settings().get("currency") or SETTINGS_DEFAULTS["currency"]).strip().upper()


def currency_code(text: str) -> str:
    """A currency code, upper case; ValueError when it is not three letters."""
    code = str(text).strip().upper()
    if not _CODE.match(code):
        raise ValueError(f"{text!r} is not a currency code (three letters, e.g. USD, EUR)")
    return code


def set_store_currency(store: Store, code: str) -> None:
    """Name the store's currency. This relabels, it converts nothing: set it before loading amounts."""
    store.set_setting("currency", currency_code(code))


__all__ = ["currency_code", "set_store_currency", "store_currency"]
