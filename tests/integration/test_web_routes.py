"""The review app's routes: an authorization matrix built from the app's own route table, the
queue's filters and keyset paging, claim and decide through the workflow (audited via=web), and
hostile collected text rendered inert. SQLite and PostgreSQL, a real loopback server."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import Engine, select

from crawler.access import Permission, Role, can
from crawler.matching.alerts import Candidate, Kind
from crawler.observations import ChannelSnapshot
from crawler.web import review
from crawler.web.app import route_access
from storage import alert_store
from storage.models.operations import AuditLog
from tests.factories import CHANNEL, T0, post
from tests.integration.alert_helpers import NOW, Pipeline, alerts, load_rules
from tests.integration.cli_runner import Cli, add_user
from tests.integration.web_support import app_for, csrf_token, login, serve

SCRIPT = "<script>alert(1)</script>"
ONERROR = "<img src=x onerror=alert(2)>"
HOSTILE = f"{SCRIPT}{ONERROR}"
RULES = f"""
rules:
  - name: "rooms {SCRIPT}"
    severity: critical
    terms: [지인능욕]
"""
ROLES = ("anonymous", "investigator", "staff", "admin", "disabled")
_IDS = re.compile(r'href="/alerts/(\d+)"')


def _keyword_alerts(engine: Engine, count: int) -> list[int]:
    """Real keyword alerts from ingest, with hostile text in the post, title and rule name."""
    load_rules(engine, RULES)
    pipeline = Pipeline(engine)
    pipeline.ingest([ChannelSnapshot(CHANNEL, T0, username="example_news", title=f"방 {HOSTILE}")])
    text = f"오늘 지인능욕 {HOSTILE}\u202eevil\n둘째 줄"
    pipeline.ingest([post(i, text) for i in range(1, count + 1)])
    return sorted(a["id"] for a in alerts(engine))


def _raise(engine: Engine, candidates: list[Candidate]) -> None:
    with engine.begin() as conn:
        alert_store.raise_alerts(conn, candidates, NOW)


def _path(canonical: str, alert_id: int) -> str:
    if canonical == "/static":
        return "/static/app.css"
    return canonical.replace("{id}", str(alert_id))


def _expected(access: Permission | None, method: str, canonical: str, role: str) -> int:
    """What the route table says `role` gets: public routes answer everyone (POST /login
    without credentials is a 400); anonymous and disabled users are sent to log in (GET) or
    refused (anything else); a role without the permission is refused; the rest succeed, a
    POST or the start page by redirecting."""
    if access is None:
        return 200 if method == "GET" else 400
    if role in ("anonymous", "disabled"):
        return 303 if method == "GET" else 403
    if not can(Role(role), access):
        return 403
    return 200 if method == "GET" and canonical != "/" else 303


def test_authorization_matrix_covers_every_route(
    engine: Engine, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _keyword_alerts(engine, 4)
    table = route_access(app_for(engine))
    for role in ("investigator", "staff", "admin"):
        add_user(cli, monkeypatch, role, role)
    add_user(cli, monkeypatch, "disabled", "staff")
    # Logout last: it ends the session the other cells use.
    cells = sorted(table.items(), key=lambda item: item[0][1] == "/logout")
    assert len(cells) >= 10
    results: dict[tuple[str, str, str], int] = {}
    wanted: dict[tuple[str, str, str], int] = {}

    async def as_role(client: TestClient, role: str, alert_id: int) -> None:
        if role != "anonymous":
            assert (await login(client, role)).status == 303
        if role == "disabled":
            assert cli("users", "disable", "disabled").code == 0
        token = await csrf_token(client, "/login")
        for (method, canonical), access in cells:
            path = _path(canonical, alert_id)
            # One form fits every POST: a decision for the alert (and the selection, `alert_id`),
            # an assignee, and a filter no alert matches so "next" takes none of another role's.
            form = {"csrf_token": token, "decision": "escalate", "reason": "matrix",
                    "alert_id": str(alert_id), "assignee": role, "rule": "matrix: none"}
            response = await client.request(
                method, path, data=form if method == "POST" else None, allow_redirects=False
            )
            results[(method, canonical, role)] = response.status
            wanted[(method, canonical, role)] = _expected(access, method, canonical, role)

    for role, alert_id in zip(ROLES, [ids[0], ids[1], ids[2], ids[3], ids[0]], strict=True):
        serve(engine, lambda client, r=role, a=alert_id: as_role(client, r, a))
    assert results == wanted


def test_web_decisions_are_audited_as_web(
    engine: Engine, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    [alert_id] = _keyword_alerts(engine, 1)
    add_user(cli, monkeypatch, "mina", "staff")

    async def scenario(client: TestClient) -> str:
        await login(client, "mina")
        token = await csrf_token(client, f"/alerts/{alert_id}")
        claimed = await client.post(f"/alerts/{alert_id}/claim", data={"csrf_token": token},
                                    allow_redirects=False)  # fmt: skip
        assert claimed.status == 303
        # A critical alert needs a reason to be dismissed: the workflow's refusal is shown.
        refused = await client.post(f"/alerts/{alert_id}/decide",
                                    data={"csrf_token": token, "decision": "dismiss"})  # fmt: skip
        assert refused.status == 409
        decided = await client.post(
            f"/alerts/{alert_id}/decide",
            data={"csrf_token": token, "decision": "confirm", "reason": "seen"},
            allow_redirects=False,
        )
        assert decided.status == 303
        return await (await client.get(f"/alerts/{alert_id}")).text()

    page = serve(engine, scenario)
    assert "confirmed" in page and "mina" in page
    with engine.connect() as conn:
        rows = conn.execute(select(AuditLog.__table__)).mappings().all()
    web_rows = [(r["action"], r["actor"], r["via"], r["os_user"]) for r in rows
                if r["action"].startswith("alert.")]  # fmt: skip
    assert web_rows == [("alert.claim", "mina", "web", None), ("alert.decide", "mina", "web", None)]


def test_queue_filters_and_keyset_paging(
    engine: Engine, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyword_ids = _keyword_alerts(engine, 3)
    _raise(engine, [
        Candidate(Kind.HASH_MATCH, "high", f"hash:test:{n}",
                  {"bank": "known" if n % 2 else "other", "label": "x"}, confidence=0.5 + n / 10)
        for n in range(4)
    ])  # fmt: skip
    add_user(cli, monkeypatch, "ivy", "investigator")
    monkeypatch.setattr(review, "PAGE", 2)

    async def ids(client: TestClient, query: str) -> list[int]:
        """Every alert id the queue lists for `query`, following its keyset pages."""
        found, url = [], f"/alerts?{query}"
        while url:
            response = await client.get(url)
            assert response.status == 200, await response.text()
            body = await response.text()
            found += [int(i) for i in _IDS.findall(body)]
            link = re.search(r'href="([^"]*)" rel="next"', body)
            url = link.group(1).replace("&amp;", "&") if link else ""
            if link:
                assert re.search(r"[?&]after=\d+", url) and query.split("&")[0] in url
        return found

    async def scenario(client: TestClient) -> None:
        await login(client, "ivy")
        every = await ids(client, "kind=")
        assert len(every) == 7 and len(set(every)) == 7
        # Pages join up into the CLI's order: highest priority (critical first), then newest.
        assert every == [a["id"] for a in alerts(engine)]
        assert set(every[:3]) == set(keyword_ids)
        assert sorted(await ids(client, "kind=keyword&severity=critical")) == keyword_ids
        assert len(await ids(client, "kind=hash_match&bank=known")) == 2
        assert sorted(await ids(client, "rule=rooms+%3Cscript%3Ealert(1)%3C/script%3E")) == (
            keyword_ids
        )
        assert sorted(await ids(client, "source=@Example_News")) == keyword_ids
        assert await ids(client, "status=confirmed") == []
        assert await ids(client, "assignee=nobody") == []
        assert len(await ids(client, "since=2000-01-01&until=2100-01-01")) == 7
        assert await ids(client, "since=2100-01-01") == []
        bad = await client.get("/alerts?since=yesterday")
        assert bad.status == 400 and "since:" in await bad.text()

    serve(engine, scenario)


def test_hostile_text_renders_inert(
    engine: Engine, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    [keyword_id] = _keyword_alerts(engine, 1)
    subject = alerts(engine)[0]["subject"]
    _raise(engine, [Candidate(
        Kind.HASH_MATCH, "high", "hash:hostile",
        {"bank": f"bank {ONERROR}", "label": f"label {HOSTILE}", "signal_type": "pdq",
         "distance": 7, "orientation": "flip_h", "media_hash": "f" * 64},
        item_id=subject["item_id"], source_id=subject["source_id"],
    )])  # fmt: skip
    hash_id = max(a["id"] for a in alerts(engine))
    add_user(cli, monkeypatch, "ivy", "investigator")

    async def scenario(client: TestClient) -> list[str]:
        await login(client, "ivy")
        # The rule is critical: its text reaches the page once the reviewer chooses to read it.
        token = await csrf_token(client, f"/alerts/{keyword_id}")
        read = await client.post(f"/alerts/{keyword_id}/read", data={"csrf_token": token})
        assert read.status == 200
        return [await (await client.get(path)).text()
                for path in ("/alerts", f"/alerts/{keyword_id}", f"/alerts/{hash_id}")]  # fmt: skip

    queue, keyword, hashed = serve(engine, scenario)
    for body in (queue, keyword, hashed):
        assert SCRIPT not in body and "<img" not in body and "\u202e" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        assert "&lt;img src=x onerror=alert(2)&gt;" in body
    assert "<mark>지인능욕</mark>" in keyword  # the matched span, inside the neutralized text
    assert "\ufffdevil\n둘째 줄" in keyword  # the bidi override replaced, the line break kept
    assert "방 &lt;script&gt;" in keyword  # the channel title
    assert "rooms &lt;script&gt;" in keyword  # the rule name
    for shown in ("label &lt;script&gt;", "bank &lt;img", "flip_h", '<dd class="collected">7</dd>'):
        assert shown in hashed  # bank, label, orientation, distance
