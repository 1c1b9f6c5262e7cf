"""Secret references: a setting that names where a secret is instead of holding it.

`env:VAR` is an environment variable, `file:PATH` a file (`~` expanded); anything else is the
secret itself, where a setting allows that (sessions and the doxx key do, the audit signing key
does not). Read only when the secret is used, never at load, so a command that does not need a
secret does not need it set. Which variable names a reference may use is the settings' rule
(crawler/settings.py: not the `CHANWATCH_*` namespace, except `CHANWATCH_SECRET_*`).
"""

from __future__ import annotations

import os
from pathlib import Path

from crawler.errors import ConfigError


def resolve_reference(reference: str, what: str) -> str:
    """The secret `reference` names, stripped: a variable's value, a file's text, or the
    reference itself when it is neither. A ConfigError names `what` and where it looked,
    never a value."""
    raw = reference.strip()
    if raw.startswith("env:"):
        var = raw[4:]
        value = os.environ.get(var, "").strip()
        if not value:
            raise ConfigError(f"{what}: environment variable {var} is not set")
        return value
    if raw.startswith("file:"):
        path = Path(raw[5:]).expanduser()
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{what}: cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{what}: cannot read {path}: not UTF-8 text") from None
    return raw
