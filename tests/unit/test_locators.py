"""crawler.locators: every spelling of a target becomes one canonical locator, offline.

Telegram channels, invite/folder links and web pages; the SSRF-spelling table proves that
literal private addresses are refused however they are written, unless allow-listed.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crawler.errors import LocatorError
from crawler.locators import RESERVED_PATHS, Locator, TargetKind, normalize

TG = TargetKind.TELEGRAM
PREVIEW = TargetKind.TME_PREVIEW
WEB = TargetKind.WEB_PAGE
INVITE = TargetKind.TELEGRAM_INVITE


# --- Telegram channels -------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "@durov_news",
        "@Durov_News",
        "durov_news",
        "DUROV_NEWS",
        "t.me/durov_news",
        "T.ME/Durov_News",
        "https://t.me/durov_news",
        "http://t.me/durov_news",
        "https://t.me/durov_news/",
        "t.me/durov_news/123",
        "https://t.me/durov_news/123?single",
        "https://t.me/durov_news#top",
        "telegram.me/durov_news",
        "https://telegram.me/durov_news",
        "https://www.t.me/durov_news",
        "tg://resolve?domain=durov_news",
        "tg://resolve?domain=Durov_News&post=5",
        "  @durov_news  ",
    ],
)
def test_every_channel_spelling_normalizes_to_lowercase_at_username(raw: str) -> None:
    assert normalize(raw) == Locator(TG, "@durov_news")


def test_post_link_names_its_channel() -> None:
    assert normalize("https://t.me/durov_news/4711").value == "@durov_news"


def test_s_preview_url_defaults_to_tme_preview_kind() -> None:
    assert normalize("https://t.me/s/Durov_News") == Locator(PREVIEW, "@durov_news")
    assert normalize("t.me/s/durov_news/99") == Locator(PREVIEW, "@durov_news")


def test_at_name_defaults_to_telegram_kind() -> None:
    assert normalize("@durov_news").kind is TG


@pytest.mark.parametrize("kind", [PREVIEW, "tme_preview"])
def test_explicit_preview_kind_applies_to_any_channel_spelling(kind: object) -> None:
    assert normalize("@durov_news", kind) == Locator(PREVIEW, "@durov_news")  # type: ignore[arg-type]


def test_explicit_telegram_kind_overrides_the_preview_default() -> None:
    assert normalize("https://t.me/s/durov_news", "telegram") == Locator(TG, "@durov_news")


def test_explicit_web_page_kind_keeps_a_tme_url_as_a_web_page() -> None:
    assert normalize("https://t.me/s/durov_news", WEB) == Locator(WEB, "https://t.me/s/durov_news")


@pytest.mark.parametrize(
    "raw", ["@durov_news", "durov_news", "tg://resolve?domain=durov_news", "@ab"]
)
def test_web_page_kind_refuses_a_channel_name_saying_which_kinds_fit(raw: str) -> None:
    # Regression: "@name" became "https://@name" and was refused as a URL with credentials.
    with pytest.raises(LocatorError) as caught:
        normalize(raw, WEB)
    message = str(caught.value)
    assert message.startswith(f"a web_page target needs an http(s) URL, not {raw!r}")
    assert "kind telegram" in message and "tme_preview" in message
    assert "credentials" not in message


def test_telegram_kind_refuses_a_web_url() -> None:
    with pytest.raises(LocatorError, match="not a Telegram channel"):
        normalize("https://example.com/page", TG)


def test_unknown_kind_is_a_locator_error() -> None:
    with pytest.raises(LocatorError, match="unknown target kind"):
        normalize("@durov_news", "rss")


@pytest.mark.parametrize(
    "name",
    ["abcde", "a1234", "a_b_c", "A" + "b" * 31, "x9_9_9_9z"],
)
def test_valid_usernames_are_accepted(name: str) -> None:
    assert normalize("@" + name) == Locator(TG, "@" + name.lower())


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("abcd", "4 characters: too short"),
        ("a" * 33, "33 characters: too long"),
        ("1abcde", "starts with a digit"),
        ("_abcde", "starts with an underscore"),
        ("abcde_", "ends with an underscore"),
        ("abc-de", "hyphen"),
        ("abc.de", "dot"),
        ("abcdé", "non-ASCII letter"),
        ("дуров_канал", "Cyrillic"),
    ],
)
def test_invalid_usernames_are_refused(name: str, why: str) -> None:
    for spelling in ("@" + name, "https://t.me/" + name):
        with pytest.raises(LocatorError):
            normalize(spelling)


@pytest.mark.parametrize(
    "path",
    [
        "joinchat", "addstickers", "addemoji", "share", "proxy", "socks", "iv", "login", "c",
        "s", "addlist", "boost", "m", "contact", "addtheme", "setlanguage", "confirmphone",
        "invoice", "giftcode",
    ],
)  # fmt: skip
def test_reserved_tme_paths_are_not_channels(path: str) -> None:
    assert path in RESERVED_PATHS
    with pytest.raises(LocatorError):
        normalize(f"https://t.me/{path}")
    with pytest.raises(LocatorError):
        normalize("@" + path)


@pytest.mark.parametrize(
    "path", ["joinchat", "addstickers", "addemoji", "contact", "boost", "login", "share"]
)
def test_reserved_path_long_enough_to_be_a_username_says_it_is_a_feature(path: str) -> None:
    for spelling in (path, "@" + path, "t.me/" + path, f"tg://resolve?domain={path}"):
        with pytest.raises(LocatorError, match="Telegram feature"):
            normalize(spelling)


@pytest.mark.parametrize("raw", ["https://t.me", "https://t.me/", "t.me/s/", "tg://resolve"])
def test_tme_links_naming_no_channel_are_refused(raw: str) -> None:
    with pytest.raises(LocatorError):
        normalize(raw)


# --- Invite and folder links --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("t.me/+AbCd_Ef-12", "https://t.me/+AbCd_Ef-12"),
        ("https://t.me/+AbCd_Ef-12", "https://t.me/+AbCd_Ef-12"),
        ("https://t.me/joinchat/AbCd_Ef-12", "https://t.me/+AbCd_Ef-12"),
        ("telegram.me/joinchat/AbCd_Ef-12", "https://t.me/+AbCd_Ef-12"),
        ("tg://join?invite=AbCd_Ef-12", "https://t.me/+AbCd_Ef-12"),
        ("t.me/addlist/SlUg_123", "https://t.me/addlist/SlUg_123"),
        ("https://t.me/addlist/SlUg_123", "https://t.me/addlist/SlUg_123"),
        ("tg://addlist?slug=SlUg_123", "https://t.me/addlist/SlUg_123"),
    ],
)
def test_invite_and_folder_links_are_telegram_invites_keeping_hash_case(
    raw: str, value: str
) -> None:
    assert normalize(raw) == Locator(INVITE, value)


def test_invite_link_stays_an_invite_whatever_kind_is_asked() -> None:
    assert normalize("t.me/+AbCdEf", "telegram").kind is INVITE


@pytest.mark.parametrize("raw", ["t.me/+12345678901", "https://t.me/+79991234567"])
def test_phone_number_link_is_refused_with_reason(raw: str) -> None:
    with pytest.raises(LocatorError, match="phone-number link"):
        normalize(raw)


@pytest.mark.parametrize("raw", ["https://t.me/c/1234567890/42", "t.me/c/1234567890"])
def test_private_chat_link_is_refused_with_reason(raw: str) -> None:
    with pytest.raises(LocatorError, match="private chats"):
        normalize(raw)


@pytest.mark.parametrize("raw", ["t.me/+", "t.me/+abc$def", "t.me/addlist/a%20b"])
def test_malformed_invite_hashes_are_refused(raw: str) -> None:
    with pytest.raises(LocatorError):
        normalize(raw)


# --- Web pages -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("https://example.com", "https://example.com/"),
        ("HTTPS://EXAMPLE.COM/Path", "https://example.com/Path"),
        ("http://Example.COM:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),
        ("https://example.com/a?b=1&c=2#frag", "https://example.com/a?b=1&c=2"),
        ("https://example.com/#", "https://example.com/"),
        ("example.com/page", "https://example.com/page"),
        ("https://example.com./", "https://example.com/"),
        ("https://bücher.de/straße", "https://xn--bcher-kva.de/stra%C3%9Fe"),
        ("https://BÜCHER.de/", "https://xn--bcher-kva.de/"),
        ("https://xn--bcher-kva.de/", "https://xn--bcher-kva.de/"),
        ("https://пример.рф/", "https://xn--e1afmkfd.xn--p1ai/"),
        ("https://example.com/a%20b", "https://example.com/a%20b"),
        ("https://example.com/ü?q=ä", "https://example.com/%C3%BC?q=%C3%A4"),
        ("http://8.8.8.8/", "http://8.8.8.8/"),
        ("http://[2001:4860:4860:0::8888]/", "http://[2001:4860:4860::8888]/"),
        ("https://telegram.org/blog", "https://telegram.org/blog"),
    ],
)
def test_web_urls_are_canonicalized(raw: str, value: str) -> None:
    assert normalize(raw) == Locator(WEB, value)


@pytest.mark.parametrize(
    "raw",
    [
        "ftp://example.com/file",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:text/html,hello",
        "gopher://example.com/",
        "ws://example.com/",
        "mailto:someone@example.com",
        "//example.com/",
    ],
)
def test_non_http_schemes_are_refused(raw: str) -> None:
    with pytest.raises(LocatorError):
        normalize(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "https://user:pass@example.com/",
        "https://user@example.com/",
        "https://:pass@example.com/",
        "https://user:pass@127.0.0.1/",
    ],
)
def test_urls_with_credentials_are_refused(raw: str) -> None:
    with pytest.raises(LocatorError, match="credentials"):
        normalize(raw, allow=("127.0.0.1",))


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "https://exa mple.com/",
        "https://example.com/\x00",
        "@durov\nnews",
        "\u202e@durov",
    ],
)
def test_empty_spaced_or_control_locators_are_refused(raw: str) -> None:
    with pytest.raises(LocatorError):
        normalize(raw)


@pytest.mark.parametrize(
    "raw",
    ["https://foo..bar/", "https://-foo.com/", "http://example.com:99999/", "http://[::1/"],
)
def test_malformed_hosts_and_ports_are_locator_errors(raw: str) -> None:
    with pytest.raises(LocatorError):
        normalize(raw)


def test_normalization_never_resolves_names(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: object, **kwargs: object) -> object:
        raise AssertionError("normalize tried to resolve a name")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setattr(socket, "gethostbyname", no_dns)
    assert normalize("https://internal-looking.example/").value == (
        "https://internal-looking.example/"
    )


# --- SSRF spellings -------------------------------------------------------------------------

# (URL, canonical host an allow entry names, port the URL reaches, a CIDR that covers it)
SSRF_FORMS = [
    ("http://127.0.0.1", "127.0.0.1", 80, "127.0.0.0/8"),
    ("http://127.1", "127.0.0.1", 80, "127.0.0.0/8"),
    ("http://2130706433", "127.0.0.1", 80, "127.0.0.0/8"),
    ("http://0x7f000001", "127.0.0.1", 80, "127.0.0.0/8"),
    ("http://0177.0.0.1", "127.0.0.1", 80, "127.0.0.0/8"),
    ("http://0x7f.0.0.1", "127.0.0.1", 80, "127.0.0.0/8"),
    ("http://0X7F.0x0.0x0.0x1", "127.0.0.1", 80, "127.0.0.0/8"),
    ("http://127.000.000.001", "127.0.0.1", 80, "127.0.0.0/8"),
    ("http://0x7f.1", "127.0.0.1", 80, "127.0.0.0/8"),
    ("http://017700000001", "127.0.0.1", 80, "127.0.0.0/8"),
    ("http://127.0.0.1.", "127.0.0.1", 80, "127.0.0.0/8"),
    ("https://127.0.0.1/", "127.0.0.1", 443, "127.0.0.0/8"),
    ("http://127.0.0.1:8080", "127.0.0.1", 8080, "127.0.0.0/8"),
    ("http://127.0.0.1:80/", "127.0.0.1", 80, "127.0.0.0/8"),
    ("127.0.0.1/admin", "127.0.0.1", 443, "127.0.0.0/8"),
    ("http://１２７.０.０.１/", "127.0.0.1", 80, "127.0.0.0/8"),
    ("http://[::1]", "[::1]", 80, "::1/128"),
    ("http://[0:0:0:0:0:0:0:1]:8080", "[::1]", 8080, "::1/128"),
    ("http://[::ffff:127.0.0.1]", "[::ffff:7f00:1]", 80, "::ffff:0:0/96"),
    ("http://[0:0:0:0:0:ffff:7f00:1]", "[::ffff:7f00:1]", 80, "::ffff:0:0/96"),
    ("http://[::ffff:10.0.0.1]", "[::ffff:a00:1]", 80, "::ffff:0:0/96"),
    ("http://[::ffff:169.254.169.254]", "[::ffff:a9fe:a9fe]", 80, "::ffff:0:0/96"),
    ("http://[::]", "[::]", 80, "::/128"),
    ("http://0.0.0.0", "0.0.0.0", 80, "0.0.0.0/8"),
    ("http://0", "0.0.0.0", 80, "0.0.0.0/8"),
    ("http://0x0", "0.0.0.0", 80, "0.0.0.0/8"),
    ("http://10.0.0.1", "10.0.0.1", 80, "10.0.0.0/8"),
    ("http://012.0.0.1", "10.0.0.1", 80, "10.0.0.0/8"),
    ("http://172.16.0.1", "172.16.0.1", 80, "172.16.0.0/12"),
    ("http://172.31.255.254", "172.31.255.254", 80, "172.16.0.0/12"),
    ("http://192.168.1.1", "192.168.1.1", 80, "192.168.0.0/16"),
    ("http://3232235777", "192.168.1.1", 80, "192.168.0.0/16"),
    ("http://169.254.169.254", "169.254.169.254", 80, "169.254.0.0/16"),
    ("http://0xa9fea9fe", "169.254.169.254", 80, "169.254.0.0/16"),
    ("http://[fe80::1]", "[fe80::1]", 80, "fe80::/10"),
    ("http://[fe80::1%25eth0]", "[fe80::1]", 80, "fe80::/10"),
    ("http://100.64.0.1", "100.64.0.1", 80, "100.64.0.0/10"),
    ("http://[fd00::1]", "[fd00::1]", 80, "fc00::/7"),
    ("http://[fc00::abcd]:8443/x", "[fc00::abcd]", 8443, "fc00::/7"),
    ("http://localhost", "localhost", 80, None),
    ("http://LOCALHOST.", "localhost", 80, None),
    ("http://localhost:3000/", "localhost", 3000, None),
    ("http://foo.localhost", "foo.localhost", 80, None),
    ("http://a.b.LocalHost./x", "a.b.localhost", 80, None),
    ("http://localhost.localdomain", "localhost.localdomain", 80, None),
    ("http://ｌｏｃａｌｈｏｓｔ/", "localhost", 80, None),
]
SSRF_IDS = [form[0] for form in SSRF_FORMS]


def test_ssrf_table_is_at_least_25_forms() -> None:
    assert len(SSRF_FORMS) >= 25


@pytest.mark.parametrize(("raw", "host", "port", "cidr"), SSRF_FORMS, ids=SSRF_IDS)
def test_ssrf_spelling_is_refused_by_default(
    raw: str, host: str, port: int, cidr: str | None
) -> None:
    with pytest.raises(LocatorError, match=r"net\.allow_private_hosts"):
        normalize(raw)
    with pytest.raises(LocatorError, match=r"net\.allow_private_hosts"):
        normalize(raw, WEB)


@pytest.mark.parametrize(("raw", "host", "port", "cidr"), SSRF_FORMS, ids=SSRF_IDS)
def test_ssrf_spelling_is_admitted_by_its_host_entry(
    raw: str, host: str, port: int, cidr: str | None
) -> None:
    located = normalize(raw, allow=(host,))
    assert located.kind is WEB
    assert urlsplit(located.value).hostname == host.strip("[]")


@pytest.mark.parametrize(("raw", "host", "port", "cidr"), SSRF_FORMS, ids=SSRF_IDS)
def test_ssrf_spelling_is_admitted_by_its_host_port_entry_only(
    raw: str, host: str, port: int, cidr: str | None
) -> None:
    assert normalize(raw, allow=(f"{host}:{port}",)).kind is WEB
    with pytest.raises(LocatorError):
        normalize(raw, allow=(f"{host}:{port + 1}",))


@pytest.mark.parametrize(
    ("raw", "host", "port", "cidr"),
    [form for form in SSRF_FORMS if form[3] is not None],
    ids=[form[0] for form in SSRF_FORMS if form[3] is not None],
)
def test_ssrf_literal_is_admitted_by_a_covering_cidr(
    raw: str, host: str, port: int, cidr: str
) -> None:
    assert normalize(raw, allow=(cidr,)).kind is WEB


@pytest.mark.parametrize(
    ("raw", "allow"),
    [
        ("http://127.0.0.1", ("127.0.0.2",)),
        ("http://127.0.0.1", ("10.0.0.0/8",)),
        ("http://127.0.0.1", ("localhost",)),
        ("http://localhost", ("127.0.0.1", "127.0.0.0/8", "::1/128")),
        ("http://10.0.0.1", ("10.0.0.1:8080",)),
        ("http://192.168.1.1", ("192.168.2.0/24",)),
    ],
)
def test_non_matching_allow_entries_do_not_admit(raw: str, allow: tuple[str, ...]) -> None:
    with pytest.raises(LocatorError):
        normalize(raw, allow=allow)


def test_allowed_private_url_is_canonical_and_keeps_its_port() -> None:
    assert normalize("http://0x7f.1:8080/a#b", allow=("127.0.0.0/8",)) == Locator(
        WEB, "http://127.0.0.1:8080/a"
    )
    assert normalize("http://[::ffff:127.0.0.1]/", allow=("[::ffff:7f00:1]",)) == Locator(
        WEB, "http://[::ffff:7f00:1]/"
    )


def test_default_port_allow_entry_admits_url_with_or_without_the_port() -> None:
    # Regression: "127.0.0.1:80" admitted http://127.0.0.1:80/ but not its own canonical form.
    allow = ("127.0.0.1:80",)
    first = normalize("http://127.0.0.1:80/", allow=allow)
    assert first == Locator(WEB, "http://127.0.0.1/")
    assert normalize(first.value, first.kind, allow) == first
    assert normalize("https://127.0.0.1/", allow=("127.0.0.1:443",)).value == "https://127.0.0.1/"


@pytest.mark.parametrize(
    "raw",
    ["http://8.8.8.8", "http://134744072", "http://[2001:4860:4860::8888]", "http://1.1.1.1:8080"],
)
def test_public_address_literals_are_accepted(raw: str) -> None:
    assert normalize(raw).kind is WEB


def test_public_numeric_host_is_written_in_dotted_form() -> None:
    assert normalize("http://134744072/").value == "http://8.8.8.8/"


def test_fullwidth_digit_host_is_canonicalized_as_an_address() -> None:
    # Regression (found by hypothesis): UTS46 maps "８.８.８" to "8.8.8", which was stored
    # as a name although it is the address 8.8.0.8, so normalizing again changed it.
    first = normalize("http://８.８.８")
    assert first == Locator(WEB, "http://8.8.0.8/")
    assert normalize(first.value, first.kind) == first


def test_broken_tg_link_is_a_locator_error() -> None:
    # Regression (found by hypothesis): urlsplit's ValueError escaped from tg:// parsing.
    with pytest.raises(LocatorError):
        normalize("tg://[")


# --- Properties -----------------------------------------------------------------------------

SCHEMES = st.sampled_from(
    ["http://", "https://", "HTTP://", "hTtPs://", "ftp://", "tg://", "file://", "", "//",
     "javascript:", "data:"]
)  # fmt: skip
IP_SPELLINGS = st.integers(0, 2**32 - 1).flatmap(
    lambda n: st.sampled_from(
        [
            str(n),
            hex(n),
            "0" + oct(n)[2:],
            ".".join(str(n >> s & 255) for s in (24, 16, 8, 0)),
            ".".join(hex(n >> s & 255) for s in (24, 16, 8, 0)),
            f"{n >> 24}.{n & 0xFFFFFF}",
            f"[::ffff:{n >> 16:x}:{n & 0xFFFF:x}]",
        ]
    )
)
HOSTS = st.one_of(
    st.sampled_from(
        ["t.me", "T.ME", "telegram.me", "www.t.me", "durov.t.me", "example.com", "bücher.de",
         "xn--bcher-kva.de", "localhost", "LOCALHOST.", "foo.localhost", "[::1]",
         "[fe80::1%25eth0]", "[2001:db8::1]", "８.８.８", "１２７.０.０.１", "例え.テスト",
         "a..b", "[", "]", "@", "user:pw@example.com", "0", "256.1.1.1", "1.2.3.4.5"]
    ),
    IP_SPELLINGS,
    st.from_regex(r"[a-z0-9\-]{1,10}(\.[a-z0-9\-]{1,10}){0,3}", fullmatch=True),
    st.text(min_size=1, max_size=8),
)  # fmt: skip
PORTS = st.one_of(
    st.just(""),
    st.integers(-1, 70_000).map(lambda p: f":{p}"),
    st.sampled_from([":", ":abc", ":80", ":443"]),
)
SEGMENTS = st.one_of(
    st.sampled_from(["s", "c", "+", "+abc", "+123", "joinchat", "addlist", "durov_news", "1"]),
    st.text(max_size=6),
)
PATHS = st.one_of(st.just(""), st.lists(SEGMENTS, max_size=4).map(lambda xs: "/" + "/".join(xs)))
TAILS = st.sampled_from(["", "?domain=durov_news", "?invite=AbC", "?q=ü#frag", "#", "?"])
URLISH = st.builds(lambda *parts: "".join(parts), SCHEMES, HOSTS, PORTS, PATHS, TAILS)
KINDS = st.sampled_from([None, *TargetKind])
PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _assert_idempotent(raw: str, kind: TargetKind | None) -> None:
    try:
        first = normalize(raw, kind)
    except LocatorError:
        return
    assert normalize(first.value, first.kind) == first


@PROPERTY_SETTINGS
@given(raw=st.text(), kind=KINDS)
@example(raw="http://８.８.８", kind=None)
@example(raw="tg://[", kind=None)
def test_arbitrary_text_raises_only_locator_error_and_is_idempotent(
    raw: str, kind: TargetKind | None
) -> None:
    _assert_idempotent(raw, kind)


@PROPERTY_SETTINGS
@given(raw=URLISH, kind=KINDS)
@example(raw="http://８.８.８", kind=None)
@example(raw="tg://[", kind=None)
def test_urlish_strings_raise_only_locator_error_and_are_idempotent(
    raw: str, kind: TargetKind | None
) -> None:
    _assert_idempotent(raw, kind)


@PROPERTY_SETTINGS
@given(raw=URLISH, allow=st.lists(st.sampled_from(
    ["127.0.0.1", "127.0.0.1:80", "127.0.0.0/8", "[::1]", "localhost", "::ffff:0:0/96",
     "10.0.0.0/8", "0.0.0.0/8"]
), max_size=3).map(tuple))  # fmt: skip
def test_normalization_is_idempotent_under_the_same_allow_list(
    raw: str, allow: tuple[str, ...]
) -> None:
    try:
        first = normalize(raw, None, allow)
    except LocatorError:
        return
    assert normalize(first.value, first.kind, allow) == first


@PROPERTY_SETTINGS
@given(n=st.integers(0, 2**32 - 1), spelling=st.integers(0, 4))
def test_every_ipv4_spelling_of_an_address_gets_the_same_verdict(n: int, spelling: int) -> None:
    octets = [n >> s & 255 for s in (24, 16, 8, 0)]
    dotted = ".".join(map(str, octets))
    spelled = [
        str(n),
        hex(n),
        "0" + oct(n)[2:],
        ".".join(hex(o) for o in octets),
        f"{octets[0]}.{n & 0xFFFFFF}",
    ][spelling]
    try:
        expected: Locator | None = normalize(f"http://{dotted}/")
    except LocatorError:
        expected = None
    if expected is None:
        with pytest.raises(LocatorError):
            normalize(f"http://{spelled}/")
    else:
        assert normalize(f"http://{spelled}/") == expected


@pytest.mark.parametrize(
    "url",
    ["http://[::127.0.0.1]/", "http://[64:ff9b::127.0.0.1]/", "http://[64:ff9b::a00:1]/",
     "http://[2002:7f00:1::]/", "http://[2002:c0a8:101::1]/", "http://[::ffff:0:7f00:1]/",
     "http://[64:ff9b:1:7f00:0:100::]/", "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
     "http://[2606:4700::200:5efe:a00:1]/"],
)  # fmt: skip
def test_ipv6_forms_carrying_a_private_ipv4_address_are_refused(url: str) -> None:
    # The full corpus, run through the spiders' guard as well, is tests/unit/test_addresses.py.
    with pytest.raises(LocatorError, match="it carries"):
        normalize(url)
