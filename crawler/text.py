"""Text normalization shared by ingest (version keys) and search (queries)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def normalized(text: str) -> str:
    """NFC with whitespace runs collapsed: the form whose hash decides whether text changed."""
    return _WHITESPACE.sub(" ", nfc(text)).strip()


def text_sha256(text: str) -> str:
    return hashlib.sha256(normalized(text).encode("utf-8", "surrogatepass")).hexdigest()
