"""Reading a visit log, and the rule across files (the reading convention: ``parkops.feeds.definition``).

A line is the unit of accounting: it loads whole (one visit row and one need row per need) or
is quarantined whole with its reasons, while the other lines of the file load. Reading never
decides validity beyond JSON syntax and shape; the suites of the feed's tables do, and
``cross_check`` adds the one rule that needs the warehouse (visit_id unique across the feed).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from parkops.feeds.definition import Kind, TableContract
from parkops.feeds.visits import NEEDS, NEEDS_KEY, VISITS
from parkops.ingest import normalise
from parkops.ingest.prepared import PendingCheck, PreparedFile, PreparedPart, UnitFailure, ValidationInputs
from parkops.ingest.readers import read_json_lines

#: How a JSON value of each column kind the visit contracts use is normalised.
_NORMALISERS: dict[Kind, Callable] = {
    Kind.CODE: normalise.normalise_code,
    Kind.DATE: normalise.normalise_date,
    Kind.TEXT: normalise.clean_text,
    Kind.NUMBER: normalise.normalise_number,
    Kind.BOOLEAN: normalise.normalise_boolean,
}


def _fields(contract: TableContract) -> dict[str, Callable]:
    return {column.header: _NORMALISERS[column.kind] for column in contract.columns}


#: Keys of a visit object (and of a need object), and how each is normalised.
VISIT_FIELDS = _fields(VISITS)
NEED_FIELDS = _fields(NEEDS)


def _as_text(value: object) -> str | None:
    """A JSON value as the text a person would read; nested values as compact JSON."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _json_type(value: object) -> str:
    """What kind of JSON value ``value`` is, as a reason names it (never the value itself)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an object"


def _normalised(fields: dict, record: dict) -> dict[str, str | None]:
    values = {}
    for key, normaliser in fields.items():
        value = record.get(key)
        if isinstance(value, (dict, list)):
            values[key] = _as_text(value)  # a structure where a scalar belongs: left for the suite to reject
        elif key == "is_key_enterprise":
            values[key] = normaliser(value)
        else:
            values[key] = normaliser(_as_text(value))
    return values


def _unstorable_text(value: object) -> str | None:
    """Why a parsed line cannot be stored as text, or None: an escape decoding to NUL or a lone surrogate.

    JSON's ``\\u0000`` and unpaired ``\\ud800`` escapes are valid JSON but give characters no
    database text column holds (PostgreSQL refuses NUL; a lone surrogate cannot be encoded as
    UTF-8), so such a line would break the load instead of being quarantined.
    """
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return "the line holds the escape \\u0000 (NUL), which cannot be stored as text"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as error:
                code = ord(item[error.start])
                return f"the line holds an unpaired surrogate escape \\u{code:04x}, which is not a character"
    return None


class ParsedLine(NamedTuple):
    """A line read as a visit: the object (None when unreadable) and the rule it fails, if any."""

    record: dict | None
    rule: str | None = None
    reason: str | None = None


def parse_visit_line(text: str) -> ParsedLine:
    """The visit object of one line, or the rule and reason it fails."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        return ParsedLine(
            None, rule="line_invalid_json", reason=f"not valid JSON: {error.msg} at character {error.pos + 1}"
        )
    except RecursionError:
        # json gives up on arrays/objects nested about a thousand deep; that line is not a visit.
        return ParsedLine(None, rule="line_invalid_json", reason="not valid JSON: nested too deeply to read")
    unstorable = _unstorable_text(record)
    if unstorable is not None:
        return ParsedLine(None, rule="line_invalid_character", reason=unstorable)
    if not isinstance(record, dict):
        return ParsedLine(
            None, rule="line_not_an_object", reason=f"a visit must be a JSON object, got {type(record).__name__}"
        )
    needs = record.get(NEEDS_KEY)
    if needs == "":
        needs = record[NEEDS_KEY] = None  # empty string means missing (sources.md): no needs
    if needs is not None and not isinstance(needs, list):
        # Named by its JSON type, never quoted: the needs are free text about people (personal data).
        return ParsedLine(
            record, rule="needs_not_a_list", reason=f"needs (诉求): must be a list of objects, got {_json_type(needs)}"
        )
    if needs and not all(isinstance(need, dict) for need in needs):
        return ParsedLine(record, rule="need_not_an_object", reason="needs (诉求): every element must be a JSON object")
    return ParsedLine(record)


