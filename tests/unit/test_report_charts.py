"""Report charts: the bundled Chinese font, no missing glyphs, sharp PNGs, data-free cases."""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import shutil
import subprocess
import warnings
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import matplotlib
import pylopdf_fonts_zh_cn
import pytest
from fontTools.ttLib import TTFont
from matplotlib import dates as mdates
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, ImageStat

from parkops.report import charts
from parkops.report import formatting as fmt
from parkops.report.content import ChartImage, DailyNewTech, DailySeries, KpiCard
from parkops.report.fonts import cjk_font_path, use_cjk_font, write_fontconfig
from parkops.report.periods import ReportPeriod

REPORT_SAMPLE = (
    "日均新增科技企业目标达成率近30日每日家高质量孵化器独角兽隐形冠军三大先导产业人才规模万亿级"
    "园区重点走访覆盖诉求办结共性首席代办员次数张江高新区周报月报第周年月日（）—，。：；、%"
)
# Every text the charts draw, besides digits: titles, legends, axis labels, dates, no-data text.
CHART_TEXTS = [
    charts.DAILY_TITLE + charts.DAILY_UNIT,
    charts.KPI_TITLE,
    charts.NO_DATA_TEXT,
    "每日新增（本周）（本月）此前近30日日均目标 200家/日",
    "0123456789月日.,%-",
    *(label for label, _colour in charts.KPI_STATUS.values()),
]

WEEK = ReportPeriod.week(2025, 13)  # 24 to 30 March 2025
MONTH = ReportPeriod.month(2025, 3)


def _daily_series(period: ReportPeriod = WEEK, days: int = 56) -> DailySeries:
    """Weekdays 130-190 new tech enterprises, weekends 40: a rolling average around 120 against 200."""
    first = period.end - dt.timedelta(days=days - 1)
    counts = [
        40 if (first + dt.timedelta(days=offset)).weekday() >= 5 else 130 + (offset * 37) % 61 for offset in range(days)
    ]
    points = [
        DailyNewTech(
            date=first + dt.timedelta(days=offset),
            new_tech_enterprises=count,
            rolling_30d_per_day=sum(counts[offset - 29 : offset + 1]) / 30 if offset >= 29 else None,
        )
        for offset, count in enumerate(counts)
    ]
    in_period = [point.new_tech_enterprises for point in points if period.start <= point.date <= period.end]
    return DailySeries(
        points=points,
        target_per_day=200,
        period_new_tech=sum(in_period),
        period_per_day=sum(in_period) / period.days,
        year_to_date_per_day=118.4,
    )


def _kpi(name: str, attainment: float | None, on_track: bool | None, data_status: str = "ok") -> KpiCard:
    return KpiCard(
        kpi_code=name,
        kpi_name=name,
        category="policy",
        unit="家",
        direction="at_least",
        as_of_date=WEEK.end,
        data_status=data_status,
        actual=None if attainment is None else attainment * 100,
        target=100,
        target_upper=None,
        attainment=attainment,
        on_track=on_track,
        due_date=dt.date(2025, 12, 31),
        projected_at_due_date=None,
        previous_as_of_date=WEEK.start - dt.timedelta(days=1),
        previous_actual=None,
    )


KPIS = [
    _kpi("日均新增科技企业", 0.611, False),
    _kpi("高质量孵化器", 0.85, True),
    _kpi("独角兽企业", 2.134, True),
    _kpi("三大先导产业规模（万亿级）", 0.42, None),
    _kpi("重点企业走访覆盖率", 1.02, True),
    _kpi("首席代办员服务次数", None, None),  # threshold KPI: no attainment
    _kpi("隐形冠军", 0.7, True, data_status="no data"),
]
ELIGIBLE_KPI_NAMES = [
    "日均新增科技企业",
    "高质量孵化器",
    "独角兽企业",
    "三大先导产业规模（万亿级）",
    "重点企业走访覆盖率",
]

CHART_CASES = {
    "daily-weekly": lambda: charts.daily_new_tech_chart(_daily_series(WEEK), WEEK),
    "daily-monthly": lambda: charts.daily_new_tech_chart(_daily_series(MONTH, days=90), MONTH),
    "kpi": lambda: charts.kpi_attainment_chart(KPIS),
    "daily-empty": lambda: charts.daily_new_tech_chart(_daily_series(WEEK, days=0), WEEK),
    "kpi-empty": lambda: charts.kpi_attainment_chart(KPIS[5:]),
}


def _image(chart: ChartImage) -> Image.Image:
    image = Image.open(io.BytesIO(chart.png))
    assert image.format == "PNG"
    image.load()
    return image.convert("RGB")


def _pixels_of(image: Image.Image, hex_colour: str) -> int:
    """How many pixels have exactly this colour (bar interiors and legend keys are solid)."""
    wanted = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return sum(count for count, colour in image.getcolors(maxcolors=1 << 20) if colour == wanted)


