"""Watchlist locators: every spelling of a target normalized to one canonical form.

Pure functions, no I/O: names are never resolved here (adding a target must work offline);
fetchers check resolved addresses again at fetch time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

import idna

from crawler.addresses import canonical_literal, host_refusal, literal_address
from crawler.errors import LocatorError


class TargetKind(StrEnum):
    TELEGRAM = "telegram"
    TME_PREVIEW = "tme_preview"
    WEB_PAGE = "web_page"
    TELEGRAM_INVITE = "telegram_invite"


CRAWLABLE_KINDS = (TargetKind.TELEGRAM, TargetKind.TME_PREVIEW, TargetKind.WEB_PAGE)


@dataclass(frozen=True, slots=True)
class Locator:
    kind: TargetKind
    value: str

    @property
    def username(self) -> str | None:
        return self.value[1:] if self.value.startswith("@") else None


USERNAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,30}[A-Za-z0-9]")
_INVITE_HASH_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TELEGRAM_HOSTS = {"t.me", "telegram.me", "telegram.dog"}
# Paths of t.me that are features, not channels; some are long enough to pass as usernames.
RESERVED_PATHS = frozenset(
    {
        "a", "addemoji", "addlist", "addpremium", "addstickers", "addtheme", "auth", "bg",
        "boost", "c", "confirmphone", "contact", "dl", "giftcode", "invoice", "iv", "joinchat",
        "k", "login", "m", "nft", "proxy", "s", "setlanguage", "share", "socks", "z",
    }
)  # fmt: skip
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
_CONTROL_RE = re.compile(r"[\x00-\x20\x7f]")


def normalize(
    raw: str, kind: TargetKind | str | None = None, allow: tuple[str, ...] = ()
) -> Locator:
    """Canonical locator for `raw`; raises LocatorError (and nothing else) when it is refused.

    `allow` is `net.allow_private_hosts`: hosts, `host:port` pairs or CIDRs that may be private.
    """
    wanted = _parse_kind(kind)
    text = raw.strip()
    if not text:
        raise LocatorError("empty locator")
    if _CONTROL_RE.search(text):
        raise LocatorError("locator contains spaces or control characters")
    if not text.isprintable() or any("\ud800" <= c <= "\udfff" for c in text):
        raise LocatorError("locator contains unprintable characters")
    if wanted is TargetKind.WEB_PAGE:
        if _channel_spelling(text):
            # "https://@name" would otherwise be refused as a URL with credentials in it.
            raise LocatorError(
                f"a web_page target needs an http(s) URL, not {text!r}; for a Telegram channel "
                "use kind telegram (the API) or tme_preview (the public web preview)"
            )
        return Locator(TargetKind.WEB_PAGE, normalize_url(text, allow))
    telegram = _telegram_locator(text)
    if telegram is None:
        if wanted in (TargetKind.TELEGRAM, TargetKind.TME_PREVIEW):
            raise LocatorError(f"not a Telegram channel: {text!r}")
        return Locator(TargetKind.WEB_PAGE, normalize_url(text, allow))
    if telegram.kind is TargetKind.TELEGRAM_INVITE or wanted is None:
        return telegram
    return Locator(wanted, telegram.value)


def _parse_kind(kind: TargetKind | str | None) -> TargetKind | None:
    if kind is None or isinstance(kind, TargetKind):
        return kind
    try:
        return TargetKind(kind)
    except ValueError:
        raise LocatorError(f"unknown target kind {kind!r}") from None


def _channel(name: str, kind: TargetKind = TargetKind.TELEGRAM) -> Locator:
    if name.lower() in RESERVED_PATHS:
        raise LocatorError(f"t.me/{name} is a Telegram feature, not a channel")
    if not USERNAME_RE.fullmatch(name):
        raise LocatorError(
            f"invalid Telegram username {name!r}: 5-32 letters, digits or underscores, "
            "starting with a letter, not ending with an underscore"
        )
    return Locator(kind, "@" + name.lower())


def _invite(hash_: str) -> Locator:
    if hash_.isdigit():
        raise LocatorError("t.me/+<digits> is a phone-number link, not a channel")
    if not _INVITE_HASH_RE.fullmatch(hash_):
        raise LocatorError(f"invalid invite link hash {hash_!r}")
    return Locator(TargetKind.TELEGRAM_INVITE, f"https://t.me/+{hash_}")


def _channel_spelling(text: str) -> bool:
    """`@name`, `tg://…` or a bare username: Telegram spellings that are no URL of any kind.

    (`t.me/name` is left alone: as a web page it is the https URL it spells.)"""
    return (
        text.startswith("@") or text.lower().startswith("tg:") or bool(USERNAME_RE.fullmatch(text))
    )


def _telegram_locator(text: str) -> Locator | None:
    """A Telegram locator for `text`, or None when it is no Telegram spelling at all."""
    if text.startswith("@"):
        return _channel(text[1:])
    if text.lower().startswith("tg://"):
        return _tg_scheme(text)
    if USERNAME_RE.fullmatch(text) or (text.isidentifier() and "." not in text):
        return _channel(text)
    with_scheme = text if "://" in text else "https://" + text
    try:
        parts = urlsplit(with_scheme)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https"):
        return None
    if host.startswith("www."):
        host = host[4:]
    if host.endswith(".t.me") and host.count(".") == 2:
        return _channel(host.split(".")[0])
    if host not in _TELEGRAM_HOSTS:
        return None
    return _telegram_path([segment for segment in parts.path.split("/") if segment])


def _telegram_path(segments: list[str]) -> Locator:
    if not segments:
        raise LocatorError("a bare t.me link names no channel")
    head = segments[0]
    if head.startswith("+"):
        return _invite(head[1:])
    lowered = head.lower()
    if lowered == "joinchat" and len(segments) > 1:
        return _invite(segments[1])
    if lowered == "addlist" and len(segments) > 1:
        slug = segments[1]
        if not _INVITE_HASH_RE.fullmatch(slug):
            raise LocatorError(f"invalid folder link slug {slug!r}")
        return Locator(TargetKind.TELEGRAM_INVITE, f"https://t.me/addlist/{slug}")
    if lowered == "c":
        raise LocatorError("t.me/c/… links point into private chats and cannot be watched")
    if lowered == "s":
        if len(segments) < 2:
            raise LocatorError("a t.me/s/ link needs a channel name")
        return _channel(segments[1], TargetKind.TME_PREVIEW)
    return _channel(head)


def _tg_scheme(text: str) -> Locator:
    try:
        parts = urlsplit(text)
    except ValueError:
        raise LocatorError(f"unsupported tg:// link {text!r}") from None
    query = parse_qs(parts.query)
    action = (parts.netloc or parts.path.lstrip("/")).lower()
    if action == "resolve" and query.get("domain"):
        return _channel(query["domain"][0])
    if action == "join" and query.get("invite"):
        return _invite(query["invite"][0])
    if action == "addlist" and query.get("slug"):
        return _telegram_path(["addlist", query["slug"][0]])
    raise LocatorError(f"unsupported tg:// link {text!r}")


def normalize_url(text: str, allow: tuple[str, ...] = ()) -> str:
    """Canonical http(s) URL; literal private addresses and localhost names are refused."""
    if "://" not in text:
        if text.startswith("//") or ":" in text.split("/")[0].split("@")[-1].strip("[]"):
            raise LocatorError(f"not an http(s) URL: {text!r}")
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise LocatorError(f"invalid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise LocatorError(f"only http and https URLs can be watched, not {scheme}:")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise LocatorError("URLs with credentials in them are refused")
    host = _canonical_host(parts.hostname or "")
    # A host:port allow entry matches the effective port, whether or not the URL spells it.
    effective_port = _DEFAULT_PORTS[scheme] if port is None else port
    _refuse_private(host, effective_port, allow, parts.hostname or "")
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    query = quote(parts.query, safe=_QUERY_SAFE)
    return urlunsplit((scheme, netloc, path, query, ""))


def _canonical_host(host: str) -> str:
    host = host.rstrip(".").lower()
    if not host:
        raise LocatorError("URL has no host")
    address = literal_address(host)
    if address is not None:
        return canonical_literal(address)
    try:
        encoded = idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise LocatorError(f"invalid host name {host!r}: {exc}") from None
    # UTS46 mapping can turn a name into a literal (fullwidth digits: "８.８.８" -> "8.8.8").
    address = literal_address(encoded)
    if address is not None:
        return canonical_literal(address)
    return encoded


def _refuse_private(host: str, port: int | None, allow: tuple[str, ...], given: str) -> None:
    reason = host_refusal(host, port, allow)
    if reason is not None:
        spelled = "" if given.strip("[]").rstrip(".").lower() == host.strip("[]") else f"{given}: "
        raise LocatorError(f"{spelled}{reason}; add it to net.allow_private_hosts to watch it")
