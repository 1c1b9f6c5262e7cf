"""crawler.settings and crawler.settings_loading: defaults < TOML file < CHANWATCH_* environment,
strictly validated.

Every test runs in an empty directory with no CHANWATCH_* variables, so the process
environment of the test run cannot change an outcome.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crawler.errors import ConfigError
from crawler.settings import Settings, TelegramAccount
from crawler.settings_loading import load_settings

SECRET_HASH = "0123456789abcdef0123456789abcdef"
SECRET_SESSION = "1BVtsOKABu" + "x" * 60 + "SESSIONSECRET=="


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for var in list(os.environ):
        if var.upper().startswith("CHANWATCH_"):
            monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def config_error(explicit: str | Path | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(explicit)
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message, message
    return message


# --- Sources and precedence -------------------------------------------------------------------


def test_defaults_apply_without_file_or_environment() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///./chanwatch.db"
    assert settings.telegram.api_id is None
    assert settings.telegram.api_hash is None
    assert settings.telegram.accounts == ()
    assert settings.telegram.preview_base_url == "https://t.me"
    assert settings.net.allow_private_hosts == ()
    assert settings.media.hash_media is True
    assert settings.media.max_bytes == 20_000_000


def test_chanwatch_toml_in_the_working_directory_is_read_when_present(tmp_path: Path) -> None:
    write(tmp_path / "chanwatch.toml", "[media]\nmax_bytes = 123\n")
    assert load_settings().media.max_bytes == 123


def test_chanwatch_config_variable_beats_the_local_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "chanwatch.toml", "[media]\nmax_bytes = 1\n")
    other = write(tmp_path / "other.toml", "[media]\nmax_bytes = 2\n")
    monkeypatch.setenv("CHANWATCH_CONFIG", str(other))
    assert load_settings().media.max_bytes == 2


def test_explicit_path_beats_chanwatch_config_and_the_local_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "chanwatch.toml", "[media]\nmax_bytes = 1\n")
    monkeypatch.setenv(
        "CHANWATCH_CONFIG", str(write(tmp_path / "env.toml", "[media]\nmax_bytes = 2\n"))
    )
    explicit = write(tmp_path / "explicit.toml", "[media]\nmax_bytes = 3\n")
    assert load_settings(explicit).media.max_bytes == 3
    assert load_settings(str(explicit)).media.max_bytes == 3


def test_missing_explicit_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert str(missing) in config_error(missing)


def test_missing_chanwatch_config_file_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHANWATCH_CONFIG", str(tmp_path / "gone.toml"))
    assert "gone.toml" in config_error()


def test_invalid_toml_is_a_one_line_config_error(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.toml", "[media]\nmax_bytes = = 3\n")
    assert "bad.toml" in config_error(path)


def test_environment_overrides_the_file_key_by_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "chanwatch.toml", "[media]\nhash_media = false\nmax_bytes = 5\n")
    monkeypatch.setenv("CHANWATCH_MEDIA__MAX_BYTES", "7")
    settings = load_settings()
    assert settings.media.max_bytes == 7
    assert settings.media.hash_media is False  # the file's other key survives


def test_top_level_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHANWATCH_DATABASE_URL", "sqlite:///elsewhere.db")
    assert load_settings().database_url == "sqlite:///elsewhere.db"


def test_list_values_in_the_environment_are_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHANWATCH_NET__ALLOW_PRIVATE_HOSTS", '["10.0.0.0/8", "LocalHost:8080"]')
    assert load_settings().net.allow_private_hosts == ("10.0.0.0/8", "localhost:8080")


def test_accounts_from_environment_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "CHANWATCH_TELEGRAM__ACCOUNTS", '[{"name": "main", "session": "env:MAIN_SESSION"}]'
    )
    (account,) = load_settings().telegram.accounts
    assert account.name == "main"
    assert account.session.get_secret_value() == "env:MAIN_SESSION"


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("CHANWATCH_NET__ALLOW_PRIVATE_HOSTS", "10.0.0.0/8"),
        ("CHANWATCH_NET__ALLOW_PRIVATE_HOSTS", '["10.0.0.0/8"'),
        ("CHANWATCH_TELEGRAM__ACCOUNTS", "main"),
        ("CHANWATCH_MEDIA", "{max_bytes: 3}"),
    ],
)
def test_invalid_json_in_an_environment_list_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str
) -> None:
    # Regression: pydantic-settings' SettingsError escaped with a traceback.
    monkeypatch.setenv(var, value)
    monkeypatch.setenv("CHANWATCH_DATABASE_URL", "sqlite:///not-json.db")  # plain, not JSON
    message = config_error()
    assert var in message
    assert "JSON" in message


def test_invalid_json_error_does_not_echo_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "CHANWATCH_TELEGRAM__ACCOUNTS", f'[{{"name": "main", "session": "{SECRET_SESSION}"'
    )
    message = config_error()
    assert "CHANWATCH_TELEGRAM__ACCOUNTS" in message
    assert SECRET_SESSION not in message


@pytest.mark.parametrize(
    "var", ["CHANWATCH_CONFIG", "CHANWATCH_TEST_DATABASE_URL", "CHANWATCH_DB_PASSWORD"]
)
def test_non_setting_chanwatch_variables_are_not_treated_as_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, var: str
) -> None:
    write(tmp_path / "empty.toml", "")
    monkeypatch.setenv(var, str(tmp_path / "empty.toml"))
    assert load_settings() == Settings()


# --- Empty variables are unset ------------------------------------------------------------------


@pytest.mark.parametrize(
    "var",
    [
        "CHANWATCH_TELEGRAM__API_ID",
        "CHANWATCH_TELEGRAM__API_HASH",
        "CHANWATCH_TELEGRAM__ACCOUNTS",
        "CHANWATCH_MEDIA__MAX_BYTES",
        "CHANWATCH_DATABASE_URL",
        "CHANWATCH_NET",
        "chanwatch_media__hash_media",
    ],
)
def test_an_empty_variable_is_unset(monkeypatch: pytest.MonkeyPatch, var: str) -> None:
    # Regression: compose renders `${CHANWATCH_TELEGRAM__API_ID:-}` as "", which failed to
    # parse as an integer and stopped `migrate`.
    defaults = load_settings()
    monkeypatch.setenv(var, "")
    assert load_settings() == defaults


def test_an_empty_variable_leaves_the_files_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "chanwatch.toml", "[telegram]\napi_id = 12345\n")
    monkeypatch.setenv("CHANWATCH_TELEGRAM__API_ID", "")
    assert load_settings().telegram.api_id == 12345


def test_an_empty_unknown_variable_is_unset_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # The unknown-variable check sees the environment as the loader does.
    defaults = load_settings()
    monkeypatch.setenv("CHANWATCH_NETT__X", "")
    assert load_settings() == defaults


def test_an_empty_variable_is_not_named_as_the_origin_of_a_file_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "chanwatch.toml", "[telegram]\napi_id = 'x'\n")
    monkeypatch.setenv("CHANWATCH_TELEGRAM__API_ID", "")
    message = config_error()
    assert message.startswith("setting telegram.api_id: ")
    assert message.endswith("(in chanwatch.toml)")


def test_an_empty_list_variable_is_not_blamed_for_another_ones_bad_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHANWATCH_MEDIA", "")  # sorts before the culprit, and is not JSON
    monkeypatch.setenv("CHANWATCH_TELEGRAM__ACCOUNTS", "main")
    message = config_error()
    assert "CHANWATCH_TELEGRAM__ACCOUNTS" in message
    assert "CHANWATCH_MEDIA" not in message


# --- Unknown keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[net]\nallow_privat_hosts = []\n", "net.allow_privat_hosts"),
        ("[nett]\nx = 1\n", "nett"),
        ("databse_url = 'sqlite:///x.db'\n", "databse_url"),
        ("[media]\nmax_byte = 3\n", "media.max_byte"),
        ("[[telegram.accounts]]\nname = 'a'\nsession = 'x'\nsesion = 'y'\n",
         "telegram.accounts.0.sesion"),
    ],
)  # fmt: skip
def test_unknown_key_in_the_file_is_a_config_error_naming_it(
    tmp_path: Path, toml: str, key: str
) -> None:
    write(tmp_path / "chanwatch.toml", toml)
    message = config_error()
    assert f"setting {key}: unknown setting" in message
    assert "chanwatch.toml" in message


@pytest.mark.parametrize(
    "var",
    [
        "CHANWATCH_NET__ALLOW_PRIVAT_HOSTS",
        "CHANWATCH_NETT__X",
        "CHANWATCH_DATABSE_URL",
        "CHANWATCH_MEDIA__MAX_BYTE",
        "CHANWATCH_DATABASE_URL__X",
    ],
)
def test_unknown_key_in_the_environment_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, var: str
) -> None:
    monkeypatch.setenv(var, "1")
    assert var in config_error()


def test_unknown_variable_error_says_where_referenced_secrets_go(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The README's old example: a session kept in CHANWATCH_SESSION_1 stopped every command.
    monkeypatch.setenv("CHANWATCH_SESSION_1", SECRET_SESSION)
    message = config_error()
    assert "CHANWATCH_SESSION_1: unknown setting 'session_1'" in message
    assert "CHANWATCH_SECRET_" in message
    assert SECRET_SESSION not in message


@pytest.mark.parametrize("var", ["chanwatch_nett__x", "chanwatch_foo", "Chanwatch_Databse_Url"])
def test_unknown_key_in_a_lower_case_variable_is_an_error_too(
    monkeypatch: pytest.MonkeyPatch, var: str
) -> None:
    # Regression: pydantic-settings reads "chanwatch_media__max_bytes" (names are
    # case-insensitive) but the unknown-key check only looked at upper-case names.
    monkeypatch.setenv(var, "1")
    assert var in config_error()


def test_lower_case_variable_sets_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("chanwatch_media__max_bytes", "7")
    assert load_settings().media.max_bytes == 7


def test_unknown_nested_key_in_environment_json_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "CHANWATCH_TELEGRAM__ACCOUNTS", '[{"name": "a", "session": "s", "extra": 1}]'
    )
    message = config_error()
    assert "telegram.accounts.0.extra" in message
    assert "CHANWATCH_TELEGRAM__ACCOUNTS" in message


# --- Bad values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[media]\nmax_bytes = 0\n", "media.max_bytes"),
        ("[media]\nmax_bytes = 'lots'\n", "media.max_bytes"),
        ("[media]\nhash_media = 'perhaps'\n", "media.hash_media"),
        ("[telegram]\napi_id = 'x'\n", "telegram.api_id"),
        ("[telegram]\npreview_base_url = 'ftp://t.me'\n", "telegram.preview_base_url"),
        ("database_url = 'mysql://db/x'\n", "database_url"),
        ("[net]\nallow_private_hosts = ['10.0.0.0/33']\n", "net.allow_private_hosts"),
        ("[net]\nallow_private_hosts = ['  ']\n", "net.allow_private_hosts"),
        ("[net]\nallow_private_hosts = '10.0.0.0/8'\n", "net.allow_private_hosts"),
        ("[[telegram.accounts]]\nname = ''\nsession = 'x'\n", "telegram.accounts.0.name"),
        ("[[telegram.accounts]]\nname = 'a'\n", "telegram.accounts.0.session"),
        ("[[telegram.accounts]]\nname = 'a'\nsession = 'x'\n"
         "[[telegram.accounts]]\nname = 'a'\nsession = 'y'\n", "telegram.accounts"),
        ("telegram = 5\n", "telegram"),
    ],
)  # fmt: skip
def test_bad_value_in_the_file_is_a_one_line_config_error_naming_the_key(
    tmp_path: Path, toml: str, key: str
) -> None:
    write(tmp_path / "chanwatch.toml", toml)
    message = config_error()
    assert message.startswith(f"setting {key}: ")
    assert "(in chanwatch.toml)" in message


@pytest.mark.parametrize(
    ("var", "value", "key"),
    [
        ("CHANWATCH_MEDIA__MAX_BYTES", "lots", "media.max_bytes"),
        ("CHANWATCH_MEDIA__MAX_BYTES", "-1", "media.max_bytes"),
        ("CHANWATCH_TELEGRAM__API_ID", "abc", "telegram.api_id"),
        ("CHANWATCH_DATABASE_URL", "mysql://db/x", "database_url"),
        ("CHANWATCH_NET__ALLOW_PRIVATE_HOSTS", '["300.0.0.0/8"]', "net.allow_private_hosts"),
    ],
)
def test_bad_value_in_the_environment_names_the_key_and_the_variable(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, key: str
) -> None:
    monkeypatch.setenv(var, value)
    message = config_error()
    assert message.startswith(f"setting {key}: ")
    assert f"(from {var})" in message


def test_error_stays_one_line_when_a_file_key_holds_a_newline(tmp_path: Path) -> None:
    # Regression: a quoted TOML key with "\n" split the message over two lines.
    write(tmp_path / "chanwatch.toml", '"net\\nwork" = 1\n')
    message = config_error()
    assert "net\\nwork" in message


def test_postgresql_url_is_rewritten_to_the_psycopg_driver(tmp_path: Path) -> None:
    write(tmp_path / "chanwatch.toml", "database_url = 'postgresql://u@db/chanwatch'\n")
    assert load_settings().database_url == "postgresql+psycopg://u@db/chanwatch"


def test_allow_private_hosts_entries_are_trimmed_and_lowercased(tmp_path: Path) -> None:
    write(tmp_path / "chanwatch.toml", "[net]\nallow_private_hosts = [' LocalHost ', 'fd00::/8']\n")
    assert load_settings().net.allow_private_hosts == ("localhost", "fd00::/8")


def test_preview_base_url_loses_its_trailing_slash(tmp_path: Path) -> None:
    write(tmp_path / "chanwatch.toml", "[telegram]\npreview_base_url = 'http://127.0.0.1:8081/'\n")
    assert load_settings().telegram.preview_base_url == "http://127.0.0.1:8081"


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValueError):
        settings.media.max_bytes = 1  # type: ignore[misc]


# --- Secrets ------------------------------------------------------------------------------------


def _secret_file(tmp_path: Path) -> Path:
    return write(
        tmp_path / "chanwatch.toml",
        f"[telegram]\napi_id = 12345\napi_hash = '{SECRET_HASH}'\n"
        f"[[telegram.accounts]]\nname = 'main'\nsession = '{SECRET_SESSION}'\n",
    )


def test_secrets_never_appear_in_repr_str_or_json(tmp_path: Path) -> None:
    _secret_file(tmp_path)
    settings = load_settings()
    assert settings.telegram.api_hash is not None
    assert settings.telegram.api_hash.get_secret_value() == SECRET_HASH
    assert settings.telegram.accounts[0].session.get_secret_value() == SECRET_SESSION
    for rendered in (
        repr(settings),
        str(settings),
        repr(settings.telegram),
        repr(settings.telegram.accounts),
        settings.model_dump_json(),
        str(settings.model_dump()),
    ):
        assert SECRET_HASH not in rendered
        assert SECRET_SESSION not in rendered


def test_secrets_never_appear_in_an_error_about_a_neighbouring_key(tmp_path: Path) -> None:
    write(
        tmp_path / "chanwatch.toml",
        f"[telegram]\napi_id = 'not a number'\napi_hash = '{SECRET_HASH}'\n"
        f"[[telegram.accounts]]\nname = ''\nsession = '{SECRET_SESSION}'\n",
    )
    message = config_error()
    assert SECRET_HASH not in message
    assert SECRET_SESSION not in message


@pytest.mark.parametrize(
    "toml",
    [
        f"[telegram]\napi_hash = ['{SECRET_HASH}']\n",
        f"[telegram]\napi_hash = {{ value = '{SECRET_HASH}' }}\n",
        f"[[telegram.accounts]]\nname = 'a'\nsession = ['{SECRET_SESSION}']\n",
        f"[[telegram.accounts]]\nname = 'a'\nsession = '{SECRET_SESSION}'\nextra = 1\n",
        f"[telegram]\napi_hash = '{SECRET_HASH}' trailing\n",
    ],
)
def test_secrets_never_appear_in_an_error_about_the_secret_itself(
    tmp_path: Path, toml: str
) -> None:
    write(tmp_path / "chanwatch.toml", toml)
    message = config_error()
    assert SECRET_HASH not in message
    assert SECRET_SESSION not in message


def test_secret_from_environment_never_appears_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHANWATCH_TELEGRAM__API_HASH", SECRET_HASH)
    monkeypatch.setenv("CHANWATCH_TELEGRAM__API_ID", "twelve")
    message = config_error()
    assert "telegram.api_id" in message
    assert SECRET_HASH not in message


# --- Session references ------------------------------------------------------------------------


def test_literal_session_resolves_to_itself_stripped() -> None:
    account = TelegramAccount(name="main", session=f"  {SECRET_SESSION}\n")  # type: ignore[arg-type]
    assert account.resolve_session() == SECRET_SESSION


def test_env_session_reference_reads_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAIN_TG_SESSION", f"{SECRET_SESSION}\n")
    account = TelegramAccount(name="main", session="env:MAIN_TG_SESSION")  # type: ignore[arg-type]
    assert account.resolve_session() == SECRET_SESSION


@pytest.mark.parametrize("value", [None, ""])
def test_env_session_reference_to_an_unset_variable_names_it(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("MAIN_TG_SESSION", raising=False)
    else:
        monkeypatch.setenv("MAIN_TG_SESSION", value)
    account = TelegramAccount(name="main", session="env:MAIN_TG_SESSION")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="MAIN_TG_SESSION is not set") as caught:
        account.resolve_session()
    assert "'main'" in str(caught.value)


def test_file_session_reference_reads_the_file_stripped(tmp_path: Path) -> None:
    session_file = write(tmp_path / "main.session.txt", f"\n{SECRET_SESSION}\n")
    account = TelegramAccount(name="main", session=f"file:{session_file}")  # type: ignore[arg-type]
    assert account.resolve_session() == SECRET_SESSION


def test_file_session_reference_expands_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    write(tmp_path / "s.txt", SECRET_SESSION)
    account = TelegramAccount(name="main", session="file:~/s.txt")  # type: ignore[arg-type]
    assert account.resolve_session() == SECRET_SESSION


def test_missing_session_file_is_a_one_line_config_error(tmp_path: Path) -> None:
    account = TelegramAccount(
        name="main",
        session=f"file:{tmp_path / 'missing.txt'}",  # type: ignore[arg-type]
    )
    with pytest.raises(ConfigError) as caught:
        account.resolve_session()
    message = str(caught.value)
    assert "missing.txt" in message
    assert "'main'" in message
    assert "\n" not in message


def test_session_reference_is_resolved_only_on_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE_12345", raising=False)
    write(
        tmp_path / "chanwatch.toml",
        "[[telegram.accounts]]\nname = 'main'\nsession = 'env:NOT_SET_ANYWHERE_12345'\n",
    )
    (account,) = load_settings().telegram.accounts  # loading does not read the variable
    with pytest.raises(ConfigError, match="NOT_SET_ANYWHERE_12345"):
        account.resolve_session()


# --- The CHANWATCH_SECRET_ namespace -----------------------------------------------------------


def test_no_setting_can_be_named_into_the_reserved_secret_prefix() -> None:
    # CHANWATCH_SECRET_* is skipped by the unknown-variable check: a section or top-level key
    # called secret* would be set from there unchecked.
    assert not [name for name in Settings.model_fields if name.startswith("secret")]


@pytest.mark.parametrize(
    "var",
    [
        "CHANWATCH_SECRET_SESSION_1",
        "chanwatch_secret_session_1",
        "CHANWATCH_SECRET_TELEGRAM__API_ID",  # shaped like a setting, still never read as one
    ],
)
def test_reserved_secret_variables_are_never_read_as_settings(
    monkeypatch: pytest.MonkeyPatch, var: str
) -> None:
    defaults = load_settings()
    monkeypatch.setenv(var, "12345")
    assert load_settings() == defaults


@pytest.mark.parametrize("var", ["CHANWATCH_SECRET_SESSION_1", "COLLECTOR_1_SESSION"])
def test_a_session_referenced_in_the_secret_prefix_or_outside_the_namespace_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, var: str
) -> None:
    write(
        tmp_path / "chanwatch.toml",
        f'[telegram]\naccounts = [{{ name = "collector-1", session = "env:{var}" }}]\n',
    )
    monkeypatch.setenv(var, SECRET_SESSION)
    (account,) = load_settings().telegram.accounts
    assert account.resolve_session() == SECRET_SESSION


@pytest.mark.parametrize(
    ("var", "suggested"),
    [
        ("CHANWATCH_SESSION_1", "CHANWATCH_SECRET_SESSION_1"),
        ("chanwatch_session_1", "CHANWATCH_SECRET_session_1"),
        ("CHANWATCH_TELEGRAM__API_HASH", "CHANWATCH_SECRET_TELEGRAM__API_HASH"),
        ("CHANWATCH_CONFIG", "CHANWATCH_SECRET_CONFIG"),
    ],
)
def test_a_session_referenced_in_the_settings_namespace_is_refused_at_load(
    tmp_path: Path, var: str, suggested: str
) -> None:
    # Refused whether or not the variable is set: set, it would be read as an unknown setting.
    write(
        tmp_path / "chanwatch.toml",
        f'[telegram]\naccounts = [{{ name = "collector-1", session = " env:{var}" }}]\n',
    )
    message = config_error()
    assert message.startswith("setting telegram.accounts.0: account 'collector-1': ")
    assert f"env:{var} is in the settings namespace" in message
    assert "CHANWATCH_SECRET_*" in message
    assert f"env:{suggested}" in message
    assert message.endswith("(in chanwatch.toml)")


def test_a_refused_reference_from_the_environment_names_the_variable_holding_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "CHANWATCH_TELEGRAM__ACCOUNTS", '[{"name": "c2", "session": "env:CHANWATCH_S2"}]'
    )
    message = config_error()
    assert "account 'c2': env:CHANWATCH_S2 is in the settings namespace" in message
    assert message.endswith("(from CHANWATCH_TELEGRAM__ACCOUNTS)")


def test_a_literal_session_is_not_mistaken_for_a_reference(tmp_path: Path) -> None:
    write(
        tmp_path / "chanwatch.toml",
        '[telegram]\naccounts = [{ name = "c", session = "CHANWATCH_LOOKALIKE" }]\n',
    )
    (account,) = load_settings().telegram.accounts
    assert account.resolve_session() == "CHANWATCH_LOOKALIKE"
