"""The reports' figures against the marts and the independent recomputation, on both engines,
and whether a report may go out (readiness) as data arrives, loads and is rebuilt.

Five weeks of generated feeds (2025-02-03 to 2025-03-09 deliveries) are loaded once per engine
with the DAGs' task callables (``five_week_warehouse`` in conftest); the weekly report of
2025-W09 and the monthly report of 2025-02 are assembled from them.
"""

from __future__ import annotations

import datetime as dt
import statistics
from decimal import Decimal
from pathlib import Path

import pytest
from support import independent_feeds as truth
from support.pipeline import FIVE_WEEKS, load_feeds, rows, scalar

from parkops.report.assemble import assemble
from parkops.report.periods import ReportPeriod
from parkops.report.readiness import assess
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
