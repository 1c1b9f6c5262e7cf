"""Structured logs: JSON lines off a terminal, readable on one, secrets redacted everywhere.

Redaction is a processor like any other, so it sees every event from every module: values of
secret-named keys are masked, and any registered secret (an API hash, a session string) is cut
out of every string it appears in, wherever it was interpolated.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

import structlog

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(r"api_hash|session|password|passwd|secret|token|auth_key|cookie", re.I)
# Telethon StringSession values: a version digit then long base64url.
_STRING_SESSION = re.compile(r"\b1[A-Za-z0-9_\-+/]{200,}={0,2}")
_secrets: set[str] = set()


class LogLevel(StrEnum):
    """The levels the CLI offers: a closed set, so a typo is a usage error, not a traceback."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


def register_secret(value: str | None) -> None:
    """Make `value` disappear from every log line from now on."""
    if value and len(value) >= 4:
        _secrets.add(value)


def redact_text(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return _STRING_SESSION.sub(REDACTED, text)


def _redact(value: Any, key: str = "") -> Any:
    if key and _SECRET_KEY.search(key) and value not in (None, "", False):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact(v) for v in value)
    if value is None or isinstance(value, bool | int | float):
        return value
    # Anything else (an exception, a set, an object) reaches the renderer as str() or repr().
    if any(redact_text(text) != text for text in (str(value), repr(value))):
        return redact_text(repr(value))
    return value


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        event_dict[key] = _redact(event_dict[key], key if key != "event" else "")
    return event_dict


def configure(level: LogLevel = LogLevel.INFO, json: bool | None = None) -> None:
    """Configure structlog for the CLI; `json` defaults to "stderr is not a terminal"."""
    use_json = not sys.stderr.isatty() if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if use_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # sys.stderr looked up at each use, not at configure time: a stream swapped in by a
        # caller (pytest's capsys, a redirect) may be closed by the time something logs.
        logger_factory=lambda *args: structlog.PrintLogger(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


@contextmanager
def bind_run(target: str, kind: str, run_id: int) -> Iterator[None]:
    """Tag every log line inside the block with the run it belongs to.

    Context variables, not a bound logger: modules that log through their own module-level
    logger are tagged too, and concurrent runs (each its own asyncio task, hence its own copy
    of the context) never see each other's tags. The previous values come back on exit.
    """
    with structlog.contextvars.bound_contextvars(target=target, kind=kind, run_id=run_id):
        yield


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
