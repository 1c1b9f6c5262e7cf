"""Reading input files for CLI commands, with one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from crawler.errors import UserError
from crawler.input_limits import MIB, InputError
from crawler.watchlists import WatchlistFileError


def read_text_file(path: Path, max_bytes: int) -> str:
    """The UTF-8 text of `path`, refused past `max_bytes` without reading more than that."""
    try:
        with path.open("rb") as file:
            # One byte past the cap tells a file that is too big, even an endless one.
            data = file.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise UserError(f"{path}: larger than {max_bytes / MIB:g} MiB, the limit for this file")
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UserError(f"{path}: line {line}: not UTF-8 text") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None


@contextmanager
def naming(path: Path) -> Iterator[None]:
    """Every refusal of an input file names the file it is about, whether it refuses the whole
    file (crawler.input_limits) or lists bad entries by line (watchlists)."""
    try:
        yield
    except InputError as exc:
        raise exc.in_file(path) from None
    except WatchlistFileError as exc:
        raise WatchlistFileError([f"{path}: {problem}" for problem in exc.problems]) from None
