"""The compiled keyword matcher: one Hyperscan database per rule-set version.

How a message is scanned
------------------------
1. ``fold.skeleton`` turns the text into its folded letters (separators dropped, look-alikes
   folded, spelled-out jamo composed), each with its span in the original ``str``.
2. One Hyperscan database of literals over the skeleton holds, for every rule, the folded form of
   each term, the initial-consonant form of each Hangul term of three or more syllables, and the
   folded allowlist phrases. One literal per term therefore catches as-written, separated,
   look-alike and jamo forms; the form is then read off the original text of the hit. The
   spellings generated from Hangul terms (romanized, mixed-script, letter and digit readings,
   and the opt-in slips, each term with one syllable left open: ``targets``) are patterns in
   the same database, each with its form fixed; ``targets.locate`` checks what a pattern
   cannot (a reading's digit, a slip's keystroke).
3. Regexes run in a second database over the UTF-8 text as written.

Engine choice, measured on Korean chat text (bench/keywords.py data, 2 shared cores):
- A separator-tolerant regex per term on the raw text (지[sep]*인[sep]*능[sep]*욕, one Hyperscan
  database) does not scale: 300 terms compiled in 3 s and scanned 30 MB/s, 1,000 terms 20 s and
  12 MB/s, 3,000 terms 186 s and 3 MB/s; 10,000 with a ``[^\\p{L}]`` class did not compile in
  10 minutes. Every syllable of Korean text starts some term, so no literal factor filters.
- Folding first (numpy, ~230 MB/s) and matching literals on the skeleton: Hyperscan ran at
  350 MB/s of original text over the 10,000 folded terms, ahocorasick-rs at 93 MB/s (it needs a
  str, so one more decode). End to end ``scan`` measured 59–66 MB/s over 100 MB, 10,000 rules,
  against 0.19 MB/s for a Python ``re`` alternation of the same terms as written.
- The generated spellings add ~12 literals per Hangul term of 2-5 syllables (mixed-script
  ones are most): 10,000 rules went from ~16,000 literals to ~115,000, compile from 2 s to
  6 s, end to end from 63 to 61 MB/s. ``slip`` on every rule adds a pattern per syllable of
  each term of four or more (~25,000): compile took 10.6-11.3 s instead of 5.3-6.0 s, the
  scan about 20 % longer (bench/README.md).

Matching decisions
------------------
- Hangul terms match anywhere (Korean glues particles and suffixes: 지인능욕방, 합성방에서). A hit
  whose text contains separators must not start inside a word (a Hangul syllable right before
  it), so "가능 욕구" is not 능욕.
- Latin, Greek and Cyrillic terms match whole words: the characters just before and after the
  hit must not be letters of those scripts (so "ass" does not fire in "class"). The same holds
  for the Latin end of a generated spelling (jiinneungyok is not a hit in jiinneungyokx).
- Initial-consonant forms exist only for Hangul terms of three or more syllables (two initials
  such as ㄱㅌ collide with everything) and, by construction, only match text written in jamo:
  syllables stay syllables in the skeleton, so ㅈㅇㄴㅇ never matches 자연노을.
- Allowlist: a hit is cancelled when its span lies within the span of an occurrence of an
  allowlist phrase *of the same rule*. Phrases are folded like terms, so spacing variants of
  "딥페이크 성범죄 신고" count; a phrase next to the hit that does not cover it cancels nothing.
- Within a rule, a hit that lies inside a longer hit is dropped (지인능욕 inside 지인능욕방), and
  hits of one term do not overlap (leftmost, then longest, wins). Different rules all report.

Regex dialect: the subset of Python ``re`` that Hyperscan runs in UTF-8 mode with Unicode
classes (``\\w \\d \\s`` are Unicode-aware, as in Python): no back-references, no look-arounds,
no ``\\b``/``\\B`` (Hyperscan has no Unicode word boundary), nothing that matches the empty
string; ``^``/``$`` anchor the message; flags inline, e.g. ``(?i)``. A pattern outside the subset
is rejected by ``compile_rules`` with ``RuleError`` naming the rule. Regexes run on the text as
written (no folding) and their hits have form ``as_written``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import hyperscan

from crawler.matching.keywords import batch, fold, hangul, slip, targets
from crawler.matching.keywords.rules import Form, Rule, RuleError, Severity, one_step_lower
from crawler.matching.keywords.targets import Target, is_word_unit

_REGEX_FLAGS = hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_UCP | hyperscan.HS_FLAG_SOM_LEFTMOST


Span = tuple[int, str, int, int, Form]
"""(rule index, term, start, end, form) of a hit before the rule-level checks of ``_finish``."""


@dataclass(frozen=True)
class Hit:
    rule: str
    term: str
    form: Form
    start: int
    end: int
    matched_text: str
    severity: Severity


class KeywordMatcher:
    """Scans messages against one compiled rule set. Build with ``compile_rules``."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        patterns: dict[bytes, list[Target]] = {}
        for index, rule in enumerate(self.rules):
            for term in rule.terms:
                key = _term_key(rule, term)
                for pattern, target in targets.term_targets(index, rule, term, key):
                    patterns.setdefault(pattern, []).append(target)
            for phrase in rule.allowlist:
                pattern, target = targets.allow_target(index, phrase, _allow_key(rule, phrase))
                patterns.setdefault(pattern, []).append(target)
        self._targets = list(patterns.values())
        # Pattern ids past the targets are consonant+vowel pairs, then lone vowels: they say
        # that jamo in this message spell syllables or may stand between syllables, and only
        # then is the skeleton reworked and scanned again (a numpy test of every message for
        # vowels cost 3 µs a message, ~10 % of the scan).
        pairs = fold.composable_pairs()
        self._vowel_trigger = len(patterns) + len(pairs)
        pairs += list(hangul.JUNGSEONG)
        self._literals = (
            _compile_db(
                [*patterns, *map(targets.literal, pairs)],
                [0] * len(patterns) + [hyperscan.HS_FLAG_SINGLEMATCH] * len(pairs),
            )
            if patterns
            else None
        )
        self._regexes = [(i, p) for i, r in enumerate(self.rules) for p in r.regexes]
        for index, pattern in self._regexes:
            _check_regex(self.rules[index].name, pattern)
        self._regex_db = (
            _compile_db([p.encode() for _, p in self._regexes], _REGEX_FLAGS)
            if self._regexes
            else None
        )
        self._scratch = _Scratch(self._literals, self._regex_db)
        self._batch: batch.BatchScanner | None = None

    def scan(self, text: str) -> list[Hit]:
        spans: list[Span] = []
        allowed: dict[int, list[tuple[int, int]]] = {}
        if text and self._literals is not None:
            self._scan_skeleton(text, spans, allowed)
        if text and self._regex_db is not None:
            self._scan_regexes(text, spans)
        return self._finish(text, spans, allowed) if spans else []

    def scan_many(self, texts: Sequence[str]) -> list[list[Hit]]:
        """``[self.scan(text) for text in texts]``, with one fold and one Hyperscan call per
        database for the whole batch instead of per text (``batch``)."""
        return self.prepare_many().scan(texts)

    def prepare_many(self) -> batch.BatchScanner:
        """What ``scan_many`` uses, built on first call (its regexes compiled once more, for
        joined texts): a process forked after this inherits it instead of compiling its own."""
        if self._batch is None:
            self._batch = batch.BatchScanner(self)
        return self._batch

    def _scan_skeleton(
        self, text: str, spans: list[Span], allowed: dict[int, list[tuple[int, int]]]
    ) -> None:
        sk, found = self._scan_folded(fold.skeleton(text))
        for pattern, end_byte in found:
            if end_byte % 2 or pattern >= len(self._targets):
                continue  # odd: a literal of 2-byte units matched across unit boundaries
            unit_end = end_byte // 2
            for target in self._targets[pattern]:
                located = targets.locate(target, sk, text, unit_end)
                if located is None:
                    continue
                start, end = located
                if target.kind == targets.ALLOW:
                    allowed.setdefault(target.rule, []).append((start, end))
                else:
                    self._add_span(text, start, end, target, spans)

    @staticmethod
    def _add_span(text: str, start: int, end: int, target: Target, spans: list[Span]) -> None:
        """A located hit of a term, kept when its edges are acceptable, with its form."""
        if _acceptable(text, start, end, target):
            spans.append((target.rule, target.term, start, end, _form(text[start:end], target)))

    def _scan_folded(self, sk: fold.Skeleton) -> tuple[fold.Skeleton, list[tuple[int, int]]]:
        """The literal hits (pattern, end byte) in a skeleton, and the skeleton they index:
        reworked and scanned again when jamo in it spell syllables or stand between them."""
        found = self._scan_units(sk)
        triggers = {pattern for pattern, _ in found if pattern >= len(self._targets)}
        if triggers:
            if min(triggers) < self._vowel_trigger:
                sk = fold.compose(sk)
            if max(triggers) >= self._vowel_trigger:
                sk = fold.drop_vowel_separators(sk)
            found = self._scan_units(sk)
        return sk, found

    def _scan_units(self, sk: fold.Skeleton) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        self._literals.scan(
            sk.units.tobytes(),
            match_event_handler=_collect_end,
            context=found,
            scratch=self._scratch.literals,
        )
        return found

    def _scan_regexes(self, text: str, spans: list[Span]) -> None:
        # errors="replace" turns a lone surrogate into one "?" byte: still one character,
        # and Hyperscan's UTF-8 mode only promises anything for valid UTF-8.
        data = text.encode("utf-8", "replace")
        found: list[tuple[int, int, int]] = []
        self._regex_db.scan(
            data,
            match_event_handler=_collect_span,
            context=found,
            scratch=self._scratch.regexes,
        )
        if not found:
            return
        chars = _char_offsets(data, {o for _, s, e in found for o in (s, e)})
        for pattern, start, end in found:
            rule, source = self._regexes[pattern]
            spans.append((rule, source, chars[start], chars[end], Form.AS_WRITTEN))

    def _finish(
        self, text: str, spans: list[Span], allowed: dict[int, list[tuple[int, int]]]
    ) -> list[Hit]:
        hits: list[Hit] = []
        term_end: dict[tuple[int, str], int] = {}
        rule_end: dict[int, int] = {}
        cover = {rule: _Cover(spans_) for rule, spans_ in allowed.items()}
        if any(form == Form.JAMO_SLIP for *_, form in spans):
            spans = slip.unshadowed(spans)
        # Sorted by start, longest first, so a hit inside a longer hit of its rule comes after
        # it and ends no later than the furthest end kept so far for that rule; then by rule,
        # term and form, so equal spans keep the same one whatever order the engine found them.
        spans = sorted(spans, key=lambda s: (s[2], -s[3], s[0], s[1], s[4]))
        for rule_index, term, start, end, form in spans:
            if rule_index in cover and cover[rule_index].covers(start, end):
                continue
            if term_end.get((rule_index, term), -1) > start or rule_end.get(rule_index, -1) >= end:
                continue
            term_end[rule_index, term] = end
            rule_end[rule_index] = max(end, rule_end.get(rule_index, -1))
            rule = self.rules[rule_index]
            severity = one_step_lower(rule.severity) if form == Form.JAMO_SLIP else rule.severity
            hits.append(Hit(rule.name, term, form, start, end, text[start:end], severity))
        return hits


