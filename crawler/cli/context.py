"""What every command shares: settings and the database, loaded on first use."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from crawler.errors import UserError
from crawler.logging import register_secret
from crawler.settings import Settings
from crawler.settings_loading import load_settings
from storage.engine import make_engine
from storage.migrate import current_revision, head_revision


@dataclass
class AppContext:
    config_path: str | None = None
    _engines: list[Engine] = field(default_factory=list)

    @cached_property
    def settings(self) -> Settings:
        settings = load_settings(self.config_path)
        telegram = settings.telegram
        if telegram.api_hash is not None:
            register_secret(telegram.api_hash.get_secret_value())
        for account in telegram.accounts:
            register_secret(account.session.get_secret_value())
        return settings

    def engine(self, *, migrated: bool = True) -> Engine:
        """The configured database; by default it must be migrated to the current schema."""
        engine = make_engine(self.settings.database_url)
        self._engines.append(engine)
        if migrated:
            try:
                current = current_revision(engine)
            except OperationalError as exc:
                raise UserError(f"cannot open the database: {exc.orig}") from None
            if current != head_revision(engine):
                raise UserError(
                    "the database schema is not current: run `chanwatch db upgrade` "
                    "(or `chanwatch init`)"
                )
        return engine

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()


def app_context(ctx: typer.Context) -> AppContext:
    return ctx.find_root().obj
