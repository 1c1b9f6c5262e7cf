"""The `chanwatch` command. Errors reach the user as one line on stderr and a non-zero exit."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from crawler.cli import (
    alerts_cmd,
    audit_cmd,
    banks_cmd,
    crawl_cmd,
    db_cmd,
    demo_cmd,
    items_cmd,
    rescan_cmd,
    rules_cmd,
    service_cmd,
    telegram_cmd,
    users_cmd,
    watchlist_cmd,
    web_cmd,
    worker_cmd,
)
from crawler.cli.context import AppContext
from crawler.errors import UserError
from crawler.logging import LogLevel, configure, redact_text
from crawler.watchlists import WatchlistFileError
from storage.engine import DatabaseError

app = typer.Typer(
    name="chanwatch",
    help="Watch public Telegram channels and web pages; record metadata and hashes, never media.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(watchlist_cmd.app, name="watchlist")
app.add_typer(db_cmd.app, name="db")
app.add_typer(alerts_cmd.app, name="alerts")
app.add_typer(banks_cmd.app, name="banks")
app.add_typer(rules_cmd.app, name="rules")
app.add_typer(telegram_cmd.app, name="telegram")
app.add_typer(users_cmd.app, name="users")
app.add_typer(audit_cmd.app, name="audit")
app.command("init")(db_cmd.init)
app.command("items")(items_cmd.items)
app.command("crawl")(crawl_cmd.crawl)
app.command("demo")(demo_cmd.demo)
app.command("worker")(worker_cmd.worker)
app.command("run")(service_cmd.run)
app.command("probe")(service_cmd.probe_command)
app.command("rescan")(rescan_cmd.rescan_command)
app.command("web")(web_cmd.web_command)


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        str | None,
        typer.Option("--config", metavar="PATH", help="Settings file (TOML). Default: "
                     "$CHANWATCH_CONFIG, else ./chanwatch.toml when present."),
    ] = None,
    log_level: Annotated[
        LogLevel, typer.Option(case_sensitive=False, help="Least severe level logged.")
    ] = LogLevel.WARNING,
) -> None:  # fmt: skip
    configure(log_level)
    ctx.obj = AppContext(config_path=config)
    ctx.call_on_close(ctx.obj.close)


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"chanwatch: error: {redact_text(message)}\n")
    return code


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code instead of exiting (tests call this)."""
    try:
        result = typer.main.get_command(app).main(
            args=argv, prog_name="chanwatch", standalone_mode=False
        )
    except WatchlistFileError as exc:
        for problem in exc.problems:
            sys.stderr.write(f"chanwatch: error: {redact_text(problem)}\n")
        return exc.exit_code
    except UserError as exc:
        return _fail(str(exc), exc.exit_code)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return _fail("aborted", 130)
    except DatabaseError as exc:
        return _fail(str(exc), 2)
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return _fail(f"database error: {detail}", 1)
    except Exception as exc:
        return _command_line_error(exc)
    return result if isinstance(result, int) else 0


def _command_line_error(exc: Exception) -> int:
    """Usage errors from the command-line parser: they carry `exit_code` and `format_message`
    (click's exception protocol, which Typer keeps while vendoring click privately)."""
    format_message = getattr(exc, "format_message", None)
    exit_code = getattr(exc, "exit_code", None)
    if not callable(format_message) or not isinstance(exit_code, int):
        raise exc
    context = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError" and context is not None:
        sys.stdout.write(context.get_help() + "\n")
        return 0
    return _fail(format_message(), exit_code)


def main() -> None:
    sys.exit(run())
