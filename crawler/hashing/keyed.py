"""Keyed hashes of doxxed values: phone numbers and places, normalized, then HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac
import math
import re

_NON_DIGITS = re.compile(r"\D")


def normalize_phone(raw: str) -> str | None:
    """A phone number as `tel:` + its digits with the country code, or None if it is not one.

    Telegram sends contacts' numbers as digits with the country code ("821012345678"); people
    type "+82 10-1234-5678" or "0082…". A number written without its country code stays as
    written: guessing a country would make two rooms' copies of it disagree.
    """
    digits = _NON_DIGITS.sub("", raw)
    if digits.startswith("00"):
        digits = digits[2:]
    return f"tel:{digits}" if 7 <= len(digits) <= 15 else None  # E.164 allows at most 15


def normalize_place(lat: float, long: float) -> str | None:
    """A place as a `geo:` URI rounded to 3 decimals (~100 m), or None if it is not one.

    The rounding makes a pin dropped on the same house by two people (or twice) one value; a
    place near a rounding boundary can still fall on either side.
    """
    if not (math.isfinite(lat) and math.isfinite(long) and -90 <= lat <= 90):
        return None
    if not -180 <= long <= 180:
        return None
    lat_r, long_r = round(lat, 3) + 0.0, round(long, 3) + 0.0  # + 0.0: no "-0.000"
    if long_r == 180.0:
        long_r = -180.0  # the same meridian
    return f"geo:{lat_r:.3f},{long_r:.3f}"


def keyed_value_hash(key: bytes, value: str) -> str:
    """HMAC-SHA256 of a normalized value: matchable across rooms, and, unlike a plain SHA-256
    of a phone number (a few billion guesses), not reversible without the key."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
