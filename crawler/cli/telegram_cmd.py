"""`chanwatch telegram login` and `chanwatch telegram accounts`: the collection accounts.

Telethon is imported by the commands that use it, not with this module: every `chanwatch`
command reads this module's options, and Telethon takes a fifth of a second to import.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import typer
from sqlalchemy import Engine

from crawler.cli.context import app_context
from crawler.cli.output import print_table
from crawler.errors import UserError
from crawler.settings import TelegramAccount, TelegramSettings
from storage import telegram_store as store

app = typer.Typer(help="Telegram collection accounts.", no_args_is_help=True)


def _api(telegram: TelegramSettings) -> tuple[int, str]:
    if telegram.api_id is None or telegram.api_hash is None:
        raise UserError("set telegram.api_id and telegram.api_hash first (https://my.telegram.org)")
    return telegram.api_id, telegram.api_hash.get_secret_value()


@app.command("login")
def login(ctx: typer.Context) -> None:
    """Sign a dedicated account in and print its session string once (store it as a secret)."""
    api_id, api_hash = _api(app_context(ctx).settings.telegram)
    # Prompts go to stderr: stdout carries only the session, so it can be piped to a secret.
    phone = typer.prompt("Phone number of the collection account (international format)", err=True)
    session = asyncio.run(_login(api_id, api_hash, phone))
    typer.echo(
        "Signed in. This is the account's session: it is shown once and is as good as the "
        "account's password. Put it in a secret store and reference it from telegram.accounts "
        '(session = "env:VAR" or "file:PATH").',
        err=True,
    )
    typer.echo(session)


async def _login(api_id: int, api_hash: str, phone: str) -> str:
    from telethon import TelegramClient, errors
    from telethon.sessions import StringSession

    client = TelegramClient(StringSession(), api_id, api_hash, receive_updates=False)
    await client.connect()
    try:
        await client.send_code_request(phone)
        code = typer.prompt("Login code Telegram sent to the account", err=True)
        try:
            await client.sign_in(phone, code)
        except errors.SessionPasswordNeededError:
            password = typer.prompt("Two-step verification password", hide_input=True, err=True)
            await client.sign_in(password=password)
        except (errors.PhoneCodeInvalidError, errors.PhoneCodeExpiredError) as exc:
            raise UserError(f"the login code was not accepted ({type(exc).__name__})") from None
        return str(client.session.save())
    finally:
        await client.disconnect()


@app.command("accounts")
def list_accounts(
    ctx: typer.Context,
    check: bool = typer.Option(
        True, "--check/--no-check", help="Connect each free account to see if it is authorized."
    ),
) -> None:
    """Each configured account's state: ok, flood-waiting until T, unauthorized, in use."""
    root = app_context(ctx)
    telegram = root.settings.telegram
    engine = root.engine()
    rows = []
    for configured in telegram.accounts:
        state = asyncio.run(_state(engine, telegram, configured, check))
        with engine.connect() as conn:
            account = {a.name: a for a in store.list_accounts(conn)}.get(configured.name)
        key = account.auth_key_id if account else None
        rows.append([configured.name, state, f"…{key[-6:]}" if key else "", _last(account)])
    print_table(["account", "state", "auth key", "last error"], rows)


def _last(account: store.AccountRow | None) -> str:
    return (account.last_error or "") if account else ""


async def _state(
    engine: Engine, telegram: TelegramSettings, configured: TelegramAccount, check: bool
) -> str:
    """The account's state; connecting only under its lease, as a collector would."""
    from telethon import errors

    from crawler.telegram import accounts
    from crawler.telegram.client import TelegramAPI

    now = datetime.now(UTC)
    single = telegram.model_copy(update={"accounts": (configured,)})
    picked = accounts.acquire(engine, single, now)
    if isinstance(picked, accounts.NoneFree):
        if "flood-waiting" in picked.reason:
            return "flood-waiting until " + picked.reason.rsplit(" until ", 1)[1]
        if "not authorized" in picked.reason:
            return "unauthorized"
        return "in use by another process"
    try:
        if not check:
            return picked.account.status or "unknown"
        api_id, api_hash = _api(telegram)
        try:
            async with TelegramAPI(
                picked.session, api_id, api_hash, flood_sleep_threshold=0
            ) as api:
                authorized = await api.is_authorized()
        except (errors.AuthKeyError, errors.UnauthorizedError, errors.AuthKeyNotFound):
            authorized = False
        status = "ok" if authorized else "unauthorized"
        accounts.mark(engine, picked, status, None if authorized else "session not signed in")
        return status
    finally:
        accounts.release(engine, picked)
