"""Every rule of sources.md section 2 (visit logs, JSON Lines), on tiny landing folders.

Row-level cases: each case is one ``<case>.jsonl`` file in one delivery folder, a good line first
(line 1) and its variants after; all case files are loaded in one run on DuckDB (one GX batch),
then each case checks that a bad line is in ops.quarantine with its line number, column, value
as received, rule id and a reason naming the column, and that it left nothing in raw or staging,
while the good line and every accepted variant reach staging.visits / staging.visit_needs with
the normalised values. The same lines, all in one file, run once on PostgreSQL. Every run is
also compared, file by file and line by line, with the independent reading of the contract
(support.independent_feeds), so the expectations here cannot drift from it.

File-level and cross-file cases (encodings, file types, visit_id across files and days, corrected
redeliveries, needs moving status) each get their own small landing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from support.independent import USCC_CHARSET, build_uscc
from support.independent_feeds import read_visits
from support.pipeline import rows, run_pipeline, scalar

DELIVERY = date(2025, 3, 10)
FOLDER = f"visits/{DELIVERY.isoformat()}"


def uscc(number: int) -> str:
    """A valid code: market supervision (9), enterprise (1), 浦东 (310115), body MA + 6 digits."""
    return build_uscc(f"91310115MA{number:06d}")


VALID = uscc(424242)
FULL_WIDTH = str.maketrans({chr(code): chr(code + 0xFEE0) for code in range(0x21, 0x7F)})
#: A key deleted from the visit or need (absent, as opposed to null).
MISSING = object()

GOOD_NEED = {
    "need_id": "N20250305001",
    "category": "供应链",
    "description": "液氮储备不足",
    "status": "已办结",
    "raised_date": "2025-03-05",
    "resolved_date": "2025-03-06",
    "satisfaction": 5,
}
GOOD_VISIT = {
    "visit_id": "V2025030500012",
    "visit_date": "2025-03-05",
    "visitor_id": "S0107",
    "visitor_name": "王片长",
    "visitor_role": "片长",
    "area": "张江中区",
    "park_name": "张江核心园",
    "uscc": VALID,
    "enterprise_name": "上海张江测试科技有限公司",
    "channel": "上门走访",
    "is_key_enterprise": True,
    "needs": [GOOD_NEED],
}
#: Staging values of the good line (visit) and of its need.
GOOD_STAGED_VISIT = {
    "visit_date": date(2025, 3, 5),
    "visitor_id": "S0107",
    "visitor_role": "片长",
    "park_name": "张江核心园",
    "uscc": VALID,
    "channel": "上门走访",
    "is_key_enterprise": True,
    "need_count": 1,
}
GOOD_STAGED_NEED = {
    "need_id": "N20250305001",
    "category": "供应链",
    "status": "已办结",
    "raised_date": date(2025, 3, 5),
    "resolved_date": date(2025, 3, 6),
    "satisfaction": 5,
}
#: Chinese label of each column, as the reasons spell it next to the canonical name.
LABELS = {
    "visit_id": "走访编号",
    "visit_date": "走访日期",
    "visitor_id": "走访人员编号",
    "visitor_role": "走访人员角色",
    "park_name": "所属园区",
    "uscc": "统一社会信用代码",
    "channel": "走访方式",
    "is_key_enterprise": "是否重点企业",
    "need_id": "诉求编号",
    "category": "诉求类别",
    "status": "办理状态",
    "raised_date": "提出日期",
    "resolved_date": "办结日期",
    "satisfaction": "满意度",
    "needs": "诉求",
}


def _merged(base: dict, changes: dict) -> dict:
    merged = {**base, **changes}
    return {key: value for key, value in merged.items() if value is not MISSING}


def need(**changes: object) -> dict:
    """GOOD_NEED with ``changes`` (MISSING removes a key)."""
    return _merged(GOOD_NEED, changes)


def open_need(status: str = "待处理", **changes: object) -> dict:
    """A need not yet resolved: no resolved_date, no satisfaction."""
    return need(**{"status": status, "resolved_date": MISSING, "satisfaction": MISSING, **changes})


@dataclass(frozen=True)
class Bad:
    """The line must be quarantined by this rule, on this column, with this value as received."""

    column: str | None
    rule: str
    value: str | None = None
    reason_has: tuple[str, ...] = ()


@dataclass(frozen=True)
class Good:
    """The line must load; ``visit`` / ``needs`` (by position) list expected staging values."""

    visit: dict[str, object] = field(default_factory=dict)
    needs: dict[int, dict[str, object]] = field(default_factory=dict)


@dataclass(frozen=True)
class Line:
    """A visit line: GOOD_VISIT with ``changes`` (a fresh visit_id unless set), or ``text`` verbatim."""

    changes: dict[str, object]
    outcome: Good | Bad | tuple[Bad, ...]
    text: str | None = None


def raw_line(text: str, outcome: Bad) -> Line:
    return Line({}, outcome, text=text)


def _received(value: object) -> str | None:
    """The quarantine's value for an empty field: the text as received, None when absent or null."""
    return value if isinstance(value, str) else None


def _required(key: str) -> list[Line]:
    return [
        Line({key: value}, Bad(key, f"{key}_missing", _received(value)))
        for value in (MISSING, None, "", "   ", "\u3000")
    ]


