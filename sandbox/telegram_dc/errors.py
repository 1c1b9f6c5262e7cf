"""RPC errors the fake data centre answers instead of a result, when a test schedules them."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Error codes Telegram uses for the errors tests schedule (unknown names default to 400).
ERROR_CODES = {
    "FLOOD_WAIT": 420,
    "FLOOD_PREMIUM_WAIT": 420,
    "SLOWMODE_WAIT": 420,
    "AUTH_KEY_UNREGISTERED": 401,
    "SESSION_REVOKED": 401,
    "USER_DEACTIVATED_BAN": 401,
    "RPC_CALL_FAIL": 500,
    "INTERNAL": 500,
}


@dataclass
class ErrorRule:
    """Answer ``error`` instead of the real result for some calls of ``method``.

    Calls are counted among those matching ``method`` and, when given, ``channel_id`` or
    ``username``; calls number ``nth`` .. ``nth + times - 1`` fail.
    """

    method: str
    error: str
    nth: int = 1
    times: int = 1
    channel_id: int | None = None
    username: str | None = None
    error_code: int | None = None
    seen: int = 0

    @property
    def code(self) -> int:
        if self.error_code is not None:
            return self.error_code
        return ERROR_CODES.get(re.sub(r"_\d+$", "", self.error), 400)
