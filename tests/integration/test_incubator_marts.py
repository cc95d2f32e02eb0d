"""Incubator reports, manual statistics and the park evaluation, on DuckDB and PostgreSQL.

Fresh warehouse per test (DDL and seeds), hand-made staging rows, ``transform.build_all``;
expected figures worked out by hand from docs/measures.md.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from support.staging_rows import YEAR_2024, D, Staging, by_key, fetch, num, progress

from parkops import cli
from parkops.pipeline import reference, transform
from parkops.warehouse import create_warehouse_engine
from parkops_tools import docs

Z, J, L, SHIBO = "张江核心园", "金桥园", "临港园", "世博园"


@pytest.fixture
def engine(reference_warehouse_url: str) -> Iterator[Engine]:
    engine = create_warehouse_engine(reference_warehouse_url)
    reference.load_reference_data(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def build(engine: Engine, staging: Staging) -> None:
    staging.load(engine)
    transform.build_all(engine)


# --- incubators -----------------------------------------------------------------------------------


def incubator_staging() -> Staging:
    s = Staging()
    s.registration("T1", "2025-01-05")  # a tenant the registry knows
    # INC1, January: first version (not high quality, tenant list) replaced by a late resubmission.
    s.incubator_report("INC1", "2025-01", high_quality=False, incubatees=10, funded=2, tenants=("T1",))
    s.incubator_report(
        "INC1",
        "2025-01",
        delivery_month="2025-03",
        file="incubator_reports/2025-03/INC1_202501_v2.xlsx",
        high_quality=True,
        incubatees=20,
        funded=5,
        area="1000",
        revenue="2500",
    )
    # INC1, February: no incubatee, no floor area: ratios are null, not zero.
    s.incubator_report("INC1", "2025-02", incubatees=0, funded=0, area="0", revenue="100")
    # INC2 reports January only (high quality) with a tenant list naming T1 twice and an unknown T2.
    s.incubator_report("INC2", "2025-01", park=J, high_quality=True, tenants=("T1", "T2", "T1"))
    # INC3, February: an empty tenant sheet.
    s.incubator_report("INC3", "2025-02", park=J, high_quality=False, tenants=())
    return s


def test_incubator_reports_current_versions(engine: Engine) -> None:
    build(engine, incubator_staging())
    reports = by_key(fetch(engine, "select * from core.fct_incubator_reports"), "incubator_id", "report_month")
    assert len(reports) == 4
    jan = reports[("INC1", D("2025-01-01"))]
    assert (jan["is_high_quality"], jan["incubatees"], jan["version_count"], jan["is_late"]) == (True, 20, 2, True)
    assert (jan["delivery_date"], jan["has_tenant_list"], jan["park_code"]) == (
        D("2025-03-01"),
        False,
        "zhangjiang_core",
    )
    assert jan["source_file"] == "incubator_reports/2025-03/INC1_202501_v2.xlsx"
    assert (reports[("INC1", D("2025-02-01"))]["is_late"], reports[("INC1", D("2025-02-01"))]["version_count"]) == (
        False,
        1,
    )
    assert reports[("INC2", D("2025-01-01"))]["is_late"] is False

    monthly = by_key(fetch(engine, "select * from mart.incubator_monthly"), "incubator_id", "report_month")
    inc1_jan, inc1_feb = monthly[("INC1", D("2025-01-01"))], monthly[("INC1", D("2025-02-01"))]
    assert (inc1_jan["funded_share"], inc1_jan["revenue_per_m2_10k"]) == (num("25"), num("2.5"))
    assert (inc1_jan["has_tenant_list"], inc1_jan["tenants_listed"], inc1_jan["tenants_known"]) == (False, None, None)
    assert (inc1_feb["funded_share"], inc1_feb["revenue_per_m2_10k"]) == (None, None)
    inc2 = monthly[("INC2", D("2025-01-01"))]
    assert (inc2["tenants_listed"], inc2["tenants_known"], inc2["funded_share"]) == (2, 1, num("10"))
    inc3 = monthly[("INC3", D("2025-02-01"))]
    assert (inc3["has_tenant_list"], inc3["tenants_listed"], inc3["tenants_known"]) == (True, 0, 0)

    tenants = fetch(engine, "select incubator_id, uscc, enterprise_known from core.fct_incubator_tenants order by uscc")
    assert [(t["incubator_id"], t["uscc"], t["enterprise_known"]) for t in tenants] == [
        ("INC2", "T1", True),
        ("INC2", "T2", False),
    ]  # the replaced version's list (INC1: T1) is gone with it
    unknown = fetch(engine, "select * from ops.unknown_enterprise_references")
    assert [(u["feed"], u["uscc"], u["first_seen_date"], u["row_count"]) for u in unknown] == [
        ("incubator_reports", "T2", D("2025-01-01"), 1)
    ]

    incubators = by_key(fetch(engine, "select * from core.dim_incubator"), "incubator_id")
    assert (
        incubators["INC1"]["first_report_month"],
        incubators["INC1"]["last_report_month"],
        incubators["INC1"]["months_reported"],
        incubators["INC1"]["is_high_quality"],
    ) == (D("2025-01-01"), D("2025-02-01"), 2, False)


def test_high_quality_incubators_as_of_month(engine: Engine) -> None:
    build(engine, incubator_staging())
    rows = by_key(fetch(engine, "select * from mart.high_quality_incubators"), "month", "park_code")
    expected = {
        # (incubators, high quality, reporting that month)
        (D("2025-01-01"), "all"): (2, 2, 2),
        (D("2025-01-01"), "zhangjiang_core"): (1, 1, 1),
        (D("2025-01-01"), "jinqiao"): (1, 1, 1),
        # INC2 did not report February: its January report (high quality) still counts.
        (D("2025-02-01"), "all"): (3, 1, 2),
        (D("2025-02-01"), "zhangjiang_core"): (1, 0, 1),
        (D("2025-02-01"), "jinqiao"): (2, 1, 1),
    }
    assert {
        key: (r["incubators"], r["high_quality_incubators"], r["reporting_incubators"]) for key, r in rows.items()
    } == expected

    # KPI: as of the month before D's month; the incubator feed covers February and March
    # (delivery months), so January's as-of dates (registration feed only) have no figure.
    assert progress(engine, "2025-01-05")["hq_incubators"]["data_status"] == "no data"
    february = progress(engine, "2025-02-01")["hq_incubators"]
    assert (february["actual"], february["on_track"], february["attainment"]) == (2, False, num("0.1"))
    assert progress(engine, "2025-03-01")["hq_incubators"]["actual"] == 1
    last = fetch(engine, "select max(as_of_date) as d from mart.kpi_target_progress")[0]["d"]
    assert last == D("2025-03-01")  # an incubator delivery month extends the axis to its first day


# --- manual statistics --------------------------------------------------------------------------------


def manual_staging() -> Staging:
    s = Staging()
    q4_2024 = ("2024Q4", "2024-10-01", "2024-12-31")
    q1_2025 = ("2025Q1", "2025-01-01", "2025-03-31")
    s.manual(
        "leading_industry_share", YEAR_2024, "80", delivery="2025-01-10", file="manual_statistics/2025-01-10/m1.csv"
    )
    s.manual(
        "leading_industry_share",
        q4_2024,
        "79",
        delivery="2025-01-10",
        file="manual_statistics/2025-01-10/m1.csv",
        row=3,
    )
    s.manual(
        "leading_industry_share", YEAR_2024, "82", delivery="2025-01-20", file="manual_statistics/2025-01-20/m2.csv"
    )
    s.manual("leading_industry_share", q1_2025, "83", delivery="2025-04-10")
    t1 = "manual_statistics/2025-02-01/t1.csv"
    s.manual("trillion_parks", YEAR_2024, "12000", park=Z, delivery="2025-02-01", file=t1, row=2)
    s.manual("trillion_parks", YEAR_2024, "9999.99", park=J, delivery="2025-02-01", file=t1, row=3)
    s.manual("trillion_parks", YEAR_2024, "10000", park=L, delivery="2025-02-01", file=t1, row=4)  # exactly 1 万亿
    s.manual(
        "trillion_parks", ("2023", "2023-01-01", "2023-12-31"), "11000", park=Z, delivery="2025-02-01", file=t1, row=5
    )
    s.manual("trillion_parks", YEAR_2024, "10500", park=J, delivery="2025-03-01")  # corrected: now qualifies
    s.manual(
        "trillion_parks", q1_2025, "3000", park=Z, delivery="2025-04-10", file="manual_statistics/2025-04-10/q.csv"
    )
    return s


def test_manual_statistics_latest_delivery_wins(engine: Engine) -> None:
    build(engine, manual_staging())
    rows = by_key(fetch(engine, "select * from core.fct_manual_statistics"), "kpi_code", "period_label", "park_code")
    assert len(rows) == 8
    share = rows[("leading_industry_share", "2024", None)]
    assert (share["value"], share["delivery_count"], share["period_kind"]) == (num("82"), 2, "year")
    assert share["source_file"] == "manual_statistics/2025-01-20/m2.csv"
    assert rows[("leading_industry_share", "2024Q4", None)]["period_kind"] == "quarter"
    jinqiao = rows[("trillion_parks", "2024", "jinqiao")]
    assert (jinqiao["value"], jinqiao["delivery_count"]) == (num("10500"), 2)
    assert rows[("trillion_parks", "2025Q1", "zhangjiang_core")]["period_kind"] == "quarter"

    # Axis: the day before the first delivery to the day before the latest.
    dates = fetch(engine, "select min(as_of_date) as first, max(as_of_date) as last from mart.kpi_target_progress")
    assert (dates[0]["first"], dates[0]["last"]) == (D("2025-01-09"), D("2025-04-09"))

    first = progress(engine, "2025-01-09")
    # 2024 and 2024Q4 both end on 12-31: the shorter period (the latest observation) wins.
    assert (first["leading_industry_share"]["actual"], first["leading_industry_share"]["on_track"]) == (
        num("79"),
        False,
    )
    assert first["leading_industry_share"]["attainment"] == num("0.9294")
    assert progress(engine, "2025-03-30")["leading_industry_share"]["actual"] == num("79")
    assert progress(engine, "2025-03-31")["leading_industry_share"]["actual"] == num("83")
    trillion = first["trillion_parks"]
    # 2024: 张江 12000, 金桥 10500 (corrected), 临港 10000 >= 10000 亿元; the quarter row is not a year.
    assert (trillion["actual"], trillion["on_track"], trillion["data_status"]) == (3, True, "ok")
    assert progress(engine, "2025-04-09")["trillion_parks"]["actual"] == 3
    for code, row in first.items():
        if code not in ("leading_industry_share", "trillion_parks"):
            assert (row["data_status"], row["actual"]) == ("no data", None), code


# --- park evaluation and every KPI ----------------------------------------------------------------------


def evaluation_staging() -> Staging:
    s = Staging()
    # New tech enterprises: 2024 张江 4, 金桥 2, 临港 0 (a non-tech firm); 2025 张江 1, 金桥 1, 临港 2.
    for index, day in enumerate(("2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04"), start=1):
        s.registration(f"ZT{index}", day, park=Z)
    s.registration("JT1", "2024-03-01", park=J)
    s.registration("JT2", "2024-03-02", park=J)
    s.registration("LN1", "2024-03-01", park=L, industry="7010")
    s.registration("ZT5", "2025-01-10", park=Z)
    s.registration("JT3", "2025-01-10", park=J)
    s.registration("LT1", "2025-01-11", park=L)
    s.registration("LT2", "2025-01-12", park=L)
    # Incubators: 张江 high quality at the end of 2024 and in 2025; 金桥 one of two in 2024, none in 2025.
    s.incubator_report("INC_Z", "2024-11", park=Z, high_quality=False)
    s.incubator_report("INC_Z", "2024-12", park=Z, high_quality=True)
    s.incubator_report("INC_Z", "2025-01", park=Z, high_quality=True)
    s.incubator_report("INC_J1", "2024-12", park=J, high_quality=False)
    s.incubator_report("INC_J1", "2025-01", park=J, high_quality=False)
    s.incubator_report("INC_J2", "2024-12", park=J, high_quality=True)
    s.incubator_report("INC_J2", "2025-01", park=J, high_quality=False)
    # Needs and key firms: 张江 2024 one of two resolved, K1 key and visited in 2024Q4 only;
    # 临港 2024 one resolved; 金桥 2025 one open; 世博 2025 one resolved.
    s.visit(
        "E1",
        "2024-11-05",
        park=Z,
        uscc="K1",
        key=True,
        needs=({"need_id": "NZ1", "status": "已办结", "resolved": "2024-11-10", "satisfaction": 5}, {"need_id": "NZ2"}),
    )
    s.visit(
        "E2",
        "2024-12-01",
        park=L,
        uscc="LF1",
        needs=({"need_id": "NL1", "status": "已办结", "resolved": "2024-12-03", "satisfaction": 4},),
    )
    s.visit(
        "E3",
        "2025-01-02",
        park=SHIBO,
        uscc="SB1",
        needs=({"need_id": "NSB1", "status": "已办结", "resolved": "2025-01-03", "satisfaction": 5},),
    )
    s.visit("E4", "2025-02-10", park=J, uscc="JF1", needs=({"need_id": "NJ1"},))
    s.manual("leading_industry_share", YEAR_2024, "86", delivery="2025-01-05")
    s.manual("trillion_parks", YEAR_2024, "10001", park=Z, delivery="2025-01-05", row=3)
    return s


def add_park_with_four_industries(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "insert into core.dim_park (park_code, park_name, district, division_code, leading_industries, "
                "leading_industry_count, publicly_confirmed) values ('test_park', '测试园', '浦东新区', '310115', "
                "'集成电路;生物医药;人工智能;新材料', 4, false)"
            )
        )


def test_park_evaluation(engine: Engine) -> None:
    add_park_with_four_industries(engine)
    build(engine, evaluation_staging())
    rows = by_key(fetch(engine, "select * from mart.park_evaluation where is_latest_of_year"), "year", "park_code")
    assert len(rows) == 2 * 23  # every park (22 seeded + the test park) for 2024 and 2025

    def check(year: int, park: str, components: tuple, scored: int, score: str | None, rank, status) -> None:
        row = rows[(year, park)]
        assert (
            row["new_tech_score"],
            row["incubator_quality_score"],
            row["needs_resolution_score"],
            row["key_coverage_score"],
        ) == tuple(num(value) for value in components), (year, park)
        assert (row["components_scored"], row["score"], row["rank"], row["status"]) == (
            scored,
            num(score),
            rank,
            status,
        ), (
            year,
            park,
        )

    # 2024. 张江: .3*100 + .2*100 + .25*50 + .25*100 = 87.5. 金桥: (.3*50 + .2*50) / .5 = 50.
    # 临港: (.3*0 + .25*100) / .55 = 45.4545. Others: new tech 0 only -> 0.
    check(2024, "zhangjiang_core", ("100", "100", "50", "100"), 4, "87.5", 1, "正常")
    check(2024, "jinqiao", ("50", "50", None, None), 2, "50", 2, "通报")
    check(2024, "lingang", ("0", None, "100", None), 2, "45.4545", 3, "通报")
    check(2024, "shibo", ("0", None, None, None), 1, "0", 4, "通报")
    check(2024, "test_park", ("0", None, None, None), 1, "0", 4, "通报")
    # 2025, as of 2025-02-10 (the daily feeds' last day): January's incubator reports count; 2025Q1
    # to date: K1 not visited, 0 %. 临港: new tech only, 100. 张江: (.3*50 + .2*100 + .25*0) / .75.
    # 世博: (.3*0 + .25*100) / .55. 金桥: (.3*50 + .2*0 + .25*0) / .75 = 20, failing two years running.
    check(2025, "lingang", ("100", None, None, None), 1, "100", 1, "正常")
    check(2025, "zhangjiang_core", ("50", "100", None, "0"), 3, "46.6667", 2, "通报")
    check(2025, "shibo", ("0", None, "100", None), 2, "45.4545", 3, "摘牌")
    check(2025, "jinqiao", ("50", "0", "0", None), 3, "20", 4, "摘牌")
    check(2025, "test_park", ("0", None, None, None), 1, "0", 5, "摘牌")
    assert {(year, row["as_of_date"]) for (year, _), row in rows.items()} == {
        (2024, D("2024-12-31")),
        (2025, D("2025-02-10")),
    }

    z2024 = rows[(2024, "zhangjiang_core")]
    assert (
        z2024["new_tech_enterprises"],
        z2024["incubators"],
        z2024["needs_raised"],
        z2024["key_coverage_quarters"],
    ) == (
        4,
        1,
        2,
        1,
    )
    assert z2024["in_failing_band"] is False and rows[(2024, "jinqiao")]["in_failing_band"] is True
    flagged = {park for (year, park), row in rows.items() if row["too_many_leading_industries"]}
    assert flagged == {"test_park"}
    assert rows[(2025, "test_park")]["leading_industry_count"] == 4


def test_progress_lists_the_latest_evaluation(engine: Engine) -> None:
    """parkops.cli progress: the latest year's evaluation as of its latest day, once per park."""
    build(engine, evaluation_staging())
    with engine.connect() as connection:
        lines = cli.service_measures(connection)
    heading = lines.index("园区考核评估 (2025年, 截至2025-02-10)")
    ranking = lines[heading + 1].splitlines()[2:]  # after the header and the rule
    assert len(ranking) == 22
    assert ranking[0].split()[:4] == ["1", "临港园", "100.0", "正常"]  # scores: one decimal, as in the report
    assert ranking[1].split()[:4] == ["2", "张江核心园", "46.7", "通报"]  # as in test_park_evaluation