class _Cover:
    """Does some allowlist span contain [start, end)? Queried with ascending ``start``.

    Hostile text can repeat a phrase thousands of times in a web page, so this is a sweep
    (max end of the spans begun so far), not a scan of every span for every hit.
    """

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        self._spans = sorted(spans)
        self._next = 0
        self._max_end = -1

    def covers(self, start: int, end: int) -> bool:
        while self._next < len(self._spans) and self._spans[self._next][0] <= start:
            self._max_end = max(self._max_end, self._spans[self._next][1])
            self._next += 1
        return self._max_end >= end


class _Scratch(threading.local):
    """Hyperscan scratch space serves one scan at a time: each thread gets its own."""

    def __init__(self, *dbs: hyperscan.Database | None) -> None:
        self.literals, self.regexes = (hyperscan.Scratch(db) if db else None for db in dbs)


def compile_rules(rules: Sequence[Rule]) -> KeywordMatcher:
    """Compile a rule-set version once; reuse the matcher for every message."""
    names = [rule.name for rule in rules]
    for name in names:
        if names.count(name) > 1:
            raise RuleError(name, "two rules share this name")
    return KeywordMatcher(rules)


def validate_rule(rule: Rule) -> None:
    """Raise ``RuleError`` for anything in ``rule`` that ``compile_rules`` would reject."""
    for term in rule.terms:
        _term_key(rule, term)
    for phrase in rule.allowlist:
        _allow_key(rule, phrase)
    for pattern in rule.regexes:
        _check_regex(rule.name, pattern)


