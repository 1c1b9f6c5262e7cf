"""`chanwatch web`: serve the review app (crawler/web) until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import ipaddress
import signal
import sys
from typing import Annotated

import typer
from sqlalchemy import Engine

from crawler.cli.context import app_context
from crawler.errors import ConfigError, UserError
from crawler.logging import register_secret
from crawler.secret_refs import resolve_reference
from crawler.settings import Settings


def session_key(settings: Settings) -> bytes:
    """`web.session_key` resolved: 64 hex digits, 32 bytes. Never echoed in an error."""
    reference = settings.web.session_key
    if reference is None:
        raise ConfigError(
            "web.session_key is not set: put 64 random hex digits in a file "
            "(python3 -c 'import secrets; print(secrets.token_hex(32))') and set "
            'session_key = "file:PATH" in [web]'
        )
    text = resolve_reference(reference.get_secret_value(), "web.session_key")
    register_secret(text)
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ConfigError("web.session_key: not 64 hex digits (32 random bytes)")
    return key


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def web_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")] = 8080,
    public: Annotated[
        bool,
        typer.Option(
            "--public",
            help="Allow a non-loopback --host. The app speaks plain HTTP: passwords and session "
            "cookies cross the network in clear unless a TLS proxy terminates in front of it, "
            "and the review queue shows collected abuse material's metadata to whoever reaches "
            "the login page. Put it behind HTTPS first.",
        ),
    ] = False,
) -> None:
    """Serve the review app (alerts queue and decisions, watchlists) on loopback by default."""
    if not public and not is_loopback(host):
        raise UserError(f"--host {host} is not a loopback address: add --public (see --help)")
    root = app_context(ctx)
    settings = root.settings
    key = session_key(settings)
    asyncio.run(_serve(root.engine(), settings, key, host, port))


async def _serve(engine: Engine, settings: Settings, key: bytes, host: str, port: int) -> None:
    # Imported here: the other commands (which all read this module's options) need no web app.
    from aiohttp import web

    from crawler.web import create_app

    app = create_app(
        engine, settings, session_key=key, secure_cookies=not settings.web.insecure_cookies
    )
    # No access log: query strings carry filters typed from collected text, and `next` URLs.
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound = runner.addresses[0][1]
    shown = f"[{host}]" if ":" in host else host
    sys.stderr.write(f"chanwatch web: review app on http://{shown}:{bound}/\n")
    sys.stderr.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
