"""Loading the settings: defaults, then a TOML file, then `CHANWATCH_*` environment variables.

The file is `--config PATH`, else `$CHANWATCH_CONFIG`, else `./chanwatch.toml` when present.
Environment variables are `CHANWATCH_<SECTION>__<KEY>`; list values there are JSON. Unknown
keys are errors: a typo in a safety setting must never be silently ignored. An empty variable is
unset, so `${VAR:-}` in a compose file or an `.env` line without a value leaves the default.
The models themselves, and which names are reserved for secrets, are crawler/settings.py.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_settings import SettingsError

from crawler.errors import ConfigError
from crawler.settings import ENV_PREFIX, SECRET_ENV_PREFIX, Settings, in_settings_namespace

CONFIG_ENV = "CHANWATCH_CONFIG"
DEFAULT_CONFIG_FILE = "chanwatch.toml"
# Variables that share the prefix but are not settings keys. CHANWATCH_DB_PASSWORD feeds
# docker-compose.yml's interpolation; users export it in the shell they run chanwatch from too.
_NON_SETTING_ENV = {"CHANWATCH_CONFIG", "CHANWATCH_TEST_DATABASE_URL", "CHANWATCH_DB_PASSWORD"}


def _setting_env_vars() -> list[str]:
    """The environment variables read as settings, sorted: empty ones are unset
    (`env_ignore_empty`), and neither the reserved secrets nor CHANWATCH_CONFIG are settings."""
    return sorted(
        var
        for var, value in os.environ.items()
        if value and in_settings_namespace(var) and var.upper() not in _NON_SETTING_ENV
    )


def config_path(explicit: str | os.PathLike[str] | None) -> Path | None:
    """Which settings file applies: --config, else $CHANWATCH_CONFIG, else ./chanwatch.toml."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env)
    local = Path(DEFAULT_CONFIG_FILE)
    return local if local.is_file() else None


def load_settings(explicit: str | os.PathLike[str] | None = None) -> Settings:
    """Layer defaults, the TOML file and the environment; raise ConfigError with one clear line."""
    path = config_path(explicit)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except OSError as exc:
            raise ConfigError(f"config file {path}: {exc.strerror}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
    _reject_unknown_env()
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_first_error(exc, path)) from None
    except SettingsError:
        # pydantic-settings could not decode a JSON value; its message names only the section.
        raise ConfigError(_env_json_error()) from None


def _env_json_error() -> str:
    for var in _setting_env_vars():
        try:
            json.loads(os.environ[var])
        except ValueError:
            if _expects_json(var[len(ENV_PREFIX) :].lower()):
                return f"environment variable {var}: not valid JSON (lists and tables are JSON)"
    return "environment: a list or table value is not valid JSON"


def _expects_json(path: str) -> bool:
    section, _, key = path.partition("__")
    field = Settings.model_fields.get(section)
    annotation = field.annotation if field is not None else None
    if key and isinstance(annotation, type) and issubclass(annotation, BaseModel):
        sub = annotation.model_fields.get(key.split("__")[0])
        annotation = sub.annotation if sub is not None else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return get_origin(annotation) in (tuple, list, dict)


def _reject_unknown_env() -> None:
    known_sections = {name: model.annotation for name, model in Settings.model_fields.items()}
    for var in _setting_env_vars():
        section, _, key = var[len(ENV_PREFIX) :].lower().partition("__")
        if section not in known_sections:
            # Most likely a secret named for a setting: say where secrets go.
            raise ConfigError(
                f"environment variable {var}: unknown setting {section!r} "
                f"(a secret referenced as env:VAR is named {SECRET_ENV_PREFIX}*)"
            )
        annotation = known_sections[section]
        if key and not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            raise ConfigError(f"environment variable {var}: {section!r} has no keys")
        if key and key.split("__")[0] not in annotation.model_fields:  # type: ignore[union-attr]
            raise ConfigError(f"environment variable {var}: unknown setting {section}.{key}")


def _first_error(exc: ValidationError, path: Path | None) -> str:
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"])
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown setting"
    elif error["type"] == "value_error":
        # Our validators' own words, without pydantic's "Value error, " in front.
        message = str(error["ctx"]["error"])
    env_var = ENV_PREFIX + "__".join(str(part) for part in error["loc"][:2]).upper()
    if os.environ.get(env_var):
        origin = f" (from {env_var})"
    elif path is not None:
        origin = f" (in {path})"
    else:
        origin = ""
    line = f"setting {key}: {message}{origin}"
    # One line even when a key from the file holds a newline.
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)
