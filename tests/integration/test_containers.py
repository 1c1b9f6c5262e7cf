"""No Docker engine runs here, so check what can be checked: the files parse, every command
they name exists in the CLI, and every path the image copies is in the repository."""

from __future__ import annotations

import re
from pathlib import Path

import typer
import yaml

from crawler.cli.main import app

ROOT = Path(__file__).resolve().parents[2]


def _cli_has(command: list[str]) -> bool:
    node = typer.main.get_command(app)
    for word in command:
        if word.startswith("-"):
            continue
        commands = getattr(node, "commands", None)
        if not commands or word not in commands:
            return False
        node = commands[word]
    return not getattr(node, "commands", None)


def test_compose_services_are_wired_in_order_with_a_healthy_utf8_postgres() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    postgres = services["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "lc-ctype=C.UTF-8" in postgres["environment"]["POSTGRES_INITDB_ARGS"]
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in postgres["volumes"])
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["command"] == ["db", "upgrade"]
    crawler = services["crawler"]
    assert crawler["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    url = crawler["environment"]["CHANWATCH_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://") and "@postgres:5432/" in url


def test_every_command_compose_names_exists_in_the_cli() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    commands = [s["command"] for s in compose["services"].values() if "command" in s]
    assert commands
    for command in commands:
        assert _cli_has(command), command


def test_dockerfile_copies_existing_paths_and_runs_chanwatch() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    sources = [
        src
        for line in dockerfile.splitlines()
        if line.startswith("COPY") and "--from=" not in line
        for src in line.split()[1:-1]
    ]
    assert sources
    assert all((ROOT / src).exists() for src in sources), sources
    assert re.search(r'ENTRYPOINT \["chanwatch"\]', dockerfile)
    assert "build-essential" in dockerfile  # pdqhash compiles C++ at install time
