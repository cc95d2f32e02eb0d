"""Incubator monthly reports (孵化器月报, feed 3): one workbook per incubator and month.

About 120 incubators (FH0001...) with a level, a park and an area; 15-20 of them 高质量孵化器,
two more designated during the range so the KPI moves. Every month each one's figures evolve
(new incubatees in, graduates out, a cumulative graduate count that never falls) and its report
for month M is delivered in folder M+1 (about 5% late in M+2; about 3% resubmitted later with
corrected figures, half under the same file name, half as ``<id>_<YYYYMM>_更正.xlsx``).

About 60% of the workbooks carry the sheet 在孵企业名单: the incubatees at month end, mostly
tech firms of the incubator's park that the registrations feed had delivered before the report
was compiled (``shared.KnownFirmRegistry``), about 1% firms registered elsewhere. A firm is the
tenant of one incubator at a time and never returns after leaving.

Defects are planted, not drawn: every delivery folder gets ``DEFECTS_PER_FOLDER`` workbooks with
one defect each, dealt from a deck of all kinds, so any three-month range shows every kind.
"""

from __future__ import annotations

import io
import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from random import Random

from openpyxl import Workbook

from parkops.xlsx import freeze_xlsx
from parkops_tools.generator import vocab
from parkops_tools.generator.defects import UNKNOWN_PARK_NAMES, corrupt_uscc
from parkops_tools.generator.refdata import Park
from parkops_tools.generator.registrations import RegistrationSettings
from parkops_tools.generator.rendering import full_width
from parkops_tools.generator.roster import BIG_PARKS, CORE_PARK, park_short_name
from parkops_tools.generator.shared import (
    FeedFile,
    FeedSummary,
    KindDealer,
    KnownFirmHistory,
    KnownFirmRegistry,
    RegistrationLink,
    add_months,
    clean_folder,
    format_feed_summary,
    month_end,
    month_start,
    outsider_firm,
)
from parkops_tools.generator.writers import write_file

FEED = "incubator_reports"
REPORT_SHEET = "月报"
TENANT_SHEET = "在孵企业名单"

#: Canonical field -> contract header (sources.md section 3), in the contract's order.
FIELD_HEADERS = {
    "incubator_id": "孵化器编号",
    "incubator_name": "孵化器名称",
    "level": "级别",
    "is_high_quality": "高质量孵化器",
    "park_name": "所属园区",
    "report_month": "报告期",
    "incubation_area_m2": "孵化场地面积（平方米）",
    "incubatees": "在孵企业数",
    "new_incubatees": "当期新增在孵企业数",
    "graduated": "当期毕业企业数",
    "graduated_cumulative": "累计毕业企业数",
    "funded_incubatees": "当期获投融资企业数",
    "funding_10k": "当期融资金额（万元）",
    "ip_granted": "知识产权授权数",
    "incubatee_employees": "在孵企业从业人员数",
    "incubatee_revenue_10k": "在孵企业营业收入（万元）",
}
FIELDS = tuple(FIELD_HEADERS)
COUNT_FIELDS = frozenset(
    {
        "incubatees",
        "new_incubatees",
        "graduated",
        "graduated_cumulative",
        "funded_incubatees",
        "ip_granted",
        "incubatee_employees",
    }
)
AMOUNT_FIELDS = frozenset({"incubation_area_m2", "funding_10k", "incubatee_revenue_10k"})
TENANT_USCC_HEADER = "统一社会信用代码"
TENANT_NAME_HEADER = "企业名称"

LEVEL_NATIONAL = "国家级"
LEVEL_CITY = "市级"
LEVEL_DISTRICT = "区级"
LEVELS = (LEVEL_NATIONAL, LEVEL_CITY, LEVEL_DISTRICT)
LEVEL_WEIGHTS = (15.0, 35.0, 50.0)
#: Odds of being (or becoming) 高质量 by level: the designation follows the national/city lists.
HIGH_QUALITY_ODDS = {LEVEL_NATIONAL: 4.0, LEVEL_CITY: 2.0, LEVEL_DISTRICT: 0.5}
INITIAL_HIGH_QUALITY = (15, 18)
DESIGNATED_DURING_RANGE = 2
YES, NO = "是", "否"

NAME_SUFFIXES = ("孵化器", "众创空间", "科技企业孵化器", "创业孵化基地", "加速器")
NAME_SUFFIX_WEIGHTS = (40.0, 30.0, 15.0, 8.0, 7.0)
EXTRA_COLUMNS = ("填报人", "备注", "联系电话")
AREA_RANGE_M2 = (1000.0, 60000.0)
INCUBATEES_RANGE = (10, 300)
TENANT_SHEET_SHARE = 0.6
UNKNOWN_TENANT_SHARE = 0.01
#: Incubatees are young: firms up to this age come first when a list is filled.
YOUNG_FIRM_YEARS = 6

