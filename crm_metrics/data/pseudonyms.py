"""Pseudonymised customer ids (explain.md): a keyed hash, stable within a store, for viewers.

The key is a random secret created once per store and kept in its ``meta`` table, so the same
customer gets the same pseudonym in every view, download and run against that store, while the
pseudonym cannot be recomputed from a customer id without the store (HMAC-SHA256, not a bare hash:
customer ids are guessable, and an unkeyed hash of a guessable id is no protection).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Any

from crm_metrics.data.store import Store

META_KEY = "customer_pseudonym_key"
PREFIX = "c_"
DIGEST_CHARS = 16  # 64 bits: collisions within a store's customers are vanishingly unlikely


def store_key(store: Store) -> bytes:
    """The store's pseudonym key, created (once, under the write lock) on first use."""
    cur = store.cursor()
    try:
        row = cur.execute("SELECT value FROM meta WHERE key = ?", [META_KEY]).fetchone()
        if row is None:
            with store.write_lock:
                row = cur.execute("SELECT value FROM meta WHERE key = ?", [META_KEY]).fetchone()
                if row is None:
                    cur.execute("INSERT INTO meta VALUES (?, ?)", [META_KEY, secrets.token_hex(32)])
                    row = cur.execute("SELECT value FROM meta WHERE key = ?", [META_KEY]).fetchone()
        return bytes.fromhex(row[0])
    finally:
        cur.close()


def pseudonym(key: bytes, customer_id: Any) -> str | None:
    if customer_id is None:
        return None
    digest = hmac.new(key, str(customer_id).encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:DIGEST_CHARS]


def pseudonymise(store: Store, customer_ids: Iterable[Any]) -> list[str | None]:
    key = store_key(store)
    return [pseudonym(key, c) for c in customer_ids]


def reveal_customer_ids(role: str, settings: dict[str, Any]) -> bool:
    """Analysts see customer ids; viewers only when the store's ``show_customer_ids`` setting is on."""
    return role == "analyst" or bool(settings.get("show_customer_ids"))


__all__ = ["store_key", "pseudonym", "pseudonymise", "reveal_customer_ids"]
