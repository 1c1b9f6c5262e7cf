"""Hash bank files: CSV (`signal_type,value[,label]`) and JSON lines shaped like the records of
hash-sharing exchanges (signal type, value, status, labels).

Parsing is pure and all-or-nothing: every problem is reported with its line number, and a file
with any problem imports nothing. Records whose status says the hash was withdrawn or deleted
(a victim's consent withdrawn, a mistaken submission) are kept as withdrawals: importing them
removes that hash from the bank and stops its future matches.

Files are hostile input: rows, line lengths, JSON nesting and duplicate JSON keys are bounded
(crawler.input_limits) before a record is built, and a CSV error is a problem like any other.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection

from crawler.errors import UserError
from crawler.input_limits import MAX_BANK_LINE_CHARS, MAX_BANK_ROWS, MAX_JSON_DEPTH, shown
from crawler.matching.alerts import SEVERITIES
from storage import bank_store


class SignalType(StrEnum):
    SHA256 = "sha256"
    MD5 = "md5"
    PDQ = "pdq"


HEX_LENGTH = {SignalType.SHA256: 64, SignalType.MD5: 32, SignalType.PDQ: 64}

# Exchanges name signal types by content kind ("PHOTO_PDQ", "video_md5"); the hash is the same.
_SIGNAL_ALIASES = {
    "pdq": SignalType.PDQ,
    "photo_pdq": SignalType.PDQ,
    "md5": SignalType.MD5,
    "video_md5": SignalType.MD5,
    "photo_md5": SignalType.MD5,
    "sha256": SignalType.SHA256,
    "photo_sha256": SignalType.SHA256,
    "video_sha256": SignalType.SHA256,
    "file_sha256": SignalType.SHA256,
}
_ACTIVE = frozenset({"", "active", "enabled", "positive", "true_positive"})
_WITHDRAWN = frozenset({"withdrawn", "deleted", "removed", "disabled", "inactive"})
MAX_LABEL = 500
MAX_PROBLEMS_SHOWN = 10


@dataclass(frozen=True, slots=True)
class BankRecord:
    signal_type: SignalType
    value: str
    label: str | None = None
    withdrawn: bool = False


class BankFileError(UserError):
    """A bank file with problems; each problem names its line. Nothing was imported."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        super().__init__("; ".join(shown) + (f" (and {more} more)" if more else ""))


def parse_bank_file(text: str, filename: str = "") -> list[BankRecord]:
    """Records of a CSV or JSON-lines bank file; raises BankFileError listing every problem."""
    name = filename.lower()
    if name.endswith((".jsonl", ".ndjson", ".json")):
        json_lines = True
    elif name.endswith(".csv"):
        json_lines = False
    else:
        json_lines = text.lstrip().startswith("{")
    lines = text.count("\n") + (not text.endswith("\n"))
    if lines > MAX_BANK_ROWS:
        raise BankFileError([f"line {MAX_BANK_ROWS + 1}: more than {MAX_BANK_ROWS} lines"])
    records, problems = (_parse_json_lines if json_lines else _parse_csv)(text)
    if problems:
        raise BankFileError(problems)
    return records


def normalize_value(signal_type: str, value: str) -> tuple[SignalType, str]:
    """The signal type and lower-case hex value; ValueError says what is wrong."""
    kind = _SIGNAL_ALIASES.get(signal_type.strip().lower())
    if kind is None:
        allowed = ", ".join(s.value for s in SignalType)
        raise ValueError(f"unknown signal type {shown(signal_type)} (expected {allowed})")
    hex_value = value.strip().lower()
    length = HEX_LENGTH[kind]
    if len(hex_value) != length or any(c not in "0123456789abcdef" for c in hex_value):
        raise ValueError(f"{kind.value} value must be {length} hex digits, got {shown(value)}")
    return kind, hex_value


