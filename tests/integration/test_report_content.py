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
from support import kpi_surfaces as surfaces
from support.pipeline import FIVE_WEEKS, load_feeds, rows, scalar
from support.staging_rows import Staging

from parkops import cli
from parkops.pipeline import reference, transform
from parkops.report import formatting as fmt
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
        for record in truth.current_needs(truth.read_visits(landing, FIRST, LAST, release_held=True)).values()
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
    # The generator's 供应链 burst, raised from the week of 2025-02-10 on (19 firms within these five
    # weeks), turns hot on 2025-02-17: the report of that week lists it, as the KPI counts it from then.
    _, content = content_of(loaded_url, ReportPeriod.parse("2025-W08"))
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
    # Not yet known at the end of 2025-W07 (its fifth firm raised it on 02-17): not in that report.
    _, week_before = content_of(loaded_url, ReportPeriod.parse("2025-W07"))
    assert "供应链" not in {episode.category for episode in week_before.recurring}


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

COUNT_UNITS = {"家", "人", "个", "次", "起"}  # kpis.md: whole things counted


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


def build_from(staging: Staging, warehouse_url: str) -> None:
    """Reference data, the hand-built staging rows, and a full rebuild of core and marts."""
    engine = create_warehouse_engine(warehouse_url)
    try:
        reference.load_reference_data(engine)
        staging.load(engine)
        transform.build_all(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("period", [WEEK, MONTH], ids=lambda period: period.key)
def test_the_card_summary_and_cli_agree_on_every_kpi_value_of_the_sample(loaded_url, period):
    """For every KPI on the period's last day: the CLI progress table, the report's card, its plain-text
    summary and the workbook's cells show one value and one 达成率, the mart's, formatted once."""
    _, content = content_of(loaded_url, period)
    cli_shown = surfaces.cli_progress(loaded_url, period.end.isoformat())
    cards = surfaces.report_cards(content)
    with_units = surfaces.report_card_units(content)
    text = surfaces.text_summary(content)
    cells = surfaces.workbook_cells(content)
    mart = {
        row["kpi_name"]: row
        for row in rows(loaded_url, "select * from mart.kpi_target_progress where as_of_date = :d", {"d": period.end})
    }
    assert set(cli_shown) == set(cards) == set(text) == set(cells) == set(mart)
    for name, row in mart.items():
        card = cards[name]
        assert cli_shown[name] == card, name
        assert text[name].attainment == card.attainment, name
        if row["data_status"] == "no data":
            assert card.value == text[name].value == "no data" and cells[name].actual is None, name
            continue
        assert text[name].value == with_units[name], name
        # The workbook holds the number the card shows, in the card's precision.
        assert cells[name].actual == fmt.kpi_shown(row["actual"], row["unit"]), name
        assert fmt.kpi_number(cells[name].actual, row["unit"]) == card.value, name
        assert cells[name].attainment == fmt.attainment_shown(row["attainment"]), name
        if row["attainment"] is not None:
            assert cells[name].attainment_format == "0.0%", name
            assert fmt.percent_from_ratio(cells[name].attainment) == card.attainment, name
    # 共性诉求: the summary sentence states the card's figure, and the list is that figure's detail.
    recurring = next(card for card in content.kpis if card.kpi_code == "recurring_needs")
    assert f"近30日共性诉求 {with_units[recurring.kpi_name]}。" in surfaces.summary_sentence(content)
    assert len(content.recurring) == recurring.actual


def test_a_value_on_a_rounding_boundary_reads_the_same_everywhere(warehouse_url):
    """The issue's figures: a share of 95.65 % and a talent attainment of 116,400 / 800,000 = 14.55 %
    read 95.7 % and 14.6 % (half-up, docs/measures.md) in the CLI, the card, the text and the workbook."""
    staging = Staging()
    staging.registration("T1", "2025-03-02", industry="6520", employees=116_400)  # 集成电路设计: leading
    staging.manual("leading_industry_share", ("2025-02", "2025-02-01", "2025-02-28"), "95.65", delivery="2025-03-03")
    build_from(staging, warehouse_url)
    period = ReportPeriod.parse("2025-W09")  # ends 2025-03-02, the day both deliveries cover
    _, content = content_of(warehouse_url, period)
    cli_shown = surfaces.cli_progress(warehouse_url, period.end.isoformat())
    cards, text, cells = (
        surfaces.report_cards(content),
        surfaces.text_summary(content),
        surfaces.workbook_cells(content),
    )
    share, talent = "三大先导产业规模占全市比重", "三大先导产业人才规模"
    assert cli_shown[share].value == cards[share].value == text[share].value == "95.7%"
    assert fmt.kpi_number(cells[share].actual, "%") == "95.7%" and cells[share].actual == Decimal("95.7")
    assert cli_shown[talent].attainment == cards[talent].attainment == text[talent].attainment == "14.6%"
    assert cells[talent].attainment == Decimal("0.146")


def test_recurring_needs_show_one_count_on_card_summary_list_and_cli(warehouse_url):
    """共性诉求: an episode of 2025-02-10..02-16 (5 firms raising 人才 on 02-10) counts on 2025-03-09
    (a hot day in the 30 days ending then): 1 起 on the card, in the summary sentence, in the CLI,
    and the report lists that episode, although its span ended before the week 2025-W10."""
    staging = Staging()
    for number in range(1, 6):
        need = {"need_id": f"N{number}", "category": "人才", "status": "待处理", "raised": "2025-02-10"}
        staging.visit(f"V{number}", "2025-02-10", uscc=f"E{number}", needs=(need,))
    staging.visit("V9", "2025-03-09", uscc="E9")  # the visits feed covers the week's last day
    build_from(staging, warehouse_url)
    period = ReportPeriod.parse("2025-W10")
    _, content = content_of(warehouse_url, period)
    name = "共性诉求"
    assert surfaces.report_card_units(content)[name] == "1 起"
    assert surfaces.cli_progress(warehouse_url, period.end.isoformat())[name].value == "1"
    assert "近30日共性诉求 1 起。" in surfaces.summary_sentence(content)
    assert [(episode.category, episode.last_hot_day) for episode in content.recurring] == [
        ("人才", dt.date(2025, 2, 16))
    ]
    assert rows(
        warehouse_url,
        "select actual, unit from mart.kpi_target_progress where kpi_code = 'recurring_needs' and as_of_date = :d",
        {"d": period.end},
    ) == [{"actual": 1, "unit": "起"}]


def test_the_cli_shows_visits_per_staff_once_rounded(warehouse_url):
    """13 visits by 4 片长 in 2025-W09 = 3.25 per head: 3.3 (half-up) in the KPI table, the card and
    the CLI's table of roles alike (the roles table rounded half-even to 3.2 before)."""
    staging = Staging()
    number = 0
    for visitor, visits in (("P1", 3), ("P2", 3), ("P3", 3), ("P4", 4)):
        for day in range(visits):
            number += 1
            staging.visit(f"W{number}", f"2025-02-{24 + day}", visitor=visitor, uscc=f"E{number}")
    staging.visit("W99", "2025-03-02", visitor="S9", role="楼长")  # the week's last day is covered
    build_from(staging, warehouse_url)
    period = ReportPeriod.parse("2025-W09")
    _, content = content_of(warehouse_url, period)
    assert surfaces.report_cards(content)["人均周走访数"].value == "3.3"
    assert surfaces.cli_progress(warehouse_url, period.end.isoformat())["人均周走访数"].value == "3.3"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PARKOPS_WAREHOUSE_URL", warehouse_url)
        output = cli.progress(period.end.isoformat())
    roles = [line.split() for line in output.splitlines() if line.startswith("片长")]
    assert roles == [["片长", "4", "13", "3.3", "≥3", "4/4"]]  # every one made at least 3 visits


def test_a_week_with_a_file_still_uploading_is_not_ready(warehouse_url, landing, tmp_path, monkeypatch):
    """A delivery of the period whose extra file is still being written: the gate keeps it
    waiting, so the report must wait too (and say which delivery), not go out without it."""
    import shutil

    import yaml

    from parkops.ops.config import DEFAULT_CONFIG
    from parkops.pipeline import settle

    week = ReportPeriod.parse("2025-W09")
    first, needed = week.start, week.end + dt.timedelta(days=1)
    copied = tmp_path / "landing"
    shutil.copytree(landing, copied)
    load_feeds(warehouse_url, copied, first, needed, feeds=("registrations", "visits"))
    readiness, _ = content_of(warehouse_url, week, now=dt.datetime(2025, 3, 3, 9, 0))
    assert readiness.ready, readiness.as_dict()

    folder = copied / "registrations" / needed.isoformat()
    complete = sorted(folder.glob("*.csv"))[0].read_bytes()
    (folder / "late_upload.csv").write_bytes(complete[: complete.index(b"\n", len(complete) // 2) + 1])
    document = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    document["landing"] = {"settle_seconds": 180, "max_wait_seconds": 0}
    config = tmp_path / "operations.yaml"
    config.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("PARKOPS_OPERATIONS_CONFIG", str(config))
    monkeypatch.delenv(settle.SETTLE_SECONDS_ENV, raising=False)
    load_feeds(warehouse_url, copied, needed, needed, feeds=("registrations",))

    readiness, _ = content_of(warehouse_url, week, now=dt.datetime(2025, 3, 3, 9, 0))
    assert not readiness.ready
    assert any(
        f"（registrations）：{needed.isoformat()} 的交付还有 1 个文件未传完" in problem
        for problem in readiness.problems
    ), readiness.problems