LATE_SHARE = 0.05
RESUBMITTED_SHARE = 0.03
CORRECTION_SUFFIX = "_更正"
#: Reports for month M are compiled from day 10 of M+1: tenants are firms delivered by day 9.
SUBMISSION_DAYS = (10, 20)
KNOWLEDGE_CUTOFF_DAY = 9

FILE_MISSING_COLUMN = "missing_required_column"
FILE_NO_REPORT_SHEET = "no_report_sheet"
FILE_CORRUPT_XLSX = "corrupt_xlsx"
#: How a workbook came to be in its folder (summary only).
DELIVERY_ON_TIME = "on_time"
DELIVERY_LATE = "late"
DELIVERY_RESUBMISSION = "resubmission"
DELIVERY_RESUBMISSION_RENAMED = "resubmission_renamed"
REJECTED_FILE_DEFECTS = (FILE_MISSING_COLUMN, FILE_NO_REPORT_SHEET, FILE_CORRUPT_XLSX)
REPORT_ROW_DEFECTS = (
    "bad_level",
    "bad_yes_no",
    "unknown_park",
    "bad_report_month",
    "report_month_not_before_delivery",
    "negative_amount",
    "non_integer_count",
    "funded_exceeds_incubatees",
    "graduated_cumulative_decrease",
)
TENANT_ROW_DEFECTS = ("tenant_invalid_uscc", "tenant_duplicate_uscc")
ROW_DEFECT_KINDS = REPORT_ROW_DEFECTS + TENANT_ROW_DEFECTS
DEFECT_KINDS = REJECTED_FILE_DEFECTS + ROW_DEFECT_KINDS
#: 14 kinds over 3 folders: five defective workbooks per folder show every kind in three months.
DEFECTS_PER_FOLDER = 5
MISSING_COLUMN_FIELD = "incubator_id"
BAD_LEVELS = ("省级", "国家级（拟）", "县级", "A级")
BAD_YES_NO = ("待定", "Y", "高质量", "申报中")
BAD_REPORT_MONTHS = ("{y}-13", "{y}.{m:02d}", "{m}月份", "{y}年第{m}期")
NON_INTEGER_COUNTS = ("约{n}", "{n}家", "{n}+")
REJECTED_SHEET_TITLES = ("Sheet1", "月度报表", "报表")

#: Months of reports and clean deliveries kept behind the current folder: a folder holds reports
#: of months F - 1 .. F - 4 (a resubmission two folders after a late report) and looks at the
#: month before each; two more for margin.
REPORT_MEMORY_MONTHS = 7

FILE_PATTERN = re.compile(r"FH\d{4}_\d{6}(_更正)?\.xlsx$")
_FULL_WIDTH_DIGITS = str.maketrans({str(d): chr(ord("０") + d) for d in range(10)})


@dataclass(frozen=True)
class IncubatorSettings:
    landing: Path
    start: date
    end: date
    seed: int = 20250101
    incubators: int = 120
    #: The registrations feed the tenant lists link to (the options ``registrations`` was run with).
    registrations: RegistrationLink = field(default_factory=RegistrationLink)

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"--to {self.end} is before --from {self.start}")
        if not 1 <= self.incubators <= 9999:
            raise ValueError(f"--incubators must be within 1..9999, got {self.incubators}")

    def registration_settings(self) -> RegistrationSettings:
        return self.registrations.settings(self.landing, self.start, self.end, self.seed)

    @property
    def folders(self) -> list[date]:
        """Delivery months (first days) whose month lies within [start, end]."""
        months = []
        month = month_start(self.start)
        while month <= self.end:
            months.append(month)
            month = add_months(month, 1)
        return months

    @property
    def report_months(self) -> list[date]:
        """Months whose reports can land in the folders: late ones reach back two months."""
        first = add_months(self.folders[0], -2)
        return [add_months(first, i) for i in range(len(self.folders) + 1)]


@dataclass
class Incubator:
    incubator_id: str
    name: str
    level: str
    park: Park
    area_m2: float
    founded: int
    high_quality_from: date | None  # first report month flagged 是 (date.min: before the range)
    has_tenant_sheet: bool
    fields: tuple[str, ...]  # header order of its template
    extra_column: str | None
    month_style: int
    text_number_share: float
    tenant_headers: tuple[str, ...]
    reporter: str
    # evolving state
    incubatees: int = 0
    graduated_cumulative: int = 0
    tenants: list[str] = field(default_factory=list)

    def is_high_quality(self, month: date) -> bool:
        return self.high_quality_from is not None and month >= self.high_quality_from


@dataclass
class MonthlyReport:
    incubator: Incubator
    month: date
    values: dict[str, object]
    tenants: list[tuple[str, str]]  # (uscc, name)
    unknown_tenants: int = 0


