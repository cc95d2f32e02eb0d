"""The report's charts: PNGs embedded in the e-mail by Content-ID, drawn with matplotlib's Agg backend.

Figures are built from :class:`matplotlib.figure.Figure` with their own Agg canvas, never pyplot, so
no global figure state is involved and charts can be drawn from any thread. Every text uses the
bundled Noto Sans SC (:mod:`parkops.report.fonts`), so Chinese renders without missing-glyph boxes
on machines without CJK fonts.

Sizes are CSS display pixels: a PNG has twice as many pixels each way (sharp on high-density phone
screens), and the e-mail shows it at the display size. Figures are laid out at 72 dpi, so a point is
a display pixel; font sizes are large enough to stay legible when a 600-pixel-wide chart is scaled
down to a 375-pixel phone screen.
"""

from __future__ import annotations

import io
import math

from matplotlib import dates as mdates
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Patch

from parkops.report import formatting as fmt
from parkops.report.content import ChartImage, DailyNewTech, DailySeries, KpiCard
from parkops.report.fonts import use_cjk_font
from parkops.report.periods import ReportPeriod

DISPLAY_DPI = 72  # one point = one display pixel
PIXEL_DENSITY = 2  # PNG pixels per display pixel
CHART_WIDTH_PX = 480  # shown 100% wide: about 0.7x on a 375 px phone, 1.25x on desktop

NO_DATA_TEXT = "暂无数据"

# Sizes in points (= display pixels).
TITLE_SIZE = 19
TEXT_SIZE = 15
SMALL_SIZE = 13

INK = "#1f2933"
MUTED_INK = "#616e7c"
GRID = "#e4e7eb"
IN_PERIOD_BLUE = "#1f5fa8"
BEFORE_PERIOD_BLUE = "#b7cbe3"
ROLLING_ORANGE = "#e07b24"
TARGET_RED = "#c62828"
ON_TRACK_GREEN = "#2e8b57"
BEHIND_ORANGE = "#e4572e"
UNJUDGED_GREY = "#9aa5b1"

KPI_BAR_CAP_PERCENT = 150.0
KPI_ROW_PX = 40


def _new_figure(width_px: int, height_px: int) -> Figure:
    use_cjk_font()
    figure = Figure(figsize=(width_px / DISPLAY_DPI, height_px / DISPLAY_DPI), dpi=DISPLAY_DPI, facecolor="white")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    # No "Software" metadata: the same data gives the same bytes, whatever the matplotlib version.
    figure.savefig(buffer, format="png", dpi=DISPLAY_DPI * PIXEL_DENSITY, metadata={"Software": None})
    return buffer.getvalue()


def _chart(figure: Figure, *, cid: str, filename: str, alt: str, width_px: int, height_px: int) -> ChartImage:
    return ChartImage(cid=cid, filename=filename, png=_png(figure), alt=alt, width_px=width_px, height_px=height_px)


def _plain(text: str) -> str:
    """Text shown as is: a "$" would otherwise start matplotlib mathtext."""
    return text.replace("$", r"\$")


def _style_axes(axes: Axes) -> None:
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(MUTED_INK)
    axes.tick_params(labelsize=TEXT_SIZE, colors=INK, length=4)
    axes.set_axisbelow(True)


def _title(figure: Figure, title: str) -> None:
    figure.suptitle(title, x=0.02, ha="left", fontsize=TITLE_SIZE, color=INK)


def _no_data_figure(title: str, width_px: int, height_px: int) -> Figure:
    figure = _new_figure(width_px, height_px)
    _title(figure, title)
    figure.text(0.5, 0.45, NO_DATA_TEXT, ha="center", va="center", fontsize=TITLE_SIZE, color=MUTED_INK)
    return figure


def _format_percent(ratio: float) -> str:
    # The one rule of the cards and the CLI (half-up, scaled in decimal): a bar never reads 14.5%
    # where its card reads 14.6%.
    return fmt.percent_from_ratio(ratio)


