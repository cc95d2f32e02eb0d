"""What a leadership report says: plain values read from the marts, before any formatting.

:mod:`parkops.report.assemble` fills a :class:`ReportContent` from the warehouse; the HTML
(:mod:`parkops.report.html`), the charts (:mod:`parkops.report.charts`) and the Excel attachment
(:mod:`parkops.report.workbook`) only present it. Numbers stay numbers here (ratios as ratios,
0.611 = 61.1 %; percent measures of the marts as percent numbers, as ``unit`` says), so every
presentation formats them the same way and tests compare them with the marts directly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from parkops.report.periods import ReportPeriod
from parkops.report.readiness import Readiness

# China has kept UTC+8 without daylight saving since 1991; a fixed offset needs no tz database.
BEIJING_OFFSET = dt.timedelta(hours=8)


@dataclass(frozen=True)
class KpiCard:
    """One target of ``mart.kpi_target_progress`` at the period's end, against the previous period's end."""

    kpi_code: str
    kpi_name: str
    category: Literal["policy", "service"]
    unit: str  # 家/日, 家, 人, %, 个, 次, 次/人/周, 起
    direction: str  # at_least, more_than, between, threshold, none
    as_of_date: dt.date
    data_status: str  # ok or "no data"
    actual: float | None
    target: float | None
    target_upper: float | None  # only for direction between
    attainment: float | None  # actual / target as a ratio (0.611); None for threshold / none
    on_track: bool | None
    due_date: dt.date | None
    projected_at_due_date: float | None
    previous_as_of_date: dt.date
    previous_actual: float | None
    window_days: int | None = None  # a threshold's window (共性诉求: 5家 within 7 days)

    @property
    def change(self) -> float | None:
        """actual - previous_actual, when both exist."""
        if self.actual is None or self.previous_actual is None:
            return None
        return self.actual - self.previous_actual


@dataclass(frozen=True)
class DailyNewTech:
    """Zone-wide new tech enterprises of one day, with the rolling 30-day average per day as of it."""

    date: dt.date
    new_tech_enterprises: int
    rolling_30d_per_day: float | None  # None until 30 days of data exist


@dataclass(frozen=True)
class DailySeries:
    points: list[DailyNewTech]
    target_per_day: float  # 200
    period_new_tech: int  # new tech enterprises within the report period
    period_per_day: float  # period_new_tech / period days
    year_to_date_per_day: float | None  # as of the period end (mart.new_tech_per_day_windows)


@dataclass(frozen=True)
class ParkRow:
    """A park in the evaluation as of the period's end (``mart.park_evaluation``) and its figures of the period."""

    rank: int | None
    park_code: str
    park_name: str
    score: float | None
    status: str | None  # 正常, 通报, 摘牌; None without a score
    components_scored: int
    too_many_leading_industries: bool
    new_tech_in_period: int
    needs_raised_in_period: int
    needs_resolved_in_period: int


@dataclass(frozen=True)
class ParkRanking:
    year: int
    rows: list[ParkRow]  # ordered by rank (unscored parks last)
    as_of: dt.date | None = None  # the day the evaluation describes: the period's end, or the data's last day before it


@dataclass(frozen=True)
class NeedCategoryRow:
    category: str  # 人才, 资金, ... or 全部
    raised: int  # raised in the period
    resolved: int  # resolved (已办结) in the period, whenever raised
    median_days_to_resolve: float | None  # over the needs resolved in the period
    open_now: int  # raised up to the period end and not 已办结 in the data as loaded


@dataclass(frozen=True)
class NeedsSummary:
    raised: int
    resolved: int
    median_days_to_resolve: float | None
    open_now: int
    raised_resolved_share: float | None  # of the needs raised in the period, share already 已办结 (ratio)
    by_category: list[NeedCategoryRow]  # biggest first; the 全部 row is not in this list


@dataclass(frozen=True)
class RecurringEpisode:
    """A 共性诉求 episode (``mart.recurring_needs``) the KPI counts on the period's last day (a hot day
    in the 30 days ending then): the detail of the 共性诉求 card's figure."""

    category: str
    episode_start: dt.date
    last_hot_day: dt.date
    enterprises: int
    needs: int
    park_names: list[str]
    ongoing: bool  # its last hot day is within 7 days of the period end