@dataclass
class Delivery:
    """One workbook in one folder: the on-time or late report, or a resubmission."""

    report: MonthlyReport
    folder: date
    name: str
    kind: str  # DELIVERY_ON_TIME, DELIVERY_LATE, DELIVERY_RESUBMISSION or DELIVERY_RESUBMISSION_RENAMED
    submitted: datetime
    defect: str | None = None
    values: dict[str, object] = field(default_factory=dict)
    tenants: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_resubmission(self) -> bool:
        return self.kind in (DELIVERY_RESUBMISSION, DELIVERY_RESUBMISSION_RENAMED)


def report_file_name(incubator_id: str, month: date, corrected: bool = False) -> str:
    return f"{incubator_id}_{month:%Y%m}{CORRECTION_SUFFIX if corrected else ''}.xlsx"


def month_text(month: date, style: int) -> str:
    """The three report-period formats of the contract: 2025-03, 202503, 2025年3月."""
    if style == 0:
        return f"{month:%Y-%m}"
    if style == 1:
        return f"{month:%Y%m}"
    return f"{month.year}年{month.month}月"


class IncubatorSimulation:
    """Incubators, their monthly figures and tenant lists, and the deliveries of the range."""

    def __init__(self, settings: IncubatorSettings, history: KnownFirmHistory) -> None:
        self.settings = settings
        self.ref = history.ref
        self.registry = KnownFirmRegistry(history)
        self._outsiders = history.outsider_factory()
        self._ever_tenant: set[str] = set()
        self._outsider_names: dict[str, str] = {}  # tenants registered elsewhere: uscc -> name
        self.incubators = self._build_incubators()
        self.reports: dict[tuple[str, date], MonthlyReport] = {}

    # --- the incubators ---------------------------------------------------------------------

    def _build_incubators(self) -> list[Incubator]:
        settings = self.settings
        rng = Random(f"{settings.seed}|incubators|{settings.incubators}")
        names: set[str] = set()
        person_names = self._outsiders  # any factory draws person names the same way
        park_weights = [_park_weight(park) for park in self.ref.parks]
        # Levels in exact proportions (a small list drawn at random strays far from the shares).
        total_weight = sum(LEVEL_WEIGHTS)
        levels = [
            level
            for level, weight in zip(LEVELS[:-1], LEVEL_WEIGHTS[:-1], strict=True)
            for _ in range(round(settings.incubators * weight / total_weight))
        ]
        levels = (levels + [LEVELS[-1]] * settings.incubators)[: settings.incubators]
        rng.shuffle(levels)
        incubators = []
        for number in range(1, settings.incubators + 1):
            park = rng.choices(self.ref.parks, weights=park_weights, k=1)[0]
            level = levels[number - 1]
            name = ""
            while not name or name in names:
                trade = "".join(rng.choice(vocab.TRADE_NAME_CHARS) for _ in range(2))
                suffix = rng.choices(NAME_SUFFIXES, weights=NAME_SUFFIX_WEIGHTS, k=1)[0]
                name = f"{park_short_name(park)}{trade}{suffix}"
            names.add(name)
            fields = list(FIELDS)
            if rng.random() < 0.4:
                rng.shuffle(fields)
            area = math.exp(rng.uniform(math.log(AREA_RANGE_M2[0]), math.log(AREA_RANGE_M2[1])))
            area = float(round(area, -1)) if rng.random() < 0.7 else round(area, 2)
            tenant_headers = rng.choice(
                (
                    (TENANT_USCC_HEADER, TENANT_NAME_HEADER),
                    (TENANT_USCC_HEADER, TENANT_NAME_HEADER),
                    ("序号", TENANT_USCC_HEADER, TENANT_NAME_HEADER),
                    (TENANT_USCC_HEADER,),
                )
            )
            incubator = Incubator(
                incubator_id=f"FH{number:04d}",
                name=name,
                level=level,
                park=park,
                area_m2=area,
                founded=rng.randint(2000, 2022),
                high_quality_from=None,
                has_tenant_sheet=False,  # exactly TENANT_SHEET_SHARE of them, below
                fields=tuple(fields),
                extra_column=rng.choice(EXTRA_COLUMNS) if rng.random() < 0.1 else None,
                month_style=rng.choices((0, 1, 2), weights=(60, 20, 20), k=1)[0],
                text_number_share=rng.choice((0.0, 0.0, 0.0, 0.3)),
                tenant_headers=tenant_headers,
                reporter=person_names.person_name(rng),
            )
            low, high = INCUBATEES_RANGE
            incubator.incubatees = min(high, max(low, round(area / rng.uniform(120.0, 250.0))))
            years = max(1, 2024 - incubator.founded)
            incubator.graduated_cumulative = round(years * incubator.incubatees * rng.uniform(0.1, 0.3))
            incubators.append(incubator)
        for incubator in rng.sample(incubators, round(len(incubators) * TENANT_SHEET_SHARE)):
            incubator.has_tenant_sheet = True
        self._designate_high_quality(rng, incubators)
        return incubators

    def _designate_high_quality(self, rng: Random, incubators: list[Incubator]) -> None:
        """15-18 high-quality from the start, two more designated in months of the range."""
        pool = list(incubators)
        chosen: list[Incubator] = []
        wanted = min(len(pool), rng.randint(*INITIAL_HIGH_QUALITY) + DESIGNATED_DURING_RANGE)
        while len(chosen) < wanted:
            weights = [HIGH_QUALITY_ODDS[i.level] for i in pool]
            pick = rng.choices(pool, weights=weights, k=1)[0]
            pool.remove(pick)
            chosen.append(pick)
        designated = chosen[len(chosen) - DESIGNATED_DURING_RANGE :] if len(chosen) > DESIGNATED_DURING_RANGE else []
        for incubator in chosen:
            incubator.high_quality_from = date.min
        # Designations fall on report months delivered on time within the range, after the first
        # of them, so the count visibly moves between consecutive reports.
        on_time_months = [add_months(folder, -1) for folder in self.settings.folders]
        for index, incubator in enumerate(designated):
            position = 1 + (len(on_time_months) - 1) * index // DESIGNATED_DURING_RANGE
            incubator.high_quality_from = on_time_months[min(position, len(on_time_months) - 1)]

    # --- months -------------------------------------------------------------------------------

    def run(self) -> list[Delivery]:
        """Every delivery of the range, by folder and name (small ranges; the writer streams)."""
        return [delivery for _, deliveries in self.folders() for delivery in deliveries]

    def folders(self) -> Iterator[tuple[date, list[Delivery]]]:
        """(folder, its deliveries by name) for every folder of the range, in order, each as soon
        as it is complete: folder F holds reports of months up to F - 1 (on time from F - 1, late
        from F - 2, resubmissions of earlier months), so it is yielded after month F - 1."""
        settings = self.settings
        folders = settings.folders
        pending: dict[date, list[Delivery]] = defaultdict(list)
        next_folder = 0
        for month in settings.report_months:
            # Tenants: firms delivered by the cutoff of the first folder the month can land in.
            first_folder = max(add_months(month, 1), folders[0])
            cutoff = min(first_folder + timedelta(days=KNOWLEDGE_CUTOFF_DAY - 1), settings.end)
            self.registry.advance_to(cutoff)
            rng = Random(f"{settings.seed}|incubator-month|{month}")
            steps = {i.incubator_id: self._step(i, month) for i in self.incubators}
            self._update_tenants(rng, month, steps)
            for incubator in self.incubators:
                report = self._report(incubator, month, steps[incubator.incubator_id])
                self.reports[(incubator.incubator_id, month)] = report
                for delivery in self._deliveries(report, folders):
                    pending[delivery.folder].append(delivery)
            while next_folder < len(folders) and folders[next_folder] <= add_months(month, 1):
                folder = folders[next_folder]
                next_folder += 1
                yield folder, sorted(pending.pop(folder, []), key=lambda d: d.name)
                # A folder's workbooks look back at most to the report month before a
                # resubmitted one (``previous_report``): older reports can go.
                horizon = add_months(folder, -REPORT_MEMORY_MONTHS)
                for key in [key for key in self.reports if key[1] < horizon]:
                    del self.reports[key]
        for folder in folders[next_folder:]:
            yield folder, sorted(pending.pop(folder, []), key=lambda d: d.name)

    def previous_report(self, delivery: Delivery) -> MonthlyReport | None:
        """The incubator's report of the month before the delivery's (for a cumulative defect)."""
        return self.reports.get((delivery.report.incubator.incubator_id, add_months(delivery.report.month, -1)))

    def _step(self, incubator: Incubator, month: date) -> dict[str, int]:
        """One month of an incubator's life: some in, some graduate, some leave."""
        rng = Random(f"{self.settings.seed}|incubator-step|{incubator.incubator_id}|{month}")
        current = incubator.incubatees
        new = round(current * rng.uniform(0.01, 0.07))
        graduated = round(current * rng.uniform(0.0, 0.04))
        left = round(current * rng.uniform(0.0, 0.02))
        following = current + new - graduated - left
        low, high = INCUBATEES_RANGE
        if following < low:
            new += low - following
            following = low
        elif following > high:
            new = max(0, new - (following - high))
            following = current + new - graduated - left
        incubator.incubatees = following
        incubator.graduated_cumulative += graduated
        return {"new": new, "graduated": graduated, "left": left}

    def _update_tenants(self, rng: Random, month: date, steps: dict[str, dict[str, int]]) -> None:
        """Leavers out, then each park's unassigned known tech firms dealt round-robin to its
        incubators until their lists reach their incubatee counts or the firms run out."""
        listing = [i for i in self.incubators if i.has_tenant_sheet]
        for incubator in listing:
            step = steps[incubator.incubator_id]
            leaving = min(len(incubator.tenants), step["graduated"] + step["left"])
            for _ in range(leaving):
                incubator.tenants.pop(rng.randrange(len(incubator.tenants)))
            incubator.tenants = [
                uscc
                for uscc in incubator.tenants
                if uscc not in self.registry.firms or self.registry.firms[uscc].active
            ]
        last_day = month_end(month)
        young_since = last_day - timedelta(days=round(YOUNG_FIRM_YEARS * 365.25))
        by_park: dict[str, list[Incubator]] = defaultdict(list)
        for incubator in listing:
            by_park[incubator.park.name].append(incubator)
        for park in self.ref.parks:
            incubators = by_park.get(park.name)
            if not incubators:
                continue
            young, older = [], []
            for uscc in self.registry.tech_by_park[park.name]:
                firm = self.registry.firms[uscc]
                if uscc in self._ever_tenant or firm.established > last_day:
                    continue
                (young if firm.established >= young_since else older).append(uscc)
            rng.shuffle(young)
            rng.shuffle(older)
            candidates = young + older
            candidates.reverse()  # pop() from the end takes young firms first
            rng.shuffle(incubators)
            while candidates:
                hungry = [i for i in incubators if len(i.tenants) < i.incubatees]
                if not hungry:
                    break
                for incubator in hungry:
                    if not candidates:
                        break
                    if rng.random() < UNKNOWN_TENANT_SHARE:
                        outsider = outsider_firm(self._outsiders, rng, park, last_day)
                        self._outsider_names[outsider.uscc] = outsider.name
                        incubator.tenants.append(outsider.uscc)
                        continue
                    uscc = candidates.pop()
                    self._ever_tenant.add(uscc)
                    incubator.tenants.append(uscc)

    def _report(self, incubator: Incubator, month: date, step: dict[str, int]) -> MonthlyReport:
        rng = Random(f"{self.settings.seed}|incubator-figures|{incubator.incubator_id}|{month}")
        incubatees = incubator.incubatees
        funded = min(incubatees, round(incubatees * rng.uniform(0.0, 0.08)))
        funding = sum(math.exp(rng.gauss(math.log(600.0), 0.9)) for _ in range(funded))
        values: dict[str, object] = {
            "incubator_id": incubator.incubator_id,
            "incubator_name": incubator.name,
            "level": incubator.level,
            "is_high_quality": YES if incubator.is_high_quality(month) else NO,
            "park_name": incubator.park.name,
            "report_month": month,
            "incubation_area_m2": incubator.area_m2,
            "incubatees": incubatees,
            "new_incubatees": step["new"],
            "graduated": step["graduated"],
            "graduated_cumulative": incubator.graduated_cumulative,
            "funded_incubatees": funded,
            "funding_10k": round(funding, 2),
            "ip_granted": round(incubatees * rng.uniform(0.02, 0.25)),
            "incubatee_employees": round(incubatees * rng.uniform(8.0, 25.0)),
            "incubatee_revenue_10k": round(incubatees * rng.uniform(15.0, 150.0), 2),
        }
        tenants = []
        unknown = 0
        if incubator.has_tenant_sheet:
            for uscc in incubator.tenants:
                firm = self.registry.firms.get(uscc)
                if firm is None:
                    unknown += 1
                    tenants.append((uscc, self._outsider_names[uscc]))
                else:
                    tenants.append((uscc, firm.name))
        return MonthlyReport(incubator, month, values, tenants, unknown)

    def _deliveries(self, report: MonthlyReport, folders: list[date]) -> list[Delivery]:
        """On time in M+1 or late in M+2; sometimes resubmitted corrected one or two folders later."""
        incubator = report.incubator
        rng = Random(f"{self.settings.seed}|incubator-delivery|{incubator.incubator_id}|{report.month}")
        late = rng.random() < LATE_SHARE
        folder = add_months(report.month, 2 if late else 1)
        resubmitted = rng.random() < RESUBMITTED_SHARE
        renamed = rng.random() < 0.5
        resubmission_folder = add_months(folder, rng.randint(1, 2))
        deliveries = []
        if folder in folders:
            deliveries.append(
                Delivery(
                    report,
                    folder,
                    report_file_name(incubator.incubator_id, report.month),
                    DELIVERY_LATE if late else DELIVERY_ON_TIME,
                    _submitted(rng, folder),
                    values=dict(report.values),
                    tenants=list(report.tenants),
                )
            )
        if resubmitted and resubmission_folder in folders:
            values = dict(report.values)
            values["incubatee_employees"] = round(int(values["incubatee_employees"]) * rng.uniform(0.9, 1.1))
            values["incubatee_revenue_10k"] = round(float(values["incubatee_revenue_10k"]) * rng.uniform(0.85, 1.15), 2)
            values["ip_granted"] = int(values["ip_granted"]) + rng.randint(0, 3)
            deliveries.append(
                Delivery(
                    report,
                    resubmission_folder,
                    report_file_name(incubator.incubator_id, report.month, corrected=renamed),
                    DELIVERY_RESUBMISSION_RENAMED if renamed else DELIVERY_RESUBMISSION,
                    _submitted(rng, resubmission_folder),
                    values=values,
                    tenants=list(report.tenants),
                )
            )
        return deliveries


