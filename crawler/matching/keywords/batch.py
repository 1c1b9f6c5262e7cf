"""Scanning many texts at once: the hits ``KeywordMatcher.scan`` finds in each, for a fraction of
its per-text cost. Ingest scans each batch of posts this way; the retro-hunt, every stored text.

``scan`` pays a fixed cost per call (folding, two Hyperscan calls, the Python around them), which
on short posts outweighs the scanning itself. Here the texts are folded and scanned together,
and only the literal hits pay for Python:

- Skeleton: the texts are joined with a newline and folded in one numpy pass; each joiner
  becomes ``BOUNDARY`` (a unit no letter folds to and no literal holds) instead of being
  dropped, so no literal matches across two texts and jamo composition (``fold.compose``,
  ``fold.drop_vowel_separators``) stops at a text's edge as it does at the end of a lone text.
  Composition is applied to the whole batch when any text needs it: it changes nothing in a
  text without a consonant+vowel pair or a vowel, which are exactly the texts ``scan`` leaves
  alone.
- Hits: each hit of the skeleton database is given to its text (the ``BOUNDARY`` after it)
  and checked as ``scan`` checks it (``targets.locate``, word edges, the form), with offsets
  made relative to the text.
- Regexes run once over the UTF-8 texts joined with newlines, compiled with multiline
  semantics so ``^``/``$`` also match at each text's edges; a text with a hit there (or every
  text, when a regex uses ``\\A``, ``\\Z``, ``\\z`` or turns multiline off) is then scanned with
  the regexes on its own, which gives the exact spans.

The result equals ``[matcher.scan(text) for text in texts]`` (tests/unit/test_keyword_batch.py
checks that on hostile batches).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import hyperscan
import numpy as np

from crawler.matching.keywords import fold, targets

if TYPE_CHECKING:
    from crawler.matching.keywords.engine import Hit, KeywordMatcher, Span

BOUNDARY = 0xFFFF
"""A noncharacter: folds to a separator, so no text or literal yields it as a unit."""
_JOINER = "\n"
_UNANCHORABLE = re.compile(r"\\[AZz]|\(\?[a-zA-Z]*-")


class BatchScanner:
    """Built once per matcher on first use."""

    def __init__(self, matcher: KeywordMatcher) -> None:
        self._matcher = matcher
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

    def scan(self, texts: Sequence[str]) -> list[list[Hit]]:
        matcher = self._matcher
        spans: dict[int, list[Span]] = {}
        allowed: dict[int, dict[int, list[tuple[int, int]]]] = {}
        if texts and matcher._literals is not None:
            self._literal_hits(texts, spans, allowed)
        if texts and matcher._regexes:
            for n in self._regex_texts(texts):
                matcher._scan_regexes(texts[n], spans.setdefault(n, []))
        found: list[list[Hit]] = [[] for _ in texts]
        for n, text_spans in spans.items():
            if text_spans:
                found[n] = matcher._finish(texts[n], text_spans, allowed.get(n, {}))
        return found

    def _literal_hits(
        self,
        texts: Sequence[str],
        spans: dict[int, list[Span]],
        allowed: dict[int, dict[int, list[tuple[int, int]]]],
    ) -> None:
        matcher = self._matcher
        joined = _JOINER.join(texts) + _JOINER
        lengths = np.fromiter(map(len, texts), dtype=np.intp, count=len(texts))
        text_ends = np.cumsum(lengths + 1) - 1  # where each text's joiner stands
        sk, found = matcher._scan_folded(_skeleton(joined, text_ends))
        if not found:
            return
        hits = np.array(found, dtype=np.intp)
        patterns, ends = hits[:, 0], hits[:, 1]
        keep = (ends % 2 == 0) & (patterns < len(matcher._targets))
        patterns, ends = patterns[keep], ends[keep] // 2
        boundaries = np.flatnonzero(sk.units == BOUNDARY)
        # No pattern matches BOUNDARY, so a hit's last unit tells the text.
        owners = np.searchsorted(boundaries, ends - 1)
        text_starts = (text_ends - lengths).tolist()
        for pattern, unit_end, owner in zip(
            patterns.tolist(), ends.tolist(), owners.tolist(), strict=True
        ):
            text, offset = texts[owner], text_starts[owner]
            for target in matcher._targets[pattern]:
                located = targets.locate(target, sk, joined, unit_end)
                if located is None:
                    continue
                start, end = located[0] - offset, located[1] - offset
                if target.kind == targets.ALLOW:
                    allowed.setdefault(owner, {}).setdefault(target.rule, []).append((start, end))
                else:
                    matcher._add_span(text, start, end, target, spans.setdefault(owner, []))

    def _regex_texts(self, texts: Sequence[str]) -> list[int]:
        """The texts a regex may hit: those the joined scan found something in."""
        if self._every_text or self._regex_db is None:
            return [n for n, text in enumerate(texts) if text]
        # errors="replace" as in ``scan``: each text's bytes are the ones it scans.
        encoded = [text.encode("utf-8", "replace") for text in texts]
        sizes = np.fromiter(map(len, encoded), dtype=np.intp, count=len(encoded))
        ends = np.cumsum(sizes + 1) - 1  # each text's end: where its joiner stands
        starts = ends - sizes
        found: list[tuple[int, int, int]] = []
        self._regex_db.scan(
            b"\n".join(encoded),
            match_event_handler=_collect_span,
            context=found,
            scratch=hyperscan.Scratch(self._regex_db),
        )
        marked = np.zeros(len(texts) + 1, dtype=bool)
        for _, start, end in found:
            first = int(np.searchsorted(ends, start, side="right"))
            last = int(np.searchsorted(starts, end, side="left"))  # one past the last text
            marked[first:last] = True
        return np.flatnonzero(marked[: len(texts)]).tolist()


def _skeleton(joined: str, text_ends: np.ndarray) -> fold.Skeleton:
    folded = fold.fold_codepoints(joined)
    folded[text_ends] = BOUNDARY
    return fold.Skeleton(folded[folded != fold.SEPARATOR], folded)


def _collect_span(pattern: int, start: int, end: int, _flags: int, found: list) -> None:
    found.append((pattern, start, end))
