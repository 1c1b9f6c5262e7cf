"""Which of many texts can hit a rule at all: one engine call per batch, for the retro-hunt.

``KeywordMatcher.scan`` costs a few microseconds of fixed overhead per call (folding, two
Hyperscan calls, Python around them): on short posts that held the rescan to ~15 MB/s. The
prefilter folds and scans a whole batch at once and returns the texts worth an exact ``scan``.
It over-reports and never under-reports: every text ``scan`` would find a hit in is returned.

- Skeleton: the texts are joined with a newline and folded in one numpy pass; each joiner
  becomes ``BOUNDARY`` (a unit no letter folds to and no literal holds) instead of being
  dropped, so no literal matches across two texts and jamo composition (``fold.compose``,
  ``fold.drop_vowel_separators``) stops at a text's edge as it does at the end of a lone text.
  Composition is applied to the whole batch when any text needs it: it changes nothing in a
  text without a consonant+vowel pair or a vowel, which are exactly the texts ``scan`` leaves
  alone.
- Every literal hit counts, without allowlists, word-boundary or digit checks. A slip half
  counts only when the units around it differ from its term in exactly one place (one numpy
  comparison for all of them): the keystroke test is left to ``scan``. Halves such as 지인 occur
  in most Korean chat, and would otherwise make nearly every text a candidate.
- Regexes run once over the UTF-8 texts joined with newlines, compiled with multiline
  semantics so ``^``/``$`` also match at each text's edges; a hit overlapping several texts
  makes them all candidates. A regex with ``\\A``, ``\\Z``, ``\\z`` or a flag group turning
  multiline off would miss there, so with one of those every text is a candidate.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import hyperscan
import numpy as np

from crawler.matching.keywords import fold, targets

if TYPE_CHECKING:
    from crawler.matching.keywords.engine import KeywordMatcher

BOUNDARY = 0xFFFF
"""A noncharacter: folds to a separator, so no text or literal yields it as a unit."""
_JOINER = "\n"
_UNANCHORABLE = re.compile(r"\\[AZz]|\(\?[a-zA-Z]*-")
_SLIP_KINDS = (targets.SLIP_FIRST_HALF, targets.SLIP_SECOND_HALF)


class Prefilter:
    """Built once per matcher on first use (the live path never needs it)."""

    def __init__(self, matcher: KeywordMatcher) -> None:
        self._matcher = matcher
        count = len(matcher._targets)
        # Per literal: does a hit make a candidate by itself, and the slips to check if not.
        self._plain = np.zeros(count + 1, dtype=bool)
        self._slips: dict[int, list[tuple[np.ndarray, int]]] = {}
        for pattern, found in enumerate(matcher._targets):
            for target in found:
                if target.kind == targets.ALLOW:
                    continue
                if target.kind not in _SLIP_KINDS:
                    self._plain[pattern] = True
                    continue
                key = np.frombuffer(target.key.encode("utf-16-le"), dtype=np.uint16)
                # Units from the literal's end back to the start of the term it belongs to.
                back = target.length if target.kind == targets.SLIP_FIRST_HALF else len(key)
                self._slips.setdefault(pattern, []).append((key, back))
        sources = [pattern for _, pattern in matcher._regexes]
        self._every_text = any(_UNANCHORABLE.search(source) for source in sources)
        self._regex_db = None
        if sources and not self._every_text:
            flags = [hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_UCP | hyperscan.HS_FLAG_SOM_LEFTMOST
                     | hyperscan.HS_FLAG_MULTILINE] * len(sources)  # fmt: skip
            self._regex_db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            self._regex_db.compile(
                expressions=[source.encode() for source in sources],
                ids=list(range(len(sources))),
                elements=len(sources),
                flags=flags,
            )

    def candidates(self, texts: Sequence[str]) -> list[int]:
        """Indices, ascending, of the texts that may hold a hit (a superset of those that do)."""
        if self._every_text:
            return [n for n, text in enumerate(texts) if text]
        marked = np.zeros(len(texts) + 1, dtype=bool)
        if texts and self._matcher._literals is not None:
            self._mark_literals(texts, marked)
        if texts and self._regex_db is not None:
            self._mark_regexes(texts, marked)
        return np.flatnonzero(marked[: len(texts)]).tolist()

    def _mark_literals(self, texts: Sequence[str], marked: np.ndarray) -> None:
        matcher = self._matcher
        joined = _JOINER.join(texts) + _JOINER
        lengths = np.fromiter(map(len, texts), dtype=np.intp, count=len(texts))
        data = joined.encode("utf-16-le", "surrogatepass")
        if len(data) == 2 * len(joined):
            folded = fold._bmp_table().take(np.frombuffer(data, dtype=np.uint16))
        else:
            codepoints = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), np.uint32)
            folded = fold.fold_table().take(codepoints)
        folded[np.cumsum(lengths + 1) - 1] = BOUNDARY
        sk = fold.Skeleton(folded[folded != fold.SEPARATOR], folded)
        found = matcher._scan_units(sk)
        triggers = {pattern for pattern, _ in found if pattern >= len(matcher._targets)}
        if triggers:
            if min(triggers) < matcher._vowel_trigger:
                sk = fold.compose(sk)
            if max(triggers) >= matcher._vowel_trigger:
                sk = fold.drop_vowel_separators(sk)
            found = matcher._scan_units(sk)
        if not found:
            return
        hits = np.array(found, dtype=np.intp)
        patterns, ends = hits[:, 0], hits[:, 1]
        keep = (ends % 2 == 0) & (patterns < len(matcher._targets))
        patterns, ends = patterns[keep], ends[keep] // 2
        units = sk.units
        boundaries = np.flatnonzero(units == BOUNDARY)
        plain = self._plain[patterns]
        # A literal never holds BOUNDARY, so its last unit tells the text.
        marked[np.searchsorted(boundaries, ends[plain] - 1)] = True
        for pattern, checks in self._slips.items():
            at = ends[patterns == pattern]
            for key, back in checks:
                first = at - back
                inside = (first >= 0) & (first + len(key) <= units.size)
                first = first[inside]
                window = units[first[:, None] + np.arange(len(key))]
                once = np.count_nonzero(window != key, axis=1) == 1
                marked[np.searchsorted(boundaries, first[once])] = True

    def _mark_regexes(self, texts: Sequence[str], marked: np.ndarray) -> None:
        # errors="replace" as in ``scan``: each text's bytes are the ones it scans.
        encoded = [text.encode("utf-8", "replace") for text in texts]
        sizes = np.fromiter(map(len, encoded), dtype=np.intp, count=len(encoded))
        ends = np.cumsum(sizes + 1) - 1  # each text's end: where its joiner stands
        starts = ends - sizes
        spans: list[tuple[int, int, int]] = []
        self._regex_db.scan(
            b"\n".join(encoded),
            match_event_handler=_collect_span,
            context=spans,
            scratch=hyperscan.Scratch(self._regex_db),
        )
        for _, start, end in spans:
            first = int(np.searchsorted(ends, start, side="right"))
            last = int(np.searchsorted(starts, end, side="left"))  # one past the last text
            marked[first:last] = True


def _collect_span(pattern: int, start: int, end: int, _flags: int, found: list) -> None:
    found.append((pattern, start, end))
