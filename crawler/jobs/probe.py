"""The service's HTTP port seen from outside: the `--http` address it listens on, and `probe`,
the client side for images without curl (compose health checks run it).

Apart from the server (`http.py`) so that every `chanwatch` command can read its options
without importing a web framework.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import sys
import urllib.request
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from crawler.errors import UserError

DEFAULT_LISTEN = "127.0.0.1:9464"

# A host name or an IPv4 address; IPv6 comes in brackets and is checked by ipaddress.
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_PORT = re.compile(r"[0-9]{1,5}")
# How much of a failing answer `probe` repeats: its first line, enough for the reason.
_PROBE_BODY_BYTES = 200


def parse_listen(value: str) -> tuple[str, int]:
    """`HOST:PORT` or `[IPv6]:PORT` as (host, port); UserError with one line otherwise.

    Port 0 is accepted: the system picks one, which a test or a log line can report.
    """
    host, colon, port_text = value.rpartition(":")
    if not colon or not host:
        raise UserError(f"--http {value!r}: expected HOST:PORT, such as {DEFAULT_LISTEN}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise UserError(f"--http {value!r}: {host!r} is not an IPv6 address") from None
    elif ":" in host:
        raise UserError(f"--http {value!r}: put an IPv6 address in brackets, as in [::1]:9464")
    elif not _HOST.fullmatch(host):
        raise UserError(f"--http {value!r}: {host!r} is not a host name or address")
    if not _PORT.fullmatch(port_text) or int(port_text) > 65535:
        raise UserError(f"--http {value!r}: the port must be a number from 0 to 65535")
    return host, int(port_text)


def probe(url: str, timeout: float) -> int:
    """GET `url`: 0 on a 2xx answer, else 1 with one line on stderr saying why (a health
    check's output is what `docker inspect` shows)."""
    if urlsplit(url).scheme not in ("http", "https"):
        return _unhealthy(f"{url!r} is not an http(s) URL")
    # No proxies: a container's HTTP_PROXY must not carry a probe of its own loopback elsewhere.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        # urllib raises HTTPError for every answer outside 2xx, so reaching `return` is healthy.
        with opener.open(url, timeout=timeout):
            return 0
    except HTTPError as exc:
        first_line = exc.read(_PROBE_BODY_BYTES).decode("utf-8", "replace").partition("\n")[0]
        shown = "".join(char for char in first_line if char.isprintable())
        return _unhealthy(f"HTTP {exc.code}: {shown}" if shown else f"HTTP {exc.code}")
    except (URLError, OSError, http.client.HTTPException) as exc:
        # The reason alone: a URL can carry user:password, and compose already shows the URL.
        return _unhealthy(str(exc.reason if isinstance(exc, URLError) else exc))


def _unhealthy(reason: str) -> int:
    print(f"chanwatch probe: {reason}", file=sys.stderr)
    return 1