@dataclass(frozen=True)
class IncubatorSummary:
    """Incubator reports of one report month (the period's month, or the latest delivered by the period end)."""

    report_month: dt.date | None  # None when no report exists yet
    expected: int  # incubators that reported for the month before (the ones due)
    reported: int  # incubators with a report for report_month
    missing: list[str]  # names of due incubators without a report for the month
    high_quality: int  # high-quality incubators as of report_month (mart.high_quality_incubators, 全区)
    high_quality_target: float | None  # 20
    incubatees: int
    new_incubatees: int
    graduated: int
    funding_10k: float
    late_reports: int
    resubmitted: int
    basis: Literal["complete", "cutoff", "latest"]  # monthly: why it was sent now; weekly: latest
    cutoff_date: dt.date | None  # monthly: the configured cut-off day of the following month

    @property
    def reported_of_expected(self) -> int:
        """Of the incubators due (those of the month before), how many reported for report_month."""
        return self.expected - len(self.missing)

    @property
    def newly_reported(self) -> int:
        """Incubators that reported for report_month without having reported for the month before."""
        return self.reported - self.reported_of_expected


@dataclass(frozen=True)
class FeedQuality:
    """One feed in the data-quality footer (``ops.file_audit``)."""

    feed: str
    feed_name: str  # 企业登记, 走访记录, 孵化器月报, 手工统计
    last_delivery: dt.date | None  # latest delivery folder with a loaded file
    last_loaded_at: dt.datetime | None  # when that load ran (UTC, naive)
    data_through: dt.date | None  # last day (or month start, for monthly feeds) whose data is in
    required: bool  # the report waits for this feed
    fresh: bool  # required feeds: its data covers the period
    files_loaded: int  # in the deliveries carrying the period's data
    files_rejected: int
    rows_loaded: int
    rows_quarantined: int

    @property
    def last_loaded_beijing(self) -> dt.datetime | None:
        """``last_loaded_at`` in Beijing time (naive), as every time shown to people."""
        return None if self.last_loaded_at is None else self.last_loaded_at + BEIJING_OFFSET

    @property
    def quarantine_share(self) -> float | None:
        received = self.rows_loaded + self.rows_quarantined
        return self.rows_quarantined / received if received else None


@dataclass(frozen=True)
class DetailTable:
    """A sheet of the Excel attachment: Chinese headers, plain values, an Excel number format per column."""

    sheet_name: str  # at most 31 characters, no []:*?/\
    title: str  # first line of the sheet
    headers: list[str]
    number_formats: list[str | None]  # e.g. "#,##0", "0.0%", "yyyy-mm-dd"; None = general
    rows: list[tuple[object, ...]]
    # Where a column's format differs by row (KPIs, each in its own unit): one list per row, replacing
    # number_formats for that row.
    row_number_formats: list[list[str | None]] | None = None


@dataclass(frozen=True)
class ReportContent:
    period: ReportPeriod
    previous: ReportPeriod
    zone_name: str  # 张江高新区
    generated_at: dt.datetime  # Asia/Shanghai, naive
    kpis: list[KpiCard]
    daily: DailySeries
    parks: ParkRanking
    needs: NeedsSummary
    recurring: list[RecurringEpisode]
    incubators: IncubatorSummary
    quality: list[FeedQuality]
    details: list[DetailTable] = field(default_factory=list)
    # Whether the period's data is in (held, missing or late inputs; a period before any data): every
    # presentation opens with its banner. assemble always sets it; None only in hand-built content.
    readiness: Readiness | None = None


@dataclass(frozen=True)
class ChartImage:
    """A PNG chart embedded in the e-mail by Content-ID (``<img src="cid:{cid}">``)."""

    cid: str  # e.g. daily-new-tech@parkops (no angle brackets)
    filename: str  # e.g. daily_new_tech.png (archived under images/)
    png: bytes
    alt: str  # Chinese alt text, shown where images are blocked
    width_px: int  # CSS display width; the PNG has twice as many pixels (sharp on phones)
    height_px: int