def _need_required(key: str, **others: object) -> list[Line]:
    return [
        Line({"needs": [need(**{key: value}, **others)]}, Bad(key, f"{key}_missing", _received(value)))
        for value in (MISSING, None, "", " ")
    ]


def _wrong(char: str, pool: str) -> str:
    return next(candidate for candidate in pool if candidate != char)


BAD_CHECK = VALID[:17] + _wrong(VALID[17], USCC_CHARSET)

CASES: dict[str, list[Line]] = {
    "line_invalid_json": [
        raw_line('{"visit_id": "V-CUT", "visit_date": ', Bad(None, "line_invalid_json")),
        raw_line("走访记录：张江", Bad(None, "line_invalid_json")),
        raw_line('{"visit_id": "V-COMMA",}', Bad(None, "line_invalid_json")),
    ],
    "line_not_an_object": [
        raw_line("[1, 2]", Bad(None, "line_not_an_object", reason_has=("list",))),
        raw_line(json.dumps([GOOD_VISIT], ensure_ascii=False), Bad(None, "line_not_an_object")),
        raw_line('"张江"', Bad(None, "line_not_an_object")),
        raw_line("42", Bad(None, "line_not_an_object")),
    ],
    "needs_not_a_list": [
        Line({"needs": "液氮储备不足"}, Bad("needs", "needs_not_a_list", "液氮储备不足", ("got a string",))),
        Line(
            {"needs": GOOD_NEED},
            Bad("needs", "needs_not_a_list", json.dumps(GOOD_NEED, ensure_ascii=False), ("got an object",)),
        ),
        Line({"needs": 3}, Bad("needs", "needs_not_a_list", "3", ("got a number",))),
        Line({"needs": ["液氮储备不足"]}, Bad("needs", "need_not_an_object", '["液氮储备不足"]')),
        Line({"needs": []}, Good({"need_count": 0})),
        Line({"needs": None}, Good({"need_count": 0})),
        Line({"needs": MISSING}, Good({"need_count": 0})),
    ],
    **{f"{key}_missing": _required(key) for key in ("visit_id", "visit_date", "visitor_id", "visitor_role")},
    **{f"{key}_missing": _required(key) for key in ("park_name", "uscc", "channel")},
    "is_key_enterprise_missing": [
        Line({"is_key_enterprise": value}, Bad("is_key_enterprise", "is_key_enterprise_missing", _received(value)))
        for value in (MISSING, None, "", " ")
    ],
    "optional_fields_may_be_absent": [
        Line({"visitor_name": MISSING, "area": MISSING, "enterprise_name": MISSING}, Good({"visitor_name": None})),
        Line({"visitor_name": "", "area": None}, Good({"visitor_name": None, "area": None})),
    ],
    "visit_date_formats_accepted": [
        *(
            Line({"visit_date": text}, Good({"visit_date": date(2025, 3, 5)}))
            for text in ("2025-03-05", "2025/3/5", "2025/03/05", "20250305", "2025年3月5日", " 2025-03-05 ")
        ),
        Line({"visit_date": "２０２５-０３-０５"}, Good({"visit_date": date(2025, 3, 5)})),
    ],
    "visit_date_format": [
        Line({"visit_date": text}, Bad("visit_date", "visit_date_format", text))
        for text in ("2025-02-30", "03/05/2025", "2025.3.5", "昨天", "2025-13-05", "2025年3月")
    ],
    "visit_date_after_delivery": [
        Line({"visit_date": "2025-03-11"}, Bad("visit_date", "visit_date_after_delivery", "2025-03-11")),
        Line({"visit_date": "2025年4月1日"}, Bad("visit_date", "visit_date_after_delivery", "2025年4月1日")),
        Line({"visit_date": "2025/3/10"}, Good({"visit_date": DELIVERY})),
    ],
    "visitor_role": [
        Line({"visitor_role": "组长"}, Bad("visitor_role", "visitor_role_unknown", "组长", ("片长",))),
        Line({"visitor_role": "片长助理"}, Bad("visitor_role", "visitor_role_unknown", "片长助理")),
        *(Line({"visitor_role": role}, Good({"visitor_role": role})) for role in ("楼长", "服务总监", "首席代办员")),
        Line({"visitor_role": " 片长 "}, Good({"visitor_role": "片长"})),
    ],
    "channel": [
        Line({"channel": "微信"}, Bad("channel", "channel_unknown", "微信", ("上门走访",))),
        Line({"channel": "上门"}, Bad("channel", "channel_unknown", "上门")),
        *(Line({"channel": channel}, Good({"channel": channel})) for channel in ("上门走访", "电话", "线上")),
    ],
    "park_name_unknown": [
        Line({"park_name": "张江西园"}, Bad("park_name", "park_name_unknown", "张江西园")),
        Line({"park_name": "张江"}, Bad("park_name", "park_name_unknown", "张江")),
        Line({"park_name": " 金桥园 "}, Good({"park_name": "金桥园"})),
    ],
    "uscc": [
        Line({"uscc": BAD_CHECK}, Bad("uscc", "uscc_invalid", BAD_CHECK, ("18",))),
        Line({"uscc": VALID[:17]}, Bad("uscc", "uscc_invalid", VALID[:17], ("18",))),
        Line({"uscc": VALID[:10] + "I" + VALID[11:]}, Bad("uscc", "uscc_invalid", VALID[:10] + "I" + VALID[11:])),
        Line({"uscc": VALID.translate(FULL_WIDTH)}, Good({"uscc": VALID})),
        Line({"uscc": f" {VALID} "}, Good({"uscc": VALID})),
        Line({"uscc": uscc(7)}, Good({"uscc": uscc(7)})),
    ],
    "is_key_enterprise": [
        Line({"is_key_enterprise": "maybe"}, Bad("is_key_enterprise", "is_key_enterprise_invalid", "maybe")),
        Line({"is_key_enterprise": "Y"}, Bad("is_key_enterprise", "is_key_enterprise_invalid", "Y")),
        Line({"is_key_enterprise": 1}, Bad("is_key_enterprise", "is_key_enterprise_invalid", "1")),
        Line({"is_key_enterprise": "是"}, Good({"is_key_enterprise": True})),
        Line({"is_key_enterprise": "否"}, Good({"is_key_enterprise": False})),
        Line({"is_key_enterprise": "true"}, Good({"is_key_enterprise": True})),
        Line({"is_key_enterprise": "FALSE"}, Good({"is_key_enterprise": False})),
        Line({"is_key_enterprise": False}, Good({"is_key_enterprise": False})),
    ],
    "need_id_missing": _need_required("need_id"),
    "category_missing": _need_required("category"),
    "status_missing": _need_required("status", resolved_date=MISSING, satisfaction=MISSING),
    "raised_date_missing": _need_required("raised_date"),
    "category": [
        Line({"needs": [need(category="交通")]}, Bad("category", "category_unknown", "交通", ("人才",))),
        *(
            Line({"needs": [need(category=category)]}, Good(needs={1: {"category": category}}))
            for category in ("人才", "资金", "空间", "审批", "政策", "供应链", "知识产权", "其他")
        ),
    ],
    "status": [
        Line({"needs": [open_need("已关闭")]}, Bad("status", "status_unknown", "已关闭", ("待处理",))),
        Line({"needs": [open_need("待处理")]}, Good(needs={1: {"status": "待处理", "resolved_date": None}})),
        Line({"needs": [open_need("处理中")]}, Good(needs={1: {"status": "处理中", "satisfaction": None}})),
    ],
    "need_dates": [
        Line(
            {"needs": [need(raised_date="2025/3/4", resolved_date="2025年3月6日")]},
            Good(needs={1: {"raised_date": date(2025, 3, 4), "resolved_date": date(2025, 3, 6)}}),
        ),
        Line({"needs": [need(raised_date="2025-02-30")]}, Bad("raised_date", "raised_date_format", "2025-02-30")),
        Line({"needs": [need(resolved_date="下周")]}, Bad("resolved_date", "resolved_date_format", "下周")),
    ],
    "raised_date_after_visit": [
        Line(
            {"needs": [need(raised_date="2025-03-06", resolved_date="2025-03-07")]},
            Bad("raised_date", "raised_date_after_visit", "2025-03-06"),
        ),
        Line({"needs": [need(raised_date="20250305")]}, Good(needs={1: {"raised_date": date(2025, 3, 5)}})),
    ],
    "resolved_date_missing": [
        Line({"needs": [need(resolved_date=value)]}, Bad("resolved_date", "resolved_date_missing", _received(value)))
        for value in (MISSING, None, "")
    ],
    "resolved_before_raised": [
        Line(
            {"needs": [need(resolved_date="2025-03-04")]}, Bad("resolved_date", "resolved_before_raised", "2025-03-04")
        ),
        Line({"needs": [need(resolved_date="2025-03-05")]}, Good(needs={1: {"resolved_date": date(2025, 3, 5)}})),
    ],
    "resolved_date_unexpected": [
        Line(
            {"needs": [open_need("处理中", resolved_date="2025-03-06")]},
            Bad("resolved_date", "resolved_date_unexpected", "2025-03-06"),
        ),
        Line(
            {"needs": [open_need("待处理", resolved_date="2025/3/6")]},
            Bad("resolved_date", "resolved_date_unexpected", "2025/3/6"),
        ),
    ],
    "satisfaction": [
        *(
            Line({"needs": [need(satisfaction=value)]}, Bad("satisfaction", "satisfaction_invalid", text))
            for value, text in ((6, "6"), ("abc", "abc"), (0, "0"), (4.5, "4.5"), ("五", "五"), (-1, "-1"))
        ),
        Line({"needs": [open_need("待处理", satisfaction=3)]}, Bad("satisfaction", "satisfaction_unexpected", "3")),
        Line({"needs": [open_need("处理中", satisfaction="4")]}, Bad("satisfaction", "satisfaction_unexpected", "4")),
        Line({"needs": [need(satisfaction=MISSING)]}, Good(needs={1: {"status": "已办结", "satisfaction": None}})),
        Line({"needs": [need(satisfaction=None)]}, Good(needs={1: {"satisfaction": None}})),
        Line({"needs": [need(satisfaction="5")]}, Good(needs={1: {"satisfaction": 5}})),
        Line({"needs": [need(satisfaction="３")]}, Good(needs={1: {"satisfaction": 3}})),
        Line({"needs": [need(satisfaction=1)]}, Good(needs={1: {"satisfaction": 1}})),
        Line({"needs": [need(satisfaction=5.0)]}, Good(needs={1: {"satisfaction": 5}})),
    ],
    "need_id_repeated_in_visit": [
        Line(
            {"needs": [need(need_id="N1"), open_need(need_id="N1")]},
            Bad("need_id", "need_id_repeated_in_visit", "N1", ("N1",)),
        ),
        Line(
            {"needs": [need(need_id="N2"), open_need(need_id="Ｎ2")]},
            Bad("need_id", "need_id_repeated_in_visit", "N2"),
        ),
        Line(
            {"needs": [need(need_id="N3"), open_need(need_id="N4")]},
            Good(
                {"need_count": 2}, {1: {"need_id": "N3", "status": "已办结"}, 2: {"need_id": "N4", "status": "待处理"}}
            ),
        ),
    ],
    "one_bad_need_quarantines_the_line": [
        Line(
            {"needs": [need(need_id="N5"), open_need(need_id="N6", category="交通")]},
            Bad("category", "category_unknown", "交通"),
        ),
    ],
    "two_rules_on_one_line": [
        Line(
            {"visitor_role": "组长", "channel": "微信"},
            (Bad("visitor_role", "visitor_role_unknown", "组长"), Bad("channel", "channel_unknown", "微信")),
        ),
        Line(
            {"park_name": "张江西园", "needs": [need(satisfaction=9)]},
            (Bad("park_name", "park_name_unknown", "张江西园"), Bad("satisfaction", "satisfaction_invalid", "9")),
        ),
    ],
    "visit_id_duplicate_in_file": [
        Line({"visit_id": "V-DUP-1"}, Good({"visit_id": "V-DUP-1"})),
        Line({"visit_id": "V-DUP-1"}, Bad("visit_id", "visit_id_duplicate", "V-DUP-1", ("this file line",))),
        Line({"visit_id": "Ｖ-ＤＵＰ-1"}, Bad("visit_id", "visit_id_duplicate", "V-DUP-1")),
        # A line failing another rule does not claim its id: the next line with the id loads.
        Line({"visit_id": "V-DUP-2", "channel": "微信"}, Bad("channel", "channel_unknown", "微信")),
        Line({"visit_id": "V-DUP-2"}, Good({"visit_id": "V-DUP-2"})),
    ],
}


