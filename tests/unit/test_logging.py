"""crawler.logging: secrets never reach log output, however they travel into an event.

Most tests render through the real configured processor chain (configure(json=True)) and
read stderr, so what is checked is exactly what would be written.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

import crawler.logging as chanlog
from crawler.cli.main import run
from crawler.logging import (
    REDACTED,
    LogLevel,
    bind_run,
    configure,
    get_logger,
    redact_secrets,
    redact_text,
    register_secret,
)

API_HASH = "0123456789abcdef0123456789abcdef"
STRING_SESSION = "1" + "BVtsOKABu3" * 30 + "=="  # Telethon StringSession shape, never registered


@pytest.fixture(autouse=True)
def isolated_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh secret registry per test, and structlog's global config restored afterwards."""
    monkeypatch.setattr(chanlog, "_secrets", set())
    yield
    structlog.reset_defaults()


def json_lines(capsys: pytest.CaptureFixture[str]) -> tuple[str, list[dict[str, Any]]]:
    err = capsys.readouterr().err
    return err, [json.loads(line) for line in err.splitlines() if line.strip()]


# --- the processor on its own -------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["api_hash", "session", "session_string", "password", "db_passwd", "secret",
     "webhook_secret", "token", "access_token", "auth_key", "cookie", "API_HASH", "Session"],
)  # fmt: skip
def test_values_of_secret_named_keys_are_masked(key: str) -> None:
    event = redact_secrets(None, "info", {"event": "x", key: "visible-value"})
    assert event[key] == REDACTED


@pytest.mark.parametrize("key", ["channel", "locator", "count", "name", "kind"])
def test_values_of_ordinary_keys_are_kept(key: str) -> None:
    event = redact_secrets(None, "info", {"event": "x", key: "visible-value"})
    assert event[key] == "visible-value"


def test_secret_named_keys_are_masked_inside_nested_dicts_and_lists() -> None:
    event = redact_secrets(
        None,
        "info",
        {
            "event": "loaded",
            "config": {"telegram": {"api_hash": API_HASH, "api_id": 5}},
            "accounts": [{"name": "main", "session": "abc-session"}],
        },
    )
    assert event["config"] == {"telegram": {"api_hash": REDACTED, "api_id": 5}}
    assert event["accounts"] == [{"name": "main", "session": REDACTED}]


def test_secret_named_key_masks_non_string_values_too() -> None:
    event = redact_secrets(None, "info", {"event": "x", "token": 123456, "cookie": {"a": "b"}})
    assert event["token"] == REDACTED
    assert event["cookie"] == REDACTED


def test_registered_secret_vanishes_from_every_string() -> None:
    register_secret(API_HASH)
    assert redact_text(f"hash={API_HASH}; again {API_HASH}!") == (
        f"hash={REDACTED}; again {REDACTED}!"
    )


def test_longer_overlapping_secret_is_removed_whole() -> None:
    register_secret("abcd")
    register_secret("abcdefgh")
    assert redact_text("xabcdefghx") == f"x{REDACTED}x"


@pytest.mark.parametrize("value", [None, "", "abc"])
def test_empty_or_tiny_values_are_not_registered(value: str | None) -> None:
    register_secret(value)
    assert redact_text("abc and more") == "abc and more"


def test_string_session_shaped_text_is_redacted_without_registration() -> None:
    assert STRING_SESSION not in redact_text(f"session was {STRING_SESSION} then")
    assert redact_text(f"session was {STRING_SESSION} then") == f"session was {REDACTED} then"


def test_ordinary_long_text_is_not_mistaken_for_a_session() -> None:
    text = "1 " + "word " * 100
    assert redact_text(text) == text


# --- rendered output ----------------------------------------------------------------------------


def test_json_output_has_no_secret_anywhere(capsys: pytest.CaptureFixture[str]) -> None:
    configure(json=True)
    register_secret(API_HASH)
    log = get_logger("test")
    log.info(
        f"connecting with {API_HASH}",
        api_hash=API_HASH,
        detail=f"hash={API_HASH}",
        nested={"deeper": {"note": f"[{API_HASH}]", "session": "s3ss10n-value"}},
        items=[f"x{API_HASH}", ("y", API_HASH)],
        stray=STRING_SESSION,
    )
    err, (line,) = json_lines(capsys)
    assert API_HASH not in err
    assert STRING_SESSION not in err
    assert "s3ss10n-value" not in err
    assert line["event"] == f"connecting with {REDACTED}"
    assert line["api_hash"] == REDACTED
    assert line["nested"]["deeper"] == {"note": f"[{REDACTED}]", "session": REDACTED}
    assert line["items"] == [f"x{REDACTED}", ["y", REDACTED]]


def test_secret_in_a_logged_traceback_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure(json=True)
    register_secret(API_HASH)
    log = get_logger("test")
    try:
        raise RuntimeError(f"auth failed for hash {API_HASH}")
    except RuntimeError:
        log.exception("login failed")
    err, (line,) = json_lines(capsys)
    assert API_HASH not in err
    assert f"RuntimeError: auth failed for hash {REDACTED}" in line["exception"]


def test_secret_in_an_exception_passed_as_a_value_is_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Regression: non-string values went to the renderer untouched, which printed their repr.
    configure(json=True)
    register_secret(API_HASH)
    get_logger("test").warning("login failed", error=RuntimeError(f"bad hash {API_HASH}"))
    err, (line,) = json_lines(capsys)
    assert API_HASH not in err
    assert REDACTED in line["error"]


