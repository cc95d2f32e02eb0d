"""Every rule id the suites or the code can emit has a Chinese label (parkops.quality.rule_labels).

The ids are collected where they are emitted, not from a list kept beside the labels: the suites'
``meta.rule`` and, in the package's source, every string literal in a rule slot: a ``rule=``
keyword (``FileRejected``, ``UnitFailure``, ``ParsedLine``), the rule argument of ``UnitFailure``
or ``FileRejected`` given by position, and a ``"rule": ...`` item of a dict literal. A new rule
shipped without its label fails here, and so does a label whose rule nothing emits any more.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from parkops.quality.rule_labels import CODE_RULE_LABELS, RULE_LABELS, SUITE_RULE_LABELS, rule_label

PROJECT_DIR = Path(__file__).resolve().parents[2]
PACKAGE_DIR = PROJECT_DIR / "plugins" / "parkops"
#: Classes whose second positional argument is the rule id.
RULE_ARGUMENT = {"UnitFailure": 1, "FileRejected": 1}
RULE_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def suite_rule_ids() -> dict[str, set[str]]:
    """Rule id -> the suites whose expectations carry it."""
    ids: dict[str, set[str]] = {}
    for path in sorted((PROJECT_DIR / "expectations").glob("*.json")):
        suite = json.loads(path.read_text(encoding="utf-8"))
        for expectation in suite["expectations"]:
            ids.setdefault(expectation["meta"]["rule"], set()).add(path.name)
    return ids


def _called_name(call: ast.Call) -> str | None:
    function = call.func
    if isinstance(function, ast.Name):
        return function.id
    return function.attr if isinstance(function, ast.Attribute) else None


def _rule_literals(tree: ast.AST) -> list[ast.expr]:
    """The expressions in rule slots of a module."""
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            found += [keyword.value for keyword in node.keywords if keyword.arg == "rule"]
            position = RULE_ARGUMENT.get(_called_name(node) or "")
            if position is not None and len(node.args) > position:
                found.append(node.args[position])
        elif isinstance(node, ast.Dict):
            found += [
                value
                for key, value in zip(node.keys, node.values, strict=True)
                if isinstance(key, ast.Constant) and key.value == "rule"
            ]
    return found


def code_rule_ids() -> dict[str, set[str]]:
    """Rule id -> the source files that emit it as a literal."""
    ids: dict[str, set[str]] = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        for expression in _rule_literals(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(expression, ast.Constant) and isinstance(expression.value, str):
                ids.setdefault(expression.value, set()).add(str(path.relative_to(PROJECT_DIR)))
    return ids


def test_the_scan_sees_every_kind_of_rule_slot() -> None:
    # One rule of each slot, checked by hand in the source: a scan that stopped seeing one kind
    # of slot would make the label check below vacuous for it.
    emitted = code_rule_ids()
    for rule in (
        "file_undecodable",  # FileRejected(..., rule=...) in a reader
        "missing_required_column",  # FileRejected in the header mapping
        "row_field_count",  # UnitFailure(unit, "row_field_count", ...) by position
        "line_invalid_json",  # ParsedLine(..., rule=...) of a visit line
        "parent_row_quarantined",  # a row quarantined with its parent
        "graduated_cumulative_decreased",  # a cross-row check
    ):
        assert rule in emitted, f"{rule} not found in a rule slot of plugins/parkops"


def test_every_rule_the_code_emits_has_a_label() -> None:
    emitted = code_rule_ids()
    unlabelled = {rule: sorted(files) for rule, files in emitted.items() if rule not in CODE_RULE_LABELS}
    assert not unlabelled, f"rules without a Chinese label in rule_labels.CODE_RULE_LABELS: {unlabelled}"
    assert all(RULE_ID.match(rule) for rule in emitted), sorted(emitted)


def test_every_rule_of_the_suites_has_a_label() -> None:
    emitted = suite_rule_ids()
    unlabelled = {rule: sorted(suites) for rule, suites in emitted.items() if rule not in SUITE_RULE_LABELS}
    assert not unlabelled, f"rules without a Chinese label in rule_labels.SUITE_RULE_LABELS: {unlabelled}"


def test_no_label_outlives_its_rule() -> None:
    assert sorted(set(CODE_RULE_LABELS) - set(code_rule_ids())) == []
    assert sorted(set(SUITE_RULE_LABELS) - set(suite_rule_ids())) == []
    # One meaning per id: a code rule and a suite rule never share an id.
    assert sorted(set(CODE_RULE_LABELS) & set(SUITE_RULE_LABELS)) == []


def test_labels_are_chinese_and_tell_rules_apart() -> None:
    for rule, label in RULE_LABELS.items():
        assert re.search(r"[\u4e00-\u9fff]", label), f"{rule}: label {label!r} has no Chinese"
        assert not re.search(r"[a-z]+_[a-z]+", label), f"{rule}: label {label!r} shows an id"
    repeated = sorted({label for label in RULE_LABELS.values() if list(RULE_LABELS.values()).count(label) > 1})
    assert repeated == [], "two rules share a label: a reader could not tell them apart"


def test_an_unknown_rule_shows_as_itself() -> None:
    assert rule_label("missing_required_column") == "缺少必需列"
    assert rule_label("rule_of_an_older_release") == "rule_of_an_older_release"