# --- landing and warehouse helpers ------------------------------------------------------------------


@dataclass
class Site:
    url: str
    landing: Path

    def folder(self, day: date = DELIVERY) -> Path:
        path = self.landing / "visits" / day.isoformat()
        path.mkdir(parents=True, exist_ok=True)
        return path


def _site(url: str, landing: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    monkeypatch.setenv("PARKOPS_WAREHOUSE_URL", url)
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(landing))
    return Site(url, landing)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    """A fresh DuckDB warehouse and an empty landing root, both set in the environment."""
    return _site(f"duckdb:///{tmp_path / 'warehouse.duckdb'}", tmp_path / "landing", monkeypatch)


def visit_line(visit_id: str, **changes: object) -> str:
    return json.dumps(_merged(GOOD_VISIT, {"visit_id": visit_id, **changes}), ensure_ascii=False)


def line_text(line: Line, visit_id: str) -> str:
    if line.text is not None:
        return line.text
    return json.dumps(_merged(GOOD_VISIT, {"visit_id": visit_id, **line.changes}), ensure_ascii=False)


def case_lines(prefix: str, lines: list[Line]) -> tuple[list[str], list[Good | Bad | tuple[Bad, ...]]]:
    """The good line (line 1) and the variants, each with its own visit_id unless it sets one."""
    texts = [visit_line(f"{prefix}-0")]
    texts += [line_text(line, f"{prefix}-{number}") for number, line in enumerate(lines, start=1)]
    return texts, [Good(GOOD_STAGED_VISIT, {1: GOOD_STAGED_NEED}), *(line.outcome for line in lines)]


