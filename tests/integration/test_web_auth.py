"""The review app's sign-in: login and logout, throttling, session fixation, CSRF, disabled
users, and the security headers on every route (SQLite and PostgreSQL, a real loopback server)."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import Engine, select

from crawler.settings import Settings, WebSettings
from crawler.web.app import CSP, ROUTES
from storage.models.operations import AuditLog
from tests.integration.cli_runner import PASSWORD, Cli, add_user
from tests.integration.web_support import (
    cookie_value,
    csrf_token,
    login,
    serve,
    session_id_in,
)


def test_login_then_logout(engine: Engine, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    assert add_user(cli, monkeypatch, "mina", "staff").code == 0

    async def scenario(client: TestClient) -> None:
        anonymous = await client.get("/alerts", allow_redirects=False)
        assert anonymous.status == 303
        assert anonymous.headers["Location"] in ("/login?next=%2Falerts", "/login?next=/alerts")
        signed_in = await login(client, "mina", next_url="/watchlists")
        assert signed_in.status == 303 and signed_in.headers["Location"] == "/watchlists"
        page = await client.get("/alerts")
        assert page.status == 200 and "mina (staff)" in await page.text()
        token = await csrf_token(client, "/alerts")
        out = await client.post("/logout", data={"csrf_token": token}, allow_redirects=False)
        assert out.status == 303
        after = await client.get("/alerts", allow_redirects=False)
        assert after.status == 303

    serve(engine, scenario)


def test_next_only_goes_to_this_site(
    engine: Engine, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(cli, monkeypatch, "mina", "staff")

    async def scenario(client: TestClient) -> list[str]:
        places = []
        targets = ("//evil.example/x", "https://evil.example/", "/\\evil.example", "/alerts?x=1")
        for target in targets:
            places.append((await login(client, "mina", next_url=target)).headers["Location"])
        return places

    assert serve(engine, scenario) == ["/alerts", "/alerts", "/alerts", "/alerts?x=1"]


def test_a_wrong_password_or_unknown_user_is_refused_alike(
    engine: Engine, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(cli, monkeypatch, "mina", "staff")

    async def scenario(client: TestClient) -> None:
        for name, password in (("mina", "wrong password here"), ("nobody", "whatever it is")):
            response = await login(client, name, password)
            assert response.status == 401
            assert "Wrong user name or password." in await response.text()
        assert (await client.get("/alerts", allow_redirects=False)).status == 303

    serve(engine, scenario)


def test_failures_throttle_the_account_and_the_address(
    engine: Engine, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(cli, monkeypatch, "mina", "staff")
    add_user(cli, monkeypatch, "jun", "staff")
    settings = Settings(web=WebSettings(login_failures=3))

    async def scenario(client: TestClient) -> list[int]:
        statuses = [(await login(client, "mina", "wrong password!!")).status for _ in range(3)]
        # The right password no longer helps this account, nor another one from this address.
        statuses.append((await login(client, "mina")).status)
        statuses.append((await login(client, "jun")).status)
        return statuses

    assert serve(engine, scenario, settings) == [401, 401, 401, 429, 429]
    # Counted in the database: a second server process (a new app) sees the same count.
    assert serve(engine, lambda client: login(client, "mina"), settings).status == 429


@pytest.mark.parametrize(
    ("trusted", "expected"),
    [(("127.0.0.1",), [401, 401, 429, 303]), ((), [401, 401, 429, 429])],
    ids=["behind-a-trusted-proxy", "no-proxy-trusted"],
)
def test_behind_a_trusted_proxy_the_throttle_counts_each_client_not_the_proxy(
    engine: Engine, cli: Cli, monkeypatch: pytest.MonkeyPatch, trusted: tuple[str, ...],
    expected: list[int],
) -> None:  # fmt: skip
    add_user(cli, monkeypatch, "mina", "staff")
    add_user(cli, monkeypatch, "jun", "staff")
    settings = Settings(web=WebSettings(login_failures=2, trusted_proxies=trusted))

    async def attempt(client: TestClient, name: str, password: str, client_ip: str) -> int:
        token = await csrf_token(client)
        form = {"username": name, "password": password, "csrf_token": token}
        response = await client.post("/login", data=form, allow_redirects=False,
                                     headers={"X-Forwarded-For": client_ip})  # fmt: skip
        return response.status

    async def scenario(client: TestClient) -> list[int]:
        # A guesser at 198.51.100.7 fails twice on jun, then is refused even with a password.
        statuses = [await attempt(client, "jun", "wrong password!!", "198.51.100.7")
                    for _ in range(2)]  # fmt: skip
        statuses.append(await attempt(client, "mina", PASSWORD, "198.51.100.7"))
        # Another reviewer, elsewhere, through the same proxy.
        statuses.append(await attempt(client, "mina", PASSWORD, "203.0.113.20"))
        return statuses

    assert serve(engine, scenario, settings) == expected
    with engine.connect() as conn:
        addresses = {row.details["address"] for row in conn.execute(
            select(AuditLog.__table__).where(AuditLog.action.like("session.%"))
        )}  # fmt: skip
    assert addresses == ({"198.51.100.7", "203.0.113.20"} if trusted else {"127.0.0.1"})


def test_login_issues_a_new_session_id(
    engine: Engine, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(cli, monkeypatch, "mina", "staff")

    async def scenario(client: TestClient) -> None:
        await client.get("/login")
        before = cookie_value(client)
        assert before is not None
        await login(client, "mina")
        after = cookie_value(client)
        assert after is not None
        assert session_id_in(before) != session_id_in(after)
        # Whoever planted the pre-login cookie holds no signed-in session.
        jar = client.session.cookie_jar
        jar.clear()
        jar.update_cookies({"chanwatch_session": before}, response_url=client.make_url("/"))
        assert cookie_value(client) == before
        assert (await client.get("/alerts", allow_redirects=False)).status == 303

    serve(engine, scenario)


def test_state_changes_need_the_csrf_token(
    engine: Engine, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(cli, monkeypatch, "mina", "staff")

    async def scenario(client: TestClient) -> None:
        await client.get("/login")
        refused = await client.post("/login", data={"username": "mina", "password": "x" * 20})
        assert refused.status == 403
        assert (await login(client, "mina")).status == 303
        token = await csrf_token(client, "/alerts")
        assert (await client.post("/logout", allow_redirects=False)).status == 403
        forged = await client.post("/logout", data={"csrf_token": "0" * 64})
        assert forged.status == 403
        # htmx sends the token as a header instead of a form field.
        via_header = await client.post(
            "/logout", headers={"X-CSRF-Token": token}, allow_redirects=False
        )
        assert via_header.status == 303

    serve(engine, scenario)


def test_a_disabled_user_is_out_at_the_next_request(
    engine: Engine, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(cli, monkeypatch, "mina", "staff")

    async def scenario(client: TestClient) -> None:
        await login(client, "mina")
        assert (await client.get("/alerts")).status == 200
        assert cli("users", "disable", "mina").code == 0
        assert (await client.get("/alerts", allow_redirects=False)).status == 303
        assert (await login(client, "mina")).status == 401

    serve(engine, scenario)


def test_every_response_carries_the_security_headers(
    engine: Engine, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(cli, monkeypatch, "mina", "admin")
    paths = sorted({r.path.replace(r"{id:\d+}", "1") for r in ROUTES} | {"/static/app.css"})

    async def scenario(client: TestClient) -> None:
        for signed_in in (False, True):
            if signed_in:
                await login(client, "mina")
            for path in [*paths, "/nowhere"]:
                for method in ("GET", "POST"):
                    response = await client.request(method, path, allow_redirects=False)
                    headers = response.headers
                    assert headers["Content-Security-Policy"] == CSP, (method, path)
                    assert headers["X-Content-Type-Options"] == "nosniff"
                    assert headers["Referrer-Policy"] == "no-referrer"
                    body = await response.text()
                    assert "<script>" not in body and " style=" not in body

    serve(engine, scenario)


def test_the_command_refuses_a_public_host_and_a_missing_key(cli: Cli) -> None:
    public = cli("web", "--host", "0.0.0.0")
    assert public.code != 0 and "not a loopback address: add --public" in public.err
    keyless = cli("web", "--port", "0")
    assert keyless.code != 0 and "web.session_key is not set" in keyless.err
