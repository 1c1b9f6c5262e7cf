"""`chanwatch init` and `chanwatch db …`: settings file and schema."""

from __future__ import annotations

import shutil
from pathlib import Path

import typer
from sqlalchemy import Engine

from crawler.cli.context import app_context
from crawler.errors import UserError
from crawler.settings_loading import DEFAULT_CONFIG_FILE
from storage.migrate import current_revision, upgrade, upgrade_job_queue
from storage.search import catch_up

app = typer.Typer(help="Database schema and search index.", no_args_is_help=True)

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "chanwatch.example.toml"


@app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Migrate the database to the current schema (on PostgreSQL, the workers' job queue too)."""
    engine = app_context(ctx).engine(migrated=False)
    upgrade(engine)
    typer.echo(f"database at revision {current_revision(engine)}")
    _job_queue(engine)


def _job_queue(engine: Engine) -> None:
    # Installed once and then left alone: a second upgrade finds its tables and does nothing.
    if upgrade_job_queue(engine):
        typer.echo("job queue installed for `chanwatch worker`")


@app.command("index")
def db_index(ctx: typer.Context) -> None:
    """Bring the search index up to date (SQLite; PostgreSQL indexes as it writes)."""
    indexed = catch_up(app_context(ctx).engine())
    typer.echo(f"indexed {indexed} items")


def init(ctx: typer.Context) -> None:
    """Write ./chanwatch.toml from the example when absent, then migrate the database."""
    root = app_context(ctx)
    target = Path(DEFAULT_CONFIG_FILE)
    if root.config_path is None and not target.exists():
        if not EXAMPLE_CONFIG.is_file():
            raise UserError(f"example settings not found at {EXAMPLE_CONFIG}")
        shutil.copyfile(EXAMPLE_CONFIG, target)
        typer.echo(f"wrote {target} (edit it: every key is documented there)")
        root.__dict__.pop("settings", None)
    engine = root.engine(migrated=False)
    upgrade(engine)
    typer.echo(f"database ready at revision {current_revision(engine)}")
    _job_queue(engine)