def test_park_evaluation_as_of_a_date(engine: Engine) -> None:
    """Each as-of date sees the data dated up to it: months once ended, the quarter to date, needs resolved by then."""
    staging = evaluation_staging()
    # NSB2: raised on 2025-01-20, resolved on 2025-02-05 (the visit of 02-06 says so).
    staging.visit("E5", "2025-01-20", park=SHIBO, uscc="SB2", needs=({"need_id": "NSB2"},))
    staging.visit(
        "E6",
        "2025-02-06",
        park=SHIBO,
        uscc="SB2",
        needs=({"need_id": "NSB2", "raised": "2025-01-20", "status": "已办结", "resolved": "2025-02-05"},),
    )
    build(engine, staging)
    found = fetch(engine, "select * from mart.park_evaluation")
    days = {row["as_of_date"] for row in found}
    # 2024 is judged from its first visit (11-05; registrations from 03-01), 2025 from its first
    # registration event (01-10; visits from 01-02); both daily feeds cover up to 2025-02-10.
    assert min(day for day in days if day.year == 2024) == D("2024-11-05")
    assert max(day for day in days if day.year == 2024) == D("2024-12-31")
    assert (min(day for day in days if day.year == 2025), max(days)) == (D("2025-01-10"), D("2025-02-10"))
    assert len(found) == len(days) * 22 and len(days) == 57 + 32
    rows = by_key(found, "as_of_date", "park_code")

    def check(day: str, park: str, components: tuple, score: str | None, rank, status) -> None:
        row = rows[(D(day), park)]
        assert (
            row["new_tech_score"],
            row["incubator_quality_score"],
            row["needs_resolution_score"],
            row["key_coverage_score"],
            row["score"],
            row["rank"],
            row["status"],
        ) == (*(num(value) for value in components), num(score), rank, status), (day, park)

    # 2024-11-30: no month of incubator reports ended yet but November (INC_Z not high quality);
    # 2024Q4 to date: K1 visited 11-05. 张江 .3*100 + .2*0 + .25*50 + .25*100 (NZ1 resolved 11-10 of
    # NZ1, NZ2); 金桥 50.
    check("2024-11-30", "zhangjiang_core", ("100", "0", "50", "100"), "67.5", 1, "正常")
    check("2024-11-30", "lingang", ("0", None, None, None), "0", 3, "通报")  # NL1 is raised on 12-01
    # 2024-12-31: the year's final evaluation (as in test_park_evaluation).
    check("2024-12-31", "zhangjiang_core", ("100", "100", "50", "100"), "87.5", 1, "正常")
    # 2025-01-10: new tech 张江 1, 金桥 1; no month of 2025 ended; 2025Q1 to date: K1 (张江) not
    # visited, 0 %: 张江 (.3*100 + .25*0) / .55. 金桥 is out of the failing band.
    check("2025-01-10", "zhangjiang_core", ("100", None, None, "0"), "54.5455", 2, "通报")
    check("2025-01-10", "jinqiao", ("100", None, None, None), "100", 1, "正常")
    check("2025-01-10", "shibo", ("0", None, "100", None), "45.4545", 3, "摘牌")
    # 2025-01-31: January's reports count; 临港 2 new tech. 世博: NSB2 raised, not yet resolved.
    check("2025-01-31", "zhangjiang_core", ("50", "100", None, "0"), "46.6667", 2, "通报")
    check("2025-01-31", "jinqiao", ("50", "0", None, None), "30", 3, "摘牌")
    check("2025-01-31", "shibo", ("0", None, "50", None), "22.7273", 4, "摘牌")
    # 2025-02-05: NSB2 resolved that day.
    check("2025-02-05", "shibo", ("0", None, "100", None), "45.4545", 3, "摘牌")
    check("2025-02-04", "shibo", ("0", None, "50", None), "22.7273", 4, "摘牌")
    latest = {park for (day, park), row in rows.items() if row["is_latest_of_year"]}
    assert len(latest) == 22
    assert {day for (day, _), row in rows.items() if row["is_latest_of_year"]} == {D("2024-12-31"), D("2025-02-10")}


