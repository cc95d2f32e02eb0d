"""Fill a :class:`~parkops.report.content.ReportContent` from the warehouse's marts.

Queries live in ``sql/report/*.sql`` (bind parameters only). Every figure comes from a mart or
``ops`` as it stands; the only computing here is summing and the median of days to resolve over
the needs of the period (the median of the needs themselves, never an average of medians, as in
``mart.needs_resolution``).
"""

from __future__ import annotations

import csv
import datetime as dt
import statistics
from decimal import Decimal

import sqlalchemy as sa

from parkops.config import seeds_dir, sql_dir
from parkops.feeds import FEED_NAMES, FEEDS, MONTHLY_FEEDS, feeds_required_by
from parkops.report import formatting as fmt
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
from parkops.report.readiness import Readiness, incubator_completeness

#: Days of daily bars before the period's end: 8 weeks for a weekly report, about 3 months for a monthly one.
CHART_DAYS = {"weekly": 56, "monthly": 91}
#: An episode is "ongoing" when its last hot day is this close to the period's end.
ONGOING_DAYS = 7


def _query(name: str) -> sa.TextClause:
    return sa.text((sql_dir() / "report" / f"{name}.sql").read_text(encoding="utf-8"))


def _rows(connection: sa.Connection, name: str, **params: object) -> list[sa.Row]:
    return list(connection.execute(_query(name), params))


def _number(value: object) -> float | None:
    return None if value is None else float(value)


def _shown(value: Decimal | None) -> float | None:
    """A number rounded as shown, for a workbook cell (floats: what openpyxl writes as numbers)."""
    return None if value is None else float(value)


def _kpi_order() -> list[str]:
    """KPIs in the order of the reference table seeds/kpi_targets.csv (policy targets first)."""
    with (seeds_dir() / "kpi_targets.csv").open(encoding="utf-8", newline="") as handle:
        return [row["kpi_code"] for row in csv.DictReader(handle)]


def kpi_cards(connection: sa.Connection, period: ReportPeriod) -> list[KpiCard]:
    previous = period.previous()
    order = _kpi_order()
    cards = [
        KpiCard(
            kpi_code=row.kpi_code,
            kpi_name=row.kpi_name,
            category=row.category,
            unit=row.unit or "",
            direction=row.direction,
            as_of_date=period.end,
            data_status=row.data_status,
            actual=_number(row.actual),
            target=_number(row.target),
            target_upper=_number(row.target_upper),
            attainment=_number(row.attainment),
            on_track=row.on_track,
            due_date=row.due_date,
            projected_at_due_date=_number(row.projected_at_due_date),
            previous_as_of_date=previous.end,
            previous_actual=_number(row.previous_actual),
            window_days=None if row.window_days is None else int(row.window_days),
        )
        for row in _rows(connection, "kpi_cards", as_of_date=period.end, previous_as_of_date=previous.end)
    ]
    rank = {code: index for index, code in enumerate(order)}
    return sorted(cards, key=lambda card: (card.category != "policy", rank.get(card.kpi_code, len(rank))))


def daily_series(connection: sa.Connection, period: ReportPeriod, target_per_day: float) -> DailySeries:
    chart_start = period.end - dt.timedelta(days=CHART_DAYS[period.kind] - 1)
    points = [
        DailyNewTech(row.date, int(row.new_tech_enterprises), _number(row.rolling_30d_per_day))
        for row in _rows(
            connection, "daily_new_tech", chart_start=min(chart_start, period.start), period_end=period.end
        )
    ]
    in_period = sum(point.new_tech_enterprises for point in points if period.start <= point.date <= period.end)
    year_to_date = connection.execute(
        sa.text(
            "select new_tech_per_day from mart.new_tech_per_day_windows "
            "where window_code = 'year_to_date' and as_of_date = :as_of_date"
        ),
        {"as_of_date": period.end},
    ).scalar_one_or_none()
    return DailySeries(points, target_per_day, in_period, in_period / period.days, _number(year_to_date))


def park_ranking(connection: sa.Connection, period: ReportPeriod) -> ParkRanking:
    found = _rows(connection, "park_ranking", year=period.end.year, period_start=period.start, period_end=period.end)
    rows = [
        ParkRow(
            rank=row.rank,
            park_code=row.park_code,
            park_name=row.park_name,
            score=_number(row.score),
            status=row.status,
            components_scored=int(row.components_scored),
            too_many_leading_industries=bool(row.too_many_leading_industries),
            new_tech_in_period=int(row.new_tech_in_period),
            needs_raised_in_period=int(row.needs_raised_in_period),
            needs_resolved_in_period=int(row.needs_resolved_in_period),
        )
        for row in found
    ]
    return ParkRanking(period.end.year, rows, as_of=found[0].evaluated_as_of if found else None)


