"""The plain-text alternative of a report e-mail: for clients that show no HTML, and for previews
in notification lists. The same figures as the HTML, formatted by :mod:`parkops.report.formatting`."""

from __future__ import annotations

from parkops.feeds import MONTHLY_FEEDS
from parkops.report import formatting, naming
from parkops.report.content import ReportContent
from parkops.report.html import incubator_basis

ON_TRACK_TEXT = {True: "进度达标", False: "进度落后", None: "无目标判断"}


def render_text(content: ReportContent) -> str:
    period = content.period
    lines = [
        naming.report_title(content),
        f"{period.span_label}，生成于 {formatting.datetime_long(content.generated_at)}",
    ]
    readiness = content.readiness
    if readiness and readiness.banner_headline:
        lines += ["", f"【注意】{readiness.banner_headline}", *(f"- {reason}" for reason in readiness.banner_reasons)]
    if readiness and not readiness.has_data:
        return "\n".join([*lines, "", *_quality_lines(content, "数据质量")]) + "\n"
    lines += ["", "一、目标进度（截至" + formatting.date_long(period.end) + "）"]
    for card in content.kpis:
        if card.data_status != "ok":
            lines.append(f"- {card.kpi_name}：暂无数据")
            continue
        target = formatting.target_text(card.direction, card.target, card.target_upper, card.unit)
        change = formatting.change(card.change, card.unit).text
        attainment = formatting.percent_from_ratio(card.attainment) if card.attainment is not None else "—"
        lines.append(
            f"- {card.kpi_name}：{formatting.kpi_value(card.actual, card.unit)}（目标 {target}，达成率 {attainment}，"
            f"较上期 {change}，{ON_TRACK_TEXT[card.on_track]}）"
        )
    daily = content.daily
    lines += [
        "",
        "二、新增科技企业",
        f"本期新增 {formatting.count(daily.period_new_tech)} 家，日均 {formatting.decimal(daily.period_per_day)} 家"
        f"（目标 {formatting.decimal(daily.target_per_day, trim=True)} 家/日）；"
        f"年初至今日均 {formatting.decimal(daily.year_to_date_per_day)} 家。",
        "",
        f"三、园区考核（{content.parks.year}年，截至{formatting.date_short(content.parks.as_of)}）",
    ]
    for row in content.parks.rows:
        score = formatting.decimal(row.score)
        lines.append(f"{row.rank or '—'}. {row.park_name} {score} {row.status or '未评分'}")
    needs = content.needs
    lines += [
        "",
        "四、企业诉求",
        f"本期提出 {needs.raised} 件，办结 {needs.resolved} 件，办结天数中位数 "
        f"{formatting.days(needs.median_days_to_resolve)}，当前未办结 {needs.open_now} 件。",
    ]
    for episode in content.recurring:
        lines.append(
            f"共性诉求：{episode.category}，{formatting.date_span(episode.episode_start, episode.last_hot_day)}，"
            f"{episode.enterprises} 家企业，{'、'.join(episode.park_names)}"
        )
    if not content.recurring:
        lines.append("本期无共性诉求。")
    incubators = content.incubators
    lines += [
        "",
        "五、孵化器",
        incubator_basis(incubators),
        f"高质量孵化器 {incubators.high_quality} 家"
        f"（目标 {formatting.decimal(incubators.high_quality_target, trim=True)} 家）。",
        "",
        *_quality_lines(content),
        "",
        "明细见附件 Excel；图表见本邮件的 HTML 版本。",
    ]
    return "\n".join(lines) + "\n"


def _quality_lines(content: ReportContent, heading: str = "六、数据质量") -> list[str]:
    lines = [heading]
    for feed in content.quality:
        # A monthly feed's data_through is the first day of the last month it covers.
        through = (formatting.month_label if feed.feed in MONTHLY_FEEDS else formatting.date_long)(feed.data_through)
        stale = "" if feed.fresh or not feed.required else "（数据未就绪）"
        lines.append(
            f"- {feed.feed_name}：数据截至 {through}，拒收文件 {feed.files_rejected} 个，"
            f"隔离 {formatting.count(feed.rows_quarantined)} 行{stale}"
        )
    return lines