def test_secret_inside_a_set_or_an_object_repr_is_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    class Client:
        def __repr__(self) -> str:
            return f"Client(api_hash={API_HASH!r})"

    configure(json=True)
    register_secret(API_HASH)
    get_logger("test").info("state", hashes={API_HASH}, client=Client())
    err, _ = json_lines(capsys)
    assert API_HASH not in err


def test_string_session_in_an_exception_value_is_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure(json=True)
    get_logger("test").error("bad session", error=ValueError(f"cannot parse {STRING_SESSION}"))
    err, _ = json_lines(capsys)
    assert STRING_SESSION not in err


def test_secret_bound_in_context_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure(json=True)
    register_secret(API_HASH)
    structlog.contextvars.bind_contextvars(run=f"run-{API_HASH}", password="hunter22")
    try:
        get_logger("test").info("step")
    finally:
        structlog.contextvars.clear_contextvars()
    err, (line,) = json_lines(capsys)
    assert API_HASH not in err and "hunter22" not in err
    assert line["password"] == REDACTED


def test_secret_in_positional_arguments_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure(json=True)
    register_secret(API_HASH)
    get_logger("test").info("hash is %s", API_HASH)
    err, _ = json_lines(capsys)
    assert API_HASH not in err


def test_console_renderer_is_redacted_too(capsys: pytest.CaptureFixture[str]) -> None:
    configure(json=False)
    register_secret(API_HASH)
    log = get_logger("test")
    log.info("hello", api_hash=API_HASH, error=RuntimeError(API_HASH), note=f"<{API_HASH}>")
    try:
        raise KeyError(API_HASH)
    except KeyError:
        log.exception("oops")
    err = capsys.readouterr().err
    assert "hello" in err and "oops" in err
    assert API_HASH not in err


def test_ordinary_values_render_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    configure(json=True)
    register_secret(API_HASH)
    get_logger("test").info("crawled", locator="@durov", count=3, ok=True, ratio=0.5, gone=None)
    _, (line,) = json_lines(capsys)
    assert line["locator"] == "@durov"
    assert (line["count"], line["ok"], line["ratio"], line["gone"]) == (3, True, 0.5, None)
    assert line["level"] == "info"
    assert "timestamp" in line


def test_level_filter_drops_lower_levels(capsys: pytest.CaptureFixture[str]) -> None:
    configure(level=LogLevel.WARNING, json=True)
    log = get_logger("test")
    log.info("quiet")
    log.warning("loud")
    _, lines = json_lines(capsys)
    assert [line["event"] for line in lines] == ["loud"]


# --- bind_run -----------------------------------------------------------------------------------


def test_bind_run_tags_every_line_of_the_run_and_nothing_after(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure(json=True)
    with bind_run("@some_channel", "telegram", 42):
        get_logger("crawler.one").info("fetched")
        get_logger("crawler.other").warning("flood", seconds=3)
    get_logger("crawler.one").info("idle")
    _, (fetched, flood, idle) = json_lines(capsys)
    for line in (fetched, flood):
        assert (line["target"], line["kind"], line["run_id"]) == ("@some_channel", "telegram", 42)
    assert not {"target", "kind", "run_id"} & idle.keys()


def test_bind_run_restores_the_outer_run_on_exit(capsys: pytest.CaptureFixture[str]) -> None:
    configure(json=True)
    with bind_run("outer", "web_page", 1):
        with bind_run("inner", "tme_preview", 2):
            get_logger("test").info("inner step")
        get_logger("test").info("outer step")
    _, (inner, outer) = json_lines(capsys)
    assert (inner["target"], inner["run_id"]) == ("inner", 2)
    assert (outer["target"], outer["kind"], outer["run_id"]) == ("outer", "web_page", 1)


def test_concurrent_runs_in_tasks_keep_their_own_tags(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Both runs are inside their blocks at once: each line must still name its own run.
    configure(json=True)

    async def run(target: str, run_id: int, entered: asyncio.Event, go: asyncio.Event) -> None:
        with bind_run(target, "telegram", run_id):
            entered.set()
            await go.wait()
            get_logger("test").info("step")

    async def both() -> None:
        first_in, second_in, go = asyncio.Event(), asyncio.Event(), asyncio.Event()
        tasks = [
            asyncio.create_task(run("@first", 1, first_in, go)),
            asyncio.create_task(run("@second", 2, second_in, go)),
        ]
        await first_in.wait()
        await second_in.wait()
        go.set()
        await asyncio.gather(*tasks)

    asyncio.run(both())
    _, lines = json_lines(capsys)
    assert sorted((line["target"], line["run_id"]) for line in lines) == [
        ("@first", 1),
        ("@second", 2),
    ]


# --- The CLI's --log-level ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["loud", "", "critical", "warn"])
def test_unknown_log_level_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], value: str
) -> None:
    # Regression: structlog's KeyError escaped as a traceback.
    assert run(["--log-level", value, "watchlist", "list"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("chanwatch: error: ")
    assert "--log-level" in line
    assert "'debug', 'info', 'warning', 'error'" in line


def test_log_level_is_case_insensitive_and_applied(capsys: pytest.CaptureFixture[str]) -> None:
    # `watchlist --help` needs no settings or database, but the root callback runs first.
    assert run(["--log-level", "DEBUG", "watchlist", "--help"]) == 0
    capsys.readouterr()
    get_logger("test").debug("shown")
    assert "shown" in capsys.readouterr().err