def _median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def needs_summary(connection: sa.Connection, period: ReportPeriod) -> NeedsSummary:
    needs = _rows(connection, "needs", period_end=period.end)

    def in_period(day: dt.date | None) -> bool:
        return day is not None and period.start <= day <= period.end

    def summarise(category: str, subset: list[sa.Row]) -> NeedCategoryRow:
        resolved = [need for need in subset if need.is_resolved and in_period(need.resolved_date)]
        return NeedCategoryRow(
            category=category,
            raised=sum(1 for need in subset if in_period(need.raised_date)),
            resolved=len(resolved),
            median_days_to_resolve=_median([int(need.days_to_resolve) for need in resolved]),
            open_now=sum(1 for need in subset if not need.is_resolved),
        )

    categories = sorted({need.category for need in needs})
    by_category = [
        summarise(category, [need for need in needs if need.category == category]) for category in categories
    ]
    by_category = [row for row in by_category if row.raised or row.resolved or row.open_now]
    by_category.sort(key=lambda row: (-row.raised, -row.open_now, row.category))
    total = summarise("全部", needs)
    raised_in_period = [need for need in needs if in_period(need.raised_date)]
    return NeedsSummary(
        raised=total.raised,
        resolved=total.resolved,
        median_days_to_resolve=total.median_days_to_resolve,
        open_now=total.open_now,
        raised_resolved_share=(
            sum(1 for need in raised_in_period if need.is_resolved) / len(raised_in_period)
            if raised_in_period
            else None
        ),
        by_category=by_category,
    )


def recurring_episodes(connection: sa.Connection, period: ReportPeriod) -> list[RecurringEpisode]:
    park_names = dict(connection.execute(sa.text("select park_code, park_name from core.dim_park")).all())
    return [
        RecurringEpisode(
            category=row.category,
            episode_start=row.episode_start,
            last_hot_day=row.last_hot_day,
            enterprises=int(row.enterprises),
            needs=int(row.needs),
            park_names=[park_names.get(code, code) for code in (row.parks or "").split(";") if code],
            ongoing=(period.end - row.last_hot_day).days < ONGOING_DAYS,
        )
        for row in _rows(connection, "recurring_needs", as_of_date=period.end)
    ]


def incubator_report_month(connection: sa.Connection, period: ReportPeriod) -> dt.date | None:
    """Monthly report: its own month. Weekly: the latest report month delivered by the period's end."""
    if period.kind == "monthly":
        return period.start
    return connection.execute(
        sa.text("select max(report_month) from core.fct_incubator_reports where delivery_date <= :period_end"),
        {"period_end": period.end},
    ).scalar_one()


def incubator_summary(
    connection: sa.Connection, period: ReportPeriod, readiness: Readiness, high_quality_target: float | None
) -> tuple[IncubatorSummary, list[sa.Row]]:
    month = incubator_report_month(connection, period)
    reports = _rows(connection, "incubator_month", report_month=month) if month else []
    completeness = incubator_completeness(connection, month) if month else None
    names: dict[str, str] = {}
    if completeness and completeness.missing:
        names = dict(
            connection.execute(
                sa.text(
                    "select incubator_id, incubator_name from core.fct_incubator_reports where report_month = :month"
                ),
                {"month": (month - dt.timedelta(days=1)).replace(day=1)},
            ).all()
        )
    high_quality = (
        connection.execute(
            sa.text(
                "select high_quality_incubators from mart.high_quality_incubators "
                "where month = :month and park_code = 'all'"
            ),
            {"month": month},
        ).scalar_one_or_none()
        if month
        else None
    )
    summary = IncubatorSummary(
        report_month=month,
        expected=len(completeness.expected) if completeness else 0,
        reported=len(reports),
        missing=[names.get(incubator_id, incubator_id) for incubator_id in completeness.missing]
        if completeness
        else [],
        high_quality=int(high_quality or 0),
        high_quality_target=high_quality_target,
        incubatees=sum(int(row.incubatees) for row in reports),
        new_incubatees=sum(int(row.new_incubatees) for row in reports),
        graduated=sum(int(row.graduated) for row in reports),
        funding_10k=float(sum((Decimal(row.funding_10k or 0) for row in reports), Decimal(0))),
        late_reports=sum(1 for row in reports if row.is_late),
        resubmitted=sum(1 for row in reports if row.version_count > 1),
        basis=readiness.incubator_basis if period.kind == "monthly" else "latest",
        cutoff_date=readiness.cutoff_date,
    )
    return summary, reports