def _label(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        value = ",".join(str(part) for part in value if str(part).strip())
    text = str(value).strip()
    return text[:MAX_LABEL] or None


def _parse_csv(text: str) -> tuple[list[BankRecord], list[str]]:
    records: list[BankRecord] = []
    problems: list[str] = []
    reader = csv.reader(io.StringIO(text))
    while True:
        try:
            row = next(reader, None)
        except csv.Error as exc:
            # Past a malformed row (a field over csv's limit, a stray quote) the reader's
            # position is not worth trusting: report it and stop.
            problems.append(f"line {reader.line_num}: not valid CSV ({exc})")
            break
        if row is None:
            break
        line = reader.line_num
        if sum(len(cell) for cell in row) > MAX_BANK_LINE_CHARS:
            problems.append(f"line {line}: longer than {MAX_BANK_LINE_CHARS} characters")
            continue
        if not row or all(not cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if row[0].strip().lower() == "signal_type":
            continue  # a header row
        if len(row) < 2 or len(row) > 3:
            got = f"got {len(row)} fields"
            problems.append(f"line {line}: expected signal_type,value[,label], {got}")
            continue
        try:
            kind, value = normalize_value(row[0], row[1])
        except ValueError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        records.append(BankRecord(kind, value, _label(row[2]) if len(row) == 3 else None))
    return records, problems


def _parse_json_lines(text: str) -> tuple[list[BankRecord], list[str]]:
    records: list[BankRecord] = []
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        if len(raw) > MAX_BANK_LINE_CHARS:
            problems.append(f"line {number}: longer than {MAX_BANK_LINE_CHARS} characters")
            continue
        if _too_deep(raw):
            problems.append(f"line {number}: JSON nested deeper than {MAX_JSON_DEPTH} levels")
            continue
        try:
            data = json.loads(raw, object_pairs_hook=_refuse_duplicate_keys)
        except _DuplicateKey as exc:
            problems.append(f"line {number}: {exc}")
            continue
        except ValueError as exc:
            problems.append(f"line {number}: not valid JSON: {exc.args[0]}")
            continue
        if not isinstance(data, dict):
            problems.append(f"line {number}: expected a JSON object")
            continue
        try:
            records.append(_json_record(data))
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
    return records, problems


class _DuplicateKey(ValueError):
    pass


def _refuse_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # json keeps the last of two equal keys; which value was meant is anyone's guess.
    data: dict[str, object] = {}
    for key, value in pairs:
        if key in data:
            raise _DuplicateKey(f"key {shown(key)} appears twice")
        data[key] = value
    return data


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _too_deep(raw: str) -> bool:
    """Whether `raw`'s arrays and objects nest past MAX_JSON_DEPTH, told without parsing:
    json's C decoder recurses once per level, and a deep line ends in RecursionError."""
    if raw.count("[") + raw.count("{") <= MAX_JSON_DEPTH:
        return False  # the usual record is decided here, without a scan
    depth = 0
    for char in _JSON_STRING.sub("", raw):
        if char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _json_record(data: dict[str, object]) -> BankRecord:
    signal_type = data.get("signal_type", data.get("type"))
    value = data.get("signal_value", data.get("value", data.get("hash")))
    if not isinstance(signal_type, str) or not isinstance(value, str):
        raise ValueError("needs string fields signal_type and signal_value (or value)")
    kind, hex_value = normalize_value(signal_type, value)
    status = data.get("status", "active")
    status = "" if status is None else str(status).strip().lower()
    if status not in _ACTIVE | _WITHDRAWN:
        raise ValueError(f"unknown status {shown(status)} (active, withdrawn or deleted)")
    withdrawn = status in _WITHDRAWN or data.get("deleted") is True
    label = _label(data.get("labels", data.get("label", data.get("tags"))))
    return BankRecord(kind, hex_value, label, withdrawn)


def import_bank(
    conn: Connection,
    records: list[BankRecord],
    *,
    bank: str,
    negative: bool = False,
    threshold: int | None = None,
    severity: str | None = None,
    at: datetime,
) -> bank_store.ImportCounts:
    """Store parsed records in `bank` (created if missing) in the caller's transaction."""
    if not bank.strip() or len(bank) > 100:
        raise UserError("a bank name must be 1-100 characters")
    if threshold is not None and not 0 <= threshold <= 256:
        raise UserError("--pdq-threshold must be within 0..256")
    if severity is not None and severity not in SEVERITIES:
        raise UserError(f"--severity must be one of {', '.join(SEVERITIES)}")
    try:
        bank_id = bank_store.ensure_bank(
            conn, bank, negative=negative, threshold=threshold, severity=severity, at=at
        )
    except bank_store.BankConflict as exc:
        raise UserError(str(exc)) from None
    return bank_store.import_entries(conn, bank_id, records, at)