def test_park_evaluation_counts_the_current_quarter_to_date(engine: Engine) -> None:
    """As of a day in a quarter, the quarter's coverage to date counts (as the year's final evaluation
    would count it): 金桥's only key firm, visited in the first week of 2025Q1, is 100 % covered as
    of every day after, though the quarter has not ended."""
    staging = evaluation_staging()
    staging.visit("E7", "2025-01-06", park=J, uscc="JK1", key=True)
    build(engine, staging)
    rows = by_key(fetch(engine, "select * from mart.park_evaluation"), "as_of_date", "park_code")
    for day in ("2025-01-10", "2025-02-10"):
        jinqiao, zhangjiang = rows[(D(day), "jinqiao")], rows[(D(day), "zhangjiang_core")]
        assert (jinqiao["key_coverage_quarters"], jinqiao["key_coverage_score"]) == (1, num("100")), day
        assert (zhangjiang["key_coverage_quarters"], zhangjiang["key_coverage_score"]) == (1, num("0")), day
    # 2025-02-10, 金桥: new tech 50, January's reports 0, NJ1 open 0, key 100: 15 + 0 + 0 + 25.
    assert rows[(D("2025-02-10"), "jinqiao")]["score"] == num("40")
    # 2024Q4 to date on 11-30 (K1 visited 11-05), whole on 12-31.
    for day in ("2024-11-30", "2024-12-31"):
        assert rows[(D(day), "zhangjiang_core")]["key_coverage_score"] == num("100"), day
    assert rows[(D("2024-11-30"), "jinqiao")]["key_coverage_score"] is None  # no key firm in 2024


