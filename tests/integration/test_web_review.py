"""Working the queue in the review app over HTTP: bulk decisions, "next" and skip, an admin's
release and reassignment, negative banks from the browser, and what wellness holds back
(source links until revealed, critical text until read) with the audit rows each leaves.
SQLite and PostgreSQL, a real loopback server, alerts raised by the real matchers."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import Engine, select

from crawler.observations import ChannelSnapshot
from storage.models.operations import AuditLog
from tests.factories import CHANNEL, T0, photo, post
from tests.integration.alert_helpers import REVIEW_RULES, Pipeline, alerts, load_bank, load_rules
from tests.integration.cli_runner import Cli, add_user
from tests.integration.web_support import csrf_token, login, serve

PDQ = "f8f8f0cee0f4a84f06370a32038f67f0b36e2ed596623e1d33e6339e4e8cc5ae"
TEXT_HIDDEN = "not shown until you choose to read it"


def _rooms(engine: Engine, high: int, critical: int = 0) -> tuple[list[int], list[int]]:
    """`high` alerts of rule `rooms` and `critical` of rule `worst`, from ingested posts."""
    load_rules(engine, REVIEW_RULES)
    pipeline = Pipeline(engine)
    pipeline.ingest([ChannelSnapshot(CHANNEL, T0, username="example_news", title="예제 뉴스")])
    pipeline.ingest([post(i, f"지인능욕 {i}") for i in range(1, high + 1)])
    pipeline.ingest([post(100 + i, f"겹지인방 원문 {i}") for i in range(critical)])
    found = alerts(engine)
    return (
        sorted(a["id"] for a in found if a["evidence"]["rule"] == "rooms"),
        sorted(a["id"] for a in found if a["evidence"]["rule"] == "worst"),
    )


def _audit(engine: Engine, prefix: str = "") -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(AuditLog.__table__).order_by(AuditLog.seq)).mappings()
        return [dict(r) for r in rows if r["action"].startswith(prefix)]


async def _post(client: TestClient, path: str, **form: str | list[tuple[str, str]]) -> tuple:
    token = await csrf_token(client, "/alerts")
    data = [("csrf_token", token)]
    for key, value in form.items():
        data += value if isinstance(value, list) else [(key, value)]
    response = await client.post(path, data=data, allow_redirects=False)
    return response.status, response.headers.get("Location", ""), await response.text()


@pytest.fixture
def staff(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, role in (("mina", "staff"), ("joon", "staff"), ("ada", "admin")):
        assert add_user(cli, monkeypatch, name, role).code == 0


@pytest.mark.usefixtures("staff")
def test_bulk_dismiss_decides_the_selection_with_one_reason_and_reports_what_it_left(
    engine: Engine,
) -> None:
    ids, _ = _rooms(engine, 4)
    taken_by_joon = ids[3]

    async def joon(client: TestClient) -> None:
        await login(client, "joon")
        assert (await _post(client, f"/alerts/{taken_by_joon}/claim"))[0] == 303

    async def mina(client: TestClient) -> str:
        await login(client, "mina")
        selection = [("alert_id", str(i)) for i in ids]
        refused = await _post(client, "/alerts/bulk", decision="dismiss", selection=selection)
        assert refused[0] == 409 and "needs a reason" in refused[2]
        confirm = await _post(client, "/alerts/bulk", decision="confirm", reason="x",
                              selection=selection)  # fmt: skip
        assert confirm[0] == 409 and "only dismiss and escalate" in confirm[2]
        status, location, _ = await _post(
            client, "/alerts/bulk", decision="dismiss", reason="news coverage",
            kind="keyword", selection=selection,
        )  # fmt: skip
        assert status == 303 and "kind=keyword" in location and "bulk=" in location
        return await (await client.get(location)).text()

    serve(engine, joon)
    page = serve(engine, mina)
    assert "3 alerts dismissed." in page
    assert f"alert {taken_by_joon}</a>: alert {taken_by_joon} is claimed by joon" in page
    statuses = {a["id"]: (a["status"], a["assignee"]) for a in alerts(engine)}
    assert [statuses[i] for i in ids] == [("dismissed", "mina")] * 3 + [("in_review", "joon")]
    [bulk] = _audit(engine, "alert.bulk")
    assert (bulk["actor"], bulk["via"], bulk["details"]["decided"]) == ("mina", "web", ids[:3])
    assert bulk["details"]["reason"] == "news coverage"
    assert list(bulk["details"]["skipped"]) == [str(taken_by_joon)]
    assert len(_audit(engine, "alert.decide")) == 3

    async def joon_looks(client: TestClient) -> str:
        await login(client, "joon")
        return await (await client.get(f"/alerts?bulk={bulk['seq']}")).text()

    # A bulk report is its reviewer's own: another one's number shows nothing.
    assert 'id="bulk-report"' not in serve(engine, joon_looks)


@pytest.mark.usefixtures("staff")
def test_next_takes_the_first_unclaimed_alert_and_skip_gives_it_back(engine: Engine) -> None:
    ids, _ = _rooms(engine, 3)
    order = [a["id"] for a in alerts(engine) if a["id"] in ids]  # the queue's own order

    async def joon(client: TestClient) -> None:
        await login(client, "joon")
        assert (await _post(client, f"/alerts/{order[0]}/claim"))[0] == 303

    async def mina(client: TestClient) -> list[str]:
        await login(client, "mina")
        locations = []
        for form in ({}, {"skip": str(order[1])}, {"skip": str(order[2])}):
            status, location, _ = await _post(client, "/alerts/next", rule="rooms", **form)
            assert status == 303
            locations.append(location)
        return locations

    serve(engine, joon)
    first, after_skip, wrapped = serve(engine, mina)
    # joon holds the first: mina gets the second, skips it to the third, skips that back to
    # the second (the only other one nobody else holds).
    assert first == f"/alerts/{order[1]}"
    assert after_skip == f"/alerts/{order[2]}"
    assert wrapped == f"/alerts/{order[1]}"
    holders = {a["id"]: (a["status"], a["assignee"]) for a in alerts(engine)}
    assert holders[order[0]] == ("in_review", "joon")
    assert holders[order[1]] == ("in_review", "mina")
    assert holders[order[2]] == ("new", None)
    releases = [(r["actor"], r["subject"]) for r in _audit(engine, "alert.release")]
    assert releases == [("mina", f"alert {order[1]}"), ("mina", f"alert {order[2]}")]

    async def nothing_left(client: TestClient) -> tuple:
        await login(client, "joon")
        return await _post(client, "/alerts/next", kind="hash_match")

    status, location, _ = serve(engine, nothing_left)
    assert status == 303 and "empty=1" in location and "kind=hash_match" in location


@pytest.mark.usefixtures("staff")
def test_an_admin_releases_and_reassigns_a_claim_that_staff_cannot_touch(engine: Engine) -> None:
    [alert_id], _ = _rooms(engine, 1)

    async def scenario(client: TestClient, name: str, path: str, **form: str) -> tuple:
        await login(client, name)
        return await _post(client, path, **form)

    assert serve(engine, lambda c: scenario(c, "joon", f"/alerts/{alert_id}/claim"))[0] == 303
    refused = serve(engine, lambda c: scenario(c, "mina", f"/alerts/{alert_id}/release"))
    assert refused[0] == 409 and "claimed by joon" in refused[2]
    released = serve(engine, lambda c: scenario(c, "ada", f"/alerts/{alert_id}/release"))
    assert released[0] == 303 and alerts(engine, alert_id=alert_id)[0]["status"] == "new"
    unknown = serve(
        engine, lambda c: scenario(c, "ada", f"/alerts/{alert_id}/assign", assignee="nobody")
    )
    assert unknown[0] == 409 and "nobody is not an enabled staff or admin user" in unknown[2]
    assigned = serve(
        engine, lambda c: scenario(c, "ada", f"/alerts/{alert_id}/assign", assignee="mina")
    )
    assert assigned[0] == 303
    [alert] = alerts(engine, alert_id=alert_id)
    assert (alert["status"], alert["assignee"]) == ("in_review", "mina")
    [assign] = _audit(engine, "alert.assign")
    assert (assign["actor"], assign["details"]["to"]) == ("ada", "mina")
    [release] = _audit(engine, "alert.release")
    assert (release["actor"], release["details"]["holder"]) == ("ada", "joon")


@pytest.mark.usefixtures("staff")
def test_staff_add_a_false_positive_to_an_existing_negative_bank_only(engine: Engine) -> None:
    load_bank(engine, f"pdq,{PDQ},case-7\n")
    pipeline = Pipeline(engine)
    media = replace(photo("01" * 32), pdq=PDQ, pdq_quality=90)
    pipeline.ingest([post(1, media=(media,)), post(2, media=(replace(media, sha256="02" * 32),))])
    first, second = sorted(a["id"] for a in alerts(engine))
    form = {"decision": "dismiss", "reason": "stock photo", "negative_bank": "benign"}

    async def decide(client: TestClient, name: str, alert_id: int) -> tuple:
        await login(client, name)
        return await _post(client, f"/alerts/{alert_id}/decide", **form)

    refused = serve(engine, lambda c: decide(c, "mina", first))
    assert refused[0] == 409 and "an admin creates banks" in refused[2]
    assert serve(engine, lambda c: decide(c, "ada", first))[0] == 303
    assert serve(engine, lambda c: decide(c, "mina", second))[0] == 303
    added = [(r["actor"], r["details"]["bank"]) for r in _audit(engine, "alert.negative_bank")]
    assert added == [("ada", "benign"), ("mina", "benign")]


@pytest.mark.usefixtures("staff")
def test_source_links_stay_hidden_until_revealed_and_each_reveal_is_logged(
    engine: Engine,
) -> None:
    [alert_id], _ = _rooms(engine, 1)

    async def scenario(client: TestClient) -> tuple[str, str]:
        await login(client, "mina")
        before = await (await client.get(f"/alerts/{alert_id}")).text()
        for _ in range(2):  # a second reveal the same day is not a second row
            status, location, _ = await _post(client, f"/alerts/{alert_id}/reveal")
            assert (status, location) == (303, f"/alerts/{alert_id}#source")
        return before, await (await client.get(f"/alerts/{alert_id}")).text()

    before, after = serve(engine, scenario)
    assert "t.me" not in before and "Reveal source links" in before
    assert 'href="https://t.me/example_news/1"' in after
    assert 'href="https://t.me/example_news"' in after and 'rel="noopener noreferrer"' in after
    [reveal] = _audit(engine, "alert.reveal_source")
    who = (reveal["actor"], reveal["via"], reveal["subject"])
    assert who == ("mina", "web", f"alert {alert_id}")


@pytest.mark.usefixtures("staff")
def test_critical_text_is_sent_only_when_chosen_and_counted_once_per_alert_a_day(
    engine: Engine,
) -> None:
    [high], [worst, other] = _rooms(engine, 1, critical=2)

    async def scenario(client: TestClient) -> dict[str, str]:
        await login(client, "mina")
        pages = {"held": await (await client.get(f"/alerts/{worst}")).text()}
        for alert_id in (worst, worst, high):  # twice the same; a high one counts nothing
            assert (await _post(client, f"/alerts/{alert_id}/read"))[0] == 303
        pages["read"] = await (await client.get(f"/alerts/{worst}")).text()
        pages["other"] = await (await client.get(f"/alerts/{other}")).text()
        pages["high"] = await (await client.get(f"/alerts/{high}")).text()
        return pages

    pages = serve(engine, scenario)
    assert "겹지인방 원문" not in pages["held"] and TEXT_HIDDEN in pages["held"]
    assert "critical texts read today: 0" in pages["held"]
    assert "<mark>겹지인방</mark> 원문" in pages["read"]
    assert "critical texts read today: 1" in pages["read"]
    assert "겹지인방 원문" not in pages["other"] and TEXT_HIDDEN in pages["other"]
    assert "<mark>지인능욕</mark>" in pages["high"]  # high is not held back
    reads = [(r["actor"], r["subject"]) for r in _audit(engine, "alert.read_critical")]
    assert reads == [("mina", f"alert {worst}")]


@pytest.mark.usefixtures("staff")
def test_a_reviewer_who_turns_on_show_critical_sees_it_at_once_and_it_still_counts(
    engine: Engine,
) -> None:
    _, [worst] = _rooms(engine, 0, critical=1)

    async def scenario(client: TestClient) -> tuple[str, str]:
        await login(client, "mina")
        assert (await _post(client, "/settings", show_critical="on"))[:2] == (303, "/settings")
        page = await (await client.get(f"/alerts/{worst}")).text()
        await client.get(f"/alerts/{worst}")
        return page, await (await client.get("/settings")).text()

    page, settings = serve(engine, scenario)
    assert "<mark>겹지인방</mark>" in page and "critical texts read today: 1" in page
    assert 'name="show_critical" checked' in settings and "1 today" in settings
    [read] = _audit(engine, "alert.read_critical")
    assert read["details"] == {"asked": False}
    [setting] = _audit(engine, "user.settings")
    assert (setting["actor"], setting["details"]) == ("mina", {"show_critical": True})


@pytest.mark.usefixtures("staff")
def test_logins_failed_logins_and_logouts_are_in_the_audit_log(engine: Engine) -> None:
    async def scenario(client: TestClient) -> None:
        assert (await login(client, "mina", "not the password")).status == 401
        assert (await login(client, "mina")).status == 303
        token = await csrf_token(client, "/alerts")
        await client.post("/logout", data={"csrf_token": token}, allow_redirects=False)

    serve(engine, scenario)
    rows = [(r["action"], r["actor"], r["subject"], r["details"].get("why"))
            for r in _audit(engine, "session.")]  # fmt: skip
    assert rows == [
        ("session.login_failed", "anonymous", "user mina", "wrong name or password"),
        ("session.login", "mina", "user mina", None),
        ("session.logout", "mina", "user mina", None),
    ]
    assert all(re.fullmatch(r"127\.0\.0\.1|::1", r["details"]["address"])
               for r in _audit(engine, "session.log") if "address" in r["details"])  # fmt: skip
