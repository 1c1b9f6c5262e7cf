"""Keyword matcher throughput versus a Python ``re`` alternation of the same terms.

Generates 10,000 one-term rules (8,000 Hangul, 2,000 Latin; 100 of them with an allowlist
phrase, 20 with a regex) and 100 MB (UTF-8) of chat-sized messages, mostly Korean with English
words, about a third carrying a term in one of the evasion forms (spaced, dotted, digits,
zero-width, Hangul filler, a vowel jamo between syllables, jamo, initials, romanized, mixed
Hangul/Latin, a letter or digit read as a syllable, a one-jamo slip, full-width, Cyrillic,
mathematical letters) or as written. To keep generation quick a 20 MB pool of distinct messages
is cycled to 100 MB; the matcher keeps no state between messages, so repetition does not
flatter it.

``KeywordMatcher.scan`` is timed over every message, one call per message (end to end:
folding, Hyperscan, offsets, forms, allowlist), twice: with every rule as generated (every
form but ``jamo_slip``, which is opt-in per rule) and with ``slip: true`` on every rule, in
wall-clock and in CPU seconds of this process. The ``re`` baseline (one alternation of the
terms as written, no evasion handling at all) is far slower, so it runs on the first
``BASELINE_MB`` of the same messages and its MB/s is reported as measured there.

Usage: ``python bench/keywords.py`` — the last line printed is the JSON result.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import random
import re
import time

from crawler.matching.keywords import Rule, compile_rules, hangul
from crawler.matching.keywords import readings as phonetic
from crawler.matching.keywords.romanize import syllable_spellings

RULES = 10_000
LATIN_TERMS = 2_000
TOTAL_MB = 100
POOL_MB = 20
BASELINE_MB = 2
SEED = 20240828

_FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "abcdefghijklmnopqrstuvwxyz"}
_CYRILLIC = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у"}
_MATH_BOLD = {c: chr(0x1D41A + i) for i, c in enumerate("abcdefghijklmnopqrstuvwxyz")}
_KOREAN_FORMS = (
    *("written", "spaced", "dotted", "digits", "zw", "filler", "vowel", "jamo", "initials"),
    *("romanized", "mixed", "letter", "digit_reading", "slip"),
)


def _korean_syllables(rng: random.Random) -> tuple[list[str], list[float]]:
    pool = rng.sample([chr(cp) for cp in range(0xAC00, 0xD7A4)], 1_500)
    return pool, [1 / (rank + 1) for rank in range(len(pool))]


def _terms(rng: random.Random, syllables: list[str]) -> list[str]:
    terms: set[str] = set()
    while len(terms) < RULES - LATIN_TERMS:
        terms.add("".join(rng.choices(syllables, k=rng.randint(2, 5))))
    latin: set[str] = set()
    while len(latin) < LATIN_TERMS:
        latin.add("".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(6, 11))))
    return sorted(terms) + sorted(latin)


def _evade(rng: random.Random, term: str) -> str:
    if term.isascii():
        table = rng.choice((_FULLWIDTH, _CYRILLIC, _MATH_BOLD, {}))
        spaced = rng.random() < 0.3
        letters = [table.get(c, c) for c in term]
        return " ".join(letters) if spaced else "".join(letters)
    form = rng.choice(_KOREAN_FORMS)
    if form == "spaced":
        return " ".join(term)
    if form == "dotted":
        return ".".join(term)
    if form == "digits":
        return "".join(c + str(rng.randint(0, 9)) for c in term[:-1]) + term[-1]
    if form == "zw":
        return "\u200b".join(term)
    if form == "filler":
        return "\u3164".join(term)
    if form == "jamo":
        return "".join("".join(hangul.decompose(c)) for c in term)
    if form == "initials" and len(term) >= 3:
        return hangul.initials(term)
    if form == "vowel":
        return "ㅡ".join(term)
    if form in ("romanized", "mixed"):
        parts = rng.choice(syllable_spellings(term))
        if form == "romanized":
            return rng.choice(("", " ", "-")).join(parts)
        cut = rng.randint(1, len(term) - 1)
        return term[:cut] + "".join(parts[cut:])
    readable = [i for i, c in enumerate(term) if c in phonetic.LETTER_READINGS]
    if form == "letter" and len(term) >= 3 and readable:
        i = rng.choice(readable)
        return term[:i] + phonetic.LETTER_READINGS[term[i]].upper() + term[i + 1 :]
    readable = [i for i, c in enumerate(term[1:-1], 1) if c in phonetic.DIGIT_READINGS]
    if form == "digit_reading" and len(term) >= 4 and readable:
        i = rng.choice(readable)
        return term[:i] + phonetic.DIGIT_READINGS[term[i]] + term[i + 1 :]
    if form == "slip" and len(term) >= 4:
        i = rng.randrange(len(term))
        initial, vowel, final = hangul.decompose(term[i])
        if not final:  # one keystroke: add a final, drop a simple one, or half a compound one
            final = rng.choice("ㄱㄴㄹㅁㅂㅅㅇ")
        else:
            final = hangul.SPLIT_COMPOUNDS.get(final, " ")[0].strip()
        return term[:i] + hangul.compose(initial, vowel, final) + term[i + 1 :]
    return term


def _messages(rng: random.Random, terms: list[str], syllables, weights) -> list[str]:
    korean = [
        "".join(rng.choices(syllables, weights, k=rng.randint(1, 4))) for _ in range(30_000)
    ]
    english = [
        "".join(rng.choices("etaoinshrdlucmfwyp", k=rng.randint(2, 9))) for _ in range(3_000)
    ]
    word_weights = [1 / (rank + 1) for rank in range(len(korean))]
    pool, size = [], 0
    while size < POOL_MB * 1_000_000:
        words = rng.choices(korean, word_weights, k=rng.randint(5, 400))
        for i in rng.sample(range(len(words)), k=len(words) // 7):
            words[i] = rng.choice(english)
        if rng.random() < 0.35:
            words.insert(rng.randrange(len(words) + 1), _evade(rng, rng.choice(terms)))
        message = " ".join(words)
        pool.append(message)
        size += len(message.encode())
    messages, size = [], 0
    while size < TOTAL_MB * 1_000_000:
        message = pool[len(messages) % len(pool)]
        messages.append(message)
        size += len(message.encode())
    return messages


def run() -> dict:
    rng = random.Random(SEED)
    syllables, weights = _korean_syllables(rng)
    terms = _terms(rng, syllables)
    rules = [
        Rule(
            f"rule-{i:05d}",
            terms=(term,),
            allowlist=(f"{term} 신고 방법",) if i % 100 == 0 else (),
            regexes=(rf"(?i){term[:2]}\s*\d{{3,}}",) if i % 500 == 0 else (),
            severity=("low", "medium", "high", "critical")[i % 4],
        )
        for i, term in enumerate(terms)
    ]
    messages = _messages(rng, terms, syllables, weights)
    total_bytes = sum(len(m.encode()) for m in messages)

    default = _measure(rules, messages)
    with_slip = _measure([dataclasses.replace(r, slip=True) for r in rules], messages)

    alternation = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)))
    baseline_bytes, baseline_hits = 0, 0
    started = time.perf_counter()
    for message in messages:
        if baseline_bytes >= BASELINE_MB * 1_000_000:
            break
        baseline_hits += sum(1 for _ in alternation.finditer(message))
        baseline_bytes += len(message.encode())
    baseline_s = time.perf_counter() - started

    mb_per_s = total_bytes / default["scan_s"] / 1e6
    slip_mb_per_s = total_bytes / with_slip["scan_s"] / 1e6
    baseline_mb_per_s = baseline_bytes / baseline_s / 1e6
    return {
        "bench": "keywords",
        "rules": len(rules),
        "mb": round(total_bytes / 1e6, 1),
        "messages": len(messages),
        "mb_per_s": round(mb_per_s, 1),
        "mb_per_s_with_slip": round(slip_mb_per_s, 1),
        # The same scans per second of this process's CPU: on the shared host, wall-clock
        # figures move with other jobs' load, CPU time much less.
        "cpu_mb_per_s": round(total_bytes / default["cpu_s"] / 1e6, 1),
        "cpu_mb_per_s_with_slip": round(total_bytes / with_slip["cpu_s"] / 1e6, 1),
        "baseline_mb_per_s": round(baseline_mb_per_s, 2),
        "baseline_mb": round(baseline_bytes / 1e6, 1),
        "ratio": round(mb_per_s / baseline_mb_per_s, 1),
        "ratio_with_slip": round(slip_mb_per_s / baseline_mb_per_s, 1),
        "compile_s": round(default["compile_s"], 2),
        "compile_s_with_slip": round(with_slip["compile_s"], 2),
        "hits": sum(default["forms"].values()),
        "hits_by_form": default["forms"],
        "hits_by_form_with_slip": with_slip["forms"],
    }


def _measure(rules: list[Rule], messages: list[str]) -> dict:
    started = time.perf_counter()
    matcher = compile_rules(rules)
    compile_s = time.perf_counter() - started
    matcher.scan(messages[0])  # per-thread scratch allocation is not throughput
    forms: collections.Counter[str] = collections.Counter()
    started, started_cpu = time.perf_counter(), time.process_time()
    for message in messages:
        for hit in matcher.scan(message):
            forms[hit.form] += 1
    scan_s = time.perf_counter() - started
    cpu_s = time.process_time() - started_cpu
    return {
        "compile_s": compile_s,
        "scan_s": scan_s,
        "cpu_s": cpu_s,
        "forms": dict(sorted(forms.items())),
    }


if __name__ == "__main__":
    print(json.dumps(run(), ensure_ascii=False))
