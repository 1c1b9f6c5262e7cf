"""Notifications of new alerts: Apprise URLs and a generic JSON webhook signed with HMAC-SHA256.

Delivery goes through an outbox. ``enqueue`` writes one row per (alert, destination) in the
transaction that raises the alert, so an alert never exists without its pending notification;
``deliver_pending`` sends them after the commit, retrying each a few times (tenacity) and, when
a receiver stays down, leaving the row for a later pass with a growing backoff. Nothing is lost.

By default a notification holds ids, kind, severity, priority and a link: collected text stays
in the database, out of chat rooms and mailboxes (``notify.include_text`` adds the evidence).

Webhook signature: ``X-Chanwatch-Signature: sha256=<hex HMAC-SHA256(secret, "<ts>.<body>")>``
with ``X-Chanwatch-Timestamp: <ts>`` (Unix seconds), so a receiver can refuse replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import Connection, Engine
from tenacity import Retrying, stop_after_attempt, wait_exponential

from crawler.addresses import host_allowed, is_forbidden_address, literal_address
from crawler.errors import LocatorError
from crawler.locators import normalize_url
from crawler.logging import get_logger, register_secret
from crawler.matching.alerts import severity_rank
from crawler.settings import NotifySettings, Settings
from storage import alert_store
from storage.alert_store import NewAlert

log = get_logger(__name__)
SIGNATURE_HEADER = "X-Chanwatch-Signature"
TIMESTAMP_HEADER = "X-Chanwatch-Timestamp"
MIN_BACKOFF = timedelta(seconds=1)
MAX_BACKOFF = timedelta(hours=6)
PAGE = 100


class DeliveryError(Exception):
    """A receiver refused or could not be reached; the message never holds the URL."""


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    delivered: int = 0
    failed: int = 0


def destinations(notify: NotifySettings) -> list[str]:
    found = ["webhook:0"] if notify.webhook_url is not None else []
    return found + [f"apprise:{i}" for i in range(len(notify.apprise_urls))]


def payload(alert: NewAlert, notify: NotifySettings, evidence: dict[str, Any] | None) -> dict:
    base = (notify.review_url or "").rstrip("/")
    body: dict[str, Any] = {
        "alert_id": alert.id,
        "kind": alert.kind,
        "severity": alert.severity,
        "link": f"{base}/alerts/{alert.id}" if base else f"chanwatch alerts show {alert.id}",
    }
    if notify.include_text and evidence is not None:
        body["evidence"] = evidence
    return body


def enqueue(
    conn: Connection,
    alerts: Sequence[NewAlert],
    notify: NotifySettings,
    evidence: dict[int, dict[str, Any]],
    at: datetime,
) -> int:
    """Queue new alerts at or above `notify.min_severity` for every configured destination."""
    targets = destinations(notify)
    floor = severity_rank(notify.min_severity)
    rows = [
        {"alert_id": a.id, "destination": d, "payload": payload(a, notify, evidence.get(a.id)),
         "attempts": 0, "next_attempt_at": at, "created_at": at}
        for a in alerts
        if severity_rank(a.severity) >= floor
        for d in targets
    ]  # fmt: skip
    alert_store.enqueue(conn, rows)
    return len(rows)


SUMMARY_IDS = 100
"""Alert ids a summary lists; the receiver reads the rest in the review queue."""


def enqueue_summary(
    conn: Connection, alerts: Sequence[NewAlert], notify: NotifySettings, at: datetime
) -> int:
    """Queue ONE notification for many alerts raised at once (a rescan), instead of one each.

    The outbox keys a notification by an alert, so the summary rides on the most severe new
    alert (the one a reviewer should open first). Only alerts at or above
    `notify.min_severity` count, as for single ones. Returns the destinations queued for.
    """
    floor = severity_rank(notify.min_severity)
    due = [a for a in alerts if severity_rank(a.severity) >= floor]
    targets = destinations(notify)
    if not due or not targets:
        return 0
    top = max(due, key=lambda a: (severity_rank(a.severity), -a.id))
    base = (notify.review_url or "").rstrip("/")
    body: dict[str, Any] = {
        "alert_id": top.id,
        "kind": "rescan",
        "severity": top.severity,
        "alerts": len(due),
        "by_kind": dict(sorted(Counter(a.kind for a in due).items())),
        "alert_ids": sorted(a.id for a in due)[:SUMMARY_IDS],
        "link": f"{base}/alerts?status=new" if base else "chanwatch alerts list --status new",
    }
    alert_store.enqueue(
        conn,
        [
            {"alert_id": top.id, "destination": d, "payload": body, "attempts": 0,
             "next_attempt_at": at, "created_at": at}
            for d in targets
        ],
    )  # fmt: skip
    return len(targets)


def deliver_pending(
    engine: Engine, settings: Settings, now: datetime | None = None
) -> DeliveryCounts:
    """Send every due notification; failures stay queued with a later `next_attempt_at`."""
    notify = settings.notify
    _register_secrets(notify)
    now = now or datetime.now(UTC)
    delivered = failed = 0
    for row in _due(engine, now):
        error = None
        try:
            _send(row["destination"], row["payload"], settings)
        except DeliveryError as exc:
            error = str(exc)
        attempts = row["attempts"] + 1
        delay = timedelta(seconds=notify.outbox_backoff_s * 2 ** (attempts - 1))
        # At least a second past `now`, so this pass's paging never meets the row again.
        backoff = min(max(delay, MIN_BACKOFF), MAX_BACKOFF)
        with engine.begin() as conn:
            alert_store.record_delivery(
                conn, row["id"], delivered_at=None if error else datetime.now(UTC),
                attempts=attempts, next_attempt_at=now + backoff, error=error,
            )  # fmt: skip
        if error:
            failed += 1
            log.warning("notification failed", outbox_id=row["id"], error=error)
        else:
            delivered += 1
    return DeliveryCounts(delivered, failed)


def _due(engine: Engine, now: datetime) -> Iterator[dict[str, Any]]:
    # Page by page until none is due: each page's rows leave the due set once attempted
    # (delivered, or pushed past `now` by their backoff).
    while True:
        with engine.connect() as conn:
            page = alert_store.due_notifications(conn, now, PAGE)
        yield from page
        if len(page) < PAGE:
            return


def _register_secrets(notify: NotifySettings) -> None:
    for secret in (notify.webhook_url, notify.webhook_secret, *notify.apprise_urls):
        if secret is not None:
            register_secret(secret.get_secret_value())


def _send(destination: str, body: dict[str, Any], settings: Settings) -> None:
    notify = settings.notify
    kind, _, index = destination.partition(":")
    retrying = Retrying(
        stop=stop_after_attempt(notify.retry_attempts),
        wait=wait_exponential(multiplier=notify.retry_wait_s, max=30),
        reraise=True,
    )
    if kind == "webhook" and notify.webhook_url is not None:
        url = notify.webhook_url.get_secret_value()
        secret = notify.webhook_secret
        if secret is None:
            raise DeliveryError("notify.webhook_url needs notify.webhook_secret to sign with")
        check_webhook_url(url, settings.net.allow_private_hosts)
        data = json.dumps(body, ensure_ascii=False, sort_keys=True).encode()
        retrying(post_signed, url, data, secret.get_secret_value().encode(), notify.timeout_s)
    elif kind == "apprise" and int(index) < len(notify.apprise_urls):
        url = notify.apprise_urls[int(index)].get_secret_value()
        retrying(_apprise, url, body)
    else:
        raise DeliveryError(f"destination {destination} is no longer configured")


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def post_signed(url: str, body: bytes, secret: bytes, timeout: float) -> None:
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: "sha256=" + sign(secret, timestamp, body),
    }
    try:
        # Redirects are not followed: each hop would need the private-address check again.
        response = requests.post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        )
    except requests.RequestException as exc:
        raise DeliveryError(f"webhook unreachable: {type(exc).__name__}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"webhook answered HTTP {response.status_code}")


def check_webhook_url(url: str, allow: tuple[str, ...]) -> None:
    """Refuse webhook URLs that reach private, loopback or link-local addresses (unless
    allowed): a misconfigured hook must not turn the crawler into a probe of its own network."""
    try:
        normalize_url(url, allow)  # literal addresses and local names
    except LocatorError:
        raise DeliveryError("webhook URL refused: private, local or malformed") from None
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if host_allowed(host, port, allow) or literal_address(host) is not None:
        return
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError:
        raise DeliveryError("webhook host does not resolve") from None
    for info in infos:
        address = literal_address(str(info[4][0]))
        if address is not None and is_forbidden_address(address):
            raise DeliveryError("webhook host resolves to a private address")


def _apprise(url: str, body: dict[str, Any]) -> None:
    # Imported here: apprise loads its ~100 plugins at import, and every ingest process
    # imports this module while only the deliverer needs it.
    import apprise

    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise DeliveryError("apprise URL not understood")
    title = f"chanwatch: {body['severity']} {body['kind']} alert #{body['alert_id']}"
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    if not notifier.notify(title=title, body=text):
        raise DeliveryError("apprise delivery failed")