def _allow_key(rule: Rule, phrase: str) -> str:
    key = fold.fold_term(phrase)
    if not key:
        raise RuleError(rule.name, f"allowlist phrase {phrase!r} has no letters")
    return key


def _term_key(rule: Rule, term: str) -> str:
    separators = sorted({ch for ch in term if fold.is_separator(ch) and not ch.isspace()})
    if separators:
        raise RuleError(
            rule.name,
            f"term {term!r} contains {''.join(separators)!r}; digits, punctuation and symbols "
            "are separators to the matcher, so write this one as a regex",
        )
    key = fold.fold_term(term)
    if len(key) < 2:
        raise RuleError(rule.name, f"term {term!r} needs at least two letters")
    if chr(fold.UNSUPPORTED) in key:
        raise RuleError(rule.name, f"term {term!r} has letters outside the supported planes")
    return key


def _check_regex(rule: str, pattern: str) -> None:
    # Compiled alone first because Hyperscan's multi-pattern errors do not say which pattern.
    try:
        _compile_db([pattern.encode()], _REGEX_FLAGS)
    except hyperscan.error as exc:
        raise RuleError(rule, f"regex {pattern!r} is not supported: {exc}") from None


def _compile_db(expressions: list[bytes], flags: int | list[int]) -> hyperscan.Database:
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(
        expressions=expressions,
        ids=list(range(len(expressions))),
        elements=len(expressions),
        flags=flags,
    )
    return db


