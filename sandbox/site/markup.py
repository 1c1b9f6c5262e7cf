"""Small pieces every part of the t.me/s markup uses: attribute escaping, CSS backgrounds,
addresses on the fixture site, and a post's permalink."""

from __future__ import annotations

from html import escape

from sandbox.site.model import FixtureChannel


def attr(value: str) -> str:
    return escape(value, quote=True)


def background(url: str, quote: str = "'") -> str:
    return f"background-image:url({quote}{url}{quote})"


def absolute(base_url: str, path: str) -> str:
    return path if "://" in path or path.startswith("//") else f"{base_url}{path}"


def permalink(channel: FixtureChannel, message_id: int, single: bool = False) -> str:
    origin = channel.permalink_origin or ""
    return f"{origin}/{channel.name}/{message_id}" + ("?single" if single else "")
