"""Visits and needs (feed 2) from staging to core and mart, on DuckDB and PostgreSQL.

Every test starts from a fresh warehouse (DDL and seeds), inserts a few hand-made staging rows
and runs ``transform.build_all``; the expected figures are worked out by hand in the test from
docs/measures.md, never by the pipeline's SQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from support.staging_rows import D, Staging, by_key, fetch, num, progress

from parkops.pipeline import reference, transform
from parkops.warehouse import create_warehouse_engine

Z, J, L = "张江核心园", "金桥园", "临港园"


@pytest.fixture
def engine(reference_warehouse_url: str) -> Iterator[Engine]:
    engine = create_warehouse_engine(reference_warehouse_url)
    reference.load_reference_data(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def build(engine: Engine, staging: Staging) -> dict[str, int]:
    staging.load(engine)
    return transform.build_all(engine)


def need(need_id: str, category: str = "资金", status: str = "待处理", raised: str | None = None, **extra) -> dict:
    values = {"need_id": need_id, "category": category, "status": status, **extra}
    if raised:
        values["raised"] = raised
    return values


def resolved(need_id: str, category: str, raised: str, on: str, satisfaction: int = 5) -> dict:
    return need(need_id, category, "已办结", raised, resolved=on, satisfaction=satisfaction)


# --- needs: history, current state, resolution ------------------------------------------------------


def needs_staging() -> Staging:
    s = Staging()
    # N1 moves 待处理 -> 待处理 -> 处理中 -> 已办结 over four visits: 4 records, 3 statuses.
    s.visit("V01", "2025-03-03", uscc="E1", needs=(need("N1", raised="2025-03-03"),))
    s.visit("V02", "2025-03-05", uscc="E1", needs=(need("N1", raised="2025-03-03"),))
    s.visit("V03", "2025-03-10", uscc="E1", needs=(need("N1", status="处理中", raised="2025-03-03"),))
    s.visit("V04", "2025-03-12", uscc="E1", needs=(resolved("N1", "资金", "2025-03-03", "2025-03-12", 4),))
    # March, 张江核心园: 资金 resolved in 2 and 4 days plus one open; 人才 in 1 and 6 days.
    s.visit(
        "V05",
        "2025-03-04",
        uscc="E2",
        needs=(
            resolved("N4", "资金", "2025-03-04", "2025-03-06"),
            resolved("N5", "资金", "2025-03-04", "2025-03-08"),
            need("N6", "资金", raised="2025-03-04"),
            resolved("N7", "人才", "2025-03-04", "2025-03-05"),
            resolved("N8", "人才", "2025-03-04", "2025-03-10"),
        ),
    )
    # March, 金桥园: 资金 resolved in 10 days, another in progress.
    s.visit(
        "V06",
        "2025-03-06",
        park=J,
        uscc="E3",
        needs=(resolved("N9", "资金", "2025-03-06", "2025-03-16"), need("N10", "资金", "处理中", "2025-03-06")),
    )
    # Latest record wins. N2: same visit date, the later delivery wins although its file sorts first
    # (names without the delivery folder, so that the file name alone would decide otherwise).
    s.visit(
        "V07",
        "2025-04-02",
        uscc="E4",
        delivery="2025-04-04",
        file="a.jsonl",
        needs=(need("N2", "审批", "处理中", "2025-04-01"),),
    )
    s.visit(
        "V08",
        "2025-04-02",
        uscc="E4",
        delivery="2025-04-03",
        file="b.jsonl",
        needs=(resolved("N2", "审批", "2025-04-01", "2025-04-02"),),
    )
    # N3: same visit date and delivery: the later file name wins; within a file the later line.
    s.visit(
        "V09",
        "2025-04-02",
        uscc="E5",
        delivery="2025-04-03",
        file="visits/2025-04-03/x2.jsonl",
        row=1,
        needs=(need("N3", "审批", "处理中", "2025-04-01"),),
    )
    s.visit(
        "V10",
        "2025-04-02",
        uscc="E5",
        delivery="2025-04-03",
        file="visits/2025-04-03/x1.jsonl",
        row=7,
        needs=(resolved("N3", "审批", "2025-04-01", "2025-04-02"),),
    )
    s.visit(
        "V11",
        "2025-04-02",
        uscc="E6",
        delivery="2025-04-03",
        file="visits/2025-04-03/x2.jsonl",
        row=3,
        needs=(need("N11", "审批", "处理中", "2025-04-01"),),
    )
    s.visit(
        "V12",
        "2025-04-02",
        uscc="E6",
        delivery="2025-04-03",
        file="visits/2025-04-03/x2.jsonl",
        row=2,
        needs=(resolved("N11", "审批", "2025-04-01", "2025-04-02"),),
    )
    # N12: the line order decides before the need's position in its visit.
    s.visit(
        "V13",
        "2025-04-02",
        uscc="E7",
        delivery="2025-04-03",
        file="visits/2025-04-03/x3.jsonl",
        row=5,
        needs=(need("N12", "审批", "处理中", "2025-04-01"),),
    )
    s.visit(
        "V14",
        "2025-04-02",
        uscc="E7",
        delivery="2025-04-03",
        file="visits/2025-04-03/x3.jsonl",
        row=4,
        needs=(need("N13", "审批", "待处理", "2025-04-01"), resolved("N12", "审批", "2025-04-01", "2025-04-02")),
    )
    return s


def test_need_records_history_and_current_state(engine: Engine) -> None:
    build(engine, needs_staging())

    records = fetch(engine, "select * from core.fct_need_records where need_id = 'N1' order by record_sequence")
    assert [(r["record_sequence"], r["visit_id"], r["status"], r["is_latest"]) for r in records] == [
        (1, "V01", "待处理", False),
        (2, "V02", "待处理", False),
        (3, "V03", "处理中", False),
        (4, "V04", "已办结", True),
    ]
    assert {r["first_visit_date"] for r in records} == {D("2025-03-03")}
    assert {r["park_code"] for r in records} == {"zhangjiang_core"}

    changes = fetch(engine, "select * from core.fct_need_status_changes where need_id = 'N1' order by change_sequence")
    assert [
        (c["change_sequence"], c["status"], c["previous_status"], c["changed_on"], c["visit_id"]) for c in changes
    ] == [
        (1, "待处理", None, D("2025-03-03"), "V01"),
        (2, "处理中", "待处理", D("2025-03-10"), "V03"),
        (3, "已办结", "处理中", D("2025-03-12"), "V04"),
    ]

    current = by_key(fetch(engine, "select * from core.need_current"), "need_id")
    assert len(current) == 13
    assert (current["N1"]["status"], current["N1"]["records"], current["N1"]["visit_id"]) == ("已办结", 4, "V04")
    assert current["N1"]["satisfaction"] == 4 and current["N1"]["resolved_date"] == D("2025-03-12")
    # Later delivery beats file name; later file name beats row; later row beats earlier.
    assert (current["N2"]["status"], current["N2"]["visit_id"]) == ("处理中", "V07")
    assert (current["N3"]["status"], current["N3"]["visit_id"]) == ("处理中", "V09")
    assert (current["N11"]["status"], current["N11"]["visit_id"]) == ("处理中", "V11")
    assert (current["N12"]["status"], current["N12"]["visit_id"]) == ("处理中", "V13")

    status = by_key(fetch(engine, "select * from mart.need_status"), "need_id")
    n1 = status["N1"]
    assert (n1["is_resolved"], n1["days_to_resolve"], n1["records"], n1["status_changes"]) == (True, 9, 4, 3)
    assert (n1["raised_month"], n1["first_visit_date"], n1["last_visit_date"]) == (
        D("2025-03-01"),
        D("2025-03-03"),
        D("2025-03-12"),
    )
    assert status["N6"]["days_to_resolve"] is None and status["N6"]["is_resolved"] is False
    assert not any(row["is_recurring"] for row in status.values())


def test_needs_resolution_rates_and_medians_per_grouping_set(engine: Engine) -> None:
    build(engine, needs_staging())
    rows = by_key(
        fetch(engine, "select * from mart.needs_resolution where raised_month = :m", {"m": D("2025-03-01")}),
        "park_code",
        "category",
    )
    expected = {
        # (park, category): (raised, resolved, rate, median days)
        ("zhangjiang_core", "资金"): (4, 3, "75", "4"),  # 9, 2, 4 -> 4
        ("zhangjiang_core", "人才"): (2, 2, "100", "3.5"),  # 1, 6 -> mean of the middle two
        ("jinqiao", "资金"): (2, 1, "50", "10"),
        ("zhangjiang_core", "全部"): (6, 5, "83.3333", "4"),  # 1, 2, 4, 6, 9
        ("jinqiao", "全部"): (2, 1, "50", "10"),
        ("all", "资金"): (6, 4, "66.6667", "6.5"),  # 2, 4, 9, 10: not the mean of the park medians
        ("all", "人才"): (2, 2, "100", "3.5"),
        ("all", "全部"): (8, 6, "75", "5"),  # 1, 2, 4, 6, 9, 10
    }
    assert set(rows) == set(expected)
    for key, (raised, resolved_count, rate, median) in expected.items():
        row = rows[key]
        assert (row["needs_raised"], row["needs_resolved"]) == (raised, resolved_count), key
        assert row["resolution_rate"] == num(rate), key
        assert row["median_days_to_resolve"] == num(median), key
    assert rows[("all", "全部")]["park_name"] == "全区"
    assert rows[("jinqiao", "资金")]["park_name"] == "金桥园"

    april = by_key(
        fetch(engine, "select * from mart.needs_resolution where raised_month = :m", {"m": D("2025-04-01")}),
        "park_code",
        "category",
    )
    # N2, N3, N11, N12 currently 处理中, N13 待处理: nothing resolved, no median.
    assert (april[("all", "全部")]["needs_raised"], april[("all", "全部")]["needs_resolved"]) == (5, 0)
    assert april[("all", "全部")]["resolution_rate"] == 0
    assert april[("all", "全部")]["median_days_to_resolve"] is None

    # KPI: needs raised from 1 January to D, status as loaded: (6 resolved of 8) by March, 6 of 13 in April.
    assert progress(engine, "2025-03-31")["needs_resolution"]["actual"] == num("75")
    assert progress(engine, "2025-04-02")["needs_resolution"]["actual"] == num("46.1538")
    kpi = progress(engine, "2025-04-02")["needs_resolution"]
    assert (kpi["data_status"], kpi["on_track"], kpi["attainment"], kpi["target"]) == ("ok", None, None, None)


def test_no_personal_data_leaves_staging(engine: Engine) -> None:
    build(engine, needs_staging())
    columns = fetch(
        engine,
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema in ('core', 'mart', 'ops')",
    )
    names = {row["column_name"] for row in columns}
    assert not names & {"visitor_name", "legal_representative", "contact_phone"}
    described = {row["table_name"] for row in columns if row["column_name"] == "description"}
    assert described == {"dim_qualification_tag", "dim_park_evaluation_rule"}  # seeds, not need descriptions
    for row in columns:
        if row["table_schema"] == "ops" and row["table_name"] in ("quarantine",):
            continue
        column = f'cast("{row["column_name"]}" as text)'
        values = fetch(
            engine,
            f'select count(*) as n from "{row["table_schema"]}"."{row["table_name"]}" '
            f"where {column} like :name or {column} like :phone",
            {"name": "%姓名%", "phone": "%13900000000%"},
        )
        assert values[0]["n"] == 0, row


# --- recurring needs ----------------------------------------------------------------------------------


def recurring_staging() -> Staging:
    s = Staging()
    # 空间: four distinct firms within 7 days -> never hot.
    for index, day in enumerate(("2025-05-01", "2025-05-02", "2025-05-03", "2025-05-04"), start=1):
        s.visit(f"VS{index}", day, uscc=f"S{index}", needs=(need(f"NS{index}", "空间"),))
    s.visit("VS5", "2025-05-05", uscc="S1", needs=(need("NS5", "空间"),))  # a fifth need, same firm as NS1
    # 政策 episode 1: firms P1..P6; hot on 05-07 (P1..P5 in 05-01..05-07) and 05-08 (P2..P6).
    policy = [
        ("P1", "2025-05-01", Z),
        ("P2", "2025-05-02", J),
        ("P3", "2025-05-03", Z),
        ("P4", "2025-05-05", Z),
        ("P5", "2025-05-07", J),
        ("P6", "2025-05-08", Z),
    ]
    for uscc, day, park in policy:
        s.visit(f"V{uscc}", day, uscc=uscc, park=park, needs=(need(f"N{uscc}", "政策"),))
    s.visit("VP1b", "2025-05-02", uscc="P1", needs=(need("NP1b", "政策"),))  # P1 again: one firm, two needs
    # Between the episodes: one firm on 05-10, never five in a window.
    s.visit("VG", "2025-05-10", uscc="G1", needs=(need("NG", "政策"),))
    # 政策 episode 2: five firms on 05-20 -> hot 05-20..05-26 (seven days).
    for index in range(1, 6):
        s.visit(f"VF{index}", "2025-05-20", uscc=f"F{index}", park=L, needs=(need(f"NF{index}", "政策"),))
    # A late visit extends the feed's coverage to 2025-06-29.
    s.visit("VEND", "2025-06-29", uscc="G1")
    return s


def test_recurring_need_episodes(engine: Engine) -> None:
    build(engine, recurring_staging())
    episodes = fetch(engine, "select * from mart.recurring_needs order by category, first_hot_day")
    assert [
        (
            e["category"],
            e["episode_start"],
            e["first_hot_day"],
            e["last_hot_day"],
            e["hot_days"],
            e["enterprises"],
            e["needs"],
            e["peak_enterprises_7d"],
            e["parks"],
        )
        for e in episodes
    ] == [
        # 05-08 holds P1 (again, 05-02) and P2..P6: six firms at the peak.
        ("政策", D("2025-05-01"), D("2025-05-07"), D("2025-05-08"), 2, 6, 7, 6, "jinqiao;zhangjiang_core"),
        ("政策", D("2025-05-14"), D("2025-05-20"), D("2025-05-26"), 7, 5, 5, 5, "lingang"),
    ]
    status = by_key(fetch(engine, "select need_id, is_recurring from mart.need_status"), "need_id")
    recurring = {need_id for need_id, row in status.items() if row["is_recurring"]}
    assert recurring == {"NP1", "NP1b", "NP2", "NP3", "NP4", "NP5", "NP6", "NF1", "NF2", "NF3", "NF4", "NF5"}

    # KPI: episodes with a hot day in the 30 days ending on D, as known on D.
    for as_of, count in [
        ("2025-05-06", 0),  # the first episode starts on 05-07
        ("2025-05-07", 1),
        ("2025-05-20", 2),
        ("2025-06-07", 1),  # window 05-09..06-07: the first episode ended on 05-08
        ("2025-06-24", 1),  # window 05-26..06-24 still holds the second one's last hot day
        ("2025-06-25", 0),
    ]:
        row = progress(engine, as_of)["recurring_needs"]
        assert (row["actual"], row["data_status"], row["attainment"], row["on_track"]) == (count, "ok", None, None), (
            as_of
        )


# --- visits per staff week, agent services -----------------------------------------------------------


def staff_week_staging() -> Staging:
    s = Staging()
    s.visit("W0", "2024-12-29", visitor="S1")  # Sunday: ISO 2024-W52
    for visit_id, day in (("W1", "2024-12-30"), ("W2", "2025-01-01"), ("W3", "2025-01-05")):
        s.visit(visit_id, day, visitor="S1")  # ISO 2025-W01, 3 visits: meets the target of 3
    s.visit("W4", "2024-12-31", visitor="S2", channel="电话")
    s.visit("W5", "2025-01-02", visitor="S2", channel="线上")
    s.visit("W6", "2025-01-03", visitor="S3", role="楼长")
    s.visit(
        "W7",
        "2025-01-04",
        visitor="S4",
        role="首席代办员",
        park=J,
        uscc="A1",
        needs=(need("NA1", "审批"), need("NA2", "政策")),
    )
    s.visit("W8", "2025-01-06", visitor="S4", role="首席代办员", park=J, uscc="A2")
    return s


def test_visits_per_staff_week_across_a_year_boundary(engine: Engine) -> None:
    build(engine, staff_week_staging())
    visits = by_key(fetch(engine, "select visit_id, iso_year, iso_week, week_start from core.fct_visits"), "visit_id")
    assert (visits["W0"]["iso_year"], visits["W0"]["iso_week"]) == (2024, 52)
    assert (visits["W1"]["iso_year"], visits["W1"]["iso_week"], visits["W1"]["week_start"]) == (
        2025,
        1,
        D("2024-12-30"),
    )
    assert (visits["W3"]["iso_year"], visits["W3"]["iso_week"]) == (2025, 1)

    weeks = by_key(fetch(engine, "select * from mart.visits_per_staff_week"), "iso_year", "iso_week", "visitor_role")
    expected = {
        (2024, 52, "片长"): (1, 1, "1", "3", 0),
        (2025, 1, "片长"): (2, 5, "2.5", "3", 1),
        (2025, 1, "楼长"): (1, 1, "1", None, None),
        (2025, 1, "首席代办员"): (1, 1, "1", None, None),
        (2025, 2, "首席代办员"): (1, 1, "1", None, None),
    }
    assert set(weeks) == set(expected)
    for key, (visitors, count, per_visitor, target, meeting) in expected.items():
        row = weeks[key]
        assert (row["visitors"], row["visits"], row["visitors_meeting_target"]) == (visitors, count, meeting), key
        assert (row["visits_per_visitor"], row["target"]) == (num(per_visitor), num(target)), key
    assert (weeks[(2025, 1, "片长")]["week_start"], weeks[(2025, 1, "片长")]["week_end"]) == (
        D("2024-12-30"),
        D("2025-01-05"),
    )

    staff = by_key(fetch(engine, "select * from mart.staff_week_visits"), "iso_year", "iso_week", "visitor_id")
    assert (staff[(2025, 1, "S1")]["visits"], staff[(2025, 1, "S1")]["meets_target"]) == (3, True)
    assert (staff[(2025, 1, "S2")]["visits"], staff[(2025, 1, "S2")]["meets_target"]) == (2, False)
    assert staff[(2025, 1, "S3")]["meets_target"] is None

    visitors = by_key(fetch(engine, "select * from core.dim_visitor"), "visitor_id")
    assert (visitors["S1"]["first_visit_date"], visitors["S1"]["last_visit_date"], visitors["S1"]["visits"]) == (
        D("2024-12-29"),
        D("2025-01-05"),
        4,
    )
    assert (visitors["S4"]["visitor_role"], visitors["S4"]["park_code"]) == ("首席代办员", "jinqiao")

    # KPI: the latest complete ISO week ending on or before D, role 片长.
    assert progress(engine, "2025-01-04")["visits_per_staff_week"]["actual"] == num("1")  # week of 2024-12-23
    sunday = progress(engine, "2025-01-05")["visits_per_staff_week"]
    assert (sunday["actual"], sunday["on_track"], sunday["attainment"]) == (num("2.5"), False, num("0.8333"))
    assert progress(engine, "2025-01-06")["visits_per_staff_week"]["actual"] == num("2.5")


def test_agent_services(engine: Engine) -> None:
    build(engine, staff_week_staging())
    months = fetch(engine, "select * from mart.agent_services")
    assert [
        (m["month"], m["park_code"], m["services"], m["agents"], m["enterprises"], m["needs_reported"]) for m in months
    ] == [(D("2025-01-01"), "jinqiao", 2, 1, 2, 2)]
    # Year to date: zero is a real zero on a date the visits feed covers.
    assert progress(engine, "2024-12-31")["agent_services"]["actual"] == 0
    assert progress(engine, "2025-01-03")["agent_services"]["actual"] == 0
    assert progress(engine, "2025-01-04")["agent_services"]["actual"] == 1
    assert progress(engine, "2025-01-06")["agent_services"]["actual"] == 2
    assert progress(engine, "2025-01-06")["agent_services"]["data_status"] == "ok"


# --- key-enterprise coverage ----------------------------------------------------------------------------


def coverage_staging() -> Staging:
    s = Staging()
    s.registration("U1", "2025-01-02", tags="独角兽")  # key by tag, 张江核心园, never visited
    s.registration("U2", "2025-01-02")  # registered in 张江核心园, visited in 金桥园
    s.registration("U5", "2025-01-02", tags="隐形冠军")  # key by tag until its 注销 on 03-01
    s.registration("U5", "2025-03-01", event_type="注销", tags="隐形冠军")
    s.registration("U6", "2025-01-02", tags="专精特新")  # a tag that does not make a key firm
    s.visit("K0", "2025-01-01", uscc="U4")  # visited, never flagged: not key
    s.visit("K1", "2025-01-10", uscc="U2", park=J, key=True)
    s.visit("K2", "2025-02-01", uscc="U3", key=True)  # U3 is unknown to the registry
    s.visit("K3", "2025-04-10", uscc="U4")
    s.visit("K4", "2025-04-15", uscc="U2", park=J)  # not flagged again: stays key
    return s


def test_key_enterprise_coverage(engine: Engine) -> None:
    build(engine, coverage_staging())
    rows = by_key(fetch(engine, "select * from mart.key_enterprise_coverage"), "quarter_label", "park_code")
    expected = {
        # (key, flagged, tagged, visited, coverage %)
        ("2025Q1", "all"): (3, 2, 1, 2, "66.6667"),  # U1 (tag), U2 (flag), U3 (flag); U5 ended 03-01
        ("2025Q1", "zhangjiang_core"): (2, 1, 1, 1, "50"),  # U1 (dimension park), U3 (visit park)
        ("2025Q1", "jinqiao"): (1, 1, 0, 1, "100"),  # U2: its latest visit's park
        ("2025Q2", "all"): (3, 2, 1, 1, "33.3333"),
        ("2025Q2", "zhangjiang_core"): (2, 1, 1, 0, "0"),
        ("2025Q2", "jinqiao"): (1, 1, 0, 1, "100"),
    }
    assert set(rows) == set(expected)
    for key, (key_count, flagged, tagged, visited, coverage) in expected.items():
        row = rows[key]
        assert (
            row["key_enterprises"],
            row["flagged_key_enterprises"],
            row["tagged_key_enterprises"],
            row["visited_key_enterprises"],
        ) == (key_count, flagged, tagged, visited), key
        assert row["coverage_pct"] == num(coverage), key
    assert (rows[("2025Q1", "all")]["quarter_start"], rows[("2025Q1", "all")]["quarter_end"]) == (
        D("2025-01-01"),
        D("2025-03-31"),
    )

    # KPI, quarter to date: key firms known by D, visits from the quarter's first day to D.
    for as_of, coverage in [
        ("2025-01-01", None),  # no key firm yet: no figure, not zero
        ("2025-01-09", "0"),  # U1, U5 tagged, neither visited
        ("2025-01-10", "33.3333"),  # + U2 flagged and visited
        ("2025-02-01", "50"),  # + U3: U2, U3 visited of 4
        ("2025-03-01", "66.6667"),  # U5 ended
        ("2025-04-01", "0"),  # a new quarter: nothing visited yet
        ("2025-04-15", "33.3333"),
    ]:
        row = progress(engine, as_of)["key_coverage_quarter"]
        assert row["actual"] == num(coverage), as_of
        assert row["data_status"] == ("no data" if coverage is None else "ok"), as_of
    assert progress(engine, "2025-04-15")["key_coverage_quarter"]["on_track"] is False

    unknown = fetch(engine, "select * from ops.unknown_enterprise_references order by uscc")
    assert [(u["feed"], u["uscc"], u["first_seen_date"], u["last_seen_date"], u["row_count"]) for u in unknown] == [
        ("visits", "U3", D("2025-02-01"), D("2025-02-01"), 1),
        ("visits", "U4", D("2025-01-01"), D("2025-04-10"), 2),
    ]
    assert unknown[0]["sample_source_file"] == "visits/2025-02-02/K2.jsonl"
    known = by_key(fetch(engine, "select visit_id, enterprise_known from core.fct_visits"), "visit_id")
    assert known["K1"]["enterprise_known"] is True and known["K2"]["enterprise_known"] is False


# --- the progress table and the build API --------------------------------------------------------------


def test_visits_only_warehouse_gets_every_kpi_row(engine: Engine) -> None:
    build(engine, staff_week_staging())
    dates = fetch(engine, "select distinct as_of_date from mart.kpi_target_progress order by as_of_date")
    # Daily feed: from the day before the first delivery (2024-12-30) to the day before the latest (2025-01-07).
    assert (dates[0]["as_of_date"], dates[-1]["as_of_date"], len(dates)) == (D("2024-12-29"), D("2025-01-06"), 9)
    codes = {row["kpi_code"] for row in fetch(engine, "select kpi_code from core.dim_kpi_target")}
    latest = progress(engine, "2025-01-06")
    assert set(latest) == codes
    with_data = {code for code, row in latest.items() if row["data_status"] == "ok"}
    assert with_data == {"visits_per_staff_week", "needs_resolution", "recurring_needs", "agent_services"}
    for code, row in latest.items():
        if code not in with_data:
            assert row["data_status"] == "no data" and row["actual"] is None, code
            assert row["on_track"] is None and row["attainment"] is None, code
    # No key firm at all: coverage has no figure.
    assert latest["key_coverage_quarter"]["data_status"] == "no data"


def test_an_empty_first_delivery_keeps_its_zero(engine: Engine) -> None:
    s = Staging()
    # 元旦: both daily exports ran and wrote a file without rows (deliveries of 2025-01-02).
    s.empty_file("visits", "2025-01-02")
    s.empty_file("registrations", "2025-01-02", file="registrations/2025-01-02/reg_20250101.csv")
    s.visit("A1", "2025-01-02", role="首席代办员", needs=(need("N1", raised="2025-01-02"),))
    s.registration("R1", "2025-01-02")
    build(engine, s)
    dates = [row["as_of_date"] for row in fetch(engine, "select distinct as_of_date from mart.kpi_target_progress")]
    assert sorted(dates) == [D("2025-01-01"), D("2025-01-02")]  # from the day before the first delivery
    new_year = progress(engine, "2025-01-01")
    # Zero is a real zero on a day a delivery covers, even an empty one.
    for code in ("agent_services", "recurring_needs", "new_tech_per_day", "unicorn_champions"):
        assert (new_year[code]["data_status"], new_year[code]["actual"]) == ("ok", 0), code
    # No need raised yet, no 片长 week: no figure (the definitions yield nothing), not zero.
    assert new_year["needs_resolution"]["data_status"] == "no data"
    assert progress(engine, "2025-01-02")["agent_services"]["actual"] == 1
    # The daily grid of new enterprises holds the empty day too.
    grid = fetch(engine, "select distinct date from mart.daily_new_tech_enterprises order by date")
    assert [row["date"] for row in grid] == [D("2025-01-01"), D("2025-01-02")]


def test_deliveries_without_any_row_still_have_their_days(engine: Engine) -> None:
    s = Staging()
    s.empty_file("registrations", "2025-01-02", file="registrations/2025-01-02/reg_20250101.csv")
    s.empty_file("registrations", "2025-01-03", file="registrations/2025-01-03/reg_20250102.csv")
    build(engine, s)
    grid = fetch(
        engine,
        "select date, sum(new_tech_enterprises) as new_tech from mart.daily_new_tech_enterprises "
        "group by date order by date",
    )
    assert [(row["date"], row["new_tech"]) for row in grid] == [(D("2025-01-01"), 0), (D("2025-01-02"), 0)]
    assert progress(engine, "2025-01-02")["new_tech_per_day"]["actual"] == 0


def test_registration_kpis_keep_their_dates_when_visits_run_later(engine: Engine) -> None:
    s = Staging()
    s.registration("R1", "2025-01-02", tags="独角兽", employees=50)
    s.registration("R2", "2025-01-03", employees=20)
    s.visit("X1", "2025-01-05", delivery="2025-01-09")
    build(engine, s)
    # Registrations cover 2025-01-02..2025-01-03 (deliveries 01-03 and 01-04), visits 01-08 only.
    dates = [row["as_of_date"] for row in fetch(engine, "select distinct as_of_date from mart.kpi_target_progress")]
    assert sorted(dates) == [D(f"2025-01-{day:02d}") for day in range(2, 9)]
    first, second, later = (
        progress(engine, "2025-01-02"),
        progress(engine, "2025-01-03"),
        progress(engine, "2025-01-08"),
    )
    assert first["unicorn_champions"]["actual"] == 1 and first["leading_industry_talent"]["actual"] == 50
    assert second["leading_industry_talent"]["actual"] == 70
    assert second["new_tech_per_day"]["actual"] == num("0.6667")  # two new tech firms over 3 days of 2025
    for code in ("new_tech_per_day", "unicorn_champions", "leading_industry_talent"):
        assert later[code]["data_status"] == "no data" and later[code]["actual"] is None, code
        assert first[code]["data_status"] == "ok", code
    assert later["visits_per_staff_week"]["data_status"] == "ok"
    assert first["visits_per_staff_week"]["data_status"] == "no data"


def test_build_plan_and_dependents() -> None:
    assert transform.family_closure(["manual_statistics"]) == ["manual_statistics"]
    assert transform.family_closure(["registrations"]) == ["registrations", "visits", "incubator_reports"]
    plan = transform.build_plan(["visits"])
    visits_core = transform.FAMILIES["visits"][0]
    assert plan[: len(visits_core)] == [("core", table) for table in visits_core]
    assert plan[-2:] == [("mart", "kpi_target_progress"), ("mart", "park_evaluation")]
    assert ("ops", "unknown_enterprise_references") in plan
    full = transform.build_plan(transform.FAMILIES)
    assert len(full) == len(set(full))
    assert [table for layer, table in full if table == "kpi_target_progress"] == ["kpi_target_progress"]
    with pytest.raises(KeyError):
        transform.build_plan(["nope"])


def test_build_families_is_one_transaction(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    build(engine, staff_week_staging())
    before = fetch(engine, "select count(*) as n from mart.visits_per_staff_week")[0]["n"]
    assert before == 5
    extra = Staging()
    extra.visit("W9", "2025-01-07", visitor="S9")
    extra.load(engine)

    real = transform.warehouse.rebuild_table
    levels: list[str] = []

    def failing(connection, schema, table, params=None):
        levels.append(
            connection.exec_driver_sql("show transaction_isolation").scalar_one()
            if connection.dialect.name == "postgresql"
            else "n/a"
        )
        if table == "park_evaluation":
            raise RuntimeError("boom")
        return real(connection, schema, table, params)

    monkeypatch.setattr(transform.warehouse, "rebuild_table", failing)
    with pytest.raises(RuntimeError, match="boom"):
        transform.build_families(engine, ["visits"])
    # Everything before the failure was rolled back with it.
    assert fetch(engine, "select count(*) as n from core.fct_visits")[0]["n"] == 9
    assert fetch(engine, "select count(*) as n from mart.visits_per_staff_week")[0]["n"] == 5
    if engine.dialect.name == "postgresql":
        assert set(levels) == {"repeatable read"}

    monkeypatch.setattr(transform.warehouse, "rebuild_table", real)
    counts = transform.build_families(engine, ["visits"])
    assert counts["core.fct_visits"] == 10
    assert counts["mart.visits_per_staff_week"] == 6
    assert "core.fct_registration_events" not in counts and "mart.park_evaluation" in counts