def _park_weight(park: Park) -> float:
    """Incubators cluster where the science is: the core park first, then the big parks."""
    if park.name == CORE_PARK:
        return 10.0
    if park.name in BIG_PARKS:
        return 4.0
    return 1.5 if park.publicly_confirmed else 1.0


def _submitted(rng: Random, folder: date) -> datetime:
    day = min(rng.randint(*SUBMISSION_DAYS), month_end(folder).day)
    return datetime(folder.year, folder.month, day, rng.randint(9, 17), rng.randrange(60), 0)


# --- defects -------------------------------------------------------------------------------------


class DefectPlanter:
    """Each folder, in order: ``DEFECTS_PER_FOLDER`` first deliveries (never resubmissions) get
    one kind each from the deck. A kind no workbook of the folder can carry waits for the next."""

    def __init__(self, settings: IncubatorSettings) -> None:
        self.seed = settings.seed
        self.dealer = KindDealer(settings.seed, "incubator-defects", 1.0, DEFECT_KINDS)
        # First clean delivery per (incubator, report month), earlier folders; recent months only.
        self.clean_before: dict[tuple[str, date], Delivery] = {}

    def plant(self, folder: date, deliveries: list[Delivery]) -> None:
        clean_before = self.clean_before
        rng = Random(f"{self.seed}|incubator-defect-targets|{folder}")
        eligible = [d for d in deliveries if not d.is_resubmission]
        planted = 0
        postponed: list[str] = []
        for _ in range(len(DEFECT_KINDS) * 2):
            if planted == DEFECTS_PER_FOLDER or not eligible:
                break
            kind = self.dealer.draw()
            targets = [d for d in eligible if _can_carry(kind, d, clean_before)]
            if not targets:
                postponed.append(kind)
                continue
            target = rng.choice(targets)
            eligible.remove(target)
            target.defect = kind
            planted += 1
        for kind in reversed(postponed):
            self.dealer.give_back(kind)
        for delivery in deliveries:
            if delivery.defect is None:
                clean_before.setdefault((delivery.report.incubator.incubator_id, delivery.report.month), delivery)
        # Later folders look up the month before their reports' months, never further back.
        horizon = add_months(folder, -REPORT_MEMORY_MONTHS)
        for key in [key for key in clean_before if key[1] < horizon]:
            del clean_before[key]


