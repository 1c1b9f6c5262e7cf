"""Fixtures for integration tests: the fake Telegram DC (sandbox/telegram_dc) and the CLI runner."""

from tests.dc_fixtures import no_real_telegram, telegram_world, threaded_dc
from tests.integration.cli_runner import cli

__all__ = ["cli", "no_real_telegram", "telegram_world", "threaded_dc"]
