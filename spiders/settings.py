"""Scrapy settings for chanwatch's spiders, derived from chanwatch's own settings.

Each choice here is a rule from DESIGN.md ("Manners and safety"):
- Nothing reaches the network but the targets: cookies off (Scrapy's cookie jar makes
  tldextract download the public-suffix list), no proxies from the environment (a proxy would
  make the guard check the proxy instead of the destination).
- No listening socket: no telnet console, and no remote-control server (on by default since
  Scrapy 2.19: it runs Python posted to a localhost port and writes its token to a job file
  under the user's profile directory).
- robots.txt obeyed and fail-closed (`FailClosedRobotsMiddleware`), an honest User-Agent with a
  contact URL, a per-domain delay plus AutoThrottle, 429 and challenges stop the domain.
- The private-address guard sits in the resolver (`GuardedResolver`) and in a middleware.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from crawler.settings import Settings
from spiders.guard import ALLOW_SETTING

STOP_ON_STATUS = (429,)
"""Statuses that end all requests to a domain for this run (plus challenge pages)."""


def user_agent(settings: Settings) -> str:
    try:
        release = version("chanwatch")
    except PackageNotFoundError:
        release = "dev"
    return f"chanwatch/{release} (trust-and-safety monitor; +{settings.spiders.contact_url})"


def scrapy_settings(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """The Scrapy settings dict for one crawl; `overrides` win (benchmarks, tests)."""
    spiders = settings.spiders
    values: dict[str, Any] = {
        "BOT_NAME": "chanwatch",
        "USER_AGENT": user_agent(settings),
        "ROBOTSTXT_OBEY": True,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "HTTPPROXY_ENABLED": False,
        "HTTPCACHE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "TWISTED_DNS_RESOLVER": "spiders.guard.GuardedResolver",
        ALLOW_SETTING: list(settings.net.allow_private_hosts),
        "DOWNLOAD_DELAY": spiders.download_delay_s,
        "DOWNLOAD_DELAY_JITTER": 0,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": max(spiders.download_delay_s, 0.1),
        "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
        "DOWNLOAD_TIMEOUT": spiders.timeout_s,
        "DOWNLOAD_MAXSIZE": spiders.max_page_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "REDIRECT_MAX_TIMES": 5,
        "METAREFRESH_ENABLED": False,
        # 429 is not retried: it stops the domain (PoliteStopMiddleware) and Retry-After is kept.
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408],
        "RETRY_TIMES": 1,
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "spiders.middlewares.FailClosedRobotsMiddleware": 100,
            "spiders.guard.SsrfGuardMiddleware": 50,
            "spiders.middlewares.PoliteStopMiddleware": 560,
        },
        "ITEM_PIPELINES": {"spiders.pipelines.IngestPipeline": 300},
        "EXTENSIONS": {"scrapy.extensions.telnet.TelnetConsole": None},
        "CHANWATCH_ROBOTS_MAX_AGE_S": spiders.robots_max_age_s,
    }
    values.update(overrides)
    return values
