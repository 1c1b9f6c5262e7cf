"""Every `chanwatch` command loads the whole command line first (Typer reads every command's
options), so the libraries only some commands use must wait until those commands run: together
they doubled the start of every other command (1.06 s instead of 0.65 s here)."""

from __future__ import annotations

import json
import subprocess
import sys

ONE_COMMAND_EACH = ("telethon", "aiohttp", "procrastinate", "scrapy", "jinja2", "apprise")


def test_loading_the_command_line_imports_no_library_of_a_single_command() -> None:
    probe = (
        "import json, sys\n"
        "import crawler.cli.main\n"
        f"print(json.dumps([m for m in {ONE_COMMAND_EACH!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )

    assert json.loads(done.stdout) == []
