"""A realistic :class:`ReportContent` built in code, for the report's presentation tests.

The figures look like the zone's real ones (11 KPIs, 22 parks, 8 need categories, four feeds) and
agree with each other where a reader would check them: the period's new tech enterprises are the
sum of the daily points and of the parks' figures, the needs summary is the sum of its categories,
the 高质量孵化器 KPI equals the incubator summary's count. One KPI has no data (its feed, 手工统计,
is stale), one need category has no resolved need (no median), and the last park is unscored.

Change a part with :func:`dataclasses.replace`, e.g.
``replace(content, parks=replace(content.parks, rows=[...]))``.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from parkops.report.content import (
    DailyNewTech,
    DailySeries,
    DetailTable,
    FeedQuality,
    IncubatorSummary,
    KpiCard,
    NeedCategoryRow,
    NeedsSummary,
    ParkRanking,
    ParkRow,
    RecurringEpisode,
    ReportContent,
)
from parkops.report.periods import ReportPeriod

ZONE_NAME = "张江高新区"
DAILY_POINTS = 56
ROLLING_DAYS = 30

PARK_NAMES = [
    "张江核心园",
    "临港园",
    "陆家嘴园",
    "金桥园",
    "漕河泾园",
    "嘉定园",
    "杨浦园",
    "闵行园",
    "松江园",
    "青浦园",
    "奉贤园",
    "宝山园",
    "普陀园",
    "长宁园",
    "徐汇园",
    "静安园",
    "虹口园",
    "黄浦园",
    "金山园",
    "世博园",
    "市北园",
    "崇明园",
]

# (code, name, category, unit, direction, target, target_upper, actual, previous actual)
_KPI_SPECS: list[tuple[str, str, str, str, str, float | None, float | None, float | None, float | None]] = [
    ("new_tech_per_day", "日均新增科技企业", "policy", "家/日", "at_least", 200, None, 122.2, 119.0),
    ("hq_incubators", "高质量孵化器数量", "policy", "家", "at_least", 20, None, 17, 17),
    ("unicorn_champions", "“独角兽”“隐形冠军”企业", "policy", "家", "more_than", 100, None, 23, 22),
    ("leading_industry_talent", "三大先导产业人才规模", "policy", "人", "at_least", 800_000, None, 116_568, 115_902),
    ("leading_industry_share", "三大先导产业规模占全市比重", "policy", "%", "at_least", 85, None, None, 81.3),
    ("trillion_parks", "万亿级产业规模园区", "policy", "个", "between", 3, 5, 3, 3),
    ("visits_per_staff_week", "人均周走访数", "service", "次/人/周", "at_least", 3, None, 3.2, 3.4),
    ("key_coverage_quarter", "重点企业走访覆盖率", "service", "%", "at_least", 100, None, 99.7, 98.1),
    ("needs_resolution", "诉求办结率/办结时长", "service", "%", "none", None, None, 88.8, 87.5),
    ("recurring_needs", "共性诉求", "service", "起", "threshold", 5, None, 2, 1),
    ("agent_services", "首席代办员代办次数", "service", "次", "none", None, None, 455, 430),
]
_ON_TRACK = {
    "new_tech_per_day": False,
    "hq_incubators": False,
    "unicorn_champions": False,
    "leading_industry_talent": False,
    "trillion_parks": True,
    "visits_per_staff_week": True,
    "key_coverage_quarter": True,
}
_PROJECTED = {
    "new_tech_per_day": 125.0,
    "hq_incubators": 18,
    "unicorn_champions": 31,
    "leading_industry_talent": 131_000,
    "trillion_parks": 3,
    "key_coverage_quarter": 100.4,
}
# The targets set for the year end; the coverage target is per quarter.
_YEAR_END_TARGETS = {
    "new_tech_per_day",
    "hq_incubators",
    "unicorn_champions",
    "leading_industry_talent",
    "leading_industry_share",
    "trillion_parks",
}

# (category, raised, resolved, median days, open now), biggest first.
_NEED_CATEGORIES = [
    ("人才", 64, 41, 6.0, 38),
    ("资金", 52, 30, 9.5, 35),
    ("空间", 37, 25, 12.0, 21),
    ("审批", 29, 24, 4.5, 9),
    ("政策", 21, 17, 3.0, 6),
    ("供应链", 14, 8, 7.0, 9),
    ("知识产权", 9, 6, 5.5, 4),
    ("其他", 4, 0, None, 5),
]


def sample_period(kind: Literal["weekly", "monthly"] = "weekly") -> ReportPeriod:
    """2025-W11 (2025年3月第2周, 3月10日—3月16日) or March 2025."""
    if kind == "weekly":
        return ReportPeriod.week(2025, 11)
    if kind == "monthly":
        return ReportPeriod.month(2025, 3)
    raise ValueError(f"kind must be weekly or monthly, not {kind!r}")


def _daily(period: ReportPeriod) -> DailySeries:
    first = period.end - dt.timedelta(days=DAILY_POINTS - 1)
    counts: list[int] = []
    for index in range(DAILY_POINTS):
        day = first + dt.timedelta(days=index)
        if day.isoweekday() >= 6:
            counts.append(38 + (index * 13) % 17)
        else:
            counts.append(128 + (index * 37) % 41)
    points = []
    for index, value in enumerate(counts):
        window = counts[index - ROLLING_DAYS + 1 : index + 1] if index >= ROLLING_DAYS - 1 else None
        points.append(
            DailyNewTech(
                date=first + dt.timedelta(days=index),
                new_tech_enterprises=value,
                rolling_30d_per_day=round(sum(window) / ROLLING_DAYS, 1) if window else None,
            )
        )
    period_new = sum(point.new_tech_enterprises for point in points if period.start <= point.date <= period.end)
    return DailySeries(
        points=points,
        target_per_day=200,
        period_new_tech=period_new,
        period_per_day=period_new / period.days,
        year_to_date_per_day=122.2,
    )


def _kpis(period: ReportPeriod, previous: ReportPeriod) -> list[KpiCard]:
    cards = []
    for code, name, category, unit, direction, target, upper, actual, previous_actual in _KPI_SPECS:
        has_ratio = direction in ("at_least", "more_than", "between") and target and actual is not None
        if code in _YEAR_END_TARGETS:
            due: dt.date | None = dt.date(period.end.year, 12, 31)
        elif code == "key_coverage_quarter":
            quarter_end_month = (period.end.month - 1) // 3 * 3 + 3
            following = dt.date(period.end.year + quarter_end_month // 12, quarter_end_month % 12 + 1, 1)
            due = following - dt.timedelta(days=1)
        else:
            due = None
        cards.append(
            KpiCard(
                kpi_code=code,
                kpi_name=name,
                category=category,  # type: ignore[arg-type]
                unit=unit,
                direction=direction,
                as_of_date=period.end,
                data_status="ok" if actual is not None else "no data",
                actual=actual,
                target=target,
                target_upper=upper,
                attainment=actual / target if has_ratio else None,  # type: ignore[operator]
                on_track=_ON_TRACK.get(code) if actual is not None else None,
                due_date=due,
                projected_at_due_date=_PROJECTED.get(code) if actual is not None else None,
                previous_as_of_date=previous.end,
                previous_actual=previous_actual,
                window_days=7 if code == "recurring_needs" else None,
            )
        )
    return cards


def _parks(period: ReportPeriod, period_new_tech: int) -> ParkRanking:
    weights = [31, 24, 19, 17, 15, 13, 12, 11, 10, 9, 8, 8, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2]
    shares = [period_new_tech * weight // sum(weights) for weight in weights]
    shares[0] += period_new_tech - sum(shares)  # the rounding remainder goes to the biggest park
    rows = []
    for index, (name, new_tech) in enumerate(zip(PARK_NAMES, shares, strict=True)):
        scored = index < len(PARK_NAMES) - 1
        rank = index + 1 if scored else None
        if not scored:
            status = None
        elif rank is not None and rank <= 16:
            status = "正常"
        elif rank is not None and rank <= 20:
            status = "通报"
        else:
            status = "摘牌"
        rows.append(
            ParkRow(
                rank=rank,
                park_code=f"P{index + 1:02d}",
                park_name=name,
                score=round(92.6 - index * 2.35, 1) if scored else None,
                status=status,
                components_scored=(4 if index != 7 else 3) if scored else 0,
                too_many_leading_industries=index == 9,
                new_tech_in_period=new_tech,
                needs_raised_in_period=max(1, 40 - index * 2) if period.kind == "weekly" else max(4, 160 - index * 7),
                needs_resolved_in_period=max(0, 28 - index * 2) if period.kind == "weekly" else max(0, 120 - index * 6),
            )
        )
    return ParkRanking(year=period.end.year, rows=rows, as_of=period.end)


def _needs() -> NeedsSummary:
    rows = [
        NeedCategoryRow(category=category, raised=raised, resolved=resolved, median_days_to_resolve=median, open_now=n)
        for category, raised, resolved, median, n in _NEED_CATEGORIES
    ]
    return NeedsSummary(
        raised=sum(row.raised for row in rows),
        resolved=sum(row.resolved for row in rows),
        median_days_to_resolve=7.0,
        open_now=sum(row.open_now for row in rows),
        raised_resolved_share=0.62,
        by_category=rows,
    )


def _recurring(period: ReportPeriod) -> list[RecurringEpisode]:
    return [
        RecurringEpisode(
            category="人才",
            episode_start=period.end - dt.timedelta(days=12),
            last_hot_day=period.end - dt.timedelta(days=1),
            enterprises=7,
            needs=9,
            park_names=["张江核心园", "临港园", "金桥园"],
            ongoing=True,
        ),
        RecurringEpisode(
            category="空间",
            episode_start=period.end - dt.timedelta(days=20),
            last_hot_day=period.end - dt.timedelta(days=9),
            enterprises=5,
            needs=6,
            park_names=["漕河泾园", "嘉定园"],
            ongoing=False,
        ),
    ]


def _incubators(period: ReportPeriod) -> IncubatorSummary:
    if period.kind == "monthly":
        report_month = period.start
        basis: Literal["complete", "cutoff", "latest"] = "cutoff"
        cutoff: dt.date | None = dt.date(period.end.year + period.end.month // 12, period.end.month % 12 + 1, 10)
    else:
        report_month = (period.start.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        basis = "latest"
        cutoff = None
    return IncubatorSummary(
        report_month=report_month,
        expected=42,
        reported=40,
        missing=["张江药谷孵化器", "临港智造空间"],
        high_quality=17,
        high_quality_target=20,
        incubatees=1286,
        new_incubatees=37,
        graduated=9,
        funding_10k=12_850.5,
        late_reports=3,
        resubmitted=1,
        basis=basis,
        cutoff_date=cutoff,
    )


def _feed(
    feed: str,
    feed_name: str,
    delivered: dt.date,
    loaded_at: dt.datetime,
    data_through: dt.date,
    *,
    required: bool = True,
    fresh: bool = True,
    files: tuple[int, int] = (1, 0),  # loaded, rejected
    rows: tuple[int, int] = (0, 0),  # loaded, quarantined
) -> FeedQuality:
    return FeedQuality(
        feed=feed,
        feed_name=feed_name,
        last_delivery=delivered,
        last_loaded_at=loaded_at,
        data_through=data_through,
        required=required,
        fresh=fresh,
        files_loaded=files[0],
        files_rejected=files[1],
        rows_loaded=rows[0],
        rows_quarantined=rows[1],
    )


FIVE_MINUTES = dt.timedelta(minutes=5)


def _quality(period: ReportPeriod) -> list[FeedQuality]:
    delivery = period.end + dt.timedelta(days=1)
    loaded = dt.datetime.combine(delivery, dt.time(0, 40))  # UTC: 08:40 in Shanghai
    incubator_month = (period.end.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    return [
        _feed("registrations", "企业登记", delivery, loaded, period.end, files=(7, 0), rows=(6012, 18)),
        _feed("visits", "走访记录", delivery, loaded + FIVE_MINUTES, period.end, files=(7, 1), rows=(2310, 0)),
        _feed(
            "incubator_reports",
            "孵化器月报",
            dt.date(2025, 3, 8),
            dt.datetime(2025, 3, 8, 1, 15),
            incubator_month,
            files=(40, 0),
            rows=(40, 0),
        ),
        # Not required and behind: the reason 三大先导产业规模占全市比重 has no data.
        _feed(
            "manual_statistics",
            "手工统计",
            dt.date(2025, 2, 28),
            dt.datetime(2025, 2, 28, 9, 2),
            dt.date(2025, 2, 28),
            required=False,
            fresh=False,
            files=(1, 0),
            rows=(44, 2),
        ),
    ]


def _details(
    kpis: list[KpiCard], daily: DailySeries, parks: ParkRanking, needs: NeedsSummary, period: ReportPeriod
) -> list[DetailTable]:
    on_track_text = {True: "是", False: "否", None: None}
    return [
        DetailTable(
            sheet_name="目标进度",
            title=f"目标进度（截至{period.end.year}年{period.end.month}月{period.end.day}日）",
            headers=["指标", "单位", "截至日期", "实际值", "目标值", "目标上限", "达成率", "进度达标", "期限"],
            number_formats=[None, None, "yyyy-mm-dd", "#,##0.0", "#,##0.0", "#,##0.0", "0.0%", None, "yyyy-mm-dd"],
            rows=[
                (
                    card.kpi_name,
                    card.unit,
                    card.as_of_date,
                    card.actual,
                    card.target,
                    card.target_upper,
                    card.attainment,
                    on_track_text[card.on_track],
                    card.due_date,
                )
                for card in kpis
            ],
        ),
        DetailTable(
            sheet_name="每日新增科技企业",
            title="每日新增科技企业（全区）",
            headers=["日期", "新增科技企业", "近30日日均"],
            number_formats=["yyyy-mm-dd", "#,##0", "0.0"],
            rows=[(point.date, point.new_tech_enterprises, point.rolling_30d_per_day) for point in daily.points],
        ),
        DetailTable(
            sheet_name="园区考核",
            title=f"{parks.year}年度园区考核",
            headers=["排名", "园区", "综合得分", "结果", "本期新增科技企业", "本期提出诉求", "本期办结诉求"],
            number_formats=["0", None, "0.0", None, "#,##0", "#,##0", "#,##0"],
            rows=[
                (
                    row.rank,
                    row.park_name,
                    row.score,
                    row.status,
                    row.new_tech_in_period,
                    row.needs_raised_in_period,
                    row.needs_resolved_in_period,
                )
                for row in parks.rows
            ],
        ),
        DetailTable(
            sheet_name="诉求分类",
            title="企业诉求（按类别）",
            headers=["类别", "提出", "办结", "办结天数中位数", "当前未办结"],
            number_formats=[None, "#,##0", "#,##0", "0.0", "#,##0"],
            rows=[
                (row.category, row.raised, row.resolved, row.median_days_to_resolve, row.open_now)
                for row in needs.by_category
            ],
        ),
    ]


def sample_content(kind: Literal["weekly", "monthly"] = "weekly") -> ReportContent:
    """A complete report of 2025-W11 (weekly) or March 2025 (monthly)."""
    period = sample_period(kind)
    previous = period.previous()
    daily = _daily(period)
    kpis = _kpis(period, previous)
    parks = _parks(period, daily.period_new_tech)
    needs = _needs()
    generated_at = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(8, 30))
    if kind == "monthly":
        generated_at = dt.datetime(2025, 4, 10, 9, 0)  # after the incubator reports' cut-off day
    return ReportContent(
        period=period,
        previous=previous,
        zone_name=ZONE_NAME,
        generated_at=generated_at,
        kpis=kpis,
        daily=daily,
        parks=parks,
        needs=needs,
        recurring=_recurring(period),
        incubators=_incubators(period),
        quality=_quality(period),
        details=_details(kpis, daily, parks, needs, period),
    )