def write_lines(folder: Path, name: str, texts: list[str], encoding: str = "utf-8", newline: str = "\n") -> Path:
    path = folder / name
    path.write_bytes("".join(text + newline for text in texts).encode(encoding))
    return path


def ingest(run_id: str = "rules", first: date = DELIVERY, last: date = DELIVERY) -> dict:
    return run_pipeline(run_id, first, last, transform=False, feed="visits")


def source_of(site: Site, path: Path) -> str:
    return path.relative_to(site.landing).as_posix()


def audit(site: Site, path: Path) -> dict:
    (row,) = rows(site.url, "select * from ops.file_audit where source_file = :f", {"f": source_of(site, path)})
    return row


def quarantine_by_line(site: Site, path: Path) -> dict[int | None, list[dict]]:
    found: dict[int | None, list[dict]] = {}
    query = "select * from ops.quarantine where source_file = :f order by row_number, rule"
    for row in rows(site.url, query, {"f": source_of(site, path)}):
        found.setdefault(row["row_number"], []).append(row)
    return found


def staged_visits(site: Site, path: Path) -> dict[int, dict]:
    table = rows(site.url, "select * from staging.visits where source_file = :f", {"f": source_of(site, path)})
    return {row["source_row_number"]: row for row in table}


def staged_needs(site: Site, path: Path) -> dict[tuple[int, int], dict]:
    table = rows(site.url, "select * from staging.visit_needs where source_file = :f", {"f": source_of(site, path)})
    return {(row["source_row_number"], row["need_position"]): row for row in table}


