"""A fake Telegram data center on 127.0.0.1 that the unmodified Telethon client talks to.

A collector test fills a World, serves it, and points a client at it::

    from sandbox.telegram_dc import FakeDC, World
    from tests.dc_fixtures import no_real_telegram  # noqa: F401  (a fixture)

    world = World()
    channel = world.add_channel("newsroom", "Newsroom", verified=True)
    world.add_message(channel, 1, "hello", views=10)
    world.add_photo(channel, 2, jpeg_bytes)
    world.schedule_error("messages.getHistory", "FLOOD_WAIT_60", nth=3, channel=channel)

    async with FakeDC(world) as dc:          # or: with FakeDC.start_in_thread(world) as dc:
        session = dc.string_session()        # StringSession text, pre-shared key, signed in
        ...                                  # run the collector with it
    assert all(not c.request.increment for c in dc.calls("messages.getMessagesViews"))

``dc.new_session()`` gives a key-less session instead (the client runs the key exchange, then
``world.me.phone`` / ``world.me.code`` sign in). See tests/integration/test_fake_dc.py.
"""

from .errors import ErrorRule
from .guards import RealNetworkAccessError, no_real_telegram, reset_config_cache
from .journal import Call
from .server import FakeDC, FakeDCError, ThreadedFakeDC
from .world import Account, Channel, World

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
