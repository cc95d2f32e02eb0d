"""The reports' figures against the marts and the independent recomputation, on both engines,
and whether a report may go out (readiness) as data arrives, loads and is rebuilt.

Five weeks of generated feeds (2025-02-03 to 2025-03-09 deliveries) are loaded once per engine
with the DAGs' task callables (``five_week_warehouse`` in conftest); the weekly report of
2025-W09 and the monthly report of 2025-02 are assembled from them.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import statistics
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from support import independent_feeds as truth
from support.pipeline import FIVE_WEEKS, load_feeds, rows, scalar

from parkops.report.assemble import assemble
from parkops.report.delivery import render_report
from parkops.report.periods import ReportPeriod
from parkops.report.readiness import assess
from parkops.report.workbook import build_workbook
from parkops.warehouse import create_warehouse_engine

FIRST, LAST = FIVE_WEEKS
WEEK, MONTH = ReportPeriod.parse("2025-W09"), ReportPeriod.parse("2025-02")
AFTER_ALL_REPORTS = dt.datetime(2025, 3, 20, 9, 0)


@pytest.fixture
def loaded_url(five_week_warehouse: str) -> str:
    return five_week_warehouse


@pytest.fixture
def landing(five_week_landing: Path) -> Path:
    return five_week_landing


def content_of(url: str, period: ReportPeriod, now: dt.datetime = AFTER_ALL_REPORTS):
    with create_warehouse_engine(url, read_only=url.startswith("duckdb")).connect() as connection:
        readiness = assess(connection, period, now=now, cutoff_day=15)
        return readiness, assemble(connection, period, readiness, zone_name="张江高新区", generated_at=now)


def close(left: object, right: object) -> bool:
    if left is None or right is None:
        return left is None and right is None
    return abs(Decimal(str(left)) - Decimal(str(right))) < Decimal("0.0001")


@pytest.mark.parametrize("period", [WEEK, MONTH], ids=lambda period: period.key)
def test_kpi_cards_and_daily_series_equal_the_marts(loaded_url, period):
    readiness, content = content_of(loaded_url, period)
    assert readiness.ready, readiness.as_dict()
    progress = {
        (row["as_of_date"], row["kpi_code"]): row for row in rows(loaded_url, "select * from mart.kpi_target_progress")
    }
    assert len(content.kpis) == scalar(loaded_url, "select count(*) from core.dim_kpi_target") == 11
    assert [card.category for card in content.kpis] == sorted(card.category for card in content.kpis)
    assert content.kpis[0].kpi_code == "new_tech_per_day"
    for card in content.kpis:
        current = progress[(period.end, card.kpi_code)]
        previous = progress.get((period.previous().end, card.kpi_code))
        assert close(card.actual, current["actual"]) and close(card.attainment, current["attainment"]), card
        assert card.on_track == current["on_track"] and card.data_status == current["data_status"]
        assert close(card.previous_actual, previous["actual"] if previous else None), card
    daily = {
        row["date"]: row["total"]
        for row in rows(
            loaded_url,
            "select date, sum(new_tech_enterprises) as total from mart.daily_new_tech_enterprises group by date",
        )
    }
    assert content.daily.period_new_tech == sum(daily[day] for day in daily if period.start <= day <= period.end) > 0
    assert all(point.new_tech_enterprises == daily[point.date] for point in content.daily.points)
    assert content.daily.points[-1].date == period.end and content.daily.target_per_day == 200
    assert sum(row.new_tech_in_period for row in content.parks.rows) == content.daily.period_new_tech
    assert len(content.parks.rows) == 22


@pytest.mark.parametrize("period", [WEEK, MONTH], ids=lambda period: period.key)
def test_needs_equal_the_independent_recount(loaded_url, landing, period):
    _, content = content_of(loaded_url, period)
    needs = [
        record.need
        for record in truth.current_needs(truth.read_visits(landing, FIRST, LAST)).values()
        if record.need.raised_date <= period.end
    ]
    resolved = [need for need in needs if need.status == "已办结" and period.start <= need.resolved_date <= period.end]
    raised = [need for need in needs if period.start <= need.raised_date <= period.end]
    assert content.needs.raised == len(raised) > 0
    assert content.needs.resolved == len(resolved)
    assert content.needs.open_now == sum(1 for need in needs if need.status != "已办结")
    days = [(need.resolved_date - need.raised_date).days for need in resolved]
    assert close(content.needs.median_days_to_resolve, statistics.median(days) if days else None)
    for row in content.needs.by_category:
        assert row.raised == sum(1 for need in raised if need.category == row.category)
    assert sum(row.raised for row in content.needs.by_category) == content.needs.raised


def test_the_planted_recurring_need_shows_in_its_week(loaded_url):
    # The generator's 供应链 burst in the week of 2025-02-10 (from 19 firms within these five weeks).
    _, content = content_of(loaded_url, ReportPeriod.parse("2025-W07"))
    supply = [episode for episode in content.recurring if episode.category == "供应链"]
    assert supply and max(episode.enterprises for episode in supply) >= 10
    mart = {
        (row["category"], row["episode_start"]): row["enterprises"]
        for row in rows(loaded_url, "select * from mart.recurring_needs")
    }
    assert all(mart[(episode.category, episode.episode_start)] == episode.enterprises for episode in content.recurring)
    assert all(episode.park_names for episode in supply)
    _, quiet_week = content_of(loaded_url, ReportPeriod.parse("2025-W06"))
    assert all(episode.last_hot_day >= dt.date(2025, 2, 3) for episode in quiet_week.recurring)


def test_monthly_incubators_equal_the_marts(loaded_url):
    readiness, content = content_of(loaded_url, MONTH)
    summary = content.incubators
    mart = rows(
        loaded_url,
        "select * from mart.high_quality_incubators where month = :month and park_code = 'all'",
        {"month": MONTH.start},
    )[0]
    assert summary.report_month == MONTH.start
    assert summary.reported == mart["reporting_incubators"] > 0
    assert summary.high_quality == mart["high_quality_incubators"]
    assert summary.high_quality_target == 20
    assert summary.incubatees == scalar(
        loaded_url,
        "select sum(incubatees) from mart.incubator_monthly where report_month = :month",
        {"month": MONTH.start},
    )
    assert summary.expected == scalar(
        loaded_url,
        "select count(distinct incubator_id) from core.fct_incubator_reports where report_month = :month",
        {"month": dt.date(2025, 1, 1)},
    )
    assert summary.basis == readiness.incubator_basis
    assert len(summary.missing) == len(set(summary.missing))
    details = {table.sheet_name: table for table in content.details}
    assert len(details["孵化器月报"].rows) == summary.reported


def test_quality_footer_counts_the_deliveries_of_the_period(loaded_url):
    _, content = content_of(loaded_url, WEEK)
    registrations = next(feed for feed in content.quality if feed.feed == "registrations")
    expected = rows(
        loaded_url,
        "select sum(rows_loaded) as loaded, sum(rows_quarantined) as quarantined from ops.file_audit "
        "where feed = 'registrations' and status in ('loaded', 'rejected') and delivery_date between :first and :last",
        {"first": WEEK.start + dt.timedelta(days=1), "last": WEEK.end + dt.timedelta(days=1)},
    )[0]
    assert (registrations.rows_loaded, registrations.rows_quarantined) == (expected["loaded"], expected["quarantined"])
    assert registrations.last_delivery == LAST and registrations.data_through == LAST - dt.timedelta(days=1)
    assert registrations.required and registrations.fresh


def test_monthly_report_waits_for_the_incubators_until_the_cutoff(loaded_url):
    count = "select count(*) from core.fct_incubator_reports where report_month = :month"
    reported = scalar(loaded_url, count, {"month": MONTH.start})
    expected = scalar(loaded_url, count, {"month": dt.date(2025, 1, 1)})
    with create_warehouse_engine(loaded_url, read_only=loaded_url.startswith("duckdb")).connect() as connection:
        before = assess(connection, MONTH, now=dt.datetime(2025, 3, 12, 9, 0), cutoff_day=15)
        on_cutoff = assess(connection, MONTH, now=dt.datetime(2025, 3, 15, 0, 0), cutoff_day=15)
    assert not before.problems
    if reported >= expected:  # every incubator due has reported: no need to wait
        assert before.ready and before.incubator_basis == "complete"
    else:
        assert not before.ready and "尚缺" in before.waiting_for[0] and "2025-03-15" in before.waiting_for[0]
        assert on_cutoff.ready and on_cutoff.incubator_basis == "cutoff"


def test_readiness_follows_deliveries_loads_and_rebuilds(landing, tmp_path):
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    week = ReportPeriod.parse("2025-W07")  # 10-16 February: needs the deliveries of 17 February
    load_feeds(url, landing, dt.date(2025, 2, 10), dt.date(2025, 2, 16), feeds=("registrations", "visits"))

    def readiness():
        with create_warehouse_engine(url, read_only=True).connect() as connection:
            return assess(connection, week, now=dt.datetime(2025, 2, 17, 9, 0))

    missing = readiness()
    assert not missing.ready and len(missing.problems) == 2
    assert "企业登记（registrations）：已加载的交付截至 2025-02-16" in missing.problems[0]
    assert "需要 2025-02-17 的交付" in missing.problems[0]
    load_feeds(
        url, landing, dt.date(2025, 2, 17), dt.date(2025, 2, 17), feeds=("registrations", "visits"), rebuild=False
    )
    stale = readiness()
    assert [problem.split("：")[0] for problem in stale.problems] == ["企业登记（registrations）", "走访记录（visits）"]
    assert all("集市表未包含最新加载的数据" in problem for problem in stale.problems)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PARKOPS_WAREHOUSE_URL", url)
        from parkops.pipeline import tasks

        tasks.rebuild(["visits"])
        assert [problem.split("：")[0] for problem in readiness().problems] == ["企业登记（registrations）"]
        tasks.rebuild(["registrations"])
    assert readiness().ready


def test_a_poke_waits_before_the_deadline_and_fails_with_the_reasons_after_it(landing, tmp_path, monkeypatch):
    from parkops.report.tasks import ReportNotReady, poke_readiness

    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    load_feeds(url, landing, dt.date(2025, 2, 10), dt.date(2025, 2, 16), feeds=("registrations", "visits"))
    monkeypatch.setenv("PARKOPS_WAREHOUSE_URL", url)
    interval_end = dt.datetime(2025, 2, 17, 0, 30, tzinfo=dt.UTC)  # Monday 08:30 in Shanghai: covers 2025-W07
    # Sunday's data is due on Monday: at 09:00 the run waits (the sensor pokes again).
    assert poke_readiness("weekly", None, interval_end, now=dt.datetime(2025, 2, 17, 9)) == (False, None)
    # At 14:00 it gives up with the reasons, which the failure alert carries to the engineers.
    with pytest.raises(ReportNotReady) as raised:
        poke_readiness("weekly", None, interval_end, now=dt.datetime(2025, 2, 17, 14))
    assert "2025-W07（2025年2月第2周）未发送：截至 2025-02-17 14:00" in str(raised.value)
    assert "需要 2025-02-17 的交付" in str(raised.value)
    # The delivery arrives and the marts are rebuilt: the next poke is done, with the period.
    load_feeds(url, landing, dt.date(2025, 2, 17), dt.date(2025, 2, 17), feeds=("registrations", "visits"))
    done, readiness = poke_readiness("weekly", None, interval_end, now=dt.datetime(2025, 2, 17, 15))
    assert done and readiness["period"] == "2025-W07" and readiness["ready"]


# --- what the rendered report says about its own data ----------------------------------------------

COUNT_UNITS = {"家", "人", "个", "次", "家/7日"}  # kpis.md: whole things counted


def test_incubator_counts_add_up_to_the_incubators_due(loaded_url):
    _, content = content_of(loaded_url, MONTH)
    summary = content.incubators
    ids = "select distinct incubator_id from core.fct_incubator_reports where report_month = :month"
    due = {row["incubator_id"] for row in rows(loaded_url, ids, {"month": dt.date(2025, 1, 1)})}
    reported = {row["incubator_id"] for row in rows(loaded_url, ids, {"month": MONTH.start})}
    assert summary.reported_of_expected == len(due & reported)
    assert len(summary.missing) == len(due - reported)
    assert summary.newly_reported == len(reported - due)
    assert summary.reported_of_expected + len(summary.missing) == summary.expected == len(due)


def _visible(html: str) -> str:
    hidden = r"<!--.*?-->|<style[^>]*>.*?</style>|<title>.*?</title>|<div class=\"preheader\"[^>]*>.*?</div>"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(hidden, "", html, flags=re.S)))


def _first_sheet_texts(workbook: bytes) -> list[str]:
    sheet = openpyxl.load_workbook(io.BytesIO(workbook)).worksheets[0]
    return [value for row in sheet.iter_rows(values_only=True) for value in row if isinstance(value, str)]


def test_preview_of_a_week_before_any_data_says_so(loaded_url):
    first_delivery = scalar(
        loaded_url,
        "select min(delivery_date) from ops.file_audit where status in ('loaded', 'superseded') "
        "and feed in ('registrations', 'visits')",
    )
    week = ReportPeriod.covering_before("weekly", first_delivery - dt.timedelta(days=7))
    assert week.end < first_delivery - dt.timedelta(days=1)  # data of day D arrives on D + 1
    readiness, content = content_of(loaded_url, week)
    report = render_report(content)
    text = _visible(report.html)
    first_day = first_delivery - dt.timedelta(days=1)
    headline = f"本期没有数据：数据自{first_day.year}年{first_day.month}月{first_day.day}日起，本期早于此日期。"
    assert headline in text
    assert text.index(headline) < text.index("数据质量")
    assert "日均" not in text.split("口径说明")[0] and "摘要" not in text
    assert _first_sheet_texts(report.workbook)[1] == headline
    assert f"【注意】{headline}" in report.plain_text and "日均" not in report.plain_text
    assert not readiness.ready


def test_preview_of_a_held_week_carries_the_banner(warehouse_url, landing):
    week = ReportPeriod.parse("2025-W09")  # 24 February to 2 March: needs the deliveries up to 3 March
    first, needed = week.start, week.end + dt.timedelta(days=1)
    load_feeds(warehouse_url, landing, first, needed, feeds=("registrations", "visits"), release_held=False)
    held = rows(
        warehouse_url,
        "select feed, delivery_date from ops.quality_gate_batches where status = 'held' "
        "and delivery_date between :first and :needed order by delivery_date",
        {"first": first + dt.timedelta(days=1), "needed": needed},
    )
    assert held, "the sample plants a delivery the gate holds (registrations 2025-03-01)"
    readiness, content = content_of(warehouse_url, week, now=dt.datetime(2025, 3, 3, 9, 0))
    report = render_report(content)
    text = _visible(report.html)
    headline = "数据未就绪：以下输入被扣留、缺失或滞后，本报告的数字不完整，不能作为正式报告发送。"
    assert headline in text and text.index(headline) < text.index("摘要")
    banner = text[text.index(headline) : text.index("摘要")]
    sheet = _first_sheet_texts(report.workbook)
    assert sheet[1] == headline
    for batch in held:
        day = batch["delivery_date"].isoformat()
        assert f"（{batch['feed']}）：{day} 的交付被质量闸门扣留" in banner
        assert any(day in line and "扣留" in line for line in sheet[2:])
    assert f"【注意】{headline}" in report.plain_text
    assert not readiness.ready


def test_workbook_shows_beijing_times_and_whole_counts(loaded_url):
    _, content = content_of(loaded_url, WEEK)
    book = openpyxl.load_workbook(io.BytesIO(build_workbook(content)))
    quality = book["数据质量"]
    headers = [cell.value for cell in quality[2]]
    assert not any("UTC" in (header or "") for header in headers)
    loaded_column = next(index for index, header in enumerate(headers) if header.startswith("最近加载"))
    loaded_utc = {
        row["feed"]: row["loaded_at"]
        for row in rows(
            loaded_url,
            "select feed, max(processed_at) as loaded_at from ops.file_audit where status = 'loaded' group by feed",
        )
    }
    code_column = headers.index("代码")
    for row in quality.iter_rows(min_row=3, values_only=True):
        beijing = loaded_utc[row[code_column]] + dt.timedelta(hours=8)
        assert abs(row[loaded_column] - beijing) < dt.timedelta(seconds=1), row

    progress = book["目标进度"]
    headers = [cell.value for cell in progress[2]]
    unit_column, target_column = headers.index("单位"), headers.index("目标")
    value_columns = [headers.index(name) for name in ("实际值", "目标", "目标上限", "上期实际值", "较上期变化")]
    checked = 0
    for row in progress.iter_rows(min_row=3):
        unit = row[unit_column].value
        for column in value_columns:
            cell = row[column]
            if cell.value is None:
                continue
            whole_target = column == target_column and float(cell.value).is_integer()
            if unit in COUNT_UNITS or whole_target:  # 17 家, ≥200 家/日: never 17.0 or 200.0
                assert "." not in cell.number_format, (unit, headers[column], cell.number_format)
                checked += 1
            else:
                assert cell.number_format.endswith("0.0"), (unit, headers[column], cell.number_format)
    assert checked > 5
