"""Bounds on imported files (watchlists, rules, banks), and the YAML reader they share.

Every import is hostile input (DESIGN.md, hard rules): a 611-byte watchlist of nested YAML
aliases once expanded into a 312-million-character tag, 20,000 nested `[` overflowed the
parser's recursion, and a second `locator:` key silently replaced the first. So files are read
under a size cap, YAML is composed into nodes by a loader that refuses anchors and aliases,
duplicate and merge keys, deep nesting, too many nodes and oversized scalars, and each loader
then caps its rows and fields before building anything. A refusal is an `InputError`: one
problem, with its 1-based line when there is one.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from crawler.errors import UserError

MIB = 1024 * 1024
# A watchlist of 10,000 targets is under 1 MiB; composing YAML costs ~1 s per MiB.
MAX_YAML_BYTES = 4 * MIB
# Hash lists from exchanges are large (a 64-byte hash per line); 64 MiB is ~500,000 rows.
MAX_BANK_BYTES = 64 * MIB
MAX_YAML_DEPTH = 20  # a watchlist's deepest value (options → ignore) is at depth 7
MAX_YAML_NODES = 200_000  # ~10,000 fully spelled-out targets
MAX_SCALAR_CHARS = 10_000  # any single YAML value or key; fields have tighter caps of their own
MAX_SHOWN_CHARS = 60  # how much of a refused value an error message quotes
MAX_PROBLEMS_SHOWN = 50  # a file of 10,000 bad entries would print 10,000 lines

# Watchlists (crawler.watchlists). Columns: watchlist.name 100, target.locator 2048.
MAX_LISTS_PER_FILE = 1_000
MAX_TARGETS_PER_FILE = 10_000
MAX_LIST_NAME_CHARS = 100
MAX_LOCATOR_CHARS = 2048
MAX_KIND_CHARS = 32
MAX_TEXT_CHARS = 4000  # a note or a description: words for reviewers, not documents
MAX_TAGS = 100
MAX_TAG_CHARS = 100
MAX_OPTION_CHARS = 2000  # one CSS selector or XPath
MAX_IGNORE = 100
MAX_INTERVAL_CHARS = 32
# Past a year a target is as good as never crawled; more overflows the scheduler's datetime
# arithmetic and PostgreSQL's INTEGER column.
MAX_INTERVAL_S = 366 * 86400
MAX_PRIORITY = 1_000_000  # |priority|, well inside the 32-bit column

# Keyword rules (crawler.matching.keywords). Columns: rule.name 100, rule.language 16.
MAX_RULES_PER_FILE = 5_000
MAX_RULE_ENTRIES = 1_000  # terms, regexes or allowlist phrases of one rule
MAX_RULE_NAME_CHARS = 100
MAX_LANGUAGE_CHARS = 16
MAX_TERM_CHARS = 100  # Hyperscan compiles every term as a literal: keep them words
MAX_REGEX_CHARS = 1000
MAX_PHRASE_CHARS = 500  # an allowlist phrase

# Hash banks (crawler.matching.banks): CSV and JSON lines.
MAX_BANK_ROWS = 500_000
MAX_BANK_LINE_CHARS = 16_384  # one CSV row or JSON record (a hash is 64 characters)
MAX_JSON_DEPTH = 16

_MERGE_TAG = "tag:yaml.org,2002:merge"


class InputError(UserError):
    """An input file refused as a whole: one problem, at a line when there is one."""

    def __init__(self, problem: str, line: int | None = None) -> None:
        self.problem = problem
        self.line = line
        super().__init__(f"line {line}: {problem}" if line is not None else problem)

    def in_file(self, name: object) -> UserError:
        """The same refusal naming the file, for the one line the CLI prints."""
        return UserError(f"{name}: {self}")


def shown(value: object) -> str:
    """`repr(value)`, shortened: an error message must stay one readable line."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 1] + "…"


def compose_yaml(text: str) -> Node | None:
    """The node tree of a one-document YAML text (None when empty); InputError otherwise."""
    loader = None
    try:
        loader = _Loader(text)  # PyYAML's reader refuses unprintable characters right here
        return loader.get_single_node()
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise InputError(f"not valid YAML ({str(exc).splitlines()[0]})", line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"not valid YAML ({problem})", _line(mark)) from None
    except UnicodeEncodeError:
        # libyaml is handed UTF-8; a lone surrogate cannot be encoded (files decode without).
        raise InputError("not valid YAML (unpaired surrogate character)") from None
    finally:
        if loader is not None:
            loader.dispose()


def construct(node: Node) -> Any:
    """The Python value of a node composed by `compose_yaml` (so alias-free and bounded)."""
    try:
        return SafeConstructor().construct_document(node)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"not valid YAML ({problem})", _line(node)) from None
    except Exception:
        # PyYAML's constructors raise ValueError, AttributeError… for "!!int abc" and the like.
        raise InputError("not valid YAML (a value does not match its tag)", _line(node)) from None


def node_line(node: Node) -> int:
    return node.start_mark.line + 1


def _line(node_or_mark: object) -> int | None:
    mark = getattr(node_or_mark, "start_mark", node_or_mark)
    line = getattr(mark, "line", None)
    return None if line is None else line + 1


class _BoundedComposer(Composer):
    """PyYAML's composer with the refusals above, checked as each event arrives, so no
    expansion, deep recursion or oversized node is ever built."""

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Node | None, index: object) -> Node:
        event = self.peek_event()
        if isinstance(event, AliasEvent) or event.anchor is not None:
            raise InputError("YAML anchors and aliases (& and *) are not allowed", _line(event))
        self._nodes += 1
        if self._nodes > MAX_YAML_NODES:
            raise InputError(f"more than {MAX_YAML_NODES} YAML values in one file", _line(event))
        if isinstance(event, ScalarEvent):
            if len(event.value) > MAX_SCALAR_CHARS:
                raise InputError(
                    f"a value is longer than {MAX_SCALAR_CHARS} characters", _line(event)
                )
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_YAML_DEPTH:
            raise InputError(f"nested deeper than {MAX_YAML_DEPTH} levels", _line(event))
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor: str | None) -> MappingNode:
        node = super().compose_mapping_node(anchor)
        seen: set[str] = set()
        for key, _value in node.value:
            if not isinstance(key, ScalarNode):
                continue  # constructing it fails, as the value's own problem
            if key.tag == _MERGE_TAG:
                # `<<` copies keys from another mapping: a duplicate key in disguise.
                raise InputError("YAML merge keys (<<) are not allowed", _line(key))
            if key.value in seen:
                raise InputError(f"key {shown(key.value)} appears twice", _line(key))
            seen.add(key.value)
        return node


class _PythonLoader(_BoundedComposer, Reader, Scanner, Parser, Resolver):
    """PyYAML's own parser under the bounded composer (when libyaml is missing)."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Resolver.__init__(self)
        _BoundedComposer.__init__(self)


_Loader: type = _PythonLoader
if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _LibyamlLoader(_BoundedComposer, CParser, Resolver):  # type: ignore[misc]
        """libyaml's parser feeding the bounded composer: 2-3x faster than _PythonLoader."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Resolver.__init__(self)
            _BoundedComposer.__init__(self)

    _Loader = _LibyamlLoader
