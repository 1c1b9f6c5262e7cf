"""Loaded by spider child processes in tests (through PYTHONPATH): loopback-only sockets.

The test process guards its own sockets (tests/conftest.py); a spider runs in a child
process, so the child gets the same guard, and a spider reaching past loopback fails loudly.
"""

import socket

_original = socket.socket.connect


def _guarded(self: socket.socket, address: object) -> object:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = str(address[0] if isinstance(address, tuple) else address)
        if not (host.startswith("127.") or host in ("::1", "::ffff:127.0.0.1")):
            raise ConnectionRefusedError(f"spider child tried to reach non-loopback {address!r}")
    return _original(self, address)


socket.socket.connect = _guarded  # type: ignore[method-assign]
