"""How a retro-hunt raises what it found: only the alerts missing, in a short transaction of
their own, so a long rescan never holds the write lock (SQLite) while it reads and matches."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from crawler.matching.alerts import Candidate
from storage import alert_store


@dataclass(slots=True)
class Raised:
    new: list[alert_store.NewAlert] = field(default_factory=list)
    repeated: Counter[str] = field(default_factory=Counter)
    """Matches whose alert already existed, by kind (left unchanged: seeing stored content
    again is not a new hit, like a re-crawl of unchanged content)."""

    def add(self, other: Raised) -> None:
        self.new += other.new
        self.repeated.update(other.repeated)


def raise_missing(engine: Engine, candidates: Sequence[Candidate]) -> Raised:
    """Raise the candidates whose dedupe key has no alert yet."""
    if not candidates:
        return Raised()
    kinds = {c.dedupe_key: str(c.kind) for c in candidates}
    with engine.begin() as conn:
        # Several versions of one item can hit one rule: raise_absent keeps the best of a key.
        new, present = alert_store.raise_absent(conn, candidates, datetime.now(UTC))
    return Raised(new, Counter(kinds[key] for key in present))
