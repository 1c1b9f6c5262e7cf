"""Reading input files for CLI commands, with one-line errors."""

from __future__ import annotations

from pathlib import Path

from crawler.errors import UserError


def read_text_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