def _month_day(value: float, _position: object = None) -> str:
    day = mdates.num2date(value).date()
    return f"{day.month}月{day.day}日"


# --- daily new tech enterprises ------------------------------------------------------------------

DAILY_CID = "daily-new-tech@parkops"
DAILY_FILENAME = "daily_new_tech.png"
DAILY_TITLE = "每日新增科技企业"
DAILY_UNIT = "（家）"
DAILY_BAR_WIDTH = 0.8  # days
DAILY_HEIGHT_PX = 340
NO_DATA_HEIGHT_PX = 160
MAX_DATE_TICKS = 6


def daily_new_tech_chart(series: DailySeries, period: ReportPeriod) -> ChartImage:
    """Zone-wide new tech enterprises per day: the period's bars strong, earlier ones muted, the
    rolling 30-day average per day as a line and the daily target as a dashed line."""
    width_px, height_px = CHART_WIDTH_PX, DAILY_HEIGHT_PX
    target_label = f"目标 {fmt.decimal(series.target_per_day, 1, trim=True)}家/日"
    if not series.points:
        height_px = NO_DATA_HEIGHT_PX
        figure = _no_data_figure(DAILY_TITLE, width_px, height_px)
        alt = f"{DAILY_TITLE}：{period.label}暂无数据（{target_label}）。"
        return _chart(figure, cid=DAILY_CID, filename=DAILY_FILENAME, alt=alt, width_px=width_px, height_px=height_px)

    figure = daily_new_tech_figure(series, period)
    points = sorted(series.points, key=lambda point: point.date)
    alt = _daily_alt(series, period, points, target_label)
    return _chart(figure, cid=DAILY_CID, filename=DAILY_FILENAME, alt=alt, width_px=width_px, height_px=height_px)


def daily_new_tech_figure(series: DailySeries, period: ReportPeriod) -> Figure:
    """The figure of :func:`daily_new_tech_chart` for a series with points (tests measure its layout)."""
    target_label = f"目标 {fmt.decimal(series.target_per_day, 1, trim=True)}家/日"
    points = sorted(series.points, key=lambda point: point.date)
    # Day numbers, not dates: a fraction of a day added to a date is lost (date + 0.7 days is the date).
    days = [mdates.date2num(point.date) for point in points]
    counts = [point.new_tech_enterprises for point in points]
    colours = [IN_PERIOD_BLUE if period.start <= point.date <= period.end else BEFORE_PERIOD_BLUE for point in points]
    # None leaves a gap in the line: matplotlib does not draw segments touching NaN.
    rolling = [math.nan if point.rolling_30d_per_day is None else point.rolling_30d_per_day for point in points]

    figure = _new_figure(CHART_WIDTH_PX, DAILY_HEIGHT_PX)
    # The unit goes with the title: above the value axis it ran into the legend.
    _title(figure, DAILY_TITLE + DAILY_UNIT)
    # The right margin leaves room for a date label centred on the last day.
    axes = figure.add_axes((0.1, 0.12, 0.84, 0.6))
    _style_axes(axes)
    axes.bar(days, counts, width=DAILY_BAR_WIDTH, color=colours, linewidth=0)
    (rolling_line,) = axes.plot(days, rolling, color=ROLLING_ORANGE, linewidth=2.4, label="近30日日均")
    target_line = axes.axhline(
        series.target_per_day, color=TARGET_RED, linewidth=1.6, linestyle=(0, (5, 3)), label=target_label
    )

    top = max([*counts, series.target_per_day, *(value for value in rolling if not math.isnan(value))])
    axes.set_ylim(0, top * 1.18 if top > 0 else 1)
    margin = DAILY_BAR_WIDTH / 2 + 0.3  # the first and the last bar whole, with a little air
    axes.set_xlim(days[0] - margin, days[-1] + margin)
    axes.yaxis.set_major_locator(ticker.MaxNLocator(nbins=4, integer=True))
    axes.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _position: f"{value:,.0f}"))
    axes.grid(axis="y", color=GRID, linewidth=0.8)

    weeks = (days[-1] - days[0]) / 7
    axes.xaxis.set_major_locator(
        mdates.WeekdayLocator(byweekday=mdates.MO, interval=max(1, math.ceil(weeks / MAX_DATE_TICKS)))
    )
    axes.xaxis.set_major_formatter(ticker.FuncFormatter(_month_day))

    period_word = "本周" if period.kind == "weekly" else "本月"
    figure.legend(
        handles=[
            Patch(color=IN_PERIOD_BLUE, label=f"每日新增（{period_word}）"),
            Patch(color=BEFORE_PERIOD_BLUE, label="此前"),
            rolling_line,
            target_line,
        ],
        loc="upper left",
        bbox_to_anchor=(0.02, 0.91),
        ncols=2,
        frameon=False,
        fontsize=SMALL_SIZE,
        handlelength=1.6,
        columnspacing=1.4,
        labelcolor=INK,
    )
    return figure


