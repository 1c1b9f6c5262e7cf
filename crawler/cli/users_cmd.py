"""`chanwatch users …`: who may use the review app, and in which role (crawler.access).

Run by the operator (the OS account with the database's credentials), so no `--as`: every
change is audited with that OS account as its actor.
"""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from crawler import access, audit
from crawler.access import Role
from crawler.cli.context import app_context
from crawler.cli.output import print_json, print_table, utc_time
from crawler.errors import UserError
from storage import user_store

app = typer.Typer(help="Add, list, enable, disable users; set passwords and roles.",
                  no_args_is_help=True)  # fmt: skip


class RoleChoice(StrEnum):
    admin = Role.ADMIN.value
    staff = Role.STAFF.value
    investigator = Role.INVESTIGATOR.value


class ListFormat(StrEnum):
    table = "table"
    json = "json"


def _checked_name(name: str) -> str:
    if not name or name != name.strip() or len(name) > audit.MAX_NAME or not name.isprintable():
        raise UserError(
            f"a user name is 1-{audit.MAX_NAME} printable characters without outer spaces"
        )
    return name


def _read_password() -> str:
    """Twice without echo on a terminal; otherwise exactly one line of stdin, its newline
    dropped (so `printf '%s\\n' "$PW" | chanwatch users add …` works and nothing else is read)."""
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise UserError("the passwords differ")
        return first
    line = sys.stdin.readline(access.MAX_PASSWORD + 3)
    return line.removesuffix("\n").removesuffix("\r")


def _new_hash() -> str:
    return access.hash_password(_read_password())


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    role: Annotated[RoleChoice, typer.Option("--role")],
) -> None:
    """Add an enabled user; the password is read as `users passwd` reads it."""
    name = _checked_name(name)
    password_hash = _new_hash()
    now = datetime.now(UTC)
    with app_context(ctx).engine().begin() as conn:
        try:
            user_store.add_user(conn, name, role.value, password_hash, now)
        except user_store.UserExists:
            raise UserError(f"user {name!r} exists") from None
        audit.record(conn, audit.Action.USER_ADD, f"user {name}", {"role": role.value})
    typer.echo(f"added {role.value} {name}")


@app.command("list")
def list_users(
    ctx: typer.Context,
    output: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """Users with their roles (never their password hashes)."""
    with app_context(ctx).engine().connect() as conn:
        users = user_store.list_users(conn)
    records = [
        {"name": u["name"], "role": u["role"], "enabled": bool(u["enabled"]),
         "created_at": u["created_at"].isoformat(), "updated_at": u["updated_at"].isoformat()}
        for u in users
    ]  # fmt: skip
    if output is ListFormat.json:
        print_json(records)
        return
    print_table(
        ["user", "role", "enabled", "created (UTC)", "changed (UTC)"],
        [[r["name"], r["role"], r["enabled"], utc_time(r["created_at"]),
          utc_time(r["updated_at"])] for r in records],
    )  # fmt: skip


def _change(ctx: typer.Context, name: str, values: dict[str, Any], action: audit.Action) -> None:
    with app_context(ctx).engine().begin() as conn:
        before = user_store.get_user(conn, name)
        if before is None or not user_store.update_user(conn, name, values, datetime.now(UTC)):
            raise UserError(f"no user {name!r}")
        # From and to, so the log alone tells a promotion from a demotion; never a hash.
        changes = {key: {"from": before[key], "to": value}
                   for key, value in values.items() if key != "password_hash"}  # fmt: skip
        audit.record(conn, action, f"user {name}", changes)


@app.command("disable")
def disable(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """Refuse the user from now on (kept, with their history)."""
    _change(ctx, name, {"enabled": False}, audit.Action.USER_DISABLE)
    typer.echo(f"disabled {name}")


@app.command("enable")
def enable(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """Admit a disabled user again."""
    _change(ctx, name, {"enabled": True}, audit.Action.USER_ENABLE)
    typer.echo(f"enabled {name}")


@app.command("passwd")
def passwd(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """Set a new password: prompted twice on a terminal, else one line of stdin (at least
    12 characters)."""
    _change(ctx, name, {"password_hash": _new_hash()}, audit.Action.USER_PASSWD)
    typer.echo(f"password of {name} changed")


@app.command("role")
def role(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    new_role: Annotated[RoleChoice, typer.Argument(metavar="ROLE")],
) -> None:
    """Give the user another role: admin, staff or investigator."""
    _change(ctx, name, {"role": new_role.value}, audit.Action.USER_ROLE)
    typer.echo(f"{name} is now {new_role.value}")
