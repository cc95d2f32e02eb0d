"""The report e-mail's HTML (parkops.report.html) and its names (parkops.report.naming)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from html.parser import HTMLParser

import pytest
from support.report_content import sample_content

from parkops.report.content import ChartImage, ReportContent
from parkops.report.html import DAILY_CHART_CID, KPI_CHART_CID, render_html
from parkops.report.naming import attachment_filename, report_title, subject
from parkops.report.readiness import Readiness

# A valid 1x1 PNG: the HTML never looks inside, but a chart should be a chart.
PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4b90000000049454e44ae426082"
)


def chart(cid: str, alt: str = "图表") -> ChartImage:
    return ChartImage(cid=cid, filename=cid.split("@")[0] + ".png", png=PIXEL_PNG, alt=alt, width_px=600, height_px=340)


CHARTS = [chart(DAILY_CHART_CID, "每日新增科技企业"), chart(KPI_CHART_CID, "目标达成率")]


# Elements that start a new line or cell when rendered: the text gets a space there.
BLOCK_TAGS = {"p", "div", "td", "th", "tr", "table", "br"}


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text outside tags (a space at block boundaries)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in BLOCK_TAGS:
            self.text.append(" ")

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def parse(html: str) -> Elements:
    elements = Elements()
    elements.feed(html)
    elements.close()
    return elements


def visible_text(html: str) -> str:
    """The text a reader sees, entities decoded, whitespace collapsed (comments, <style>, <title> and
    the hidden inbox preview text dropped)."""
    hidden = r"<!--.*?-->|<style[^>]*>.*?</style>|<title>.*?</title>|<div class=\"preheader\"[^>]*>.*?</div>"
    return re.sub(r"\s+", " ", "".join(parse(re.sub(hidden, "", html, flags=re.S)).text))


@pytest.fixture(scope="module")
def weekly() -> ReportContent:
    return sample_content("weekly")


@pytest.fixture(scope="module")
def weekly_html(weekly: ReportContent) -> str:
    return render_html(weekly, CHARTS)


def test_document_is_chinese_utf8_and_mobile_ready(weekly_html: str) -> None:
    elements = parse(weekly_html)
    assert weekly_html.startswith("<!DOCTYPE html>")
    assert elements.all("html") == [{"lang": "zh-CN"}]
    metas = elements.all("meta")
    assert {"charset": "utf-8"} in metas
    assert any(meta.get("name") == "viewport" and "width=device-width" in (meta.get("content") or "") for meta in metas)


def test_no_scripts_svg_or_remote_resources(weekly_html: str) -> None:
    lowered = weekly_html.lower()
    for forbidden in ("<script", "<svg", "<link", "<iframe", "<object", "<embed", "@import", "url("):
        assert forbidden not in lowered, forbidden
    elements = parse(weekly_html)
    for tag, attrs in elements.tags:
        for name in ("src", "href", "background", "srcset"):
            value = attrs.get(name)
            assert value is None or not re.match(r"\s*(https?:)?//", value, re.I), f"<{tag} {name}={value!r}>"
        assert not any(name.startswith("on") for name in attrs), f"event handler on <{tag}>"


def test_images_are_the_given_charts_by_content_id(weekly_html: str) -> None:
    images = parse(weekly_html).all("img")
    assert [image["src"] for image in images] == [f"cid:{DAILY_CHART_CID}", f"cid:{KPI_CHART_CID}"]
    for image, given in zip(images, CHARTS, strict=True):
        assert image["alt"] == given.alt
        assert image["width"] == "600"
        style = (image.get("style") or "").replace(" ", "")
        for declaration in ("display:block", "width:100%", "max-width:600px", "height:auto"):
            assert declaration in style, (declaration, style)


def test_missing_charts_are_left_out(weekly: ReportContent) -> None:
    only_daily = parse(render_html(weekly, [CHARTS[0]]))
    assert [image["src"] for image in only_daily.all("img")] == [f"cid:{DAILY_CHART_CID}"]
    html = render_html(weekly, [])
    assert parse(html).all("img") == []
    assert "cid:" not in html
    assert "本周新增科技企业" in visible_text(html)  # the chart's text line stays


def test_other_charts_are_not_shown(weekly: ReportContent) -> None:
    html = render_html(weekly, [*CHARTS, chart("unknown@parkops")])
    assert "unknown@parkops" not in html


def test_styles_are_inlined_and_only_media_rules_stay(weekly_html: str) -> None:
    elements = parse(weekly_html)
    cells = elements.all("td")
    assert cells and all(cell.get("style") for cell in cells), "every table cell carries its style inline"
    assert all(table.get("role") == "presentation" for table in elements.all("table"))
    styles = re.findall(r"<style[^>]*>(.*?)</style>", weekly_html, flags=re.S)
    # Only the @media block for narrow screens and the Outlook-only font rule (inside a conditional comment).
    assert len(styles) == 2
    assert "@media" in styles[0] and "max-width: 480px" in styles[0]
    assert re.search(r"<!--\[if mso\]>\s*<style>", weekly_html)
    body = weekly_html.split("<body", 1)[1]
    assert "font-family" in body and "PingFang SC" in body and "Microsoft YaHei" in body


def test_header_and_summary(weekly_html: str, weekly: ReportContent) -> None:
    text = visible_text(weekly_html)
    assert "张江高新区" in text
    assert "园区运行周报 · 2025年3月第2周" in text
    assert "3月10日—3月16日" in text
    assert "生成时间：2025年3月17日 08:30" in text
    assert "11项指标中3项进度达标、4项进度落后，3项无进度目标，1项暂无数据。" in text
    assert f"<title>{report_title(weekly)}</title>" in weekly_html


def test_every_kpi_appears_in_order_policy_first(weekly_html: str, weekly: ReportContent) -> None:
    text = visible_text(weekly_html)
    positions = []
    for card in weekly.kpis:
        assert card.kpi_name in text, card.kpi_name
        positions.append(text.index(card.kpi_name, text.index("目标进度 政策目标")))
    policy = [position for card, position in zip(weekly.kpis, positions, strict=True) if card.category == "policy"]
    service = [position for card, position in zip(weekly.kpis, positions, strict=True) if card.category != "policy"]
    assert max(policy) < text.index("服务指标") < min(service)


def test_kpi_cards_show_formatted_values_targets_and_changes(weekly_html: str) -> None:
    text = visible_text(weekly_html)
    assert "122.2 家/日 较上周 ▲ 3.2" in text
    assert "目标 ≥200 · 达成率 61.1%" in text
    assert "11.7万人 较上周 ▲ 666" in text  # 116,568 in the 万 scale
    assert "目标 ≥80万 · 达成率 14.6%" in text
    assert "17 家 较上周 持平" in text
    assert "99.7% 较上周 ▲ 1.6个百分点" in text
    assert "3.2 次/人/周 较上周 ▼ 0.2" in text
    assert "目标 3–5 · 达成率 100.0%" in text
    assert "目标 >100 · 达成率 23.0%" in text
    assert "阈值 5" in text
    assert "按当前进度至12月31日预计 13.1万人" in text
    assert "116568" not in text and "116,568" not in text


def test_no_data_kpi_says_so(weekly_html: str) -> None:
    text = visible_text(weekly_html)
    card = text[text.index("三大先导产业规模占全市比重") : text.index("万亿级产业规模园区")]
    assert "暂无数据" in card
    assert "上周 81.3%" in card  # the last known value, as context
    assert "达成率" not in card


def test_badges_and_change_colours(weekly_html: str) -> None:
    badges = re.findall(r'<span class="badge badge-(\w+)"[^>]*>([^<]*)</span>', weekly_html)
    assert sorted(badges) == sorted(
        [("bad", "进度落后")] * 4
        + [("good", "进度达标")] * 3
        + [("none", "无目标")] * 3
        + [("none", "暂无数据")]
        + [("warn", "持续中")]  # the ongoing 共性诉求 episode
    )
    assert re.search(r'class="badge badge-bad" style="[^"]*color: #b42318', weekly_html)
    # A rise is green and a fall red: every current KPI is higher-is-better.
    rise = re.search(r'<span class="card-change tone-good" style="([^"]*)">较上周 ▲ 3.2</span>', weekly_html)
    fall = re.search(r'<span class="card-change tone-bad" style="([^"]*)">较上周 ▼ 0.2</span>', weekly_html)
    assert rise and "color: #1e8449" in rise.group(1)
    assert fall and "color: #c62828" in fall.group(1)


def test_daily_line(weekly_html: str, weekly: ReportContent) -> None:
    daily = weekly.daily
    text = visible_text(weekly_html)
    expected = (
        f"本周新增科技企业 {daily.period_new_tech} 家，日均 {daily.period_per_day:.1f} 家，目标 200 家/日"
        f"（达成 {daily.period_per_day / 2:.1f}%）；今年以来日均 122.2 家。"
    )
    assert expected in text


def test_park_ranking(weekly_html: str, weekly: ReportContent) -> None:
    text = visible_text(weekly_html)
    assert "园区考核排名（2025年度）" in text
    assert "1 张江核心园 92.6 正常" in text
    assert "17 虹口园 55.0 通报" in text
    assert "21 市北园 45.6 摘牌" in text
    assert "— 崇明园 — 未评分" in text
    assert "青浦园※" in text and "※ 主导产业数量超出规定" in text
    assert re.search(r'<span class="status-bad" style="[^"]*background-color: #fde4e1[^"]*">摘牌</span>', weekly_html)
    for row in weekly.parks.rows:
        assert row.park_name in text


def test_needs_section(weekly_html: str) -> None:
    text = visible_text(weekly_html)
    assert "230 件 提出 151 件 办结 7 天 中位办结天数 127 件 当前未办结" in text
    assert "人才 64 41 6天 38" in text
    assert "其他 4 0 — 5" in text
    assert "合计 230 151 7天 127" in text
    assert "同类诉求7日内涉及5家及以上企业即为共性诉求。" in text
    assert "人才 3月4日—3月15日 持续中 7家企业 · 9件诉求 涉及园区：张江核心园、临港园、金桥园" in text
    assert "空间 2月24日—3月7日 5家企业 · 6件诉求 涉及园区：漕河泾园、嘉定园" in text
    assert "本期无共性诉求" not in text


def test_no_recurring_needs(weekly: ReportContent) -> None:
    kpis = [replace(card, actual=0) if card.kpi_code == "recurring_needs" else card for card in weekly.kpis]
    text = visible_text(render_html(replace(weekly, recurring=[], kpis=kpis), CHARTS))
    assert "本期无共性诉求" in text
    assert "近30日共性诉求 0 起" in text


def test_incubators_weekly_and_monthly(weekly_html: str) -> None:
    text = visible_text(weekly_html)
    assert "孵化器（2025年2月月报）" in text
    assert "最新为2025年2月月报：上月报送的42家孵化器中已报送40家，未报送2家（张江药谷孵化器、临港智造空间）。" in text
    assert "高质量孵化器 17 家 目标 20 家" in text
    assert "在孵企业 1,286 家" in text
    assert "在孵企业融资 1.29亿元" in text
    assert "逾期报送 / 更正重报 3 家 / 1 家" in text

    monthly = sample_content("monthly")
    text = visible_text(render_html(monthly, CHARTS))
    assert "园区运行月报 · 2025年3月" in text
    assert (
        "截至4月10日（截止日），上月报送的42家孵化器中已报送40家，未报送2家（张江药谷孵化器、临港智造空间）。" in text
    )
    complete = replace(monthly, incubators=replace(monthly.incubators, basis="complete", reported=42, missing=[]))
    assert "全部42家孵化器已报送3月月报。" in visible_text(render_html(complete, CHARTS))
    many_missing = [f"孵化器{number}" for number in range(1, 9)]
    cutoff = replace(monthly, incubators=replace(monthly.incubators, reported=34, missing=many_missing))
    assert "未报送8家（孵化器1、孵化器2、孵化器3、孵化器4、孵化器5等）。" in visible_text(render_html(cutoff, CHARTS))


INCUBATOR_COUNTS = re.compile(
    r"上月报送的(\d+)家孵化器中已报送(\d+)家，未报送(\d+)家（([^）]*)）(?:；另有(\d+)家新增报送)?。"
)


@pytest.mark.parametrize("basis", ["latest", "cutoff"])
def test_incubator_sentence_adds_up(weekly: ReportContent, basis: str) -> None:
    # 115 incubators reported for the month before; 105 of them and 5 newcomers reported this month.
    due = [f"孵化器{number:03d}" for number in range(1, 116)]
    missing = due[105:]
    incubators = replace(
        weekly.incubators, basis=basis, expected=len(due), reported=105 + 5, missing=missing, cutoff_date=None
    )
    text = visible_text(render_html(replace(weekly, incubators=incubators), CHARTS))
    found = INCUBATOR_COUNTS.search(text)
    assert found, text[text.index("孵化器（") :][:200]
    expected, submitted, not_submitted = (int(found.group(index)) for index in (1, 2, 3))
    assert submitted + not_submitted == expected == len(due)
    assert not_submitted == len(missing)
    names = found.group(4)
    assert names == "、".join(missing[:5]) + "等"  # the first five named, the count stands before them
    assert int(found.group(5)) == 5
    assert "截至截止日" not in text


def test_incubator_sentence_names_every_missing_one_when_few(weekly: ReportContent) -> None:
    incubators = replace(weekly.incubators, expected=3, reported=2, missing=["甲孵化器"])
    text = visible_text(render_html(replace(weekly, incubators=incubators), CHARTS))
    found = INCUBATOR_COUNTS.search(text)
    assert found and found.groups() == ("3", "2", "1", "甲孵化器", None)


HELD = "企业登记（registrations）：2025-03-09 的交付被质量闸门扣留（18.1% 的行被隔离），未进入集市表"


def test_a_report_not_ready_opens_with_the_banner(weekly: ReportContent) -> None:
    readiness = Readiness(weekly.period, problems=[HELD], waiting_for=["孵化器月报：尚缺 3 家"])
    html = render_html(replace(weekly, readiness=readiness), CHARTS)
    text = visible_text(html)
    headline = readiness.banner_headline
    assert headline and "数据未就绪" in headline
    # Right under the header, before the first section, with every reason.
    assert text.index("生成时间") < text.index(headline) < text.index(HELD) < text.index("孵化器月报：尚缺 3 家")
    assert text.index("孵化器月报：尚缺 3 家") < text.index("摘要")
    assert re.search(r'class="banner"[^>]*style="[^"]*border: 2px solid #c62828', html)
    assert headline in html.split("<body", 1)[1].split('class="section"', 1)[0]
    assert parse(html).all("img"), "a report with data keeps its charts"


def test_a_report_of_a_period_before_any_data_says_so_instead_of_figures(weekly: ReportContent) -> None:
    no_data = Readiness(
        weekly.period,
        problems=["本期没有数据"],
        has_data=False,
        first_data_day=weekly.period.end + dt.timedelta(days=3),
    )
    text = visible_text(render_html(replace(weekly, readiness=no_data), CHARTS))
    assert "本期没有数据：数据自2025年3月19日起，本期早于此日期。" in text
    assert text.index("本期没有数据") < text.index("数据质量")
    for figure_text in ("日均", "摘要", "目标进度", "园区考核排名", "企业诉求", "孵化器（"):
        assert figure_text not in text.split("口径说明")[0], figure_text


def test_a_ready_report_has_no_banner(weekly: ReportContent, weekly_html: str) -> None:
    ready = render_html(replace(weekly, readiness=Readiness(weekly.period)), CHARTS)
    assert ready == weekly_html
    assert 'class="banner"' not in ready and "数据未就绪" not in ready


def test_quality_footer(weekly_html: str) -> None:
    text = visible_text(weekly_html)
    # Loads are recorded in UTC and shown in Beijing time: 00:40 UTC is 08:40.
    assert "企业登记 3月16日 3月17日 08:40 0 18 0.3% 齐全" in text
    assert "走访记录 3月16日 3月17日 08:45 1 0 齐全" in text
    assert "孵化器月报 2月 3月8日 09:15 0 0 齐全" in text
    assert "手工统计 非必需 2月28日 2月28日 17:02 0 2 4.3% 滞后" in text
    assert "口径说明" in text and "日均新增 = 新增科技企业数 ÷ 自然日数" in text
    assert "mart.kpi_target_progress" in text


def test_text_is_escaped(weekly: ReportContent) -> None:
    rows = list(weekly.parks.rows)
    rows[0] = replace(rows[0], park_name="<b>张江核心园</b>")
    kpis = list(weekly.kpis)
    kpis[0] = replace(kpis[0], kpi_name='日均"新增"<script>')
    html = render_html(replace(weekly, parks=replace(weekly.parks, rows=rows), kpis=kpis), CHARTS)
    assert "<b>张江核心园</b>" not in html
    assert "&lt;b&gt;张江核心园&lt;/b&gt;" in html
    assert "<script>" not in html
    assert "<b>张江核心园</b>" in visible_text(html)


def test_monthly_wording(weekly: ReportContent) -> None:
    text = visible_text(render_html(sample_content("monthly"), CHARTS))
    assert "较上月" in text and "较上周" not in text
    assert "本月新增科技企业" in text
    assert "3月1日—3月31日" in text


def test_names() -> None:
    weekly, monthly = sample_content("weekly"), sample_content("monthly")
    assert report_title(weekly) == "张江高新区 园区运行周报 · 2025年3月第2周"
    assert subject(weekly) == "【园区运行周报】2025年3月第2周（3月10日—3月16日）张江高新区"
    assert subject(monthly) == "【园区运行月报】2025年3月（3月1日—3月31日）张江高新区"
    assert attachment_filename(weekly) == "张江高新区园区运行周报_2025年3月第2周.xlsx"
    assert attachment_filename(monthly) == "张江高新区园区运行月报_2025年3月.xlsx"
    unsafe_zone = replace(weekly, zone_name="张江/高新区")
    assert attachment_filename(unsafe_zone) == "张江_高新区园区运行周报_2025年3月第2周.xlsx"


def test_size_stays_below_gmail_clipping(weekly_html: str) -> None:
    # Gmail clips a message body beyond 102 KB behind a "[Message clipped]" link.
    assert len(weekly_html.encode()) < 100_000


def test_plain_text_opens_with_the_banner_and_shares_the_incubator_sentence(weekly: ReportContent) -> None:
    from parkops.report.text import render_text

    readiness = Readiness(weekly.period, problems=[HELD])
    text = render_text(replace(weekly, readiness=readiness))
    lines = text.splitlines()
    assert lines[3] == f"【注意】{readiness.banner_headline}" and lines[4] == f"- {HELD}"
    assert "上月报送的42家孵化器中已报送40家，未报送2家（张江药谷孵化器、临港智造空间）。" in text
    no_data = render_text(replace(weekly, readiness=Readiness(weekly.period, problems=["无数据"], has_data=False)))
    assert "【注意】本期没有数据" in no_data and "日均" not in no_data and "\n数据质量\n" in no_data
    assert "【注意】" not in render_text(replace(weekly, readiness=Readiness(weekly.period)))
