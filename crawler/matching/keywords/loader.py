"""The YAML rule-file format.

```yaml
rules:
  - name: acquaintance-humiliation      # required, unique in the file
    severity: critical                  # low | medium | high | critical (default medium)
    language: ko                        # optional BCP 47 tag
    terms: [지인능욕, 겹지인]            # matched in every evasion form
    regexes: ['지인\\s*능욕\\s*방']      # optional; dialect in crawler.matching.keywords.engine
    allowlist: [딥페이크 성범죄 신고]     # optional; cancels hits of this rule inside the phrase
    slip: true                          # optional (default false): one-jamo slips, severity -1
```

Every scalar is read as a string (YAML 1.1 would turn a term like ``no`` into ``False``);
``slip`` takes exactly ``true`` or ``false``, not YAML 1.1's yes/no/on/off.
Rules are checked as ``compile_rules`` would (unsupported regexes, terms made of separators), and
errors name the rule and the 1-based line of the rule (or of the offending node). The file is
composed by ``crawler.input_limits`` (no aliases or duplicate keys, bounded size and depth) and
its rules are counted before any is built.
"""

from __future__ import annotations

import yaml

from crawler.input_limits import (
    MAX_RULE_NAME_CHARS,
    MAX_RULES_PER_FILE,
    InputError,
    compose_yaml,
    shown,
)
from crawler.matching.keywords.engine import validate_rule
from crawler.matching.keywords.rules import Rule, RuleError

_LIST_KEYS = ("terms", "regexes", "allowlist")
_SCALAR_KEYS = ("name", "severity", "language")
_FLAG_KEYS = ("slip",)


def load_rules_yaml(text: str) -> list[Rule]:
    try:
        root = compose_yaml(text)
    except InputError as exc:
        raise RuleError(None, exc.problem, exc.line) from None
    if root is None:
        return []
    if not isinstance(root, yaml.MappingNode):
        raise RuleError(None, "the file must be a mapping with a 'rules' list", _line(root))
    top = _mapping(root, None)
    unknown = set(top) - {"rules"}
    if unknown:
        key = sorted(unknown)[0]
        raise RuleError(None, f"unknown top-level key {shown(key)}", _line(top[key][0]))
    if "rules" not in top:
        raise RuleError(None, "missing 'rules' list", _line(root))
    rules_node = top["rules"][1]
    if not isinstance(rules_node, yaml.SequenceNode):
        raise RuleError(None, "'rules' must be a list", _line(rules_node))
    if len(rules_node.value) > MAX_RULES_PER_FILE:
        extra = rules_node.value[MAX_RULES_PER_FILE]
        raise RuleError(None, f"more than {MAX_RULES_PER_FILE} rules in one file", _line(extra))
    rules = [_rule(node) for node in rules_node.value]
    seen: dict[str, int | None] = {}
    for rule, node in zip(rules, rules_node.value, strict=True):
        if rule.name in seen:
            raise RuleError(rule.name, f"name already used on line {seen[rule.name]}", _line(node))
        seen[rule.name] = _line(node)
    return rules


def _rule(node: yaml.Node) -> Rule:
    if not isinstance(node, yaml.MappingNode):
        raise RuleError(None, "each rule must be a mapping", _line(node))
    fields = _mapping(node, None)
    name_entry = fields.get("name")
    name = _scalar(name_entry[1], None) if name_entry else None
    if not name:
        raise RuleError(None, "a rule needs a 'name'", _line(node))
    if len(name) > MAX_RULE_NAME_CHARS:
        # Checked first: every later message about this rule quotes its name.
        raise RuleError(None, f"a rule name must be at most {MAX_RULE_NAME_CHARS} characters",
                        _line(node))  # fmt: skip
    values: dict[str, object] = {}
    for key, (key_node, value_node) in fields.items():
        if key in _SCALAR_KEYS:
            values[key] = _scalar(value_node, name)
        elif key in _LIST_KEYS:
            if not isinstance(value_node, yaml.SequenceNode):
                raise RuleError(name, f"{key!r} must be a list", _line(value_node))
            values[key] = tuple(_scalar(item, name) for item in value_node.value)
        elif key in _FLAG_KEYS:
            values[key] = _flag(value_node, key, name)
        else:
            raise RuleError(name, f"unknown key {shown(key)}", _line(key_node))
    try:
        rule = Rule(**values)  # type: ignore[arg-type]
        validate_rule(rule)
    except RuleError as exc:
        raise RuleError(name, exc.message, _line(node)) from None
    return rule


def _mapping(node: yaml.MappingNode, rule: str | None) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    fields: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        # compose_yaml has already refused a key that appears twice.
        fields[_scalar(key_node, rule)] = (key_node, value_node)
    return fields


def _scalar(node: yaml.Node, rule: str | None) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise RuleError(rule, "expected a single value here", _line(node))
    return node.value


def _flag(node: yaml.Node, key: str, rule: str) -> bool:
    value = _scalar(node, rule)
    if value not in ("true", "false"):
        raise RuleError(rule, f"{key!r} must be true or false, not {value!r}", _line(node))
    return value == "true"


def _line(node_or_mark: object) -> int | None:
    mark = getattr(node_or_mark, "start_mark", node_or_mark)
    line = getattr(mark, "line", None)
    return None if line is None else line + 1
