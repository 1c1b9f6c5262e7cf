"""This process as the holder of leases (storage/lease_store.py), and how to tell a holder gone.

A lease held by a process that no longer exists on this host is taken over at once; one held
from another host only when it expires. That is safe because a holder stops using what it
leased as soon as a renewal fails (`Fence`), well before the lease ends.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable

HOST = socket.gethostname()
OWNER = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
"""This process as a lease holder: host, pid and a nonce (a pid is reused, the nonce is not)."""


def task_owner() -> str:
    """A holder within this process, for leases that two tasks of one process must not share
    (a Telegram key used by two concurrent runs is as revoked as one used by two hosts)."""
    return f"{OWNER}/{uuid.uuid4().hex[:8]}"


def holder_gone(owner: str) -> bool:
    """True when `owner` (a process, or a task of one) is on this host and its process no
    longer exists."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != HOST or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        # This pid with another nonce is a previous process whose pid was reused.
        return owner != OWNER and not owner.startswith(OWNER + "/")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class LeaseLostError(RuntimeError):
    """The lease could not be renewed in time: stop using what it guards, now."""


class Fence:
    """Tracks a lease's last successful renewal on this process's monotonic clock.

    `check()` raises once half the lease's time has passed without a renewal: by then the
    holder must assume it may lose the lease to another host, and stops while it still holds
    it (the other half is the margin for clock drift and a slow database).
    """

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self._clock = ttl_s, clock
        self._renewed = clock()

    def renewed(self) -> None:
        self._renewed = self._clock()

    def check(self, what: str) -> None:
        if self._clock() - self._renewed > self.ttl_s / 2:
            raise LeaseLostError(f"{what}: lease not renewed for over half its time; stopping")