def plant_defects(settings: IncubatorSettings, deliveries: list[Delivery]) -> None:
    """``DefectPlanter`` over a whole list of deliveries (sorted by folder and name)."""
    planter = DefectPlanter(settings)
    by_folder: dict[date, list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        by_folder[delivery.folder].append(delivery)
    for folder in sorted(by_folder):
        planter.plant(folder, by_folder[folder])


def _can_carry(kind: str, delivery: Delivery, clean_before: dict[tuple[str, date], Delivery]) -> bool:
    if kind in TENANT_ROW_DEFECTS:
        return len(delivery.tenants) >= 2
    if kind == "graduated_cumulative_decrease":
        previous = clean_before.get((delivery.report.incubator.incubator_id, add_months(delivery.report.month, -1)))
        return previous is not None and int(previous.values["graduated_cumulative"]) > 0
    return True


def apply_defect(delivery: Delivery, rng: Random, clean_before_value: int | None, known_parks: set[str]) -> None:
    """Break exactly the rule the kind names (file-level kinds are applied when writing)."""
    kind = delivery.defect
    values = delivery.values
    month = delivery.report.month
    if kind == "bad_level":
        values["level"] = rng.choice(BAD_LEVELS)
    elif kind == "bad_yes_no":
        values["is_high_quality"] = rng.choice(BAD_YES_NO)
    elif kind == "unknown_park":
        values["park_name"] = rng.choice([name for name in UNKNOWN_PARK_NAMES if name not in known_parks])
    elif kind == "bad_report_month":
        values["report_month"] = rng.choice(BAD_REPORT_MONTHS).format(y=month.year, m=month.month)
    elif kind == "report_month_not_before_delivery":
        values["report_month"] = add_months(delivery.folder, rng.randint(0, 1))
    elif kind == "negative_amount":
        name = rng.choice(("funding_10k", "incubatee_revenue_10k", "incubation_area_m2"))
        amount = float(values[name])
        values[name] = -abs(amount) if amount else -100.0
    elif kind == "non_integer_count":
        name = rng.choice(("incubatees", "new_incubatees", "incubatee_employees"))
        count = int(values[name])
        values[name] = count + 0.5 if rng.random() < 0.5 else _Text(rng.choice(NON_INTEGER_COUNTS).format(n=count))
    elif kind == "funded_exceeds_incubatees":
        values["funded_incubatees"] = int(values["incubatees"]) + rng.randint(1, 20)
    elif kind == "graduated_cumulative_decrease":
        assert clean_before_value is not None
        values["graduated_cumulative"] = clean_before_value - rng.randint(1, min(5, clean_before_value))
    elif kind == "tenant_invalid_uscc":
        index = rng.randrange(len(delivery.tenants))
        uscc, name = delivery.tenants[index]
        delivery.tenants[index] = (corrupt_uscc("uscc_bad_final_check", uscc, rng), name)
    elif kind == "tenant_duplicate_uscc":
        source = rng.randrange(len(delivery.tenants) - 1)
        delivery.tenants.insert(rng.randint(source + 1, len(delivery.tenants)), delivery.tenants[source])


@dataclass(frozen=True, slots=True)
class _Text:
    """A cell written as literal text (a defect's wrong value)."""

    text: str


# --- workbooks -----------------------------------------------------------------------------------


class CellRenderer:
    def __init__(self, incubator: Incubator, rng: Random) -> None:
        self.incubator = incubator
        self.rng = rng

    def cell(self, name: str, value: object) -> object:
        if isinstance(value, _Text):
            return value.text
        if name == "report_month":
            if isinstance(value, str):
                return value
            assert isinstance(value, date)
            style = self.incubator.month_style if self.rng.random() < 0.95 else self.rng.randrange(3)
            return month_text(value, style)
        if name in COUNT_FIELDS or name in AMOUNT_FIELDS:
            assert isinstance(value, int | float)
            return self.number(value)
        return value

    def number(self, value: float) -> object:
        rng = self.rng
        if rng.random() >= self.incubator.text_number_share:
            return value
        text = f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
        roll = rng.random()
        if roll < 0.3:
            text = text.replace(",", "").translate(_FULL_WIDTH_DIGITS)
        elif roll < 0.5:
            text = f" {text} "
        return text

    def uscc(self, code: str) -> str:
        roll = self.rng.random()
        if roll < 0.01:
            return full_width(code)
        if roll < 0.02:
            return f" {code} "
        return code


def workbook_bytes(delivery: Delivery, seed: int) -> bytes:
    """The workbook of one delivery, byte-reproducible (fixed timestamps, see writers)."""
    incubator = delivery.report.incubator
    rng = Random(f"{seed}|incubator-render|{delivery.folder}|{delivery.name}")
    renderer = CellRenderer(incubator, rng)
    fields = [
        name
        for name in incubator.fields
        if not (delivery.defect == FILE_MISSING_COLUMN and name == MISSING_COLUMN_FIELD)
    ]
    headers = [FIELD_HEADERS[name] for name in fields]
    row = [renderer.cell(name, delivery.values[name]) for name in fields]
    if incubator.extra_column:
        headers.append(incubator.extra_column)
        row.append(_extra_value(incubator, rng))
    workbook = Workbook(write_only=True)
    workbook.properties.creator = "孵化器月报填报系统"
    workbook.properties.created = delivery.submitted
    title = rng.choice(REJECTED_SHEET_TITLES) if delivery.defect == FILE_NO_REPORT_SHEET else REPORT_SHEET
    sheet = workbook.create_sheet(title)
    sheet.append(headers)
    sheet.append(row)
    if incubator.has_tenant_sheet and delivery.tenants:
        tenants = workbook.create_sheet(TENANT_SHEET)
        tenants.append(list(incubator.tenant_headers))
        for number, (uscc, name) in enumerate(delivery.tenants, start=1):
            cells = {"序号": number, TENANT_USCC_HEADER: renderer.uscc(uscc), TENANT_NAME_HEADER: name}
            tenants.append([cells[header] for header in incubator.tenant_headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = freeze_xlsx(buffer.getvalue(), entry_time=delivery.submitted, modified_utc=delivery.submitted)
    if delivery.defect == FILE_CORRUPT_XLSX:
        data = data[: round(len(data) * rng.uniform(0.3, 0.7))]  # an upload cut short
    return data


def _extra_value(incubator: Incubator, rng: Random) -> object:
    if incubator.extra_column == "填报人":
        return incubator.reporter
    if incubator.extra_column == "联系电话":
        return rng.choice(vocab.MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
    return rng.choice(("", "", "数据已核对", "含新增场地", "本月无融资"))


# --- writing -------------------------------------------------------------------------------------


@dataclass
class IncubatorSummary(FeedSummary):
    settings: IncubatorSettings | None = None
    incubators: list[Incubator] = field(default_factory=list)
    #: Workbooks by how they came to be in their folder (``Delivery.kind``).
    delivery_kinds: Counter[str] = field(default_factory=Counter)
    #: High-quality count per report month by the latest loadable report (the KPI's view).
    high_quality_by_month: dict[date, int] = field(default_factory=dict)
    tenant_rows: int = 0
    unknown_tenant_rows: int = 0


def write_incubator_reports(settings: IncubatorSettings, history: KnownFirmHistory | None = None) -> IncubatorSummary:
    """Simulate and write every delivery folder of the range; return what was written.

    Streams folder by folder: a folder is written (and its deliveries dropped) as soon as the
    simulation has produced every report that can land in it.
    """
    started = time.perf_counter()
    history = history or KnownFirmHistory.replay(settings.registration_settings())
    simulation = IncubatorSimulation(settings, history)
    planter = DefectPlanter(settings)
    known_parks = {park.name for park in history.ref.parks}
    summary = IncubatorSummary(
        feed=FEED,
        headline=(
            f"incubator_reports {settings.start}..{settings.end} seed={settings.seed} "
            f"incubators={settings.incubators} -> {settings.landing / FEED}"
        ),
        row_defect_kinds=ROW_DEFECT_KINDS,
        row_unit="report rows",
        settings=settings,
        incubators=simulation.incubators,
    )
    latest_flags: dict[str, dict[date, bool]] = defaultdict(dict)
    for folder, deliveries in simulation.folders():
        planter.plant(folder, deliveries)
        written: set[str] = set()
        for delivery in deliveries:
            rng = Random(f"{settings.seed}|incubator-defect|{delivery.folder}|{delivery.name}")
            if delivery.defect in ROW_DEFECT_KINDS:
                previous = simulation.previous_report(delivery)
                before = int(previous.values["graduated_cumulative"]) if previous else None
                apply_defect(delivery, rng, before, known_parks)
            data = workbook_bytes(delivery, settings.seed)
            write_file(settings.landing / FEED / f"{delivery.folder:%Y-%m}" / delivery.name, data)
            written.add(delivery.name)
            row_defects: Counter[str] = Counter()
            if delivery.defect in ROW_DEFECT_KINDS:
                row_defects[delivery.defect] += 1
                summary.row_defects[delivery.defect] += 1
            listed = len(delivery.tenants) if delivery.report.incubator.has_tenant_sheet else 0
            summary.tenant_rows += listed
            summary.unknown_tenant_rows += delivery.report.unknown_tenants if listed else 0
            summary.delivery_kinds[delivery.kind] += 1
            summary.files.append(
                FeedFile(
                    path=f"{FEED}/{delivery.folder:%Y-%m}/{delivery.name}",
                    file_format="xlsx+tenants" if listed else "xlsx",
                    rows=1,
                    file_defect=delivery.defect if delivery.defect in REJECTED_FILE_DEFECTS else None,
                    row_defects=row_defects,
                )
            )
            if delivery.defect not in REJECTED_FILE_DEFECTS and delivery.defect not in REPORT_ROW_DEFECTS:
                latest_flags[delivery.report.incubator.incubator_id][delivery.report.month] = (
                    delivery.values["is_high_quality"] == YES
                )
        summary.removed_stale_files += clean_folder(settings.landing / FEED / f"{folder:%Y-%m}", written, FILE_PATTERN)
    summary.high_quality_by_month = _high_quality_by_month(latest_flags)
    summary.elapsed_seconds = time.perf_counter() - started
    summary.notes = incubator_notes(summary)
    return summary


def _high_quality_by_month(latest: dict[str, dict[date, bool]]) -> dict[date, int]:
    """measures.md: as of month M, incubators whose latest loadable report up to M says 是.

    ``latest``: per incubator, the flag of the latest loadable delivery of each report month.
    """
    months = sorted({month for flags in latest.values() for month in flags})
    counts = {}
    for month in months:
        count = 0
        for flags in latest.values():
            up_to = [m for m in flags if m <= month]
            if up_to and flags[max(up_to)]:
                count += 1
        counts[month] = count
    return counts


def incubator_notes(summary: IncubatorSummary) -> list[str]:
    incubators = summary.incubators
    levels = Counter(i.level for i in incubators)
    parks = Counter(i.park.name for i in incubators)
    kinds = summary.delivery_kinds
    notes = [
        f"incubators {len(incubators)}: "
        + ", ".join(f"{level} {levels[level]}" for level in LEVELS)
        + f"; parks {len(parks)} (most: "
        + ", ".join(f"{name} {count}" for name, count in parks.most_common(3))
        + f"); with tenant lists {sum(i.has_tenant_sheet for i in incubators)}",
        "workbooks: " + ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())),
        "high-quality incubators by report month: "
        + ", ".join(f"{month:%Y-%m} {count}" for month, count in summary.high_quality_by_month.items()),
        f"tenant rows {summary.tenant_rows:,}, of firms registered elsewhere {summary.unknown_tenant_rows}",
    ]
    return notes


def format_incubator_summary(summary: IncubatorSummary) -> str:
    return format_feed_summary(summary)
