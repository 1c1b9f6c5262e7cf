"""Banks and rules loaded once per process and refreshed only when they change.

Each ingest batch reads one `matching_version` row per input; when it moved, only the bank
entries changed since (by revision) are applied to the in-memory index, and the rules are
recompiled once for the new rule-set version.
"""

from __future__ import annotations

import threading

from sqlalchemy import Connection

from crawler.matching.hash_matcher import BankIndex, Entry
from crawler.matching.keywords import KeywordMatcher, Rule, compile_rules
from storage import bank_store


class BankCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revision = 0
        self.index = BankIndex()

    def current(self, conn: Connection) -> BankIndex:
        version = bank_store.read_version(conn, bank_store.BANKS)
        with self._lock:
            if version > self._revision:
                rows = list(bank_store.entries_since(conn, self._revision))
                self.index.apply(
                    (
                        Entry(r.id, r.bank, r.negative, r.threshold, r.severity,
                              r.signal_type, r.value, r.label),
                        r.live,
                    )
                    for r in rows
                )  # fmt: skip
                self._revision = version
        return self.index


class RuleCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version = -1
        self._matcher: KeywordMatcher | None = None

    def current(self, conn: Connection) -> KeywordMatcher | None:
        version = bank_store.read_version(conn, bank_store.RULES)
        with self._lock:
            if version != self._version:
                rules = [rule_from_row(row) for row in bank_store.load_rules(conn)]
                self._matcher = compile_rules(rules) if rules else None
                self._version = version
            return self._matcher


def rule_from_row(row: dict) -> Rule:
    return Rule(
        name=row["name"],
        terms=tuple(row["terms"] or ()),
        regexes=tuple(row["regexes"] or ()),
        allowlist=tuple(row["allowlist"] or ()),
        language=row["language"],
        severity=row["severity"],
    )


def rule_to_row(rule: Rule) -> dict:
    return {
        "name": rule.name,
        "terms": list(rule.terms),
        "regexes": list(rule.regexes),
        "allowlist": list(rule.allowlist),
        "language": rule.language,
        "severity": str(rule.severity),
    }