def raw_lines(site: Site, path: Path) -> dict[int, str]:
    table = rows(site.url, "select * from raw.visits where source_file = :f", {"f": source_of(site, path)})
    return {row["source_row_number"]: row["line_text"] for row in table}


def assert_matches_independent(site: Site, first: date, last: date, skip: tuple[str, ...] = ()) -> None:
    """ops.file_audit and ops.quarantine agree with the independent reading, file by file and line by line.

    ``skip`` names files whose status the two readings are known to judge differently.
    """
    truth = read_visits(site.landing, first, last)
    audits = {row["source_file"]: row for row in rows(site.url, "select * from ops.file_audit")}
    assert set(audits) == set(truth.files), (sorted(audits), sorted(truth.files))
    lines_by_file: dict[str, set[int]] = {}
    for entry in rows(site.url, "select source_file, row_number from ops.quarantine"):
        lines_by_file.setdefault(entry["source_file"], set()).add(entry["row_number"])
    for source_file, account in truth.files.items():
        if Path(source_file).name in skip:
            continue
        row = audits[source_file]
        expected = (account.status, account.rows_received, account.rows_loaded, account.rows_quarantined)
        actual = (row["status"], row["rows_received"], row["rows_loaded"], row["rows_quarantined"])
        if account.status == "superseded":  # counts of a superseded version are what it had
            expected, actual = expected[:1], actual[:1]
        assert actual == expected, (source_file, actual, expected, account.failures)
        quarantined = lines_by_file.get(source_file, set())
        if account.status == "loaded":
            assert quarantined == set(account.failures), (source_file, quarantined, account.failures)


def assert_outcomes(site: Site, path: Path, texts: list[str], outcomes: list) -> None:
    """Line i + 1 of the file is texts[i], with outcomes[i]; checks quarantine, raw, staging and audit."""
    quarantine = quarantine_by_line(site, path)
    visits = staged_visits(site, path)
    needs = staged_needs(site, path)
    raw = raw_lines(site, path)
    row = audit(site, path)
    for number, (text, outcome) in enumerate(zip(texts, outcomes, strict=True), start=1):
        if isinstance(outcome, Good):
            assert number not in quarantine, f"line {number} {text} wrongly quarantined: {quarantine.get(number)}"
            assert number in visits, f"line {number} {text} not loaded"
            assert raw[number] == text
            for column, value in outcome.visit.items():
                assert visits[number][column] == value, (number, column, visits[number][column], value)
            loaded_needs = sorted(position for line, position in needs if line == number)
            assert loaded_needs == list(range(1, visits[number]["need_count"] + 1)), (number, loaded_needs)
            assert len(loaded_needs) == len(json.loads(text).get("needs") or [])
            for position, expected in outcome.needs.items():
                for column, value in expected.items():
                    staged = needs[(number, position)][column]
                    assert staged == value, (number, position, column, staged, value)
            continue
        bads = outcome if isinstance(outcome, tuple) else (outcome,)
        assert number not in visits, f"line {number} {text} loaded although it breaks {bads}"
        assert number not in raw
        assert not [key for key in needs if key[0] == number], f"line {number}: a need loaded from a quarantined line"
        entries = quarantine.get(number, [])
        assert sorted((entry["rule"], entry["column_name"]) for entry in entries) == sorted(
            (bad.rule, bad.column) for bad in bads
        ), (number, text, entries)
        for bad in bads:
            (entry,) = [entry for entry in entries if entry["rule"] == bad.rule]
            assert entry["value"] == bad.value, (number, entry)
            assert entry["sheet_name"] is None
            assert entry["delivery_date"] == row["delivery_date"]
            reason = entry["reason"] or ""
            if bad.column is not None:
                assert bad.column in reason and LABELS[bad.column] in reason, f"line {number}: {reason}"
            for snippet in bad.reason_has:
                assert snippet in reason, f"line {number}: the reason should mention {snippet!r}: {reason}"
            record = json.loads(entry["record_json"])
            parsed = _json_or_none(text)
            assert record == (parsed if isinstance(parsed, dict) else {"line_text": text}), (number, record)
    bad = sum(not isinstance(outcome, Good) for outcome in outcomes)
    assert row["status"] == "loaded"
    assert (row["rows_received"], row["rows_loaded"], row["rows_quarantined"]) == (len(texts), len(texts) - bad, bad)
    assert row["file_format"] == "jsonl"


