"""`chanwatch demo`: the pipeline end to end against the sandbox world, offline.

The work is in sandbox/demo.py; this is its command-line front end.
"""

from __future__ import annotations

from typing import Annotated

import typer


def demo(
    once: Annotated[
        bool, typer.Option("--once", help="Run the passes, print the summary, exit.")
    ] = False,
    database: Annotated[
        str | None,
        typer.Option("--database", metavar="URL",
                     help="Default: sqlite:///chanwatch-demo.db. Must be empty or a demo's."),
    ] = None,
    every: Annotated[
        float, typer.Option(min=1, max=3600, help="Seconds between passes without --once.")
    ] = 30,
    web_port: Annotated[
        int, typer.Option(min=0, max=65535, help="The review app's port without --once "
                          "(127.0.0.1; 0: any free one).")
    ] = 8080,
) -> None:  # fmt: skip
    """Crawl a synthetic world of fictional rooms on 127.0.0.1 and raise every alert kind.

    Writes ./chanwatch-demo.db and ./chanwatch-demo.toml, never your own database or settings.
    Without --once it also serves the review app on 127.0.0.1 with a demo login it prints.
    Exit 0 when every alert kind was raised, 1 otherwise, 2 when it refuses a database.
    """
    # The sandbox (fake DC, fixture site, Telethon) loads only for the demo.
    from sandbox.demo import run_demo

    code = run_demo(database, once=once, every_s=every, say=typer.echo, web_port=web_port)
    if code:
        raise typer.Exit(code)
