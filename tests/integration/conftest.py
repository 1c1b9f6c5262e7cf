"""Fixtures for integration tests: the fake Telegram DC (tests/telegram_dc) and the CLI runner."""

from tests.integration.cli_runner import cli
from tests.telegram_dc.fixtures import no_real_telegram, telegram_world, threaded_dc

__all__ = ["cli", "no_real_telegram", "telegram_world", "threaded_dc"]