def _daily_alt(series: DailySeries, period: ReportPeriod, points: list[DailyNewTech], target_label: str) -> str:
    target = series.target_per_day
    attainment = f"，为目标的{_format_percent(series.period_per_day / target)}" if target else ""
    parts = [
        f"{DAILY_TITLE}：{period.label}（{period.span_label}）共新增{series.period_new_tech:,}家，"
        f"日均{fmt.decimal(series.period_per_day, 1)}家，{target_label}{attainment}"
    ]
    latest_rolling = next((p.rolling_30d_per_day for p in reversed(points) if p.rolling_30d_per_day is not None), None)
    if latest_rolling is not None:
        parts.append(f"近30日日均{fmt.decimal(latest_rolling, 1)}家")
    if series.year_to_date_per_day is not None:
        parts.append(f"年初至今日均{fmt.decimal(series.year_to_date_per_day, 1)}家")
    return "；".join(parts) + "。"


# --- KPI attainment ------------------------------------------------------------------------------

KPI_CID = "kpi-attainment@parkops"
KPI_FILENAME = "kpi_attainment.png"
KPI_TITLE = "目标达成率"
KPI_STATUS = {
    True: ("进度达标", ON_TRACK_GREEN),
    False: ("进度落后", BEHIND_ORANGE),
    None: ("无目标判断", UNJUDGED_GREY),
}
KPI_MIN_OFF_TARGET_PX = 3.0
KPI_TOP_PX = 84  # title and legend
KPI_BOTTOM_PX = 40  # percent axis


def _kpi_bar_length(percent: float, off_target: float) -> float:
    """The drawn length of a bar of ``percent``: 0 to the cap, and never within ``off_target``
    (percent units) of 100 unless it is 100 %."""
    length = min(max(percent, 0.0), KPI_BAR_CAP_PERCENT)
    labelled = round(percent, 1)  # as the label reads: a 99.99999 % from float division is 100.0 %
    if labelled < 100:
        return min(length, max(0.0, 100 - off_target))
    if labelled > 100:
        return max(length, 100 + off_target)
    return 100.0


