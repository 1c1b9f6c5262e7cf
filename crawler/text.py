"""Text normalization shared by ingest (version keys) and search (queries)."""

from __future__ import annotations

import hashlib
import unicodedata


def nfc(text: str) -> str:
    # Most collected text already is NFC; the check is much cheaper than normalizing.
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def normalized(text: str) -> str:
    """NFC with whitespace runs collapsed: the form whose hash decides whether text changed."""
    return " ".join(nfc(text).split())


def text_sha256(text: str) -> str:
    return hashlib.sha256(normalized(text).encode("utf-8", "surrogatepass")).hexdigest()
