"""`python -m crm_metrics alerts`: what changed since the last run, for cron (foresight.md).

    alerts [--webhook URL] [--mode first|every] [--dry-run] [--format table|json]

The changes are measured against the state the previous successful run recorded (consumer
``cli`` in crm_metrics.judgement.alert_state). With ``--webhook`` they are POSTed as a
Slack-compatible body ``{"text": "<all lines>", "changes": [...]}``; the new state is recorded
only after that POST succeeded (or when no webhook is given), so a failed delivery loses nothing:
the next run reports the same changes. ``--dry-run`` neither POSTs nor records.
Exit status: 0 done, 1 delivery failed or request refused (reason on stderr, state unchanged),
2 usage.
"""
from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from crm_metrics.delivery import output
from crm_metrics.delivery.cli_support import EXIT_OK, EXIT_REFUSED, add_format_arg, store_for

DEFAULT_TIMEOUT = 10.0


class DeliveryError(Exception):
    """The webhook did not take the message; the text says why."""


def webhook_url(text: str) -> str:
    """An http(s) URL with a host (argparse type): no file:, ftp: or other schemes."""
    parts = urllib.parse.urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"--webhook needs an http:// or https:// URL with a host, got {text!r}")
    return text.strip()


def _timeout(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text}")
    return v


def payload(changes: list[dict[str, Any]]) -> dict[str, Any]:
    """The Slack-compatible body: every line in ``text``, the structured changes beside it."""
    return {"text": "\n".join(c["text"] for c in changes), "changes": changes}


def post(url: str, body: dict[str, Any], timeout: float = DEFAULT_TIMEOUT) -> int:
    """POST ``body`` as JSON; the HTTP status. DeliveryError on refusal, HTTP >= 400 or timeout."""
    data = json.dumps(body, ensure_ascii=False, default=output.plain).encode("utf-8")
    req = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "crm-metrics-alerts"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # the scheme was checked: http or https only
            status = int(resp.status)
    except urllib.error.HTTPError as e:
        raise DeliveryError(f"the webhook answered HTTP {e.code} {e.reason}") from None
    except TimeoutError:
        raise DeliveryError(f"the webhook did not answer within {timeout:g} s") from None
    except urllib.error.URLError as e:
        reason = e.reason
        if isinstance(reason, TimeoutError):
            raise DeliveryError(f"the webhook did not answer within {timeout:g} s") from None
        raise DeliveryError(f"cannot reach the webhook: {reason}") from None
    except OSError as e:  # e.g. the connection reset while reading the answer
        raise DeliveryError(f"cannot reach the webhook: {e}") from None
    if status >= 400:  # pragma: no cover - urllib raises HTTPError for these
        raise DeliveryError(f"the webhook answered HTTP {status}")
    return status


def cmd_alerts(args: argparse.Namespace) -> int:
    from crm_metrics.judgement.alert_state import AlertStateConflict, evaluate, record
    store = store_for(args)
    ev = evaluate(store, "cli", args.mode)
    changes = [{k: output.plain(v) for k, v in c.record().items()} for c in ev.changes]
    version, failure = ev.previous_version, None
    if not args.dry_run:
        if args.webhook and changes:  # nothing to say: no message
            try:
                post(args.webhook, payload(changes), args.webhook_timeout)
            except DeliveryError as e:
                failure = str(e)
        if failure is None:
            try:
                version = record(store, ev)
            except AlertStateConflict as e:
                failure = str(e)
    _print(changes, version, args.format)
    if failure is not None:
        print(f"refused: {failure}; the alert state was not recorded, so the next run reports these "
              f"changes again", file=sys.stderr)
        return EXIT_REFUSED
    note = ("dry run: nothing sent, nothing recorded" if args.dry_run else
            f"state version {version} recorded" + (f", {len(changes)} change(s) sent to the webhook"
                                                   if args.webhook and changes else ""))
    print(note, file=sys.stderr)
    return EXIT_OK


def _print(changes: list[dict[str, Any]], version: int, fmt: str) -> None:
    if fmt == "json":
        print(output.to_json({"changes": changes, "state_version": version}))
    elif changes:
        print("\n".join(c["text"] for c in changes))
    else:
        print("no changes since the last run")


def register_alerts(subparsers: Any, common_parent: argparse.ArgumentParser) -> argparse.ArgumentParser:
    s = subparsers.add_parser("alerts", parents=[common_parent],
                              help="what changed since the last run (goal statuses, health findings); for cron")
    s.add_argument("--webhook", type=webhook_url, default=None, metavar="URL",
                   help='POST {"text": ..., "changes": [...]} here (Slack-compatible); the state is '
                        "recorded only when the POST succeeds")
    s.add_argument("--webhook-timeout", dest="webhook_timeout", type=_timeout, default=DEFAULT_TIMEOUT,
                   metavar="SECONDS", help=f"how long to wait for the webhook (default {DEFAULT_TIMEOUT:g})")
    s.add_argument("--mode", choices=("first", "every"), default="first",
                   help="first: each change once (default); every: also repeat what is still bad")
    s.add_argument("--dry-run", dest="dry_run", action="store_true",
                   help="show the changes; send nothing, record nothing")
    add_format_arg(s, ("table", "json"))
    s.set_defaults(func=cmd_alerts)
    return s

