"""Keyword rules, their severities, the forms a hit can take, and rule validation."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from enum import StrEnum

from crawler.input_limits import (
    MAX_LANGUAGE_CHARS,
    MAX_PHRASE_CHARS,
    MAX_REGEX_CHARS,
    MAX_RULE_ENTRIES,
    MAX_RULE_NAME_CHARS,
    MAX_TERM_CHARS,
    shown,
)


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Form(StrEnum):
    """How the text wrote the term; shown to reviewers so they see why a hit fired.

    When several evasions are combined the most telling one is reported, in the order
    initials > jamo > lookalike > separated > as_written. The forms after ``INITIALS`` are
    spellings generated from the term (see ``targets``), so a hit has that form whatever
    separators or look-alikes it also carries.
    """

    AS_WRITTEN = "as_written"  # the term itself, case-insensitively (and every regex hit)
    SEPARATED = "separated"  # 지 인 능 욕, 지.인.능.욕, 지1인능욕, zero-width, 지ㅡ인ㅡ능ㅡ욕
    LOOKALIKE = "lookalike"  # full-width, homoglyph, accented or styled letters: dеepfаke
    JAMO = "jamo"  # spelled out in jamo: ㅈㅣㅇㅣㄴㄴㅡㅇㅇㅛㄱ
    INITIALS = "initials"  # initial consonants only: ㅈㅇㄴㅇ
    ROMANIZED = "romanized"  # all in Latin letters: jiinneungyok, ji-in neung-yok, chiinnungyok
    LATIN_PHONETIC = "latin_phonetic"  # a letter or digit read as a syllable: G인능욕, 딥페2크
    MIXED_SCRIPT = "mixed_script"  # the first syllables in Hangul, the rest romanized: 지인능yok
    JAMO_SLIP = "jamo_slip"  # opt-in (Rule.slip): one jamo added, dropped or changed: 지잉능욕


def one_step_lower(severity: Severity) -> Severity:
    """A slip is also how ordinary words differ, so its hits rank one severity lower."""
    order = list(Severity)
    return order[max(order.index(severity) - 1, 0)]


class RuleError(ValueError):
    """A rule the engine cannot load or run; names the rule (and the YAML line if known)."""

    def __init__(self, rule: str | None, message: str, line: int | None = None) -> None:
        self.rule = rule
        self.message = message
        self.line = line
        where = f"line {line}: " if line is not None else ""
        who = f"rule {rule!r}: " if rule is not None else ""
        super().__init__(f"{where}{who}{message}")


_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
# Checked before Hyperscan (or Python's re) compiles anything: a term is one literal pattern.
_MAX_CHARS = {"terms": MAX_TERM_CHARS, "regexes": MAX_REGEX_CHARS, "allowlist": MAX_PHRASE_CHARS}


@dataclass(frozen=True)
class Rule:
    """One keyword rule.

    ``terms`` are matched in every evasion form (see ``Form``). They are made of letters (and
    spaces, which are optional in the text); digits, punctuation and symbols are separators to
    the matcher, so a term that needs them ("19금") must be a regex. ``regexes`` run on the text as
    written, in the dialect described in ``engine``; an ``allowlist`` phrase cancels a hit of
    this rule whose span lies inside an occurrence of the phrase. ``language`` is a BCP 47 tag
    for reviewers and routing; it does not restrict matching, because evasions mix scripts.
    ``slip`` adds the ``jamo_slip`` form for terms of four or more syllables, one severity
    lower: off by default, because a one-jamo change is also how real words differ.
    """

    name: str
    terms: tuple[str, ...] = ()
    regexes: tuple[str, ...] = ()
    allowlist: tuple[str, ...] = ()
    language: str | None = None
    severity: Severity = Severity.MEDIUM
    slip: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise RuleError(None, "a rule needs a non-empty name")
        if len(self.name) > MAX_RULE_NAME_CHARS:
            raise RuleError(None, f"a rule name must be at most {MAX_RULE_NAME_CHARS} characters")
        for field, max_chars in _MAX_CHARS.items():
            values = getattr(self, field)
            if isinstance(values, str):
                raise RuleError(self.name, f"{field} must be a list of strings, not one string")
            values = tuple(values)
            object.__setattr__(self, field, values)
            if len(values) > MAX_RULE_ENTRIES:
                raise RuleError(self.name, f"at most {MAX_RULE_ENTRIES} {field} per rule")
            for value in values:
                if not isinstance(value, str) or not value.strip():
                    raise RuleError(self.name, f"{field} entries must be non-empty strings")
                if len(value) > max_chars:
                    raise RuleError(
                        self.name, f"{field} entry {shown(value)} is over {max_chars} characters"
                    )
        if not self.terms and not self.regexes:
            raise RuleError(self.name, "a rule needs at least one term or regex")
        try:
            object.__setattr__(self, "severity", Severity(self.severity))
        except ValueError:
            allowed = ", ".join(s.value for s in Severity)
            raise RuleError(
                self.name, f"severity {shown(self.severity)} is not one of {allowed}"
            ) from None
        if not isinstance(self.slip, bool):
            raise RuleError(self.name, f"slip must be true or false, not {self.slip!r}")
        language = self.language
        if language is not None and (
            len(str(language)) > MAX_LANGUAGE_CHARS or not _LANGUAGE.fullmatch(str(language))
        ):
            raise RuleError(self.name, f"language {shown(language)} is not a BCP 47 tag")
        for pattern in self.regexes:
            try:
                with warnings.catch_warnings():
                    # "Possible nested set" and the like would be a second line on stderr.
                    warnings.simplefilter("ignore")
                    re.compile(pattern)
            except re.error as exc:
                raise RuleError(self.name, f"regex {shown(pattern)} is not valid: {exc}") from None
            except RecursionError:
                # Python's regex parser recurses once per nested group.
                raise RuleError(self.name, f"regex {shown(pattern)} nests too deeply") from None
