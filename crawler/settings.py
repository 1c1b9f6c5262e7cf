"""The settings' models: every section, its defaults and checks, and the `CHANWATCH_*` names.

Loading them (defaults, then a TOML file, then `CHANWATCH_*` environment variables) is
crawler/settings_loading.py. Unknown keys are errors: a typo in a safety setting must never be
silently ignored.

`CHANWATCH_SECRET_*` is reserved for secrets that the settings reference (`env:VAR` sessions):
those variables are never read as settings, and a reference into the rest of the `CHANWATCH_`
namespace is refused, so a secret's name can never collide with a setting's. How a reference
is read is crawler/secret_refs.py.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from crawler.errors import ConfigError
from crawler.secret_refs import resolve_reference

ENV_PREFIX = "CHANWATCH_"
SECRET_ENV_PREFIX = "CHANWATCH_SECRET_"  # noqa: S105  (a name prefix, not a secret)


def in_settings_namespace(var: str) -> bool:
    """Whether `var` belongs to the settings' names: CHANWATCH_*, except the reserved secrets.

    Case-insensitive, as pydantic-settings matches names."""
    name = var.upper()
    return name.startswith(ENV_PREFIX) and not name.startswith(SECRET_ENV_PREFIX)


def _refuse_settings_namespace(reference: str) -> None:
    """Refuse an `env:VAR` reference to a variable in the settings' names.

    A CHANWATCH_ variable other than CHANWATCH_SECRET_* is read as a setting, and as an unknown
    one it stops every command: the reference is refused when the settings are loaded."""
    var = reference[4:] if reference.startswith("env:") else ""
    if in_settings_namespace(var):
        raise ValueError(
            f"env:{var} is in the settings namespace ({ENV_PREFIX}*); name the variable "
            f"{SECRET_ENV_PREFIX}* or keep it outside {ENV_PREFIX}*, "
            f"e.g. env:{SECRET_ENV_PREFIX}{var[len(ENV_PREFIX) :]}"
        )


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TelegramAccount(_Section):
    name: str = Field(min_length=1, max_length=64)
    session: SecretStr
    """A StringSession value, `env:VAR` or `file:PATH`; resolved only when the account is used."""

    @model_validator(mode="after")
    def _reference_outside_settings(self) -> TelegramAccount:
        try:
            _refuse_settings_namespace(self.session.get_secret_value().strip())
        except ValueError as exc:
            raise ValueError(f"account {self.name!r}: {exc}") from None
        return self

    def resolve_session(self) -> str:
        """The StringSession text, read from the environment or a file when referenced."""
        return resolve_reference(
            self.session.get_secret_value(), f"telegram account {self.name!r} session"
        )


class TelegramSettings(_Section):
    api_id: int | None = None
    api_hash: SecretStr | None = None
    accounts: tuple[TelegramAccount, ...] = ()
    preview_base_url: str = "https://t.me"
    # The API collector (crawler/telegram); documented in config/chanwatch.example.toml.
    backfill_limit: int = Field(default=1000, ge=0)
    recheck_count: int = Field(default=200, ge=0)
    recheck_days: float = Field(default=7.0, ge=0)
    video_max_bytes: int = Field(default=200_000_000, gt=0)
    resolve_budget: int = Field(default=50, ge=0)
    flood_sleep_threshold: int = Field(default=5, ge=0, le=5)
    lease_seconds: int = Field(default=900, gt=0)
    media_concurrency: int = Field(default=8, ge=1, le=16)
    """Files of a page downloaded and hashed at once; enough to keep every hash worker busy
    while the next downloads arrive."""

    @field_validator("preview_base_url")
    @classmethod
    def _http_base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("accounts")
    @classmethod
    def _unique_names(cls, value: tuple[TelegramAccount, ...]) -> tuple[TelegramAccount, ...]:
        names = [account.name for account in value]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"account names must be unique: {', '.join(duplicates)}")
        return value


class NetSettings(_Section):
    allow_private_hosts: tuple[str, ...] = ()
    """Hosts, `host:port` pairs or CIDRs the private-address guard lets through."""

    @field_validator("allow_private_hosts")
    @classmethod
    def _valid_entries(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            if "/" in entry:
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(f"{entry!r} is not a valid CIDR") from None
            elif not entry.strip():
                raise ValueError("empty entry")
        return tuple(entry.strip().lower() for entry in value)


def _cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _default_hash_processes() -> int:
    """One per core, at most four: the collector's own process mostly waits on the network
    (measured on two cores: 1 worker 69 photos/s, 2 workers 104, 3 workers no better)."""
    return max(1, min(4, _cores()))


def _default_rescan_workers() -> int:
    return max(1, min(8, _cores()))


class MediaSettings(_Section):
    hash_media: bool = True
    max_bytes: int = Field(default=20_000_000, gt=0)
    hash_processes: int = Field(default_factory=_default_hash_processes, ge=0, le=32)
    """Worker processes that decode and hash pictures for the Telegram collector (a spider
    process uses at most one); 0 hashes in a thread of the collector itself (see
    crawler/hash_workers.py for why processes)."""
    doxx_key: SecretStr | None = None
    """The installation's key for keyed hashes of contacts and places (HMAC-SHA256): the key
    itself, `env:VAR` or `file:PATH`, resolved on use. None: those are recorded by kind only."""

    @field_validator("doxx_key")
    @classmethod
    def _key_reference_outside_settings(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _refuse_settings_namespace(value.get_secret_value().strip())
        return value

    def doxx_hmac_key(self) -> bytes | None:
        """The key's bytes, or None when none is set. A key shorter than 16 characters is
        refused: the point of the key is that numbers cannot be guessed back."""
        if self.doxx_key is None:
            return None
        raw = self.doxx_key.get_secret_value().strip()
        if raw == str(self.doxx_key):
            # The masked form a JSON dump of the settings carries (a spider child's job): the
            # key did not travel, and hashing with the mask would make every install agree.
            return None
        key = resolve_reference(raw, "media.doxx_key")
        if len(key) < 16:
            raise ConfigError("media.doxx_key: the key must be at least 16 characters")
        return key.encode("utf-8")


class SpiderSettings(_Section):
    """Manners and limits of the Scrapy spiders (t.me/s preview, page watch)."""

    contact_url: str = "https://github.com/chanwatch/chanwatch"
    """Named in the User-Agent so site operators can reach whoever runs the crawler."""
    download_delay_s: float = Field(default=1.0, ge=0)
    max_pages_per_run: int = Field(default=50, gt=0)
    timeout_s: float = Field(default=30.0, gt=0)
    max_page_bytes: int = Field(default=5_000_000, gt=0)
    robots_max_age_s: int = Field(default=86_400, gt=0, le=86_400)
    """RFC 9309 lets a crawler cache robots.txt for at most 24 hours."""
    max_run_s: float = Field(default=1800.0, gt=0)
    """A spider run (one target, in its own process) is stopped after this long."""

    @field_validator("contact_url")
    @classmethod
    def _http_contact(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or any(c in value for c in " ;()"):
            raise ValueError("must be an http(s) URL without spaces, ';' or parentheses")
        return value


class AlertSettings(_Section):
    """Matchers and the review queue; documented in config/chanwatch.example.toml."""

    discovery_min_refs: int = Field(default=3, ge=1)
    spike_factor: float = Field(default=5.0, gt=1)
    spike_baseline_hours: int = Field(default=168, ge=1)
    spike_min_posts: int = Field(default=10, ge=1)
    stale_factor: float = Field(default=3.0, gt=1)
    claim_lease_s: int = Field(default=1800, gt=0)
    pdq_dihedral: bool = True
    """Also match a picture's 7 rotations and flips against the PDQ banks: a rotated or
    mirrored copy of a banked image is still found (at 8 index queries per picture)."""
    rescan_workers: int = Field(default_factory=_default_rescan_workers, ge=1, le=64)
    """Workers of a `chanwatch rescan`: processes that match texts, threads that match PDQ
    hashes (default: one per core, at most 8)."""


class NotifySettings(_Section):
    """Where new alerts go. URLs and keys are secrets: they never reach logs or exports."""

    min_severity: Literal["low", "medium", "high", "critical"] = "high"
    apprise_urls: tuple[SecretStr, ...] = ()
    webhook_url: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    review_url: str | None = None
    include_text: bool = False
    timeout_s: float = Field(default=10.0, gt=0)
    retry_attempts: int = Field(default=3, ge=1, le=10)
    retry_wait_s: float = Field(default=1.0, ge=0)
    outbox_backoff_s: float = Field(default=60.0, ge=0)

    @field_validator("webhook_url")
    @classmethod
    def _http_webhook(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value

    @model_validator(mode="after")
    def _signed_webhook(self) -> NotifySettings:
        # Receivers must be able to tell our notifications from forged ones.
        if self.webhook_url is not None and self.webhook_secret is None:
            raise ValueError("webhook_url needs webhook_secret (the HMAC-SHA256 key)")
        return self


class WorkerSettings(_Section):
    """`chanwatch worker` (Procrastinate, PostgreSQL only); documented in
    config/chanwatch.example.toml."""

    enqueue_every_s: int = Field(default=5, ge=1, le=30)
    """How often one of the workers queues the targets that fell due (a cron seconds step)."""
    poll_s: float = Field(default=5.0, gt=0)
    """Longest a worker goes without asking the queue; a job waiting on a site lock is seen
    only at a poll (new jobs wake workers at once through LISTEN/NOTIFY)."""
    heartbeat_s: float = Field(default=10.0, gt=0)
    stalled_after_s: float = Field(default=60.0, gt=0)
    """A worker without a heartbeat this long is presumed dead and its jobs are run again."""
    enqueue_batch: int = Field(default=500, ge=1)
    """Targets queued per tick at most; the rest wait for the next tick."""

    @model_validator(mode="after")
    def _heartbeats_before_stalled(self) -> WorkerSettings:
        # A live worker that misses one beat (a slow database, a busy loop) must not be
        # declared dead and have its running jobs started a second time.
        if self.stalled_after_s < 3 * self.heartbeat_s:
            raise ValueError("stalled_after_s must be at least 3 × heartbeat_s")
        return self


class AuditSettings(_Section):
    """The audit log's checkpoints; documented in config/chanwatch.example.toml."""

    signing_key: str | None = None
    """Where the Ed25519 private key is: `file:PATH` or `env:VAR`. Never the key itself, and
    never the database: whoever can rewrite the database must not be able to sign."""

    @field_validator("signing_key")
    @classmethod
    def _reference(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        kind, _, where = value.partition(":")
        if kind not in ("file", "env") or not where:
            raise ValueError('must be "file:PATH" or "env:VAR" (never the key itself)')
        _refuse_settings_namespace(value)
        return value


class WebSettings(_Section):
    """The review app (`chanwatch web`); documented in config/chanwatch.example.toml."""

    session_key: SecretStr | None = None
    """`env:VAR` or `file:PATH` naming 32 random bytes as 64 hex digits; never the database."""
    insecure_cookies: bool = False
    """Send the session cookie over plain HTTP too (a loopback-only set-up without TLS)."""
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    idle_minutes: float = Field(default=120.0, gt=0)
    login_failures: int = Field(default=5, ge=1)
    """Refused logins per account name, and per address, within `login_window_minutes`
    before further attempts are refused until the oldest ages out."""
    login_window_minutes: float = Field(default=15.0, gt=0)
    trusted_proxies: tuple[str, ...] = Field(default=(), max_length=64)
    """Addresses or CIDRs of the reverse proxies in front of the app, whose X-Forwarded-For
    names the client (crawler/web/client_address.py); nobody else's is believed."""

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an address or a CIDR") from None
        return tuple(entry.strip() for entry in value)

    @field_validator("session_key")
    @classmethod
    def _reference(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value().strip()
        kind, _, where = raw.partition(":")
        if kind not in ("file", "env") or not where:
            raise ValueError('must be "file:PATH" or "env:VAR" (never the key itself)')
        _refuse_settings_namespace(raw)
        return SecretStr(raw)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        # Empty means unset, for nested `__` keys too: compose renders `${VAR:-}` as "".
        env_ignore_empty=True,
        extra="forbid",
        frozen=True,
    )

    database_url: str = "sqlite:///./chanwatch.db"
    telegram: TelegramSettings = TelegramSettings()
    net: NetSettings = NetSettings()
    media: MediaSettings = MediaSettings()
    spiders: SpiderSettings = SpiderSettings()
    alerts: AlertSettings = AlertSettings()
    notify: NotifySettings = NotifySettings()
    worker: WorkerSettings = WorkerSettings()
    audit: AuditSettings = AuditSettings()
    web: WebSettings = WebSettings()

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql+psycopg://", "postgresql://")):
            raise ValueError("must be sqlite:///PATH or postgresql+psycopg://…")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value[len("postgresql://") :]
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives through init_settings (see settings_loading.load_settings), so
        # that the environment overrides it key by key.
        return (env_settings, init_settings)