def _json_or_none(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def assert_accounting(site: Site) -> None:
    """rows_received = rows_loaded + rows_quarantined for every file; a quarantined line counts once."""
    quarantined = {
        (row["source_file"], row["source_sha256"]): row["lines"]
        for row in rows(
            site.url,
            "select source_file, source_sha256, count(distinct row_number) as lines from ops.quarantine group by 1, 2",
        )
    }
    loaded = {
        (row["source_file"], row["source_sha256"]): row["lines"]
        for row in rows(
            site.url, "select source_file, source_sha256, count(*) as lines from staging.visits group by 1, 2"
        )
    }
    for row in rows(site.url, "select * from ops.file_audit"):
        key = (row["source_file"], row["source_sha256"])
        assert row["rows_received"] == row["rows_loaded"] + row["rows_quarantined"], row
        if row["status"] == "loaded":
            assert quarantined.get(key, 0) == row["rows_quarantined"], row
            assert loaded.get(key, 0) == row["rows_loaded"], row


# --- row-level rules: all cases in one DuckDB run ------------------------------------------------------------


@dataclass
class Loaded:
    site: Site
    files: dict[str, tuple[Path, list[str], list]]


@pytest.fixture(scope="module")
def row_cases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    base = tmp_path_factory.mktemp("visit_rules")
    with pytest.MonkeyPatch.context() as monkeypatch:
        site = _site(f"duckdb:///{base / 'warehouse.duckdb'}", base / "landing", monkeypatch)
        files = {}
        for index, (case, lines) in enumerate(sorted(CASES.items())):
            texts, outcomes = case_lines(f"V{index:02d}", lines)
            files[case] = (write_lines(site.folder(), f"{case}.jsonl", texts), texts, outcomes)
        summary = ingest()
        assert summary["files_loaded"] == len(CASES), summary
        yield Loaded(site, files)


@pytest.mark.parametrize("case", sorted(CASES))
def test_row_rule(row_cases: Loaded, case: str):
    path, texts, outcomes = row_cases.files[case]
    assert_outcomes(row_cases.site, path, texts, outcomes)


def test_row_cases_agree_with_the_independent_reading(row_cases: Loaded):
    assert_matches_independent(row_cases.site, DELIVERY, DELIVERY)
    assert_accounting(row_cases.site)


def test_a_line_failing_two_rules_counts_once(row_cases: Loaded):
    path, _, _ = row_cases.files["two_rules_on_one_line"]
    site = row_cases.site
    assert [len(entries) for _, entries in sorted(quarantine_by_line(site, path).items())] == [2, 2]
    row = audit(site, path)
    assert (row["rows_received"], row["rows_loaded"], row["rows_quarantined"]) == (3, 1, 2)


def test_needs_not_a_list_keeps_the_value_as_received(row_cases: Loaded):
    path, _, _ = row_cases.files["needs_not_a_list"]
    quarantine = quarantine_by_line(row_cases.site, path)
    values = {number: quarantine[number][0]["value"] for number in (2, 3, 4)}
    assert values == {2: "液氮储备不足", 3: json.dumps(GOOD_NEED, ensure_ascii=False), 4: "3"}


# --- all row-level cases at once, on PostgreSQL ------------------------------------------------------------


@pytest.mark.postgres
def test_every_row_rule_on_postgresql(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    site = _site(postgres_url, tmp_path / "landing", monkeypatch)
    texts, outcomes = [visit_line("V-PG-0")], [Good(GOOD_STAGED_VISIT, {1: GOOD_STAGED_NEED})]
    for index, (_, lines) in enumerate(sorted(CASES.items())):
        case_texts, case_outcomes = case_lines(f"V{index:02d}", lines)
        texts += case_texts
        outcomes += case_outcomes
    path = write_lines(site.folder(), "visits_20250310.jsonl", texts)
    summary = ingest("rules-postgresql")
    assert summary["files_loaded"] == 1
    assert_outcomes(site, path, texts, outcomes)
    assert_matches_independent(site, DELIVERY, DELIVERY)
    assert_accounting(site)


# --- file-level rules: one folder, one run --------------------------------------------------------------------

GB_NAME = "上海浦东龘鑫生物医药有限公司"


@pytest.fixture(scope="module")
def file_cases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    base = tmp_path_factory.mktemp("visit_files")
    with pytest.MonkeyPatch.context() as monkeypatch:
        site = _site(f"duckdb:///{base / 'warehouse.duckdb'}", base / "landing", monkeypatch)
        folder = site.folder()
        write_lines(folder, "good.jsonl", [visit_line("F-GOOD-1"), visit_line("F-GOOD-2")])
        write_lines(folder, "gb18030.jsonl", [visit_line("F-GB-1", enterprise_name=GB_NAME)], encoding="gb18030")
        (folder / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + (visit_line("F-BOM-1") + "\n").encode())
        write_lines(folder, "crlf.jsonl", [visit_line("F-CRLF-1"), visit_line("F-CRLF-2")], newline="\r\n")
        data = (visit_line("F-BROKEN-1") + "\n").encode()
        (folder / "undecodable.jsonl").write_bytes(data[:20] + b"\xff\xfe\x81" + data[20:])
        (folder / "empty.jsonl").write_bytes(b"")
        (folder / "blank.jsonl").write_bytes(b"\n  \n\r\n")
        for name in ("visits.json", "visits.csv", "visits.txt"):
            write_lines(folder, name, [visit_line(f"F-{name}")])
        unknown = [
            visit_line("F-EXTRA-1", 备注="补录", source_system="platform-v2"),
            visit_line("F-EXTRA-2", 备注="", needs=[need(attachment="photo.jpg")]),
        ]
        write_lines(folder, "unknown_keys.jsonl", unknown)
        texts = [visit_line("F-BLANK-1"), "", "   ", visit_line("F-BLANK-4", channel="微信"), visit_line("F-BLANK-5")]
        write_lines(folder, "blank_lines.jsonl", texts)
        ingest("files")
        yield site


def test_gb18030_file_loads(file_cases: Site):
    path = file_cases.folder() / "gb18030.jsonl"
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    row = audit(file_cases, path)
    assert (row["status"], row["encoding"], row["rows_loaded"], row["rows_quarantined"]) == ("loaded", "gb18030", 1, 0)
    assert staged_visits(file_cases, path)[1]["enterprise_name"] == GB_NAME


def test_utf8_with_bom_and_crlf_line_ends_load(file_cases: Site):
    row = audit(file_cases, file_cases.folder() / "bom.jsonl")
    assert (row["status"], row["encoding"], row["rows_loaded"]) == ("loaded", "utf-8-sig", 1)
    assert staged_visits(file_cases, file_cases.folder() / "bom.jsonl")[1]["visit_id"] == "F-BOM-1"
    crlf = file_cases.folder() / "crlf.jsonl"
    assert {number: row["visit_id"] for number, row in staged_visits(file_cases, crlf).items()} == {
        1: "F-CRLF-1",
        2: "F-CRLF-2",
    }


def test_undecodable_file_is_rejected_whole(file_cases: Site):
    path = file_cases.folder() / "undecodable.jsonl"
    row = audit(file_cases, path)
    assert row["status"] == "rejected"
    assert "UTF-8" in row["reason"] and "GB18030" in row["reason"]
    assert row["rows_loaded"] == 0
    assert row["rows_received"] == row["rows_quarantined"]
    assert staged_visits(file_cases, path) == {}
    assert raw_lines(file_cases, path) == {}
    assert {entry["rule"] for entries in quarantine_by_line(file_cases, path).values() for entry in entries} <= {
        "file_undecodable"
    }
    assert set(staged_visits(file_cases, file_cases.folder() / "good.jsonl")) == {1, 2}


@pytest.mark.parametrize("name", ["empty.jsonl", "blank.jsonl"])
def test_empty_file_is_a_day_without_visits(file_cases: Site, name: str):
    row = audit(file_cases, file_cases.folder() / name)
    assert (row["status"], row["rows_received"], row["rows_loaded"], row["rows_quarantined"]) == ("loaded", 0, 0, 0)


@pytest.mark.parametrize("name", ["visits.json", "visits.csv", "visits.txt"])
def test_unsupported_file_type_is_rejected(file_cases: Site, name: str):
    path = file_cases.folder() / name
    row = audit(file_cases, path)
    assert row["status"] == "rejected"
    assert Path(name).suffix in row["reason"] and ".jsonl" in row["reason"]
    assert row["rows_received"] == row["rows_loaded"] + row["rows_quarantined"]
    assert staged_visits(file_cases, path) == {}
    rejected = rows(
        file_cases.url, "select rule from ops.quarantine where source_file = :f", {"f": source_of(file_cases, path)}
    )
    assert {entry["rule"] for entry in rejected} <= {"file_unsupported_type"}


def test_unknown_keys_are_reported_once_and_kept_in_raw(file_cases: Site):
    path = file_cases.folder() / "unknown_keys.jsonl"
    row = audit(file_cases, path)
    assert (row["status"], row["rows_loaded"]) == ("loaded", 2)
    unknown = json.loads(row["unknown_columns"])
    assert unknown[:2] == ["备注", "source_system"]
    assert len(unknown) == len(set(unknown)), "each unknown key is reported once per file"
    raw = raw_lines(file_cases, path)
    assert json.loads(raw[1])["source_system"] == "platform-v2"
    assert json.loads(raw[2])["needs"][0]["attachment"] == "photo.jpg"
    staged = staged_visits(file_cases, path)[1]
    assert not {"备注", "source_system", "line_text"} & set(staged)
    assert staged_needs(file_cases, path)[(2, 1)]["need_id"] == GOOD_NEED["need_id"]


def test_line_numbers_count_blank_lines(file_cases: Site):
    path = file_cases.folder() / "blank_lines.jsonl"
    assert set(staged_visits(file_cases, path)) == {1, 5}
    assert [
        (number, [entry["rule"] for entry in entries])
        for number, entries in quarantine_by_line(file_cases, path).items()
    ] == [(4, ["channel_unknown"])]
    row = audit(file_cases, path)
    assert (row["rows_received"], row["rows_loaded"], row["rows_quarantined"]) == (3, 2, 1)


def test_file_cases_agree_with_the_independent_reading(file_cases: Site):
    assert_matches_independent(file_cases, DELIVERY, DELIVERY)
    assert_accounting(file_cases)


# --- rules across lines, files, days and runs ------------------------------------------------------------------


def test_visit_id_duplicate_across_files_days_and_runs(site: Site):
    day1, day2, day3 = DELIVERY - timedelta(days=1), DELIVERY, DELIVERY + timedelta(days=1)
    a = write_lines(site.folder(day1), "a.jsonl", [visit_line("V-A1"), visit_line("V-A2")])
    b = write_lines(site.folder(day2), "b.jsonl", [visit_line("V-A1"), visit_line("V-B1"), visit_line("V-B1")])
    c = write_lines(site.folder(day2), "c.jsonl", [visit_line("V-C1"), visit_line("V-A2", channel="电话")])
    ingest("run-1", day1, day2)
    d = write_lines(site.folder(day3), "d.jsonl", [visit_line("V-D1"), visit_line("V-B1")])
    ingest("run-2", day3, day3)

    expected = {
        (b, 1): ("V-A1", f"visits/{day1}/a.jsonl line 1"),
        (b, 3): ("V-B1", "this file line 2"),
        (c, 2): ("V-A2", f"visits/{day1}/a.jsonl line 2"),
        (d, 2): ("V-B1", f"visits/{day2}/b.jsonl line 2"),
    }
    for (path, number), (visit_id, earlier) in expected.items():
        (entry,) = quarantine_by_line(site, path)[number]
        assert (entry["rule"], entry["column_name"], entry["value"]) == ("visit_id_duplicate", "visit_id", visit_id)
        assert earlier in entry["reason"] and "visit_id" in entry["reason"], entry["reason"]
    staged = {
        row["visit_id"]: (row["source_file"], row["source_row_number"])
        for row in rows(site.url, "select * from staging.visits")
    }
    assert staged == {
        "V-A1": (source_of(site, a), 1),
        "V-A2": (source_of(site, a), 2),
        "V-B1": (source_of(site, b), 2),
        "V-C1": (source_of(site, c), 1),
        "V-D1": (source_of(site, d), 1),
    }
    assert staged["V-A2"][0].endswith("a.jsonl")
    assert scalar(site.url, "select count(*) from ops.quarantine") == 4
    assert_matches_independent(site, day1, day3)
    assert_accounting(site)


@pytest.mark.parametrize("runs", ["one run", "two runs"])
def test_corrected_redelivery_replaces_the_older_version(site: Site, runs: str):
    """Same file name, new bytes, a later day: the older version is withdrawn; its ids are not duplicates."""
    earlier = DELIVERY - timedelta(days=1)
    first = [visit_line("V-R1", needs=[open_need(need_id="N-R1")]), visit_line("V-R2", channel="微信")]
    corrected = [
        visit_line("V-R1", needs=[open_need("处理中", need_id="N-R1")]),
        visit_line("V-R2", channel="电话"),
        visit_line("V-R3"),
    ]
    old = write_lines(site.folder(earlier), "visits_export.jsonl", first)
    if runs == "two runs":
        ingest("run-1", earlier, earlier)
        assert set(staged_visits(site, old)) == {1}
    new = write_lines(site.folder(DELIVERY), "visits_export.jsonl", corrected)
    summary = ingest("run-2", earlier, DELIVERY)
    assert summary["files_loaded"] == (1 if runs == "two runs" else 2)

    assert audit(site, old)["status"] == "superseded"
    row = audit(site, new)
    assert (row["status"], row["rows_received"], row["rows_loaded"], row["rows_quarantined"]) == ("loaded", 3, 3, 0)
    assert scalar(site.url, "select count(*) from ops.quarantine") == 0
    visits = rows(site.url, "select visit_id, channel, source_file from staging.visits order by visit_id")
    assert [(v["visit_id"], v["channel"], v["source_file"]) for v in visits] == [
        ("V-R1", "上门走访", source_of(site, new)),
        ("V-R2", "电话", source_of(site, new)),
        ("V-R3", "上门走访", source_of(site, new)),
    ]
    needs = rows(site.url, "select need_id, status, source_file from staging.visit_needs where need_id = 'N-R1'")
    assert [(n["status"], n["source_file"]) for n in needs] == [("处理中", source_of(site, new))]
    assert set(raw_lines(site, old)) == set()
    assert_matches_independent(site, earlier, DELIVERY)
    assert_accounting(site)


def test_need_records_accumulate_as_the_status_moves(site: Site):
    days = [DELIVERY - timedelta(days=2), DELIVERY - timedelta(days=1), DELIVERY]
    steps = [
        visit_line(
            "V-S1", visit_date="2025-03-05", needs=[open_need("待处理", need_id="N-S1", raised_date="2025-03-05")]
        ),
        visit_line(
            "V-S2", visit_date="2025-03-08", needs=[open_need("处理中", need_id="N-S1", raised_date="2025-03-05")]
        ),
        visit_line(
            "V-S3",
            visit_date="2025-03-10",
            needs=[need(need_id="N-S1", raised_date="2025-03-05", resolved_date="2025-03-09", satisfaction=4)],
        ),
    ]
    for day, text in zip(days, steps, strict=True):
        write_lines(site.folder(day), f"visits_{day:%Y%m%d}.jsonl", [text])
    ingest("run", days[0], days[-1])
    records = rows(
        site.url,
        "select visit_id, status, resolved_date, satisfaction, delivery_date from staging.visit_needs "
        "where need_id = 'N-S1' order by delivery_date",
    )
    assert [
        (r["visit_id"], r["status"], r["resolved_date"], r["satisfaction"], r["delivery_date"]) for r in records
    ] == [
        ("V-S1", "待处理", None, None, days[0]),
        ("V-S2", "处理中", None, None, days[1]),
        ("V-S3", "已办结", date(2025, 3, 9), 4, days[2]),
    ]
    assert scalar(site.url, "select count(*) from ops.quarantine") == 0
    assert_matches_independent(site, days[0], days[-1])