# The legend key of the period's bars is about 900 pixels of their colour: a few bars are far more.
LEGEND_KEY_PIXELS = 2_000


# --- the font -------------------------------------------------------------------------------------


def test_font_is_the_bundled_package_file():
    path = cjk_font_path()
    assert path == Path(pylopdf_fonts_zh_cn.sans_path()).resolve()
    assert path.is_file() and path.name == "NotoSansSC-Regular.otf"
    assert Path(pylopdf_fonts_zh_cn.__file__).resolve().parent == path.parent


def test_font_covers_every_character_of_the_charts_and_the_report():
    cmap = TTFont(cjk_font_path()).getBestCmap()
    characters = set(REPORT_SAMPLE + "".join(CHART_TEXTS)) - {" "}
    missing = sorted(character for character in characters if ord(character) not in cmap)
    assert not missing, f"Noto Sans SC lacks {missing}"


def test_use_cjk_font_resolves_every_family_to_the_bundled_file_and_is_idempotent():
    family = use_cjk_font()
    entries = sum(Path(entry.fname) == cjk_font_path() for entry in font_manager.fontManager.ttflist)
    assert use_cjk_font() == family == "Noto Sans SC"
    assert sum(Path(entry.fname) == cjk_font_path() for entry in font_manager.fontManager.ttflist) == entries
    assert matplotlib.rcParams["font.family"] == [family]
    assert matplotlib.rcParams["font.sans-serif"][0] == family
    assert matplotlib.rcParams["axes.unicode_minus"] is False
    for requested in (family, "sans-serif", "serif", "monospace"):
        found = font_manager.findfont(font_manager.FontProperties(family=[requested]), fallback_to_default=False)
        assert Path(found) == cjk_font_path(), requested
    assert Path(font_manager.findfont(font_manager.FontProperties())) == cjk_font_path()


