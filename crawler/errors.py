"""Errors that reach the user as one line and exit code 2 (usage and validation)."""


class UserError(Exception):
    """Bad input from the user: reported as one line on stderr, exit code 2."""

    exit_code = 2


class ConfigError(UserError):
    """A setting is missing, unknown or invalid."""


class LocatorError(UserError):
    """A watchlist locator cannot be normalized (or is refused on purpose)."""
