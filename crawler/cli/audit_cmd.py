"""`chanwatch audit …`: sign checkpoints of the audit chain and verify it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crawler.audit import checkpoints
from crawler.cli.context import app_context
from storage import audit_store

app = typer.Typer(help="Make the signing key, sign checkpoints, verify the audit chain.",
                  no_args_is_help=True)  # fmt: skip


@app.command("keygen")
def keygen(path: Annotated[Path, typer.Argument(help="New file for the private key.")]) -> None:
    """Write a new Ed25519 private key (mode 0600, never overwriting) and print its public key.

    Point audit.signing_key at it ("file:PATH"); keep the public key where auditors can see it.
    """
    public = checkpoints.keygen(path)
    typer.echo(f"public key {checkpoints.public_hex(public)} (id {checkpoints.key_id(public)})")


@app.command("checkpoint")
def checkpoint(ctx: typer.Context) -> None:
    """Sign the chain's length and head with audit.signing_key and store the checkpoint.

    The line printed is worth keeping outside the database too."""
    root = app_context(ctx)
    key = checkpoints.load_signing_key(root.settings.audit.signing_key)
    with root.engine().begin() as conn:
        record = checkpoints.checkpoint(conn, key)
    typer.echo(
        f"checkpoint {record['id']}: length {record['length']} head {record['head_hash']} "
        f"at {audit_store.iso_utc(record['at'])} key {record['key_id']} "
        f"signature {record['signature']}"
    )


@app.command("verify")
def verify(
    ctx: typer.Context,
    public_key: Annotated[
        list[str] | None,
        typer.Option("--public-key", metavar="HEX",
                     help="Trust checkpoints signed by this key (repeatable); default: the "
                          "public half of audit.signing_key."),
    ] = None,
) -> None:  # fmt: skip
    """Walk the chain and every checkpoint: exit 0 when intact, 1 naming the first broken row
    and the first broken checkpoint."""
    root = app_context(ctx)
    trusted = checkpoints.trusted_keys(root.settings.audit.signing_key, public_key or [])
    with root.engine().connect() as conn:
        report = checkpoints.verify(conn, trusted)
    if not report.intact:
        for problem in report.problems:
            typer.echo(f"broken: {problem}")
        raise typer.Exit(1)
    typer.echo(f"intact: {report.rows} rows, {report.checkpoints} checkpoint(s)")