def test_every_kpi_has_a_figure_when_every_feed_covers_the_date(engine: Engine) -> None:
    build(engine, evaluation_staging())
    latest = progress(engine, "2025-01-10")
    codes = {row["kpi_code"] for row in fetch(engine, "select kpi_code from core.dim_kpi_target")}
    assert set(latest) == codes and len(codes) == 11
    expected = {
        "new_tech_per_day": "0.2",  # ZT5 and JT3 on 01-10: 2 in 10 days
        "unicorn_champions": "0",  # a level: zero is real while the registry covers the date
        "leading_industry_talent": "0",
        "leading_industry_share": "86",
        "trillion_parks": "1",
        "hq_incubators": "2",  # as of December 2024: INC_Z, INC_J2
        "visits_per_staff_week": "1",  # week of 2024-12-30: one visit by one 片长
        "key_coverage_quarter": "0",  # K1 key, not visited in 2025 yet
        "needs_resolution": "100",  # NSB1, raised and resolved in January
        "recurring_needs": "0",
        "agent_services": "0",
    }
    assert {code: row["actual"] for code, row in latest.items()} == {code: num(v) for code, v in expected.items()}
    assert {row["data_status"] for row in latest.values()} == {"ok"}
    assert latest["trillion_parks"]["on_track"] is False  # 1, not between 3 and 5
    assert latest["leading_industry_share"]["on_track"] is True
    # Registrations cover up to 2025-01-12; visits up to 02-10; incubator reports to the end of February.
    later = progress(engine, "2025-02-10")
    assert later["unicorn_champions"]["data_status"] == "no data"
    assert later["hq_incubators"]["actual"] == 1  # as of January 2025: INC_Z only
    assert later["leading_industry_share"]["actual"] == num("86")