def feed_quality(connection: sa.Connection, period: ReportPeriod, readiness: Readiness) -> list[FeedQuality]:
    """The deliveries carrying the period's data: daily feeds E+1 after each day, incubator reports
    the month after the report month shown (a weekly report: the month of its end)."""
    month_after = (period.end.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    monthly_from = period.start.replace(day=1) if period.kind == "weekly" else month_after
    monthly_to = period.end.replace(day=1) if period.kind == "weekly" else month_after
    rows = {
        row.feed: row
        for row in _rows(
            connection,
            "feed_quality",
            delivery_from=period.start + dt.timedelta(days=1),
            delivery_to=period.end + dt.timedelta(days=1),
            monthly_delivery_from=monthly_from,
            monthly_delivery_to=monthly_to,
        )
    }
    stale_feeds = {feed for feed in FEED_NAMES if any(f"（{feed}）" in problem for problem in readiness.problems)}
    required = set(feeds_required_by(period.kind))
    quality = []
    for feed, feed_name in ((each.name, each.label_cn) for each in FEEDS):
        row = rows.get(feed)
        last_delivery = row.last_delivery if row else None
        if last_delivery is None:
            data_through = None
        elif feed in MONTHLY_FEEDS:
            data_through = (last_delivery - dt.timedelta(days=1)).replace(day=1)
        else:
            data_through = last_delivery - dt.timedelta(days=1)
        quality.append(
            FeedQuality(
                feed=feed,
                feed_name=feed_name,
                last_delivery=last_delivery,
                last_loaded_at=row.last_loaded_at if row else None,
                data_through=data_through,
                required=feed in required,
                # A period before any data is covered by no feed, whatever was delivered since.
                fresh=feed not in stale_feeds and last_delivery is not None and readiness.has_data,
                files_loaded=int(row.files_loaded) if row else 0,
                files_rejected=int(row.files_rejected) if row else 0,
                rows_loaded=int(row.rows_loaded) if row else 0,
                rows_quarantined=int(row.rows_quarantined) if row else 0,
            )
        )
    return quality


def _detail_tables(
    connection: sa.Connection,
    content: ReportContent,
    incubator_rows: list[sa.Row],
) -> list[DetailTable]:
    period = content.period
    percent, count, decimal, day = "0.0%", "#,##0", "#,##0.0", "yyyy-mm-dd"
    evaluated_as_of = content.parks.as_of.isoformat() if content.parks.as_of else "—"
    daily_rows = [
        tuple(row)
        for row in connection.execute(
            sa.text(
                "select date, park_code, park_name, new_tech_enterprises, new_tech_established, new_tech_moved_in, "
                "new_enterprises from mart.daily_new_tech_enterprises "
                "where date between :period_start and :period_end order by date, park_code"
            ),
            {"period_start": period.start, "period_end": period.end},
        )
    ]
    return [
        DetailTable(
            "目标进度",
            f"目标进度（截至{period.end.isoformat()}，上期截至{content.previous.end.isoformat()}）",
            [
                "指标代码",
                "指标",
                "类别",
                "单位",
                "实际值",
                "目标",
                "目标上限",
                "达成率",
                "进度达标",
                "上期实际值",
                "较上期变化",
                "数据状态",
            ],
            [None, None, None, None, decimal, decimal, decimal, percent, None, decimal, decimal, None],
            [
                (
                    card.kpi_code,
                    card.kpi_name,
                    {"policy": "政策目标", "service": "服务指标"}[card.category],
                    card.unit,
                    # The numbers as the cards show them (formatting's rule), so no cell can display
                    # another rounding of the same value.
                    _shown(fmt.kpi_shown(card.actual, card.unit)),
                    card.target,
                    card.target_upper,
                    _shown(fmt.attainment_shown(card.attainment)),
                    {True: "是", False: "否"}.get(card.on_track),
                    _shown(fmt.kpi_shown(card.previous_actual, card.unit)),
                    _shown(fmt.kpi_shown(card.change, card.unit)),
                    "有数据" if card.data_status == "ok" else "暂无数据",
                )
                for card in content.kpis
            ],
            row_number_formats=[
                [
                    *(None,) * 4,
                    fmt.kpi_excel_format(card.unit),
                    fmt.kpi_excel_format(card.unit, card.target, trim=True),
                    fmt.kpi_excel_format(card.unit, card.target_upper, trim=True),
                    percent,
                    None,
                    fmt.kpi_excel_format(card.unit),
                    fmt.kpi_excel_format(card.unit),
                    None,
                ]
                for card in content.kpis
            ],
        ),
        DetailTable(
            "每日新增科技企业",
            f"每日新增科技企业（按园区，{period.span_label}）",
            ["日期", "园区代码", "园区", "新增科技企业", "其中设立", "其中迁入", "新增企业（全部）"],
            [day, None, None, count, count, count, count],
            daily_rows,
        ),
        DetailTable(
            "园区考核",
            f"园区考核评估（{content.parks.year}年，截至{evaluated_as_of}）与本期数据",
            [
                "排名",
                "园区代码",
                "园区",
                "综合得分",
                "结果",
                "评分项数",
                "主导产业超过3个",
                "本期新增科技企业",
                "本期提出诉求",
                "本期办结诉求",
            ],
            [None, None, None, decimal, None, None, None, count, count, count],
            [
                (
                    row.rank,
                    row.park_code,
                    row.park_name,
                    row.score,
                    row.status,
                    row.components_scored,
                    "是" if row.too_many_leading_industries else "否",
                    row.new_tech_in_period,
                    row.needs_raised_in_period,
                    row.needs_resolved_in_period,
                )
                for row in content.parks.rows
            ],
        ),
        DetailTable(
            "企业诉求",
            f"企业诉求（{period.span_label}；当前未办结按已加载数据）",
            ["类别", "本期提出", "本期办结", "办结天数中位数", "当前未办结"],
            [None, count, count, decimal, count],
            [
                (row.category, row.raised, row.resolved, row.median_days_to_resolve, row.open_now)
                for row in [
                    *content.needs.by_category,
                    NeedCategoryRow(
                        "全部",
                        content.needs.raised,
                        content.needs.resolved,
                        content.needs.median_days_to_resolve,
                        content.needs.open_now,
                    ),
                ]
            ],
        ),
        DetailTable(
            "共性诉求",
            f"共性诉求（截至{period.end.isoformat()}近30日内出现的时段；7日内不少于5家企业提出同类诉求）",
            ["类别", "开始日期", "最后触发日", "企业数", "诉求数", "园区"],
            [None, day, day, count, count, None],
            [
                (
                    episode.category,
                    episode.episode_start,
                    episode.last_hot_day,
                    episode.enterprises,
                    episode.needs,
                    "、".join(episode.park_names),
                )
                for episode in content.recurring
            ],
        ),
        DetailTable(
            "孵化器月报",
            f"孵化器月报（报告期 {content.incubators.report_month or '—'}，现行版本）",
            [
                "孵化器编号",
                "孵化器名称",
                "级别",
                "园区",
                "高质量孵化器",
                "在孵企业数",
                "当月新增",
                "当月毕业",
                "累计毕业",
                "当月获投企业",
                "当月获投金额（万元）",
                "在孵企业营收（万元）",
                "迟报",
                "报送版本数",
            ],
            [None, None, None, None, None, count, count, count, count, count, decimal, decimal, None, None],
            [
                (
                    row.incubator_id,
                    row.incubator_name,
                    row.level,
                    row.park_name,
                    "是" if row.is_high_quality else "否",
                    row.incubatees,
                    row.new_incubatees,
                    row.graduated,
                    row.graduated_cumulative,
                    row.funded_incubatees,
                    _number(row.funding_10k),
                    _number(row.incubatee_revenue_10k),
                    "是" if row.is_late else "否",
                    row.version_count,
                )
                for row in incubator_rows
            ],
        ),
        DetailTable(
            "数据质量",
            "数据质量（承载本期数据的交付）",
            [
                "数据源",
                "代码",
                "最近交付",
                "数据截至",
                "最近加载（北京时间）",
                "本期必需",
                "数据新鲜",
                "已加载文件",
                "拒收文件",
                "加载行数",
                "隔离行数",
                "隔离占比",
            ],
            [None, None, day, day, "yyyy-mm-dd hh:mm", None, None, count, count, count, count, percent],
            [
                (
                    feed.feed_name,
                    feed.feed,
                    feed.last_delivery,
                    feed.data_through,
                    feed.last_loaded_beijing,
                    "是" if feed.required else "否",
                    "是" if feed.fresh else "否",
                    feed.files_loaded,
                    feed.files_rejected,
                    feed.rows_loaded,
                    feed.rows_quarantined,
                    feed.quarantine_share,
                )
                for feed in content.quality
            ],
        ),
    ]


def assemble(
    connection: sa.Connection,
    period: ReportPeriod,
    readiness: Readiness,
    *,
    zone_name: str,
    generated_at: dt.datetime,
) -> ReportContent:
    targets = dict(connection.execute(sa.text("select kpi_code, target_value from core.dim_kpi_target")).all())
    incubators, incubator_rows = incubator_summary(connection, period, readiness, _number(targets.get("hq_incubators")))
    content = ReportContent(
        period=period,
        previous=period.previous(),
        zone_name=zone_name,
        generated_at=generated_at,
        kpis=kpi_cards(connection, period),
        daily=daily_series(connection, period, float(targets.get("new_tech_per_day") or 0)),
        parks=park_ranking(connection, period),
        needs=needs_summary(connection, period),
        recurring=recurring_episodes(connection, period),
        incubators=incubators,
        quality=feed_quality(connection, period, readiness),
        readiness=readiness,
    )
    content.details.extend(_detail_tables(connection, content, incubator_rows))
    return content
