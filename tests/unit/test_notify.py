"""What a notification holds, and how the webhook is signed."""

from __future__ import annotations

import hashlib
import hmac

from pydantic import SecretStr

from crawler.matching.notify import destinations, payload, sign
from crawler.settings import NotifySettings
from storage.alert_store import NewAlert

ALERT = NewAlert(7, "keyword", "critical", "keyword:rooms:1")
EVIDENCE = {"rule": "rooms", "hits": [{"matched_text": "지인능욕"}]}


def test_by_default_a_notification_holds_ids_kind_severity_and_a_link_only() -> None:
    body = payload(ALERT, NotifySettings(review_url="https://review.example.org/"), EVIDENCE)
    assert body == {
        "alert_id": 7,
        "kind": "keyword",
        "severity": "critical",
        "link": "https://review.example.org/alerts/7",
    }


def test_evidence_is_included_only_when_configured() -> None:
    body = payload(ALERT, NotifySettings(include_text=True), EVIDENCE)
    assert body["evidence"] == EVIDENCE
    assert body["link"] == "chanwatch alerts show 7"


def test_destinations_name_positions_never_urls() -> None:
    settings = NotifySettings(
        webhook_url=SecretStr("https://hooks.example.org/x?token=abc"),
        webhook_secret=SecretStr("k" * 16),
        apprise_urls=(SecretStr("tgram://123:abc/456"), SecretStr("mailto://u:p@example.org")),
    )
    assert destinations(settings) == ["webhook:0", "apprise:0", "apprise:1"]


def test_signature_covers_timestamp_and_body() -> None:
    expected = hmac.new(b"key", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign(b"key", "1700000000", b"{}") == expected
    assert sign(b"key", "1700000001", b"{}") != expected
