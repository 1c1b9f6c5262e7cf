"""Banks and rules loaded once per process and refreshed only when they change.

Each ingest batch reads one `matching_version` row per input; when it moved, only the bank
entries changed since (by revision) are applied to the in-memory index, and the rules are
recompiled once for the new rule-set version.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

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
                banks = bank_store.banks_by_id(conn)
                changes = bank_store.entries_since(conn, self._revision)
                self.index.apply(_entries(banks, changes))
                self._revision = version
        return self.index


def _entries(
    banks: dict[int, bank_store.BankRow], changes: Iterable[bank_store.EntryChange]
) -> Iterator[tuple[Entry, bool]]:
    """(entry, live) for each changed row: live when active in an enabled bank. The entries of
    one bank share its name and severity strings, which matters at a million entries."""
    for entry_id, bank_id, status, signal_type, value, label in changes:
        bank = banks[bank_id]
        entry = Entry(entry_id, bank.name, bank.negative, bank.threshold, bank.severity,
                      signal_type, value, label)  # fmt: skip
        yield entry, bank.enabled and status == "active"


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
        slip=bool(row["slip"]),
    )


def rule_to_row(rule: Rule) -> dict:
    return {
        "name": rule.name,
        "terms": list(rule.terms),
        "regexes": list(rule.regexes),
        "allowlist": list(rule.allowlist),
        "language": rule.language,
        "severity": str(rule.severity),
        "slip": rule.slip,
    }