def test_a_host_font_with_the_same_family_name_never_wins(monkeypatch):
    """A host copy of "Noto Sans SC" registered first would win findfont's ties; the bundled file must."""
    family = use_cjk_font()
    host_file = Path(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")
    impostor = font_manager.FontEntry(fname=str(host_file), name=family, style="normal", weight=400, size="scalable")
    manager = font_manager.fontManager
    monkeypatch.setattr(manager, "ttflist", [impostor, *manager.ttflist])
    manager._findfont_cached.cache_clear()
    try:
        # Without use_cjk_font the impostor is what matplotlib would draw with.
        assert Path(font_manager.findfont(font_manager.FontProperties(family=[family]))) == host_file
        use_cjk_font()
        assert Path(font_manager.findfont(font_manager.FontProperties(family=[family]))) == cjk_font_path()
    finally:
        monkeypatch.undo()
        manager._findfont_cached.cache_clear()


# --- drawing ----------------------------------------------------------------------------------------


def test_missing_glyphs_do_raise_under_warnings_as_errors():
    """The no-tofu test below relies on matplotlib warning about missing glyphs: check it does."""
    host_file = Path(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")
    figure = Figure(figsize=(2, 1))
    FigureCanvasAgg(figure)
    figure.text(0.1, 0.5, "日均", fontproperties=font_manager.FontProperties(fname=host_file))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="missing from font"):
            figure.savefig(io.BytesIO(), format="png")


@pytest.mark.parametrize("case", CHART_CASES)
def test_charts_draw_with_the_bundled_font_and_no_missing_glyph(case, caplog):
    with caplog.at_level(logging.WARNING, logger="matplotlib"), warnings.catch_warnings():
        warnings.simplefilter("error")
        chart = CHART_CASES[case]()
    assert not [record.getMessage() for record in caplog.records if "findfont" in record.getMessage()]
    family = use_cjk_font()
    assert Path(font_manager.findfont(font_manager.FontProperties(family=[family]))) == cjk_font_path()
    assert chart.png.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("case", CHART_CASES)
def test_png_is_twice_the_display_size_and_not_blank(case):
    chart = CHART_CASES[case]()
    image = _image(chart)
    assert image.size == (2 * chart.width_px, 2 * chart.height_px)
    assert chart.width_px == charts.CHART_WIDTH_PX and chart.height_px >= 150
    assert len(image.getcolors(maxcolors=1 << 20)) > 20
    assert max(ImageStat.Stat(image.convert("L")).stddev) > 10
    assert chart.alt


def test_daily_chart_marks_the_period_and_says_its_rate_against_the_target():
    series = _daily_series(WEEK)
    chart = charts.daily_new_tech_chart(series, WEEK)
    assert (chart.cid, chart.filename) == ("daily-new-tech@parkops", "daily_new_tech.png")
    image = _image(chart)
    assert _pixels_of(image, charts.IN_PERIOD_BLUE) > 5 * LEGEND_KEY_PIXELS
    assert _pixels_of(image, charts.BEFORE_PERIOD_BLUE) > 5 * LEGEND_KEY_PIXELS
    assert _pixels_of(image, charts.ROLLING_ORANGE) > 500
    assert f"日均{series.period_per_day:.1f}家" in chart.alt
    assert "目标 200家/日" in chart.alt
    assert WEEK.label in chart.alt


def test_daily_chart_with_only_days_before_the_period_has_no_strong_bars():
    series = _daily_series(WEEK.previous())
    image = _image(charts.daily_new_tech_chart(series, WEEK))
    assert 0 < _pixels_of(image, charts.IN_PERIOD_BLUE) < LEGEND_KEY_PIXELS
    assert _pixels_of(image, charts.BEFORE_PERIOD_BLUE) > 5 * LEGEND_KEY_PIXELS


def test_kpi_chart_shows_eligible_kpis_coloured_by_track_with_true_values():
    chart = charts.kpi_attainment_chart(KPIS)
    assert (chart.cid, chart.filename) == ("kpi-attainment@parkops", "kpi_attainment.png")
    image = _image(chart)
    assert _pixels_of(image, charts.ON_TRACK_GREEN) > 5_000
    assert _pixels_of(image, charts.BEHIND_ORANGE) > 5_000
    assert _pixels_of(image, charts.UNJUDGED_GREY) > 5_000
    for name in ELIGIBLE_KPI_NAMES:
        assert name in chart.alt
    assert "首席代办员服务次数" not in chart.alt  # no attainment
    assert "隐形冠军" not in chart.alt  # no data
    assert "213.4%" in chart.alt and "61.1%" in chart.alt  # the capped bar keeps its true value
    # One row per eligible KPI: two more eligible KPIs make the chart taller by two rows.
    taller = charts.kpi_attainment_chart([*KPIS, _kpi("人才规模", 0.5, False), _kpi("共性诉求办结", 0.9, True)])
    assert taller.height_px - chart.height_px == 2 * charts.KPI_ROW_PX


def test_kpi_chart_without_behind_kpis_has_no_orange():
    image = _image(charts.kpi_attainment_chart([kpi for kpi in KPIS if kpi.on_track is not False]))
    assert _pixels_of(image, charts.BEHIND_ORANGE) == 0  # no bar, no legend key


@pytest.mark.parametrize("case", ["daily-empty", "kpi-empty"])
def test_data_free_charts_say_no_data(case):
    chart = CHART_CASES[case]()
    assert "暂无数据" in chart.alt
    assert _image(chart).size == (2 * chart.width_px, 2 * chart.height_px)


def test_dates_read_like_month_and_day():
    assert charts._month_day(mdates.date2num(dt.date(2025, 3, 10))) == "3月10日"


def test_same_data_same_bytes_from_parallel_threads():
    sequential = [CHART_CASES[case]().png for case in CHART_CASES]
    with ThreadPoolExecutor(max_workers=len(CHART_CASES)) as pool:
        parallel = list(pool.map(lambda case: CHART_CASES[case]().png, CHART_CASES))
    assert parallel == sequential


# --- fontconfig for the HTML screenshot --------------------------------------------------------------


def test_fontconfig_exposes_only_the_bundled_font_folder(tmp_path):
    config = write_fontconfig(tmp_path / "fc")
    assert config == tmp_path / "fc" / "fonts.conf"
    root = ET.parse(config).getroot()
    assert root.tag == "fontconfig"
    assert [Path(element.text) for element in root.iter("dir")] == [cjk_font_path().parent]
    assert not list(root.iter("include"))  # no system configuration, so no host fonts
    (cachedir,) = root.iter("cachedir")
    assert Path(cachedir.text).is_relative_to((tmp_path / "fc").resolve())
    aliases = {alias.findtext("family"): alias.findtext("prefer/family") for alias in root.iter("alias")}
    for requested in ("sans-serif", "serif", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC"):
        assert aliases[requested] == "Noto Sans SC"


@pytest.mark.skipif(shutil.which("fc-match") is None, reason="fontconfig tools (fc-match, fc-list) not installed")
def test_fontconfig_resolves_chinese_families_to_the_bundled_file(tmp_path):
    config = write_fontconfig(tmp_path / "fc")
    environment = {**os.environ, "FONTCONFIG_FILE": str(config)}

    def run(*arguments: str) -> str:
        return subprocess.run(arguments, env=environment, capture_output=True, text=True, check=True).stdout

    listed = [Path(line) for line in run("fc-list", "--format", "%{file}\n").splitlines() if line]
    assert cjk_font_path() in listed
    assert all(path.parent == cjk_font_path().parent for path in listed)
    for requested in ("sans-serif", "PingFang SC", "Microsoft YaHei", "Arial"):
        assert Path(run("fc-match", "--format", "%{file}", requested)) == cjk_font_path(), requested


# --- layout: whole bars, no text over the legend, short of 100 % visibly short -----------------------


def _runs(row: list[tuple[int, int, int]], colours: set[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """(first x, width) of each run of pixels of ``colours`` in one pixel row."""
    runs: list[tuple[int, int]] = []
    start = None
    for x, pixel in enumerate([*row, None]):
        inside = pixel in colours
        if inside and start is None:
            start = x
        elif not inside and start is not None:
            runs.append((start, x - start))
            start = None
    return runs


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


@pytest.mark.parametrize(("period", "days"), [(WEEK, 56), (MONTH, 90)], ids=["weekly", "monthly"])
def test_daily_chart_draws_the_first_and_the_last_bar_whole(period, days):
    series = _daily_series(period, days=days)
    image = _image(charts.daily_new_tech_chart(series, period))
    bar_colours = {_rgb(charts.IN_PERIOD_BLUE), _rgb(charts.BEFORE_PERIOD_BLUE)}
    width, height = image.size
    pixels = image.load()
    lowest = max(y for y in range(height) for x in range(0, width, 3) if pixels[x, y] in bar_colours)
    row = [pixels[x, lowest - 4] for x in range(width)]  # just above the axis: every bar crosses it
    runs = _runs(row, bar_colours)
    assert len(runs) == days
    widths = sorted(run_width for _start, run_width in runs)
    typical = widths[len(widths) // 2]
    # Edges fall on fractions of a pixel: a whole bar is within 2 PNG pixels of the others.
    assert abs(runs[0][1] - typical) <= 2 and abs(runs[-1][1] - typical) <= 2, (runs[0], runs[-1], typical)


def test_daily_chart_texts_stay_clear_of_the_legend():
    from matplotlib.text import Text

    figure = charts.daily_new_tech_figure(_daily_series(WEEK), WEEK)
    renderer = figure.canvas.get_renderer()
    figure.draw(renderer)
    (legend,) = figure.legends
    legend_box = legend.get_window_extent(renderer)
    legend_texts = set(legend.get_texts())
    others = [
        text
        for text in figure.findobj(Text)
        if text.get_visible() and text.get_text().strip() and text not in legend_texts
    ]
    assert any("家" in text.get_text() for text in others), "the unit is shown"
    for text in others:
        assert not text.get_window_extent(renderer).overlaps(legend_box), text.get_text()


def test_an_attainment_short_of_100_percent_is_visibly_shorter():
    reached, short, past = _kpi("达标", 1.0, True), _kpi("差一点", 0.997, True), _kpi("略超", 1.003, True)
    image = _image(charts.kpi_attainment_chart([reached, short, past]))
    green = {_rgb(charts.ON_TRACK_GREEN)}
    width, height = image.size
    pixels = image.load()
    top = 2 * charts.KPI_TOP_PX  # below the legend, whose key is green too
    bar_rows = [y for y in range(top, height) if any(pixels[x, y] in green for x in range(width))]
    bands: list[list[int]] = []
    for y in bar_rows:
        if bands and y == bands[-1][-1] + 1:
            bands[-1].append(y)
        else:
            bands.append([y])
    assert len(bands) == 3
    lengths = []
    for band in bands:
        # From the bar's start to its end: the dashed 100 % line is drawn across bars that pass it.
        runs = _runs([pixels[x, band[len(band) // 2]] for x in range(width)], green)
        lengths.append(runs[-1][0] + runs[-1][1] - runs[0][0])
    bar_100, bar_99_7, bar_100_3 = lengths
    # At least 2 display pixels (4 PNG pixels) either side of 100 %: 0.3 % would be half a pixel.
    assert bar_99_7 <= bar_100 - 4 and bar_100_3 >= bar_100 + 4, lengths


def test_attainment_reads_as_on_the_cards() -> None:
    # 116,400 / 800,000 = 0.1455: the card reads 14.6% (half-up on the decimal digits); a float
    # 0.1455 * 100 is 14.549999… and read 14.5% here before.
    chart = charts.kpi_attainment_chart([_kpi("人才规模", 0.1455, False)])
    assert "人才规模14.6%" in chart.alt


def test_daily_averages_read_as_in_the_report_text() -> None:
    # 120.25 per day: the report's text rounds half up (120.3); float formatting gave 120.2 here.
    series = replace(_daily_series(WEEK), period_per_day=120.25, year_to_date_per_day=118.0)
    chart = charts.daily_new_tech_chart(series, WEEK)
    assert f"日均{fmt.decimal(120.25, 1)}家" in chart.alt and "日均120.3家" in chart.alt, chart.alt
    assert "年初至今日均118.0家" in chart.alt and "目标 200家/日" in chart.alt, chart.alt