def _collect_end(pattern: int, _start: int, end: int, _flags: int, found: list) -> None:
    found.append((pattern, end))


def _collect_span(pattern: int, start: int, end: int, _flags: int, found: list) -> None:
    found.append((pattern, start, end))


def _char_offsets(data: bytes, byte_offsets: set[int]) -> dict[int, int]:
    """UTF-8 byte offsets → str offsets, decoding each stretch between offsets once: O(n)."""
    chars: dict[int, int] = {}
    previous_byte = previous_char = 0
    for offset in sorted(byte_offsets):
        previous_char += len(data[previous_byte:offset].decode("utf-8"))
        chars[offset] = previous_char
        previous_byte = offset
    return chars


def _acceptable(text: str, start: int, end: int, target: Target) -> bool:
    at_start, at_end = target.whole_word
    if at_start and start > 0 and is_word_unit(_unit(text[start - 1])):
        return False
    if at_end and end < len(text) and is_word_unit(_unit(text[end])):
        return False
    if target.hangul_start and start > 0 and hangul.is_syllable(text[start - 1]):
        return len(fold.letters(text[start:end])) == end - start  # not spread out
    return True


def _unit(ch: str) -> int:
    return fold.fold_table().item(ord(ch))


def _form(matched: str, target: Target) -> Form:
    if target.kind in targets.FIXED_FORMS:
        return targets.FIXED_FORMS[target.kind]
    term = target.term
    if matched.casefold() == term.casefold():
        return Form.AS_WRITTEN
    core = fold.letters(matched)
    if any(hangul.is_jamo(ch) for ch in core) and not any(hangul.is_jamo(ch) for ch in term):
        return Form.JAMO
    if "".join(core).casefold() != "".join(term.split()).casefold():
        return Form.LOOKALIKE
    return Form.SEPARATED