# --- DDL upgrade ----------------------------------------------------------------------------------------


def test_dim_kpi_target_gains_its_new_columns_on_an_existing_warehouse(warehouse_url: str) -> None:
    engine = create_warehouse_engine(warehouse_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("create schema if not exists core")
            connection.exec_driver_sql(
                "create table core.dim_kpi_target (kpi_code text not null, kpi_name text not null, "
                "category text not null, target_value numeric(20, 4), target_upper numeric(20, 4), unit text, "
                "direction text not null, due_date date, source text not null, definition text)"
            )
        reference.load_reference_data(engine)
        reference.load_reference_data(engine)
        targets = by_key(fetch(engine, "select * from core.dim_kpi_target"), "kpi_code")
        assert targets["recurring_needs"]["window_days"] == 7
        assert targets["trillion_parks"]["qualifying_value"] == num("10000")
        assert targets["new_tech_per_day"]["window_days"] is None
    finally:
        engine.dispose()


def test_example_queries_run_on_a_populated_warehouse(engine: Engine) -> None:
    """docs/queries/*.sql against real rows (tests/unit/test_docs.py runs them on empty tables)."""
    build(engine, evaluation_staging())
    results = {}
    with engine.connect() as connection:
        for query in docs.example_queries():
            text = query.path.read_text(encoding="utf-8")
            if connection.dialect.name == "postgresql":
                text = text.replace("%", "%%")
            results[query.path.stem] = connection.exec_driver_sql(text).fetchall()
    assert len(results["all_kpis_latest"]) == 11
    assert {row[-1] for row in results["all_kpis_latest"]} == {"ok"}
    assert len(results["park_evaluation"]) == 22 and results["park_evaluation"][0][2:4] == (1, "lingang")
    assert len(results["park_evaluation__month_ends"]) == 2 * 22  # 2025-01-31 and the latest day, 2025-02-10
    for name in ("hq_incubators", "needs_resolution", "key_coverage_quarter", "visits_per_staff_week"):
        assert len(results[name]) == 1 and results[name][0][-1] == "ok", name
    assert results["needs_resolution__open_by_park"], "NZ2 and NJ1 are open"
