"""Numbers as the t.me/s preview prints them: rounded counters, durations, timestamps, data-view.

The preview rounds every counter ("12.5K", "1.2M") and pads numbers with whatever space the
locale uses (U+202F, NBSP, thin spaces), so these helpers normalise before they parse.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from crawler.observations import Counter

_SUFFIXES = {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}
# Space-like characters Telegram (or a translating proxy) puts inside numbers.
_SPACE_CHARS = "\\s\u00a0\u2007\u2008\u2009\u200a\u202f\u205f\u3000'_"
_SPACES = re.compile(f"[{_SPACE_CHARS}]+")
# ASCII digits only: int() would also accept other scripts' digits, which t.me never prints.
_COUNTER = re.compile(
    f"^(?P<num>[0-9]+(?:[.,{_SPACE_CHARS}][0-9]+)*)[{_SPACE_CHARS}]*(?P<suffix>[KMB]?)$",
    re.IGNORECASE,
)
_SEPARATORS = re.compile(f"[.,{_SPACE_CHARS}]")
_DURATION = re.compile(r"^(?:([0-9]+):)?([0-9]{1,2}):([0-9]{2})$")

# Bot-API style ids put channels at -(10**12 + id); older markup used a plain negative id.
_CHANNEL_ID_OFFSET = 10**12


def parse_counter(raw: str) -> Counter:
    """Parse a counter as shown on the preview.

    "987" and "1 234" are exact; anything with a K/M/B suffix is rounded by Telegram, so
    `exact` is False and `value` is the shown number times the suffix ("12.5K" -> 12500).
    A comma before a suffix is a decimal comma ("1,5K"); without a suffix commas and dots are
    thousands separators ("1,234"). Raises ValueError when `raw` is not a counter.
    """
    match = _COUNTER.match(_SPACES.sub(" ", raw or "").strip())
    if match is None:
        raise ValueError(f"not a counter: {raw!r}")
    number, suffix = match.group("num"), match.group("suffix").upper()
    if not suffix:
        groups = _SEPARATORS.split(number)
        if any(len(group) != 3 for group in groups[1:]):
            raise ValueError(f"not a counter: {raw!r}")
        return Counter(value=int("".join(groups)), raw=raw, exact=True)
    if len(_SEPARATORS.findall(number)) > 1 or _SPACES.search(number):
        raise ValueError(f"not a counter: {raw!r}")
    try:
        value = Decimal(number.replace(",", ".")) * _SUFFIXES[suffix]
    except InvalidOperation as exc:
        raise ValueError(f"not a counter: {raw!r}") from exc
    return Counter(value=int(value), raw=raw, exact=False)


def counter_or_none(raw: str | None) -> Counter | None:
    """`parse_counter` for markup we do not control: a malformed counter is simply absent."""
    if raw is None:
        return None
    try:
        return parse_counter(raw.strip())
    except ValueError:
        return None


def parse_duration(raw: str | None) -> float | None:
    """ "0:15" -> 15.0, "1:02:03" -> 3723.0; None when the text is not a duration."""
    if not raw:
        return None
    match = _DURATION.match(_SPACES.sub("", raw))
    if match is None:
        return None
    hours, minutes, seconds = (int(part) if part else 0 for part in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


def parse_timestamp(raw: str | None) -> datetime | None:
    """An ISO-8601 `time[datetime]` ("+00:00", "+03:00", "Z") as an aware UTC datetime.

    A timestamp without an offset is taken as UTC: that is what t.me prints when it omits one.
    """
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def channel_id_from_data_view(data_view: str | None) -> str | None:
    """The bare positive channel id (decimal string) from a message's `data-view`, else None.

    `data-view` is base64url JSON, often without padding, like {"c":-1001006503122,"p":"349g"}.
    Telegram writes `c` as a Bot-API id (-100 prefix, i.e. -(10**12 + id)), as a plain negative
    id, or positive; all three name the same channel, and the API collector stores the bare
    positive id, so that is what we return: both collectors must land on the same source.
    """
    if not data_view:
        return None
    text = data_view.strip()
    try:
        decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        payload = json.loads(decoded)
    except (binascii.Error, ValueError, RecursionError):
        return None
    if not isinstance(payload, dict):
        return None
    raw = payload.get("c")
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str) and re.fullmatch(r"-?\d{1,20}", raw.strip()):
        raw = int(raw.strip())
    if not isinstance(raw, int) or raw == 0:
        return None
    bare = -raw - _CHANNEL_ID_OFFSET if raw <= -_CHANNEL_ID_OFFSET else abs(raw)
    return str(bare) if bare > 0 else None
