"""A fake Telegram data center on 127.0.0.1 for integration tests (see server.py)."""

from .guards import RealNetworkAccessError, no_real_telegram, reset_config_cache
from .journal import Call
from .server import FakeDC, FakeDCError, ThreadedFakeDC
from .world import Account, Channel, ErrorRule, World

__all__ = [
    "Account",
    "Call",
    "Channel",
    "ErrorRule",
    "FakeDC",
    "FakeDCError",
    "RealNetworkAccessError",
    "ThreadedFakeDC",
    "World",
    "no_real_telegram",
    "reset_config_cache",
]
