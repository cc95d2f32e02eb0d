"""Manual statistics (人工统计): the two policy KPIs no feed carries, typed in by hand.

``manual_statistics/<YYYY-MM-DD>/manual_statistics_<YYYYMMDD>.csv`` (UTF-8 with BOM), headers
指标代码, 期间, 园区, 数值, 来源, 备注 (measures.md):

- the first delivery day of the range: ``leading_industry_share`` for 2023 and 2024 (percent,
  园区 empty, 来源 上海市统计局) and ``trillion_parks`` for 2024, one row per park with its
  产业规模 in 亿元 (2-4 parks at or above 10,000 亿元, 来源 张江管委会), plus one defect row (an
  unknown KPI code);
- a second delivery later in the range correcting one park's 2024 figure (the correction lifts it
  over the 10,000 亿元 line, so the trillion-park count changes when it lands).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from random import Random

from parkops_tools.generator.refdata import ReferenceData, load_reference
from parkops_tools.generator.shared import FeedFile, FeedSummary, clean_folder, format_feed_summary
from parkops_tools.generator.writers import csv_bytes, write_file

FEED = "manual_statistics"
HEADERS = ("指标代码", "期间", "园区", "数值", "来源", "备注")
LEADING_INDUSTRY_SHARE = "leading_industry_share"
TRILLION_PARKS = "trillion_parks"
#: Shares of the three leading industries in the city's total, as published (percent).
LEADING_INDUSTRY_SHARES = (("2023", 78.6, "上海市统计局", ""), ("2024年", 81.3, "上海市统计局", "初步核算数"))
#: 产业规模 (亿元) of the parks above the trillion line and of the one the correction lifts over it.
TRILLION_PARK_SCALE = {"张江核心园": 15632.5, "漕河泾园": 10418.0}
CORRECTED_PARK = "临港园"
CORRECTED_FROM_TO = (9856.0, 10126.4)
TRILLION_SOURCES = ("张江管委会", "张江管委会", "区统计局")
ROW_DEFECT_KINDS = ("unknown_kpi_code",)
UNKNOWN_KPI_ROW = ("industry_output_total", "2024", "", "52340.7", "张江管委会", "指标名称待确认")
#: The correcting delivery comes this far into the range.
CORRECTION_POSITION = 0.6

FILE_PATTERN = re.compile(r"manual_statistics_\d{8}\.csv$")


@dataclass(frozen=True)
class ManualStatisticsSettings:
    landing: Path
    start: date
    end: date
    seed: int = 20250101

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"--to {self.end} is before --from {self.start}")

    @property
    def correction_day(self) -> date | None:
        """The second delivery, or None when the range is a single day."""
        if self.end == self.start:
            return None
        offset = max(1, round((self.end - self.start).days * CORRECTION_POSITION))
        return self.start + timedelta(days=offset)


def file_name(day: date) -> str:
    return f"manual_statistics_{day:%Y%m%d}.csv"


def _number(value: float, rng: Random) -> str:
    """As typed: sometimes with thousands separators, always a plain non-negative number."""
    text = f"{value:,.1f}" if value >= 1000 and rng.random() < 0.4 else f"{value:.1f}"
    return text.removesuffix(".0") if rng.random() < 0.5 else text


def first_delivery_rows(settings: ManualStatisticsSettings, ref: ReferenceData) -> list[tuple[str, ...]]:
    rng = Random(f"{settings.seed}|manual-statistics|first")
    rows = [
        (LEADING_INDUSTRY_SHARE, period, "", f"{value}", source, note)
        for period, value, source, note in LEADING_INDUSTRY_SHARES
    ]
    for park in ref.parks:
        if park.name in TRILLION_PARK_SCALE:
            value = TRILLION_PARK_SCALE[park.name]
        elif park.name == CORRECTED_PARK:
            value = CORRECTED_FROM_TO[0]
        else:
            value = round(rng.uniform(600.0, 8800.0), 1)  # the other parks stay well below the line
        period = rng.choice(("2024", "2024年"))
        rows.append((TRILLION_PARKS, period, park.name, _number(value, rng), rng.choice(TRILLION_SOURCES), ""))
    rows.insert(rng.randint(2, len(rows)), UNKNOWN_KPI_ROW)
    return rows


def correction_rows() -> list[tuple[str, ...]]:
    return [
        (TRILLION_PARKS, "2024", CORRECTED_PARK, f"{CORRECTED_FROM_TO[1]}", "张江管委会", "更正：补报临港新片区数据")
    ]


def write_manual_statistics(settings: ManualStatisticsSettings, ref: ReferenceData | None = None) -> FeedSummary:
    started = time.perf_counter()
    ref = ref or load_reference()
    summary = FeedSummary(
        feed=FEED,
        headline=(
            f"manual_statistics {settings.start}..{settings.end} seed={settings.seed} -> {settings.landing / FEED}"
        ),
        row_defect_kinds=ROW_DEFECT_KINDS,
    )
    deliveries = [(settings.start, first_delivery_rows(settings, ref))]
    if settings.correction_day is not None:
        deliveries.append((settings.correction_day, correction_rows()))
    written: dict[date, set[str]] = {}
    for day, rows in deliveries:
        name = file_name(day)
        write_file(settings.landing / FEED / day.isoformat() / name, csv_bytes(HEADERS, rows, "csv-utf8-bom", "\r\n"))
        written[day] = {name}
        defects = sum(row[0] == UNKNOWN_KPI_ROW[0] for row in rows)
        report = FeedFile(path=f"{FEED}/{day.isoformat()}/{name}", file_format="csv-utf8-bom", rows=len(rows))
        if defects:
            report.row_defects["unknown_kpi_code"] = defects
            summary.row_defects["unknown_kpi_code"] += defects
        summary.files.append(report)
    root = settings.landing / FEED
    if root.is_dir():  # every delivery folder of the range is ours: drop what this run did not write
        for folder in sorted(root.iterdir()):
            try:
                day = date.fromisoformat(folder.name)
            except ValueError:
                continue
            if settings.start <= day <= settings.end:
                summary.removed_stale_files += clean_folder(folder, written.get(day, set()), FILE_PATTERN)
    first_rows = deliveries[0][1]
    above = sorted(row[2] for row in first_rows if row[0] == TRILLION_PARKS and float(row[3].replace(",", "")) >= 10000)
    summary.notes = [
        f"deliveries {', '.join(str(day) for day, _ in deliveries)}; 2024 parks >= 10,000 亿元 first: "
        f"{len(above)} ({', '.join(above)})"
        + (f", after the correction of {CORRECTED_PARK}: {len(above) + 1}" if len(deliveries) > 1 else "")
    ]
    summary.elapsed_seconds = time.perf_counter() - started
    return summary


def format_manual_statistics_summary(summary: FeedSummary) -> str:
    return format_feed_summary(summary)