def prepare(path: Path, delivery_date: str, inputs: ValidationInputs, data: bytes | None = None) -> PreparedFile:
    lines, encoding = read_json_lines(path, data)
    unit_rows = [number for number, _ in lines]
    visit_rows: list[dict] = []
    visit_units: list[int] = []
    line_texts: list[str] = []
    need_rows: list[dict] = []
    need_originals: list[dict] = []
    need_units: list[int] = []
    visit_originals: list[dict] = []
    failures: list[UnitFailure] = []
    unknown: dict[str, None] = {}
    known_keys = {*VISIT_FIELDS, NEEDS_KEY}
    for unit, (_, text) in enumerate(lines):
        record, rule, reason = parse_visit_line(text)
        if rule is not None:
            if record is None:
                failures.append(UnitFailure(unit, rule, reason))
            else:
                failures.append(
                    UnitFailure(unit, rule, reason, column=NEEDS_KEY, value=_as_text(record.get(NEEDS_KEY)))
                )
            continue
        for key in record:
            if key not in known_keys:
                unknown.setdefault(key)
        visit = _normalised(VISIT_FIELDS, record)
        needs = record.get(NEEDS_KEY) or []
        visit["need_count"] = len(needs)
        visit_rows.append(visit)
        visit_originals.append({key: _as_text(record.get(key)) for key in VISIT_FIELDS})
        visit_units.append(unit)
        line_texts.append(text)
        seen_need_ids: dict[str, int] = {}
        for position, need in enumerate(needs, start=1):
            for key in need:
                if key not in NEED_FIELDS:
                    unknown.setdefault(f"{NEEDS_KEY}[].{key}")
            values = _normalised(NEED_FIELDS, need)
            values["visit_id"] = visit["visit_id"]
            values["need_position"] = position
            values["visit_date"] = visit["visit_date"]
            need_rows.append(values)
            need_originals.append({key: _as_text(need.get(key)) for key in NEED_FIELDS})
            need_units.append(unit)
            need_id = values["need_id"]
            if need_id is not None and need_id in seen_need_ids:
                failures.append(
                    UnitFailure(
                        unit,
                        "need_id_repeated_in_visit",
                        f"need_id (诉求编号): {need_id} appears twice in this visit "
                        f"(needs {seen_need_ids[need_id]} and {position})",
                        column="need_id",
                        value=need_id,
                    )
                )
            elif need_id is not None:
                seen_need_ids[need_id] = position

    visits = pd.DataFrame(visit_rows, columns=[*VISIT_FIELDS, "need_count"], dtype=object)
    visits["delivery_date"] = delivery_date
    needs_frame = pd.DataFrame(
        need_rows, columns=[*NEED_FIELDS, "visit_id", "need_position", "visit_date"], dtype=object
    )
    parts = [
        PreparedPart(
            table=VISITS.name,
            normalised=visits,
            originals=pd.DataFrame(visit_originals, columns=list(VISIT_FIELDS), dtype=object),
            unit=np.asarray(visit_units, dtype=np.int64),
            raw=pd.DataFrame({"line_text": line_texts}, dtype=object),
            helper_columns=("delivery_date",),
        ),
        PreparedPart(
            table=NEEDS.name,
            normalised=needs_frame,
            originals=pd.DataFrame(need_originals, columns=list(NEED_FIELDS), dtype=object),
            unit=np.asarray(need_units, dtype=np.int64),
            helper_columns=("visit_date",),
        ),
    ]
    texts = [text for _, text in lines]
    return PreparedFile(
        parts=parts,
        unit_rows=unit_rows,
        unit_record=lambda unit: _line_record(texts[unit]),
        failures=failures,
        unknown_columns=list(unknown),
        encoding=encoding,
    )


def _line_record(text: str) -> str:
    """The line itself when it is a JSON object (nothing re-encoded), else wrapped as text."""
    record, _, _ = parse_visit_line(text)
    if record is not None:
        return text.strip()
    return json.dumps({"line_text": text}, ensure_ascii=False)


def cross_check(connection: Connection, pending: list[PendingCheck]) -> dict[int, list[UnitFailure]]:
    """visit_id is unique across the feed: a later line repeating an id already loaded is quarantined.

    Ids loaded from an older version of the same file name do not count: that version is
    replaced when this one loads. Lines already failing another rule do not claim their id.
    """
    # visit_id -> (file name, source file, line, position in ``pending`` or -1 for the warehouse)
    seen: dict[str, tuple[str, str, int, int]] = {}
    rows = connection.execute(sa.text(f"select visit_id, source_file, source_row_number from staging.{VISITS.name}"))
    for visit_id, source_file, row_number in rows:
        seen[visit_id] = (Path(source_file).name, source_file, row_number, -1)
    failures: dict[int, list[UnitFailure]] = {}
    for position, check in enumerate(pending):
        part = check.prepared.part(VISITS.name)
        ids = part.normalised["visit_id"].tolist()
        for visit_id, unit in zip(ids, part.unit.tolist(), strict=True):
            if visit_id is None or unit in check.failed_units:
                continue
            earlier = seen.get(visit_id)
            replaced = earlier is not None and earlier[0] == check.file_name and earlier[3] != position
            if earlier is not None and not replaced:
                where = "this file" if earlier[3] == position else earlier[1]
                failures.setdefault(position, []).append(
                    UnitFailure(
                        unit,
                        "visit_id_duplicate",
                        f"visit_id (走访编号): {visit_id} is already loaded from {where} line {earlier[2]}; "
                        "visit ids are unique",
                        column="visit_id",
                        value=visit_id,
                    )
                )
                continue
            seen[visit_id] = (check.file_name, check.source_file, check.prepared.unit_rows[unit], position)
    return failures
