"""Keyword rules matched through spacing, look-alike, jamo, initial-consonant, romanized,
mixed-script, letter/digit-reading and (opt-in) one-jamo-slip evasions."""

from crawler.matching.keywords.engine import Hit, KeywordMatcher, compile_rules
from crawler.matching.keywords.loader import load_rules_yaml
from crawler.matching.keywords.rules import Form, Rule, RuleError, Severity

__all__ = [
    "Form",
    "Hit",
    "KeywordMatcher",
    "Rule",
    "RuleError",
    "Severity",
    "compile_rules",
    "load_rules_yaml",
]
