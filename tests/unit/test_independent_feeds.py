"""Unit tests of support.independent_feeds on tiny hand-written landing folders.

Every fixture is written here byte by byte (JSON lines, small workbooks, CSVs), so each expected
figure can be checked by hand; the boundaries (4 vs 5 firms, even medians, the last complete ISO
week, a cumulative count going down) are exercised on purpose.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from support.independent import build_uscc
from support.independent_feeds import (
    ALL_CATEGORIES,
    ALL_PARKS,
    EnterpriseEvent,
    EnterpriseHistory,
    agent_services,
    agent_services_kpi,
    current_needs,
    decode_text,
    high_quality_by_park,
    high_quality_count,
    hq_incubators_kpi,
    incubator_monthly,
    key_coverage,
    key_coverage_kpi,
    leading_industry_share,
    need_status_changes,
    needs_resolution,
    needs_resolution_kpi,
    parse_period,
    parse_report_month,
    read_enterprise_history,
    read_incubator_reports,
    read_manual_statistics,
    read_visits,
    recurring_episodes,
    recurring_kpi,
    recurring_need_ids,
    trillion_parks,
    visits_per_staff_kpi,
    visits_per_staff_week,
)

DAY = date(2025, 3, 5)  # a Wednesday
PARK = "张江核心园"
OTHER_PARK = "金桥园"


def uscc(number: int) -> str:
    return build_uscc(f"91310115MA{number:06d}")


def need(**overrides: object) -> dict[str, object]:
    record: dict[str, object] = {
        "need_id": "N1",
        "category": "人才",
        "description": "招聘难",
        "status": "待处理",
        "raised_date": "2025-03-05",
    }
    record.update(overrides)
    return {key: value for key, value in record.items() if value is not ...}


def visit(**overrides: object) -> dict[str, object]:
    record: dict[str, object] = {
        "visit_id": "V1",
        "visit_date": "2025-03-05",
        "visitor_id": "S1",
        "visitor_name": "张三",
        "visitor_role": "片长",
        "area": "张江中区",
        "park_name": PARK,
        "uscc": uscc(1),
        "enterprise_name": "某某科技有限公司",
        "channel": "上门走访",
        "is_key_enterprise": False,
        "needs": [],
    }
    record.update(overrides)
    return {key: value for key, value in record.items() if value is not ...}


def write_jsonl(
    landing: Path, day: date, name: str, lines: list[object], encoding: str = "utf-8", bom: bool = False
) -> Path:
    folder = landing / "visits" / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    text = "\n".join(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in lines)
    path = folder / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + (text + "\n").encode(encoding))
    return path


def one_line(tmp_path: Path, line: object, day: date = DAY):
    landing = tmp_path / "landing"
    write_jsonl(landing, day, "v.jsonl", [line])
    truth = read_visits(landing, day, day)
    return truth, truth.files[f"visits/{day.isoformat()}/v.jsonl"]


# --- visits: lines and rules ------------------------------------------------------------------------------


def test_valid_line_loads_with_its_needs_and_normalised_values(tmp_path: Path) -> None:
    code = uscc(1)
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in code)  # ９１３１… as a person may type it
    line = visit(
        uscc=f" {full_width} ",
        visit_date="2025年3月4日",
        is_key_enterprise="是",
        unknown_key={"kept": "ignored"},
        needs=[
            need(raised_date="2025/3/1"),
            need(need_id="N2", status="已办结", raised_date="20250301", resolved_date="2025-03-03", satisfaction="５"),
        ],
    )
    truth, account = one_line(tmp_path, line)
    assert (account.status, account.rows_received, account.rows_loaded, account.rows_quarantined) == ("loaded", 1, 1, 0)
    assert account.encoding == "utf-8"
    (loaded,) = truth.visits
    assert (loaded.uscc, loaded.visit_date, loaded.is_key_enterprise, loaded.park_code) == (
        code,
        date(2025, 3, 4),
        True,
        "zhangjiang_core",
    )
    assert [(n.need_id, n.position, n.satisfaction, n.resolved_date) for n in loaded.needs] == [
        ("N1", 1, None, None),
        ("N2", 2, 5, date(2025, 3, 3)),
    ]


@pytest.mark.parametrize(
    ("changes", "rules"),
    [
        ({"visitor_role": "科长"}, {"visitor_role_unknown"}),
        ({"channel": "邮件"}, {"channel_unknown"}),
        ({"park_name": "火星园"}, {"park_name_unknown"}),
        ({"uscc": uscc(1)[:-1] + ("0" if uscc(1)[-1] != "0" else "1")}, {"uscc_invalid"}),
        ({"uscc": ""}, {"uscc_missing"}),
        ({"uscc": ...}, {"uscc_missing"}),
        ({"visit_id": "  "}, {"visit_id_missing"}),
        ({"visit_id": 123}, {"visit_id_invalid"}),
        ({"visitor_id": None}, {"visitor_id_missing"}),
        ({"visitor_name": 5}, {"visitor_name_invalid"}),
        ({"is_key_enterprise": "yes"}, {"is_key_enterprise_invalid"}),
        ({"is_key_enterprise": 1}, {"is_key_enterprise_invalid"}),
        ({"is_key_enterprise": ...}, {"is_key_enterprise_missing"}),
        ({"visit_date": "2025-02-30"}, {"visit_date_format"}),
        ({"visit_date": "05/03/2025"}, {"visit_date_format"}),
        ({"visit_date": "2025-03-06"}, {"visit_date_after_delivery"}),
        ({"needs": {}}, {"needs_invalid"}),
        ({"needs": ["人才"]}, {"needs_invalid"}),
        ({"needs": [need(category="住房")]}, {"need_category_unknown"}),
        ({"needs": [need(status="已关闭")]}, {"need_status_unknown"}),
        ({"needs": [need(need_id="")]}, {"need_id_missing"}),
        ({"needs": [need(raised_date=...)]}, {"need_raised_date_missing"}),
        ({"needs": [need(raised_date="2025-03-06")]}, {"need_raised_after_visit"}),
        ({"needs": [need(status="已办结")]}, {"need_resolved_date_missing"}),
        (
            {"needs": [need(status="已办结", raised_date="2025-03-04", resolved_date="2025-03-03")]},
            {"need_resolved_before_raised"},
        ),
        ({"needs": [need(status="处理中", resolved_date="2025-03-05")]}, {"need_resolved_date_unexpected"}),
        ({"needs": [need(status="处理中", satisfaction=5)]}, {"need_satisfaction_unexpected"}),
        ({"needs": [need(status="已办结", resolved_date="2025-03-05", satisfaction=6)]}, {"need_satisfaction_invalid"}),
        (
            {"needs": [need(status="已办结", resolved_date="2025-03-05", satisfaction=4.5)]},
            {"need_satisfaction_invalid"},
        ),
        (
            {"needs": [need(status="已办结", resolved_date="2025-03-05", satisfaction=True)]},
            {"need_satisfaction_invalid"},
        ),
        ({"needs": [need(), need(category="资金")]}, {"need_id_repeated"}),
        ({"channel": "邮件", "needs": [need(status="?")]}, {"channel_unknown", "need_status_unknown"}),
    ],
)
def test_a_line_breaking_a_rule_is_quarantined_whole(tmp_path: Path, changes: dict, rules: set[str]) -> None:
    truth, account = one_line(tmp_path, visit(**changes, **({} if "needs" in changes else {"needs": [need()]})))
    assert account.failures == {1: rules}
    assert (account.rows_received, account.rows_loaded, account.rows_quarantined) == (1, 0, 1)
    assert truth.visits == [] and truth.need_records == []


@pytest.mark.parametrize(
    ("flag", "expected"),
    [(True, True), (False, False), ("true", True), (" FALSE ", False), ("是", True), ("否", False)],
)
def test_accepted_key_flags(tmp_path: Path, flag: object, expected: bool) -> None:
    truth, _ = one_line(tmp_path, visit(is_key_enterprise=flag))
    assert truth.visits[0].is_key_enterprise is expected


def test_empty_needs_and_satisfaction_forms_are_accepted(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    resolved = {"status": "已办结", "resolved_date": "2025-03-05"}
    write_jsonl(
        landing,
        DAY,
        "v.jsonl",
        [
            visit(visit_id="V1", needs=None),
            visit(visit_id="V2", needs=""),
            visit(visit_id="V3", needs=...),
            visit(visit_id="V4", needs=[need(**resolved, satisfaction=5.0)]),
            visit(visit_id="V5", needs=[need(need_id="N5", **resolved, satisfaction="")]),
        ],
    )
    truth = read_visits(landing, DAY, DAY)
    assert [len(v.needs) for v in truth.visits] == [0, 0, 0, 1, 1]
    assert [v.needs[0].satisfaction for v in truth.visits[3:]] == [5, None]


def test_invalid_json_lines_are_quarantined_and_the_others_load(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    lines = [visit(visit_id="V1"), "{not json", "", "[1, 2]", '{"visit_id": NaN}', "   ", visit(visit_id="V2")]
    path = write_jsonl(landing, DAY, "v.jsonl", lines)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))  # CRLF too
    account = read_visits(landing, DAY, DAY).files["visits/2025-03-05/v.jsonl"]
    # Blank lines are not received but keep their number.
    assert account.failures == {2: {"json_invalid"}, 4: {"json_invalid"}, 5: {"json_invalid"}}
    assert (account.rows_received, account.rows_loaded, account.rows_quarantined) == (5, 2, 3)


def test_duplicate_visit_id_within_a_file_and_across_files(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_jsonl(landing, DAY, "a.jsonl", [visit(visit_id="V1"), visit(visit_id="V1", channel="电话")])
    write_jsonl(landing, DAY, "b.jsonl", [visit(visit_id="V1", visitor_id="S9"), visit(visit_id="V2")])
    # A quarantined line does not reserve its visit_id.
    write_jsonl(landing, DAY, "c.jsonl", [visit(visit_id="V3", channel="?"), visit(visit_id="V3")])
    truth = read_visits(landing, DAY, DAY)
    assert truth.files["visits/2025-03-05/a.jsonl"].failures == {2: {"visit_id_duplicate"}}
    assert truth.files["visits/2025-03-05/b.jsonl"].failures == {1: {"visit_id_duplicate"}}
    assert truth.files["visits/2025-03-05/c.jsonl"].failures == {1: {"channel_unknown"}}
    assert [(v.visit_id, v.source_file[-7:], v.line_number) for v in truth.visits] == [
        ("V1", "a.jsonl", 1),
        ("V2", "b.jsonl", 2),
        ("V3", "c.jsonl", 2),
    ]


# --- encodings and file versions ------------------------------------------------------------------------


def test_gb18030_and_bom_files_load_undecodable_ones_are_rejected(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_jsonl(landing, DAY, "a_gb.jsonl", [visit(visit_id="V1")], encoding="gb18030")
    write_jsonl(landing, DAY, "b_bom.jsonl", [visit(visit_id="V2")], bom=True)
    folder = landing / "visits" / DAY.isoformat()
    (folder / "c_bad.jsonl").write_bytes(
        json.dumps(visit(visit_id="V3")).encode() + b"\xff\n \n" + json.dumps(visit(visit_id="V6")).encode() + b"\n"
    )
    # Valid GB18030 bytes, but decoding gives a private-use character: a wrong guess, rejected.
    (folder / "d_pua.jsonl").write_bytes(
        json.dumps(visit(visit_id="V4"), ensure_ascii=False).encode("gb18030")[:-1] + b"\xaa\xa1}\n"
    )
    (folder / "e.csv").write_text("visit_id\nV5\n")
    (folder / ".hidden.jsonl").write_text("junk\n")
    truth = read_visits(landing, DAY, DAY)
    statuses = {path.rsplit("/", 1)[1]: (a.status, a.encoding, a.reject_rule) for path, a in truth.files.items()}
    assert statuses == {
        "a_gb.jsonl": ("loaded", "gb18030", None),
        "b_bom.jsonl": ("loaded", "utf-8-sig", None),
        "c_bad.jsonl": ("rejected", None, "file_undecodable"),
        "d_pua.jsonl": ("rejected", None, "file_undecodable"),
        "e.csv": ("rejected", None, "file_unsupported_type"),
    }
    assert [v.visit_id for v in truth.visits] == ["V1", "V2"]
    assert truth.visits[0].park_name == PARK
    # A rejected file's rows are received and quarantined: its non-blank lines when it does not
    # decode, one row for a file of another type (nothing in it can be counted).
    counts = {path.rsplit("/", 1)[1]: (a.rows_received, a.rows_quarantined) for path, a in truth.files.items()}
    assert {name: counts[name] for name in ("c_bad.jsonl", "d_pua.jsonl", "e.csv")} == {
        "c_bad.jsonl": (2, 2),
        "d_pua.jsonl": (1, 1),
        "e.csv": (1, 1),
    }


def test_decode_text_allows_tab_and_newlines_in_gb18030() -> None:
    assert decode_text("园\t区\r\n".encode("gb18030")) == ("园\t区\r\n", "gb18030")
    with pytest.raises(Exception, match="file_undecodable"):
        decode_text("园区\x07".encode("gb18030"))


def test_same_bytes_are_loaded_once_and_a_corrected_file_replaces_the_older(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    day2, day3 = date(2025, 3, 6), date(2025, 3, 7)
    write_jsonl(landing, DAY, "a.jsonl", [visit(visit_id="V1"), visit(visit_id="V2")])
    write_jsonl(landing, DAY, "b.jsonl", [visit(visit_id="V1"), visit(visit_id="V2")])  # same bytes as a
    # The corrected a.jsonl repeats V1 (its own old line: not a duplicate) and drops V2.
    write_jsonl(landing, day2, "a.jsonl", [visit(visit_id="V1", channel="电话")])
    write_jsonl(landing, day3, "c.jsonl", [visit(visit_id="V2", visit_date="2025-03-07")])  # V2 is free again
    truth = read_visits(landing, DAY, day3)
    files = truth.files
    assert (files["visits/2025-03-05/b.jsonl"].status, files["visits/2025-03-05/b.jsonl"].duplicate_of) == (
        "duplicate",
        "visits/2025-03-05/a.jsonl",
    )
    assert files["visits/2025-03-05/b.jsonl"].rows_received == 0
    old = files["visits/2025-03-05/a.jsonl"]
    assert (old.status, old.previous_status, old.superseded_by) == ("superseded", "loaded", "visits/2025-03-06/a.jsonl")
    assert files["visits/2025-03-06/a.jsonl"].failures == {}
    assert files["visits/2025-03-07/c.jsonl"].failures == {}
    assert sorted((v.visit_id, v.channel, v.source_file) for v in truth.visits) == [
        ("V1", "电话", "visits/2025-03-06/a.jsonl"),
        ("V2", "上门走访", "visits/2025-03-07/c.jsonl"),
    ]


def test_a_new_version_that_duplicates_another_file_still_supersedes(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    day2 = date(2025, 3, 6)
    write_jsonl(landing, DAY, "a.jsonl", [visit(visit_id="V1")])
    write_jsonl(landing, DAY, "b.jsonl", [visit(visit_id="V2")])
    write_jsonl(landing, day2, "a.jsonl", [visit(visit_id="V2")])  # a's new content = b's bytes
    truth = read_visits(landing, DAY, day2)
    assert truth.files["visits/2025-03-05/a.jsonl"].status == "superseded"
    assert truth.files["visits/2025-03-06/a.jsonl"].status == "duplicate"
    assert [v.visit_id for v in truth.visits] == ["V2"]


# --- needs ---------------------------------------------------------------------------------------------------


def test_latest_need_record_wins_by_visit_date_then_delivery(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    day2 = date(2025, 3, 6)
    done = need(status="已办结", resolved_date="2025-03-05")
    write_jsonl(landing, DAY, "a.jsonl", [visit(visit_id="V1", needs=[done])])
    # Delivered later but about an earlier visit: not the latest record.
    write_jsonl(
        landing,
        day2,
        "b.jsonl",
        [visit(visit_id="V2", visit_date="2025-03-04", needs=[need(status="处理中", raised_date="2025-03-01")])],
    )
    write_jsonl(landing, day2, "c.jsonl", [visit(visit_id="V3", visit_date="2025-03-05", needs=[done])])
    truth = read_visits(landing, DAY, day2)
    current = current_needs(truth)["N1"]
    assert (current.need.status, current.visit.visit_id) == ("已办结", "V3")
    assert [(r.visit.visit_id, r.need.status) for r in need_status_changes(truth)] == [
        ("V2", "处理中"),
        ("V1", "已办结"),
    ]


def write_needs(tmp_path: Path, rows: list[tuple[str, str, int, str, str, str | None]]) -> Path:
    """rows: (need_id, category, firm number, park, raised, resolved or None) -> one visit per need."""
    landing = tmp_path / "landing"
    lines = []
    for number, (need_id, category, firm, park, raised, resolved) in enumerate(rows, start=1):
        extra = {"status": "已办结", "resolved_date": resolved} if resolved else {}
        lines.append(
            visit(
                visit_id=f"V{number}",
                visit_date="2025-03-31",
                uscc=uscc(firm),
                park_name=park,
                needs=[need(need_id=need_id, category=category, raised_date=raised, **extra)],
            )
        )
    write_jsonl(landing, date(2025, 3, 31), "v.jsonl", lines)
    return landing


def test_needs_resolution_rates_medians_and_totals(tmp_path: Path) -> None:
    landing = write_needs(
        tmp_path,
        [
            ("N1", "人才", 1, PARK, "2025-03-01", "2025-03-02"),  # 1 day
            ("N2", "人才", 2, PARK, "2025-03-01", "2025-03-05"),  # 4 days
            ("N3", "人才", 3, PARK, "2025-03-02", None),
            ("N4", "人才", 4, PARK, "2025-03-03", None),
            ("N5", "资金", 5, PARK, "2025-03-03", "2025-03-10"),  # 7 days
            ("N6", "人才", 6, OTHER_PARK, "2025-03-04", "2025-03-04"),  # 0 days
            ("N7", "人才", 7, OTHER_PARK, "2025-02-28", None),
        ],
    )
    truth = read_visits(landing, date(2025, 3, 31), date(2025, 3, 31))
    figures = {
        key: (r.needs_raised, r.needs_resolved, r.resolution_rate, r.median_days_to_resolve)
        for key, r in needs_resolution(truth).items()
    }
    march, feb = date(2025, 3, 1), date(2025, 2, 1)
    assert figures[(march, "zhangjiang_core", "人才")] == (4, 2, 50.0, 2.5)  # even count: mean of 1 and 4
    assert figures[(march, "zhangjiang_core", ALL_CATEGORIES)] == (5, 3, 60.0, 4)  # 1, 4, 7
    assert figures[(march, ALL_PARKS, "人才")] == (5, 3, 60.0, 1)  # 0, 1, 4
    assert figures[(march, ALL_PARKS, ALL_CATEGORIES)] == (6, 4, pytest.approx(200 / 3), 2.5)
    assert figures[(feb, "jinqiao", "人才")] == (1, 0, 0.0, None)
    assert len(figures) == (3 + 2 + 2 + 1) + (1 + 1 + 1 + 1)  # March, February: details + three kinds of total
    assert needs_resolution_kpi(truth, date(2025, 3, 31)) == pytest.approx(4 / 7 * 100)
    assert needs_resolution_kpi(truth, date(2024, 12, 31)) is None


@pytest.mark.parametrize(
    ("fifth_raised", "hot"),
    [
        ("2025-03-07", True),  # window [03-01, 03-07] holds 5 firms
        ("2025-03-08", False),  # window [03-02, 03-08] holds 4: firm 1 (03-01) has left it
    ],
)
def test_recurring_needs_boundary_four_versus_five_firms(tmp_path: Path, fifth_raised: str, hot: bool) -> None:
    rows = [(f"N{i}", "人才", i, PARK if i < 3 else OTHER_PARK, f"2025-03-0{i}", None) for i in range(1, 5)]
    rows += [("N5", "人才", 5, PARK, fifth_raised, None), ("N6", "资金", 5, PARK, "2025-03-02", None)]
    rows += [("N7", "人才", 1, PARK, "2025-03-01", None)]  # firm 1 again: still 1 firm
    truth = read_visits(write_needs(tmp_path, rows), date(2025, 3, 31), date(2025, 3, 31))
    episodes = recurring_episodes(truth)
    if not hot:
        assert episodes == []
        assert recurring_need_ids(truth, episodes) == set()
        return
    (episode,) = episodes
    assert (episode.category, episode.episode_start, episode.first_hot_day, episode.last_hot_day) == (
        "人才",
        date(2025, 3, 1),
        date(2025, 3, 7),
        date(2025, 3, 7),
    )
    assert (episode.enterprises, episode.needs, episode.peak_enterprises_7d, episode.parks) == (
        5,
        6,
        5,
        "jinqiao;zhangjiang_core",
    )
    assert recurring_need_ids(truth) == {"N1", "N2", "N3", "N4", "N5", "N7"}
    assert recurring_kpi(episodes, date(2025, 4, 5)) == 1
    assert recurring_kpi(episodes, date(2025, 4, 6)) == 0  # 03-07 is 30 days before


def test_recurring_episode_spans_consecutive_hot_days_and_threshold_is_a_parameter(tmp_path: Path) -> None:
    rows = [(f"N{i}", "空间", i, PARK, f"2025-03-0{i}", None) for i in range(1, 7)]  # firms 1..6 on 03-01..06
    truth = read_visits(write_needs(tmp_path, rows), date(2025, 3, 31), date(2025, 3, 31))
    (episode,) = recurring_episodes(truth)
    # Hot while the window holds >= 5 firms: 03-05 (5), 03-06 (6), 03-07 (6), then 03-08 has 5 (03-02..06),
    # 03-09 has 4.
    assert (episode.first_hot_day, episode.last_hot_day, episode.peak_enterprises_7d) == (
        date(2025, 3, 5),
        date(2025, 3, 8),
        6,
    )
    assert episode.episode_start == date(2025, 2, 27)
    assert recurring_episodes(truth, threshold=7) == []
    assert len(recurring_episodes(truth, threshold=2, window_days=1)) == 0


# --- staff weeks, key coverage, agent services ------------------------------------------------------------


def visits_landing(tmp_path: Path, lines: list[dict], day: date = date(2025, 6, 30)) -> Path:
    landing = tmp_path / "landing"
    write_jsonl(landing, day, "v.jsonl", [visit(visit_id=f"V{i}", **line) for i, line in enumerate(lines)])
    return landing


def test_visits_per_staff_week_uses_iso_weeks(tmp_path: Path) -> None:
    lines = [
        {"visitor_id": "S1", "visit_date": "2025-03-03"},  # Monday
        {"visitor_id": "S1", "visit_date": "2025-03-05", "channel": "电话"},
        {"visitor_id": "S1", "visit_date": "2025-03-09", "channel": "线上"},  # Sunday: same week
        {"visitor_id": "S2", "visit_date": "2025-03-04"},
        {"visitor_id": "S2", "visit_date": "2025-03-10"},  # next Monday: next week
        {"visitor_id": "L1", "visit_date": "2025-03-04", "visitor_role": "楼长"},
    ]
    truth = read_visits(visits_landing(tmp_path, lines), date(2025, 6, 30), date(2025, 6, 30))
    weeks = visits_per_staff_week(truth)
    week = weeks[(date(2025, 3, 3), "片长")]
    assert (week.iso_year, week.iso_week, week.visitors, week.visits, week.visits_per_visitor) == (2025, 10, 2, 4, 2.0)
    assert week.visitors_meeting_target == 1
    assert weeks[(date(2025, 3, 10), "片长")].visits_per_visitor == 1.0
    assert weeks[(date(2025, 3, 3), "楼长")].visitors_meeting_target is None
    assert len(weeks) == 3
    assert visits_per_staff_kpi(truth, date(2025, 3, 9)) == 2.0  # the week ending that Sunday is complete
    assert visits_per_staff_kpi(truth, date(2025, 3, 15)) == 2.0  # week of 03-10 not complete yet
    assert visits_per_staff_kpi(truth, date(2025, 3, 16)) == 1.0
    assert visits_per_staff_kpi(truth, date(2025, 3, 8)) is None


def test_key_coverage_firms_stay_key_and_champions_join(tmp_path: Path) -> None:
    a, b, c, d = uscc(1), uscc(2), uscc(3), uscc(4)
    lines = [
        {"uscc": a, "visit_date": "2025-02-01", "is_key_enterprise": True},
        {"uscc": b, "visit_date": "2025-02-01"},
        {"uscc": a, "visit_date": "2025-03-01", "park_name": OTHER_PARK},  # latest visit in Q1 decides the park
        {"uscc": c, "visit_date": "2025-05-01", "is_key_enterprise": True},
        {
            "uscc": a,
            "visit_date": "2025-04-01",
            "visitor_role": "首席代办员",
            "needs": [need(raised_date="2025-04-01")],
        },
    ]
    truth = read_visits(visits_landing(tmp_path, lines), date(2025, 6, 30), date(2025, 6, 30))
    q1, q2 = date(2025, 1, 1), date(2025, 4, 1)
    figures = {key: (c.key_enterprises, c.visited, c.coverage) for key, c in key_coverage(truth).items()}
    assert figures == {
        (q1, ALL_PARKS): (1, 1, 100.0),
        (q1, "jinqiao"): (1, 1, 100.0),
        (q2, ALL_PARKS): (2, 2, 100.0),  # a stays key and was visited 04-01
        (q2, "zhangjiang_core"): (2, 2, 100.0),
    }
    # A 独角兽 registered in 金桥园 (active in Q1, gone in Q2) and never visited.
    history = EnterpriseHistory(
        {
            d: [
                EnterpriseEvent(
                    d, date(2024, 1, 1), "设立", "jinqiao", frozenset({"独角兽"}), (date(2024, 1, 1),) * 2 + ("x", 2)
                ),
                EnterpriseEvent(
                    d, date(2025, 4, 2), "迁出", "jinqiao", frozenset({"独角兽"}), (date(2025, 4, 2),) * 2 + ("x", 3)
                ),
            ]
        },
        frozenset({"独角兽", "隐形冠军"}),
    )
    with_history = key_coverage(truth, history)
    assert (with_history[(q1, "jinqiao")].key_enterprises, with_history[(q1, "jinqiao")].coverage) == (2, 50.0)
    assert with_history[(q2, ALL_PARKS)].key_enterprises == 2
    assert key_coverage_kpi(truth, date(2025, 4, 15)) == 100.0  # a visited 04-01; c not flagged yet
    assert key_coverage_kpi(truth, date(2025, 3, 31), history) == 50.0
    assert key_coverage_kpi(truth, date(2024, 6, 30)) is None


def test_agent_services_per_month_and_park(tmp_path: Path) -> None:
    agent = {"visitor_role": "首席代办员"}
    lines = [
        {
            **agent,
            "visitor_id": "A1",
            "visit_date": "2025-03-03",
            "needs": [need(raised_date="2025-03-01"), need(need_id="N2", raised_date="2025-03-02")],
        },
        {**agent, "visitor_id": "A1", "visit_date": "2025-03-20", "uscc": uscc(2), "needs": [need(need_id="N3")]},
        {**agent, "visitor_id": "A2", "visit_date": "2025-03-21"},
        {**agent, "visitor_id": "A2", "visit_date": "2025-04-01", "park_name": OTHER_PARK},
        {"visitor_id": "S1", "visit_date": "2025-03-03"},
    ]
    truth = read_visits(visits_landing(tmp_path, lines), date(2025, 6, 30), date(2025, 6, 30))
    services = {key: (m.services, m.agents, m.enterprises, m.needs) for key, m in agent_services(truth).items()}
    assert services == {
        (date(2025, 3, 1), "zhangjiang_core"): (3, 2, 2, 3),
        (date(2025, 4, 1), "jinqiao"): (1, 1, 1, 0),
    }
    assert agent_services_kpi(truth, date(2025, 3, 31)) == 3


# --- incubator reports ------------------------------------------------------------------------------------------


def report(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "孵化器编号": "INC01",
        "孵化器名称": "张江孵化器",
        "级别": "国家级",
        "高质量孵化器": "是",
        "所属园区": PARK,
        "报告期": "2025-02",
        "孵化场地面积（平方米）": "12,000.5",
        "在孵企业数": 80,
        "当期新增在孵企业数": 3,
        "当期毕业企业数": 1,
        "累计毕业企业数": 20,
        "当期获投融资企业数": 10,
        "当期融资金额（万元）": 1500,
        "知识产权授权数": 12,
        "在孵企业从业人员数": "１２００",
        "在孵企业营业收入（万元）": 24001,
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not ...}


def write_workbook(
    landing: Path,
    month: str,
    name: str,
    values: dict[str, object] | None = None,
    tenants: list[object] | None = None,
    extra_rows: int = 0,
    sheet: str = "月报",
) -> Path:
    folder = landing / "incubator_reports" / month
    folder.mkdir(parents=True, exist_ok=True)
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    values = report() if values is None else values
    worksheet.append(list(values))
    for _ in range(1 + extra_rows):
        worksheet.append(list(values.values()))
    if tenants is not None:
        listing = workbook.create_sheet("在孵企业名单")
        listing.append(["统一社会信用代码", "企业名称"])
        for code in tenants:
            listing.append([code, "某企业"])
    path = folder / name
    workbook.save(path)
    return path


def test_report_loads_with_normalised_values_and_tenants(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    values = report(**{"报告期": "2025年2月"})
    values["孵化场地面积(平方米)"] = values.pop("孵化场地面积（平方米）")  # ASCII parentheses
    values["备注"] = "extra column"
    write_workbook(landing, "2025-03", "inc01.xlsx", values, tenants=[uscc(1), f" {uscc(2).lower()} ", uscc(1), "123"])
    truth = read_incubator_reports(landing, "2025-03", date(2025, 3, 31))
    account = truth.files["incubator_reports/2025-03/inc01.xlsx"]
    assert (account.status, account.rows_received, account.rows_loaded, account.unknown_columns) == (
        "loaded",
        1,
        1,
        ["备注"],
    )
    assert (account.tenant_rows_received, account.tenant_rows_loaded, account.tenant_rows_quarantined) == (4, 2, 2)
    assert account.tenant_failures == {4: {"tenant_uscc_duplicate"}, 5: {"tenant_uscc_invalid"}}
    current = truth.reports[("INC01", date(2025, 2, 1))]
    assert (current.incubation_area_m2, current.incubatee_employees, current.park_code) == (
        Decimal("12000.5"),
        1200,
        "zhangjiang_core",
    )
    assert current.tenants == (uscc(1), uscc(2)) and not current.is_late
    monthly = incubator_monthly(truth, known_usccs={uscc(2)})[(date(2025, 2, 1), "INC01")]
    assert monthly.funded_share == 12.5
    assert monthly.revenue_per_m2_10k == pytest.approx(24001 / 12000.5)
    assert (monthly.tenants_listed, monthly.tenants_known, monthly.version_count) == (2, 1, 1)


def test_resubmission_replaces_and_same_name_supersedes(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_workbook(landing, "2025-03", "inc01_202502.xlsx", report(**{"在孵企业数": 80}))
    write_workbook(landing, "2025-05", "inc01_202502_v2.xlsx", report(**{"在孵企业数": 90}))
    truth = read_incubator_reports(landing, "2025-03", "2025-05")
    key = ("INC01", date(2025, 2, 1))
    assert (truth.reports[key].incubatees, truth.reports[key].is_late, truth.version_count(key)) == (90, True, 2)
    # The same file name delivered again: the first version is superseded, not counted.
    write_workbook(landing, "2025-04", "inc01_202502.xlsx", report(**{"在孵企业数": 85}))
    truth = read_incubator_reports(landing, "2025-03", "2025-04")
    assert truth.files["incubator_reports/2025-03/inc01_202502.xlsx"].status == "superseded"
    assert (truth.reports[key].incubatees, truth.reports[key].is_late, truth.version_count(key)) == (85, True, 1)


def test_cumulative_graduates_must_not_decrease(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_workbook(landing, "2025-02", "a_jan.xlsx", report(**{"报告期": "202501", "累计毕业企业数": 10}))
    write_workbook(landing, "2025-03", "a_feb.xlsx", report(**{"累计毕业企业数": 8}), tenants=[uscc(1)])
    # Another incubator is judged on its own history.
    write_workbook(landing, "2025-03", "b_feb.xlsx", report(**{"孵化器编号": "INC02", "累计毕业企业数": 1}))
    # Equal is fine; an earlier month resubmitted later is checked only against months before it.
    write_workbook(landing, "2025-04", "a_mar.xlsx", report(**{"报告期": "2025-03", "累计毕业企业数": 10}))
    write_workbook(landing, "2025-04", "z_jan_v2.xlsx", report(**{"报告期": "2025-01", "累计毕业企业数": 30}))
    truth = read_incubator_reports(landing, "2025-02", "2025-04")
    feb = truth.files["incubator_reports/2025-03/a_feb.xlsx"]
    assert feb.failures == {2: {"graduated_cumulative_decreased"}}
    assert (feb.rows_loaded, feb.rows_quarantined, feb.tenant_rows_quarantined) == (0, 1, 1)
    assert feb.tenant_failures == {2: {"report_quarantined"}}
    assert sorted(truth.reports) == [
        ("INC01", date(2025, 1, 1)),
        ("INC01", date(2025, 3, 1)),
        ("INC02", date(2025, 2, 1)),
    ]
    assert truth.reports[("INC01", date(2025, 1, 1))].graduated_cumulative == 30


@pytest.mark.parametrize(
    ("changes", "rules"),
    [
        ({"报告期": "2025-03"}, {"report_month_not_before_delivery"}),
        ({"报告期": "2025/02"}, {"report_month_format"}),
        ({"报告期": "2025-13"}, {"report_month_format"}),
        ({"当期获投融资企业数": 81}, {"funded_incubatees_exceeds_incubatees"}),
        ({"级别": "省级"}, {"level_unknown"}),
        ({"高质量孵化器": "Y"}, {"is_high_quality_invalid"}),
        ({"所属园区": "火星园"}, {"park_name_unknown"}),
        ({"在孵企业数": 80.5}, {"incubatees_invalid"}),
        ({"当期融资金额（万元）": -1}, {"funding_10k_negative"}),
        ({"知识产权授权数": "很多"}, {"ip_granted_invalid"}),
        ({"孵化器名称": "  "}, {"incubator_name_missing"}),
    ],
)
def test_report_rules(tmp_path: Path, changes: dict, rules: set[str]) -> None:
    landing = tmp_path / "landing"
    write_workbook(landing, "2025-03", "r.xlsx", report(**changes))
    truth = read_incubator_reports(landing, "2025-03", "2025-03")
    assert truth.files["incubator_reports/2025-03/r.xlsx"].failures == {2: rules}
    assert truth.reports == {}


def test_report_month_forms() -> None:
    assert parse_report_month("２０２５年３月") == date(2025, 3, 1)
    assert parse_report_month(202503) == date(2025, 3, 1)
    assert parse_report_month(datetime(2025, 3, 1)) == date(2025, 3, 1)
    assert parse_report_month(datetime(2025, 3, 2)) is None
    assert parse_report_month("2025-3") is None


def test_workbooks_rejected_whole(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_workbook(landing, "2025-03", "a_no_sheet.xlsx", sheet="Sheet1")
    write_workbook(landing, "2025-03", "b_missing_column.xlsx", report(**{"累计毕业企业数": ...}))
    write_workbook(landing, "2025-03", "c_two_rows.xlsx", report(**{"孵化器编号": "INC03"}), extra_rows=1)
    (landing / "incubator_reports" / "2025-03" / "d_broken.xlsx").write_bytes(b"not a zip")
    write_workbook(landing, "2025-03", "e_ok.xlsx", report(**{"孵化器编号": "INC05"}))
    truth = read_incubator_reports(landing, "2025-03", "2025-03")
    outcome = {
        p.rsplit("/", 1)[1]: (a.status, a.reject_rule, a.rows_received, a.rows_quarantined)
        for p, a in truth.files.items()
    }
    assert outcome == {
        "a_no_sheet.xlsx": ("rejected", "sheet_missing", 0, 0),
        "b_missing_column.xlsx": ("rejected", "missing_required_column", 1, 1),
        "c_two_rows.xlsx": ("rejected", "report_row_count", 2, 2),
        # Not a zip: nothing to count, so it holds one row (a rejected file never passes unnoticed).
        "d_broken.xlsx": ("rejected", "file_unreadable", 1, 1),
        "e_ok.xlsx": ("loaded", None, 1, 0),
    }
    assert truth.files["incubator_reports/2025-03/b_missing_column.xlsx"].reject_detail == "累计毕业企业数"
    assert list(truth.reports) == [("INC05", date(2025, 2, 1))]


def test_high_quality_count_uses_each_incubators_latest_report(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_workbook(landing, "2025-02", "a1.xlsx", report(**{"报告期": "2025-01"}))
    write_workbook(landing, "2025-04", "a3.xlsx", report(**{"报告期": "2025-03", "高质量孵化器": "否"}))
    b = {"孵化器编号": "INC02", "所属园区": OTHER_PARK, "报告期": "2025-02", "在孵企业数": 0, "当期获投融资企业数": 0}
    write_workbook(landing, "2025-03", "b2.xlsx", report(**b, **{"孵化场地面积（平方米）": 0}))
    truth = read_incubator_reports(landing, "2025-01", "2025-04")
    assert [high_quality_count(truth, month) for month in ("2024-12", "2025-01", "2025-02", "2025-03")] == [0, 1, 2, 1]
    assert high_quality_by_park(truth, date(2025, 3, 15)) == {"zhangjiang_core": 0, "jinqiao": 1, ALL_PARKS: 1}
    assert hq_incubators_kpi(truth, date(2025, 3, 31)) == 2  # as of February
    assert hq_incubators_kpi(truth, date(2025, 4, 1)) == 1
    monthly = incubator_monthly(truth)[(date(2025, 2, 1), "INC02")]
    assert (monthly.funded_share, monthly.revenue_per_m2_10k, monthly.tenants_known) == (None, None, None)


# --- manual statistics ------------------------------------------------------------------------------------------


def write_csv(landing: Path, day: str, name: str, text: str, encoding: str = "utf-8") -> None:
    folder = landing / "manual_statistics" / day
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(text.encode(encoding))


def test_parse_period() -> None:
    assert parse_period("2024年") == (date(2024, 1, 1), date(2024, 12, 31), "2024")
    assert parse_period("2025年第1季度") == (date(2025, 1, 1), date(2025, 3, 31), "2025Q1")
    assert parse_period("2025q4") == (date(2025, 10, 1), date(2025, 12, 31), "2025Q4")
    assert parse_period("202502") == (date(2025, 2, 1), date(2025, 2, 28), "2025-02")
    assert parse_period("2025Q5") is None and parse_period("2025-3-1") is None


def test_manual_statistics_rules_latest_delivery_and_measures(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    header = "指标代码,期间,园区,数值,来源,备注\n"
    write_csv(
        landing,
        "2025-03-01",
        "stats.csv",
        header
        + "leading_industry_share,2024,,80.5,市统计局,\n"
        + "leading_industry_share,2024Q4,,82,市统计局,\n"
        + "leading_industry_share,2025-01,,１０１,市统计局,\n"  # full-width 101: over 100 %
        + "leading_industry_share,2025-02,张江核心园,84,市统计局,\n"
        + 'trillion_parks,2024,张江核心园,"12,000",市统计局,\n'
        + "trillion_parks,2024,金桥园,9999.99,市统计局,\n"
        + "trillion_parks,2024,,20000,市统计局,\n"
        + "trillion_parks,2024,火星园,20000,市统计局,\n"
        + "new_tech_per_day,2024,,1,市统计局,\n"
        + "leading_industry_share,2024H1,,1,市统计局,\n"
        + "leading_industry_share,2024-06,,-1,,\n"
        + "leading_industry_share,2024-06,,1\n",
    )
    write_csv(
        landing,
        "2025-03-02",
        "fix.csv",
        "来源,数值,期间,指标代码\n市统计局,１０,2024年,trillion_parks\n市统计局,８３,2024年第4季度,leading_industry_share\n",
        encoding="gb18030",
    )
    write_csv(landing, "2025-03-02", "bad.csv", "指标代码,期间,数值\nleading_industry_share,2024,80\n")
    truth = read_manual_statistics(landing, date(2025, 3, 1), date(2025, 3, 2))
    stats = truth.files["manual_statistics/2025-03-01/stats.csv"]
    assert stats.failures == {
        4: {"value_above_100"},
        5: {"park_name_unexpected"},
        8: {"park_name_missing"},
        9: {"park_name_unknown"},
        10: {"kpi_code_unknown"},
        11: {"period_format"},
        12: {"value_negative", "source_missing"},
        13: {"row_field_count"},
    }
    assert (stats.rows_received, stats.rows_loaded, stats.rows_quarantined) == (12, 4, 8)
    fix = truth.files["manual_statistics/2025-03-02/fix.csv"]
    assert (fix.status, fix.encoding, fix.failures) == ("loaded", "gb18030", {2: {"park_name_missing"}})
    bad = truth.files["manual_statistics/2025-03-02/bad.csv"]
    assert (bad.status, bad.reject_rule, bad.reject_detail) == ("rejected", "missing_required_column", "来源")
    # 2024Q4 was re-delivered (83 replaces 82); it ends with the year 2024 but starts later, so it wins.
    assert leading_industry_share(truth, date(2025, 2, 27)) == Decimal(83)
    assert leading_industry_share(truth, date(2024, 12, 30)) is None
    assert trillion_parks(truth, date(2025, 3, 2)) == 1
    assert trillion_parks(truth, date(2025, 3, 2), threshold=Decimal("9999.99")) == 2
    assert trillion_parks(truth, date(2024, 12, 30)) is None


# --- registered enterprises -----------------------------------------------------------------------------------


def test_enterprise_history_from_registrations(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    folder = landing / "registrations" / "2025-03-05"
    folder.mkdir(parents=True)
    a, b = uscc(1), uscc(2)
    (folder / "reg.csv").write_text(
        "统一社会信用代码,企业名称,事件类型,事件日期,成立日期,所属园区,行业代码,资质标签\n"
        f"{a},甲,设立,2025-01-02,2025-01-02,金桥园,6520,独角兽;专精特新\n"
        f"{b},乙,设立,2025-01-02,2025-01-02,张江核心园,6520,高新技术企业\n"
        f"{a},甲,注销,2025-03-01,2025-01-02,金桥园,6520,独角兽\n"
        f"{b},乙,变更,2025-02-01,2025-01-02,张江核心园,6520,隐形冠军\n",
        encoding="utf-8",
    )
    history = read_enterprise_history(landing, date(2025, 3, 5), date(2025, 3, 5))
    assert history.known() == {a, b}
    assert history.champions_as_of(date(2025, 1, 31)) == {a: "jinqiao"}
    assert history.champions_as_of(date(2025, 3, 1)) == {b: "zhangjiang_core"}