def kpi_attainment_chart(kpis: list[KpiCard]) -> ChartImage:
    """Attainment (actual / target) of the KPIs that have one, as horizontal bars in percent, coloured
    by whether the KPI is on track; bars stop at 150 % but their labels give the true value."""
    eligible = [kpi for kpi in kpis if kpi.attainment is not None and kpi.data_status == "ok"]
    width_px = CHART_WIDTH_PX
    if not eligible:
        height_px = NO_DATA_HEIGHT_PX
        figure = _no_data_figure(KPI_TITLE, width_px, height_px)
        alt = f"{KPI_TITLE}：暂无数据。"
        return _chart(figure, cid=KPI_CID, filename=KPI_FILENAME, alt=alt, width_px=width_px, height_px=height_px)

    height_px = KPI_TOP_PX + KPI_ROW_PX * len(eligible) + KPI_BOTTOM_PX
    figure = _new_figure(width_px, height_px)
    _title(figure, KPI_TITLE)
    names = [_plain(kpi.kpi_name) for kpi in eligible]
    # The name column is as wide as the longest name, so long names never run into the bars
    # (the figure is at 72 dpi: renderer pixels are display pixels).
    renderer = figure.canvas.get_renderer()
    name_font = FontProperties(size=TEXT_SIZE)
    name_width_px = max(renderer.get_text_width_height_descent(name, name_font, ismath=False)[0] for name in names)
    left = min(0.5, (name_width_px + 16) / width_px)
    axes = figure.add_axes(
        (left, KPI_BOTTOM_PX / height_px, 0.97 - left, (KPI_ROW_PX * len(eligible)) / height_px),
    )
    _style_axes(axes)
    axes.spines["left"].set_visible(False)
    axes.spines["bottom"].set_bounds(0, KPI_BAR_CAP_PERCENT)  # the room right of it is for value labels
    axes.tick_params(axis="y", length=0, pad=8)

    label_room = 42.0  # percent units to the right of the cap for "213.4%"
    axis_span = KPI_BAR_CAP_PERCENT + label_room
    percents = [kpi.attainment * 100 for kpi in eligible]
    # A bar short of (or past) 100 % ends at least KPI_MIN_OFF_TARGET_PX from the 100 % line: at this
    # scale 99.7 % is 0.4 px short, and would read as reached. The label gives the true value.
    off_target = KPI_MIN_OFF_TARGET_PX * axis_span / ((0.97 - left) * width_px)
    drawn = [_kpi_bar_length(percent, off_target) for percent in percents]
    positions = list(range(len(eligible)))
    colours = [KPI_STATUS[kpi.on_track][1] for kpi in eligible]
    axes.barh(positions, drawn, height=0.62, color=colours, linewidth=0)
    axes.set_yticks(positions, names)
    axes.invert_yaxis()  # first KPI on top
    axes.axvline(100, color=INK, linewidth=1.2, linestyle=(0, (4, 3)), zorder=3)
    axes.set_xlim(0, axis_span)
    axes.set_ylim(len(eligible) - 0.5, -0.5)
    for kpi, position, percent, bar_end in zip(eligible, positions, percents, drawn, strict=True):
        if percent > KPI_BAR_CAP_PERCENT:
            # An axis-break mark: the bar is cut short, its label gives the true value.
            for offset in (-7.0, -3.0):
                axes.plot(
                    [KPI_BAR_CAP_PERCENT + offset - 1.5, KPI_BAR_CAP_PERCENT + offset + 1.5],
                    [position + 0.36, position - 0.36],
                    color="white",
                    linewidth=2.2,
                    solid_capstyle="butt",
                )
        axes.annotate(
            _format_percent(kpi.attainment),
            xy=(bar_end, position),
            xytext=(5, 0),
            textcoords="offset points",
            va="center",
            ha="left",
            fontsize=TEXT_SIZE,
            color=INK,
            # The 100 % line passes behind labels of bars just short of it.
            bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none"},
        )
    axes.xaxis.set_major_locator(ticker.FixedLocator([0, 50, 100, 150]))
    axes.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _position: f"{value:.0f}%"))
    axes.grid(axis="x", color=GRID, linewidth=0.8)

    statuses = [status for status in (True, False, None) if any(kpi.on_track == status for kpi in eligible)]
    figure.legend(
        handles=[Patch(color=KPI_STATUS[status][1], label=KPI_STATUS[status][0]) for status in statuses],
        loc="upper left",
        bbox_to_anchor=(0.02, 1 - 40 / height_px),
        ncols=len(statuses),
        frameon=False,
        fontsize=SMALL_SIZE,
        handlelength=1.2,
        columnspacing=1.4,
        labelcolor=INK,
    )

    alt = f"{KPI_TITLE}：" + "，".join(
        f"{kpi.kpi_name}{_format_percent(kpi.attainment)}（{KPI_STATUS[kpi.on_track][0]}）" for kpi in eligible
    )
    return _chart(figure, cid=KPI_CID, filename=KPI_FILENAME, alt=alt + "。", width_px=width_px, height_px=height_px)
