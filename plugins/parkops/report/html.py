"""The report as e-mail HTML: one column of tables with inlined styles, readable from 375 px up.

Mail clients are old browsers with rules of their own: Outlook on Windows lays out with Word (tables
and the ``width`` attribute, no ``max-width``), Gmail and most Chinese webmail drop ``<style>``
blocks or parts of them, none runs scripts or may fetch remote resources. So the template is tables
with ``role="presentation"``, its readable ``<style>`` block is inlined into ``style`` attributes by
``css_inline``, and only a small ``@media`` block for narrow screens stays as a ``<style>`` (an
improvement where supported, never needed). Charts are referenced by Content-ID only.

Everything shown is formatted here, in :func:`_view`, with :mod:`parkops.report.formatting`; the
template only lays the strings out, and Jinja escapes every one of them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import css_inline
import jinja2

from parkops.feeds import MONTHLY_FEEDS
from parkops.report import formatting as fmt
from parkops.report.content import (
    ChartImage,
    FeedQuality,
    IncubatorSummary,
    KpiCard,
    NeedsSummary,
    ParkRanking,
    RecurringEpisode,
    ReportContent,
)
from parkops.report.naming import report_title

DAILY_CHART_CID = "daily-new-tech@parkops"
KPI_CHART_CID = "kpi-attainment@parkops"

CONTENT_WIDTH_PX = 600  # the 640 px column less its side padding; charts are drawn 600 px wide

# KPIs whose rise is bad news, for the colour of their change: more 共性诉求 episodes means more
# classes of problems many firms share at once.
LOWER_IS_BETTER_KPIS: frozenset[str] = frozenset({"recurring_needs"})

# The code of the 共性诉求 KPI, whose threshold defines an episode in the needs section.
RECURRING_NEEDS_KPI = "recurring_needs"

MISSING_NAMES_SHOWN = 5

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("parkops.report", "templates"),
    autoescape=True,  # every value is text from the warehouse: park and incubator names included
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATE_NAME = "report.html.j2"


# --- view model: every string the template shows ------------------------------------------------


@dataclass(frozen=True)
class KpiView:
    name: str
    has_data: bool
    value: str  # 122.2 / 11.7万 / 99.7%
    unit: str  # shown after the value, already spaced: " 家/日", "人", ""
    target_line: str  # 目标 ≥200 · 达成率 61.1% / 阈值 5 / 仅监测，未设目标值
    change: str
    change_tone: fmt.Tone
    badge: str  # 进度达标 / 进度落后 / 无目标 / 暂无数据
    badge_tone: str  # good / bad / none
    due: str | None  # 至12月31日预计 18 家 / 期限 2025年12月31日


@dataclass(frozen=True)
class KpiGroup:
    title: str
    cards: list[KpiView]


@dataclass(frozen=True)
class ParkView:
    rank: str
    name: str
    note: str | None  # ※ marks
    score: str
    status: str
    status_tone: str  # good / warn / bad / none
    new_tech: str


@dataclass(frozen=True)
class NeedCategoryView:
    category: str
    raised: str
    resolved: str
    median_days: str
    open_now: str


@dataclass(frozen=True)
class EpisodeView:
    category: str
    span: str
    ongoing: bool
    enterprises: str
    needs: str
    parks: str


@dataclass(frozen=True)
class FactView:
    label: str
    value: str
    note: str | None = None


@dataclass(frozen=True)
class StatView:
    label: str
    value: str
    unit: str  # empty when the value is unknown


@dataclass(frozen=True)
class FeedView:
    name: str
    required: bool
    data_through: str
    loaded_day: str  # 3月17日
    loaded_time: str | None  # 08:40
    files_rejected: str
    quarantined: str
    quarantined_share: str | None  # 0.3%, only when rows were quarantined
    status: str
    status_tone: str  # good / bad / warn


def _kpi_view(card: KpiCard, previous_word: str) -> KpiView:
    has_data = card.data_status == "ok" and card.actual is not None
    value = fmt.kpi_number(card.actual, card.unit) if has_data else "暂无数据"
    unit = fmt.kpi_unit_suffix(value, card.unit) if has_data else ""
    if not has_data:
        badge, badge_tone = "暂无数据", "none"
    elif card.on_track is True:
        badge, badge_tone = "进度达标", "good"
    elif card.on_track is False:
        badge, badge_tone = "进度落后", "bad"
    else:
        badge, badge_tone = "无目标", "none"
    shown_change = fmt.change(
        card.change if has_data else None, card.unit, higher_is_better=card.kpi_code not in LOWER_IS_BETTER_KPIS
    )
    due = None
    if card.due_date is not None and card.direction not in ("none", "threshold"):
        same_year = card.due_date.year == card.as_of_date.year
        due_day = fmt.date_short(card.due_date) if same_year else fmt.date_long(card.due_date)
        if has_data and card.projected_at_due_date is not None:
            due = f"按当前进度至{due_day}预计 {fmt.kpi_value(card.projected_at_due_date, card.unit)}"
        else:
            due = f"期限 {due_day}"
    target = fmt.target_text(card.direction, card.target, card.target_upper, card.unit, window_days=card.window_days)
    if card.direction == "none" or card.target is None:
        target_parts = ["仅监测，未设目标值"]
    elif card.direction == "threshold":
        target_parts = [target]
    else:
        target_parts = [f"目标 {target}"]
    if has_data and card.attainment is not None:
        target_parts.append(f"达成率 {fmt.percent_from_ratio(card.attainment)}")
    if not has_data and card.previous_actual is not None:
        target_parts.append(f"{previous_word} {fmt.kpi_value(card.previous_actual, card.unit)}")
    return KpiView(
        name=card.kpi_name,
        has_data=has_data,
        value=value,
        unit=unit,
        target_line=" · ".join(target_parts),
        change=f"较{previous_word} {shown_change.text}",
        change_tone=shown_change.tone,
        badge=badge,
        badge_tone=badge_tone,
        due=due,
    )


def _kpi_summary(kpis: list[KpiCard]) -> str:
    """``11项指标中3项进度达标、4项进度落后，3项无进度目标，1项暂无数据``: every KPI in exactly one group."""
    with_data = [card for card in kpis if card.data_status == "ok" and card.actual is not None]
    on_track = sum(1 for card in with_data if card.on_track is True)
    behind = sum(1 for card in with_data if card.on_track is False)
    untargeted = sum(1 for card in with_data if card.on_track is None)
    no_data = len(kpis) - len(with_data)
    text = f"{len(kpis)}项指标中{on_track}项进度达标"
    if behind:
        text += f"、{behind}项进度落后"
    extras = []
    if untargeted:
        extras.append(f"{untargeted}项无进度目标")
    if no_data:
        extras.append(f"{no_data}项暂无数据")
    if extras:
        text += "，" + "，".join(extras)
    return text + "。"


def _park_views(ranking: ParkRanking) -> list[ParkView]:
    tones = {"正常": "good", "通报": "warn", "摘牌": "bad"}
    views = []
    for row in ranking.rows:
        marks = []
        if row.too_many_leading_industries:
            marks.append("※")
        views.append(
            ParkView(
                rank=str(row.rank) if row.rank is not None else fmt.DASH,
                name=row.park_name,
                note="".join(marks) or None,
                score=fmt.decimal(row.score, 1),
                status=row.status or "未评分",
                status_tone=tones.get(row.status or "", "none"),
                new_tech=fmt.count(row.new_tech_in_period),
            )
        )
    return views


def _need_category_views(needs: NeedsSummary) -> list[NeedCategoryView]:
    return [
        NeedCategoryView(
            category=row.category,
            raised=fmt.count(row.raised),
            resolved=fmt.count(row.resolved),
            median_days=fmt.days(row.median_days_to_resolve),
            open_now=fmt.count(row.open_now),
        )
        for row in needs.by_category
    ]


def _episode_views(episodes: list[RecurringEpisode]) -> list[EpisodeView]:
    return [
        EpisodeView(
            category=episode.category,
            span=fmt.date_span(episode.episode_start, episode.last_hot_day),
            ongoing=episode.ongoing,
            enterprises=f"{fmt.count(episode.enterprises)}家企业",
            needs=f"{fmt.count(episode.needs)}件诉求",
            parks="、".join(episode.park_names) or fmt.DASH,
        )
        for episode in episodes
    ]


def _names(names: list[str]) -> str:
    """``甲、乙、丙`` or, past a handful, ``甲、乙、丙、丁、戊等`` (the count stands before the names)."""
    if len(names) <= MISSING_NAMES_SHOWN:
        return "、".join(names)
    return "、".join(names[:MISSING_NAMES_SHOWN]) + "等"


def incubator_basis(summary: IncubatorSummary) -> str:
    """The sentence saying which reports the figures rest on: of the incubators due (those that
    reported for the month before), how many reported and which did not; reports of incubators not
    due are counted apart, so the two counts always add up to the incubators due."""
    if summary.report_month is None:
        return "暂无孵化器月报。"
    month = f"{summary.report_month.month}月月报"
    newly = f"；另有{summary.newly_reported}家新增报送" if summary.newly_reported else ""
    if summary.expected == 0:
        return f"{fmt.month_label(summary.report_month)}月报已报送{summary.reported}家。"
    if summary.basis == "complete":
        return f"全部{summary.expected}家孵化器已报送{month}{newly}。"
    missing = f"，未报送{len(summary.missing)}家（{_names(summary.missing)}）" if summary.missing else ""
    due = f"上月报送的{summary.expected}家孵化器中已报送{summary.reported_of_expected}家{missing}{newly}"
    if summary.basis == "cutoff":
        cutoff = f"截至{fmt.date_short(summary.cutoff_date)}（截止日）" if summary.cutoff_date else "截止日时"
        return f"{cutoff}，{due}。"
    return f"最新为{fmt.month_label(summary.report_month)}月报：{due}。"


def _incubator_facts(summary: IncubatorSummary) -> list[FactView]:
    if summary.report_month is None:
        return []
    target = summary.high_quality_target
    return [
        FactView(
            "高质量孵化器",
            f"{fmt.count(summary.high_quality)} 家",
            f"目标 {fmt.decimal(target, 1, trim=True)} 家" if target is not None else None,
        ),
        FactView("在孵企业", f"{fmt.count(summary.incubatees)} 家"),
        FactView("当月新增在孵", f"{fmt.count(summary.new_incubatees)} 家"),
        FactView("当月毕业", f"{fmt.count(summary.graduated)} 家"),
        FactView("在孵企业融资", fmt.amount_10k_yuan(summary.funding_10k)),
        FactView("逾期报送 / 更正重报", f"{fmt.count(summary.late_reports)} 家 / {fmt.count(summary.resubmitted)} 家"),
    ]


def _feed_view(feed: FeedQuality, period_end: dt.date) -> FeedView:
    if feed.data_through is None:
        through = fmt.DASH
    elif feed.data_through.year != period_end.year:
        monthly = feed.feed in MONTHLY_FEEDS
        through = fmt.month_label(feed.data_through) if monthly else fmt.date_long(feed.data_through)
    else:
        # Short forms keep the table narrow enough for a phone; the year shows only when it differs.
        through = f"{feed.data_through.month}月" if feed.feed in MONTHLY_FEEDS else fmt.date_short(feed.data_through)
    loaded = feed.last_loaded_beijing
    share = feed.quarantine_share
    if not feed.rows_quarantined or share is None:
        share_text = None
    elif share < 0.001:
        share_text = "<0.1%"  # never "0.0%" for rows that were quarantined
    else:
        share_text = fmt.percent_from_ratio(share)
    if feed.fresh:
        status, tone = "齐全", "good"
    elif feed.required:
        status, tone = "缺失", "bad"
    else:
        status, tone = "滞后", "warn"
    return FeedView(
        name=feed.feed_name,
        required=feed.required,
        data_through=through,
        loaded_day=fmt.date_short(loaded.date()) if loaded else fmt.DASH,
        loaded_time=f"{loaded:%H:%M}" if loaded else None,
        files_rejected=fmt.count(feed.files_rejected),
        quarantined=fmt.count(feed.rows_quarantined),
        quarantined_share=share_text,
        status=status,
        status_tone=tone,
    )


def _view(content: ReportContent, charts: list[ChartImage]) -> dict[str, object]:
    period = content.period
    period_word = "本周" if period.kind == "weekly" else "本月"
    previous_word = "上周" if period.kind == "weekly" else "上月"
    charts_by_cid = {chart.cid: chart for chart in charts}

    policy = [_kpi_view(card, previous_word) for card in content.kpis if card.category == "policy"]
    service = [_kpi_view(card, previous_word) for card in content.kpis if card.category != "policy"]
    groups = [group for group in (KpiGroup("政策目标", policy), KpiGroup("服务指标", service)) if group.cards]

    daily = content.daily
    daily_text = (
        f"{period_word}新增科技企业 {fmt.count(daily.period_new_tech)} 家，"
        f"日均 {fmt.decimal(daily.period_per_day, 1)} 家，目标 {fmt.decimal(daily.target_per_day, 1, trim=True)} 家/日"
    )
    if daily.target_per_day:
        daily_text += f"（达成 {fmt.percent_from_ratio(daily.period_per_day / daily.target_per_day)}）"
    if daily.year_to_date_per_day is not None:
        daily_text += f"；今年以来日均 {fmt.decimal(daily.year_to_date_per_day, 1)} 家"
    daily_text += "。"

    needs = content.needs
    median_known = needs.median_days_to_resolve is not None
    need_stats = [
        StatView("提出", fmt.count(needs.raised), "件"),
        StatView("办结", fmt.count(needs.resolved), "件"),
        StatView("中位办结天数", fmt.decimal(needs.median_days_to_resolve, 1, trim=True), "天" if median_known else ""),
        StatView("当前未办结", fmt.count(needs.open_now), "件"),
    ]
    needs_share = None
    if needs.raised_resolved_share is not None:
        needs_share = f"{period_word}提出的诉求中已办结 {fmt.percent_from_ratio(needs.raised_resolved_share)}。"
    recurring_card = next((card for card in content.kpis if card.kpi_code == RECURRING_NEEDS_KPI), None)
    recurring_rule = None
    if recurring_card is not None and recurring_card.target is not None and recurring_card.window_days:
        recurring_rule = (
            f"同类诉求{recurring_card.window_days}日内涉及{fmt.count(recurring_card.target)}家及以上企业即为共性诉求。"
        )
    # The KPI's own figure (mart.kpi_target_progress, as on its card), never a recount of the list.
    recurring_text = "暂无数据"
    if recurring_card is not None and recurring_card.data_status == "ok" and recurring_card.actual is not None:
        recurring_text = fmt.kpi_value(recurring_card.actual, recurring_card.unit)

    status_counts = {status: 0 for status in ("通报", "摘牌")}
    for row in content.parks.rows:
        if row.status in status_counts:
            status_counts[row.status] += 1

    summary_lines = [
        ("目标进度", _kpi_summary(content.kpis)),
        ("科技企业", daily_text),
        (
            "企业诉求",
            f"{period_word}提出 {fmt.count(needs.raised)} 件、办结 {fmt.count(needs.resolved)} 件，"
            f"当前未办结 {fmt.count(needs.open_now)} 件；近30日共性诉求 {recurring_text}。",
        ),
    ]
    if content.parks.rows:
        summary_lines.append(
            (
                "园区考核",
                f"{content.parks.year}年度考核中通报 {status_counts['通报']} 个、摘牌 {status_counts['摘牌']} 个园区。",
            )
        )

    incubators = content.incubators
    readiness = content.readiness
    return {
        "banner_headline": readiness.banner_headline if readiness else None,
        "banner_reasons": readiness.banner_reasons if readiness else [],
        "has_data": readiness.has_data if readiness else True,
        "title": report_title(content),
        "zone_name": content.zone_name,
        "report_heading": f"园区运行{period.report_name}",
        "period_label": period.label,
        "span_label": period.span_label,
        "generated": fmt.datetime_long(content.generated_at),
        # The inbox preview: the warning first, when there is one.
        "preheader": (readiness and readiness.banner_headline) or _kpi_summary(content.kpis) + daily_text,
        "summary_lines": summary_lines,
        "kpi_groups": groups,
        "period_word": period_word,
        "daily_chart": charts_by_cid.get(DAILY_CHART_CID),
        "daily_text": daily_text,
        "kpi_chart": charts_by_cid.get(KPI_CHART_CID),
        "chart_width": CONTENT_WIDTH_PX,
        "parks_year": content.parks.year,
        "parks_as_of": fmt.date_short(content.parks.as_of),
        "parks": _park_views(content.parks),
        "parks_flagged": any(row.too_many_leading_industries for row in content.parks.rows),
        "need_stats": need_stats,
        "needs_share": needs_share,
        "need_categories": _need_category_views(needs),
        "needs_total": NeedCategoryView(
            "合计",
            fmt.count(needs.raised),
            fmt.count(needs.resolved),
            fmt.days(needs.median_days_to_resolve),
            fmt.count(needs.open_now),
        ),
        "recurring_rule": recurring_rule,
        "episodes": _episode_views(content.recurring),
        "incubator_title": (
            f"孵化器（{fmt.month_label(incubators.report_month)}月报）" if incubators.report_month else "孵化器"
        ),
        "incubator_basis": incubator_basis(incubators),
        "incubator_facts": _incubator_facts(incubators),
        "feeds": [_feed_view(feed, period.end) for feed in content.quality],
        "any_optional_feed": any(not feed.required for feed in content.quality),
    }


def render_html(content: ReportContent, charts: list[ChartImage]) -> str:
    """The report e-mail's HTML body: styles inlined, charts as ``cid:`` images of ``charts``.

    A chart whose Content-ID is not in ``charts`` is left out, with its text kept.
    """
    template = _ENVIRONMENT.get_template(TEMPLATE_NAME)
    html = template.render(**_view(content, charts))
    # keep_style_tags=False drops the inlined <style>; the @media block is marked data-css-inline="keep".
    return css_inline.inline(html, keep_style_tags=False, load_remote_stylesheets=False)
