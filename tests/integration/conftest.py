"""Fixtures for integration tests against the fake Telegram DC (tests/telegram_dc)."""

from tests.telegram_dc.fixtures import no_real_telegram, telegram_world, threaded_dc

__all__ = ["no_real_telegram", "telegram_world", "threaded_dc"]
