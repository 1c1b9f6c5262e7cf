"""Pytest fixtures for tests that talk to the fake DC.

tests/integration/conftest.py re-exports them; another test directory can do the same in its
own conftest.py (importing fixtures into a test module makes ruff report redefinitions).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.telegram_dc.guards import no_real_telegram as _guard
from sandbox.telegram_dc.server import FakeDC
from sandbox.telegram_dc.world import World


@pytest.fixture
def no_real_telegram() -> Iterator[list[Any]]:
    """No connection may leave loopback, and Telethon's cached DC config starts empty."""
    with _guard() as refused:
        yield refused
    assert refused == [], f"tried to reach the network: {refused}"


@pytest.fixture
def telegram_world() -> World:
    return World()


@pytest.fixture
def threaded_dc(telegram_world: World, no_real_telegram: list[Any]) -> Iterator[FakeDC]:
    """A FakeDC serving ``telegram_world`` from its own thread, for collectors that run their
    own event loop or a subprocess."""
    with FakeDC.start_in_thread(telegram_world) as dc:
        yield dc
