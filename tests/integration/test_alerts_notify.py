"""Notifications through the outbox to a real HTTP receiver on 127.0.0.1, on both databases."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select
from structlog.testing import capture_logs

from crawler.matching.notify import deliver_pending
from crawler.settings import NetSettings, NotifySettings, Settings
from storage.models import NotifyOutbox
from tests.factories import post
from tests.integration.alert_helpers import Pipeline, load_rules

RULES = """
rules:
  - name: rooms
    severity: critical
    terms: [지인능욕]
  - name: chatter
    severity: low
    terms: [갠텔]
"""
SECRET = "s3cret-key-for-tests"


@dataclass
class Receiver:
    url: str
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    failures_left: int = 0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state.failures_left > 0:
                state.failures_left -= 1
                self.send_response(500)
            else:
                state.requests.append((dict(self.headers), body))
                self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _settings(url: str, *, allow: bool = True, **notify: object) -> Settings:
    return Settings(
        net=NetSettings(allow_private_hosts=("127.0.0.1",) if allow else ()),
        notify=NotifySettings(
            webhook_url=SecretStr(url), webhook_secret=SecretStr(SECRET), retry_wait_s=0,
            retry_attempts=2, outbox_backoff_s=60, **notify,
        ),
    )  # fmt: skip


def _outbox(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(NotifyOutbox.__table__))]


def test_webhook_carries_a_verifiable_signature_and_no_message_text(
    engine: Engine, receiver: Receiver
) -> None:
    load_rules(engine, RULES)
    settings = _settings(receiver.url, review_url="https://review.example.org/")
    Pipeline(engine, settings).ingest([post(1, "지인능욕 비밀 본문"), post(2, "갠텔")])

    counts = deliver_pending(engine, settings)

    assert (counts.delivered, counts.failed) == (1, 0)  # the low-severity alert is not sent
    ((headers, body),) = receiver.requests
    timestamp = headers["X-Chanwatch-Timestamp"]
    expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    assert headers["X-Chanwatch-Signature"] == "sha256=" + expected.hexdigest()
    sent = json.loads(body)
    assert sent["kind"] == "keyword" and sent["severity"] == "critical"
    assert sent["link"] == f"https://review.example.org/alerts/{sent['alert_id']}"
    assert "지인능욕" not in body.decode()
    assert deliver_pending(engine, settings).delivered == 0  # delivered once only


def test_a_failed_delivery_stays_in_the_outbox_and_is_retried_later(
    engine: Engine, receiver: Receiver
) -> None:
    load_rules(engine, RULES)
    settings = _settings(receiver.url)
    Pipeline(engine, settings).ingest([post(1, "지인능욕")])
    receiver.failures_left = 2  # both attempts of the first pass
    now = datetime.now(UTC)

    with capture_logs() as logs:
        first = deliver_pending(engine, settings, now)
    assert [log["event"] for log in logs] == ["notification failed"]
    (row,) = _outbox(engine)
    assert (first.failed, row["attempts"], row["delivered_at"]) == (1, 1, None)
    assert row["last_error"] == "webhook answered HTTP 500"
    assert deliver_pending(engine, settings, now + timedelta(seconds=30)).delivered == 0

    later = deliver_pending(engine, settings, now + timedelta(seconds=61))
    assert later.delivered == 1 and len(receiver.requests) == 1
    assert _outbox(engine)[0]["delivered_at"] is not None


def test_a_webhook_on_a_private_address_is_refused_unless_allowed(
    engine: Engine, receiver: Receiver
) -> None:
    load_rules(engine, RULES)
    settings = _settings(receiver.url, allow=False)
    Pipeline(engine, settings).ingest([post(1, "지인능욕")])

    with capture_logs() as logs:
        assert deliver_pending(engine, settings).failed == 1
    assert receiver.requests == []
    assert receiver.url not in str(logs)
    (row,) = _outbox(engine)
    assert row["last_error"].startswith("webhook URL refused")
    assert receiver.url not in row["last_error"]


def test_apprise_urls_deliver_too(engine: Engine, receiver: Receiver) -> None:
    load_rules(engine, RULES)
    apprise_url = receiver.url.replace("http://", "json://")
    settings = Settings(
        notify=NotifySettings(apprise_urls=(SecretStr(apprise_url),), retry_wait_s=0)
    )
    Pipeline(engine, settings).ingest([post(1, "지인능욕")])

    assert deliver_pending(engine, settings).delivered == 1
    ((_headers, body),) = receiver.requests
    assert "keyword" in json.loads(body)["message"]
