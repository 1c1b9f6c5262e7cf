"""Hostile strings for the review app, and a world that carries each of them in every field a
reviewer reads, put there through the paths real data takes (ingest with its matchers, and the
CLI's rules, banks, users, alerts and watchlist commands).

Every payload that could act does something observable: it sets `window.__xss`, asks for a URL
whose path or host says `xss`, or leaves an element or attribute naming `xss` in the DOM.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser.harness import ServedApp, room, room_post, seed_alerts
from tests.factories import photo
from tests.integration.alert_helpers import alerts
from tests.integration.cli_runner import add_user

TEMPLATES = "{{7*7}} {% raw %} ${7*7} #{7*7} <%= 7*7 %>"
ANGULAR = "{{constructor.constructor('window.__xss=1')()}}"
ENTITIES = "&lt;script&gt;window.__xss='entity'&lt;/script&gt;"
# Bidi overrides and isolates, a zero-width space inside a room word, a terminal escape.
BIDI = "\u202egnp.exe\u202c 겹지인\u200b방 \u2066x\u2069 \x1b[31mred\x07\x08"
IMG = "<img src=x onerror=\"window.__xss='img'\">"
SVG = "\"><svg onload=\"window.__xss='svg'\">"
SVG_SINGLE = "'><svg/onload=window.__xss='svg2'>"
BREAKOUT = "\" autofocus onfocus=\"window.__xss='attr'\" x=\""
BREAKOUT_SINGLE = "' onmouseover='window.__xss=1' x='"
HX_ON = "<button hx-on:click=\"window.__xss='hx-on'\" hx-on=\"click: window.__xss=1\">b</button>"
PAYLOADS = (
    "<script>window.__xss='script'</script>",
    IMG,
    "<a href=\"javascript:window.__xss='href'\">지인능욕방</a>",
    "javascript:window.__xss='url'//",
    SVG,
    SVG_SINGLE,
    TEMPLATES,
    ANGULAR,
    BREAKOUT,
    BREAKOUT_SINGLE,
    BIDI,
    "<div hx-get=\"/xss-htmx\" hx-trigger=\"load\" hx-swap=\"outerHTML\">hx</div>",
    HX_ON,
    "<meta http-equiv=\"refresh\" content=\"0;url=/xss-refresh\">",
    "</style><style>*{background:url(/xss-css)}</style>",
    "\" style=\"background-image:url(/xss-style)\" x=\"",
    "</textarea></pre></title><script>window.__xss='close'</script>",
    "<iframe src=\"javascript:top.__xss='iframe'\"></iframe>",
    "<base href=\"http://xss.invalid/\">",
    ENTITIES,
    "<noscript><p title=\"</noscript><img src=x onerror=window.__xss=1>\">",
    "https://t.me/evil_room\" onclick=\"window.__xss='link'",
)
DISPLAY_ONLY = frozenset({TEMPLATES, ANGULAR, ENTITIES})
"""Payloads that do nothing even in a page that does not escape them: template syntax acts only
where a template engine reads collected text, entities only where something decodes twice. For
these, being shown literally is the whole check."""
REVIEWER_NAMES = (IMG, SVG, SVG_SINGLE, BREAKOUT, BREAKOUT_SINGLE, HX_ON)
"""Payloads that are also reviewers' names (each one costs an argon2 hash): markup, both
attribute breakouts, htmx. The other payloads' alerts are decided by the staff user."""
SYLLABLES = "가나다라마바사아자차카타파하거너더러머버서어저처커터퍼허"
"""Rule i's term is 지인능욕 + SYLLABLES[i]: each post matches its own rule only."""


@dataclass(frozen=True, slots=True)
class Seeded:
    """Which alerts carry which payload, and who the hostile reviewers are."""

    keyword: dict[int, int]
    """alert id → payload index, keyword alerts (payload in text, title, rule, reason)."""
    hashed: dict[int, int]
    """alert id → payload index, hash matches (payload in bank, label, title, assignee)."""
    reviewers: dict[int, str]
    """payload index → the staff user who claimed or decided its alerts (the payload itself
    for REVIEWER_NAMES)."""


def term(index: int) -> str:
    return "지인능욕" + SYLLABLES[index]


def sha(index: int) -> str:
    return hashlib.sha256(f"xss corpus picture {index}".encode()).hexdigest()


def _rules_yaml() -> str:
    # JSON strings are YAML double-quoted scalars: every payload survives as written.
    rules = [
        f"  - name: {json.dumps(payload)}\n    severity: {'critical' if i % 2 else 'high'}\n"
        f"    terms: [{json.dumps(term(i))}]\n"
        for i, payload in enumerate(PAYLOADS)
    ]
    return "rules:\n" + "".join(rules)


def _bank_csv(index: int) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(["sha256", sha(index), PAYLOADS[index]])
    return out.getvalue()


def _ok(result: object) -> None:
    assert getattr(result, "code", None) == 0, result


def seed_corpus(app: ServedApp, folder: Path) -> Seeded:
    """Every payload in every field; see the module docstring."""
    cli = app.cli
    rules = folder / "xss-rules.yaml"
    rules.write_text(_rules_yaml(), encoding="utf-8")
    _ok(cli("rules", "import", str(rules)))
    for i, payload in enumerate(PAYLOADS):
        bank = folder / f"xss-bank-{i}.csv"
        bank.write_text(_bank_csv(i), encoding="utf-8")
        _ok(cli("banks", "import", str(bank), "--bank", payload, "--severity", "high"))
        _ok(cli("watchlist", "add", f"@hostile_room_{i}", "--list", payload, "--tag", payload,
                "--tag", "deepfake", "--note", payload))  # fmt: skip

    observations = []
    for i, payload in enumerate(PAYLOADS):
        channel = room(7_000_000 + i, f"hostile_room_{i}", f"겹지인방 {payload}")
        # The post's link is the payload too: a collector hands over whatever t.me served.
        text = f"{term(i)} {payload}\n둘째 줄 {payload}"
        item = room_post(channel, 1, text, media=[photo(sha(i))], url=payload)
        observations += [channel, item]
    raised = seed_alerts(app.engine, observations)

    keyword: dict[int, int] = {}
    hashed: dict[int, int] = {}
    rows = [a for a in alerts(app.engine) if a["id"] in raised]
    for row in rows:
        evidence = row["evidence"]
        if row["kind"] == "keyword":
            keyword[row["id"]] = PAYLOADS.index(evidence["rule"])
        elif row["kind"] == "hash_match":
            hashed[row["id"]] = PAYLOADS.index(evidence["bank"])
    assert sorted(keyword.values()) == sorted(hashed.values()) == list(range(len(PAYLOADS))), (
        rows
    )

    reviewers = dict.fromkeys(range(len(PAYLOADS)), app.users["staff"])
    with pytest.MonkeyPatch.context() as patch:
        for name in REVIEWER_NAMES:
            added = add_user(cli, patch, name, "staff", app.password)
            assert added.code == 0, added
            reviewers[PAYLOADS.index(name)] = name
        # A user name must be printable: the bidi payload is refused.
        assert add_user(cli, patch, BIDI, "staff", app.password).code == 2
    for alert_id, i in keyword.items():
        _ok(cli("alerts", "decide", str(alert_id), "escalate", "--as", reviewers[i],
                "--reason", PAYLOADS[i]))  # fmt: skip
    for alert_id, i in hashed.items():
        _ok(cli("alerts", "claim", str(alert_id), "--as", reviewers[i]))
    return Seeded(keyword, hashed, reviewers)
