"""Registration events (企业登记事件): simulation, delivery planning and file output.

The simulation walks event dates in order and changes the shared ``Population``; every event
is assigned, when it is created, to a delivery day (mostly the next day, up to 7 days late)
and to one file of that delivery. A delivery is written as soon as its last possible event
date has been simulated, so memory holds at most eight days of events however long the range
(3 years ~ 650k events stream through the same way).

Events are assigned to files up front because whether a row is loaded by the pipeline
(valid row in an accepted file) decides whether it may change enterprise state.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from pathlib import Path
from random import Random

from parkops_tools.generator import defects as defects_module
from parkops_tools.generator.defects import (
    FILE_MISSING_COLUMN,
    FILE_REDELIVERY,
    FILE_UNDECODABLE,
    MISSING_COLUMN_FIELD,
    REJECTED_FILE_DEFECTS,
    DefectDealer,
    apply_row_defect,
    corrupt_encoding,
)
from parkops_tools.generator.population import (
    ORIGIN_ESTABLISHED,
    ORIGIN_MOVED_IN,
    Enterprise,
    Population,
)
from parkops_tools.generator.refdata import ReferenceData, load_reference
from parkops_tools.generator.rendering import (
    FILE_FORMAT_WEIGHTS,
    FILE_FORMATS,
    FORMAT_CSV_UTF8_BOM,
    RowRenderer,
    draw_style,
)
from parkops_tools.generator.workdays import is_workday
from parkops_tools.generator.writers import csv_bytes, export_timestamp, write_file, xlsx_bytes

FEED = "registrations"

EVENT_ESTABLISH = "设立"
EVENT_CHANGE = "变更"
EVENT_DEREGISTER = "注销"
EVENT_REVOKE = "吊销"
EVENT_MOVE_IN = "迁入"
EVENT_MOVE_OUT = "迁出"
EVENT_TYPES = (EVENT_ESTABLISH, EVENT_CHANGE, EVENT_DEREGISTER, EVENT_REVOKE, EVENT_MOVE_IN, EVENT_MOVE_OUT)
EVENT_WEIGHTS = (45.0, 38.0, 7.0, 2.0, 5.0, 3.0)
CREATING_EVENTS = frozenset({EVENT_ESTABLISH, EVENT_MOVE_IN})
ENDING_EVENTS = frozenset({EVENT_DEREGISTER, EVENT_REVOKE, EVENT_MOVE_OUT})

#: Days between event date and delivery day: mostly the next day, a tail up to a week late.
DELIVERY_LAGS = (0, 1, 2, 3, 4, 5, 6, 7)
DELIVERY_LAG_WEIGHTS = (2.0, 80.0, 8.0, 4.0, 2.5, 1.5, 1.0, 1.0)
MAX_LAG = DELIVERY_LAGS[-1]
_LAG_CUM = tuple(accumulate(DELIVERY_LAG_WEIGHTS))
_EVENT_CUM = tuple(accumulate(EVENT_WEIGHTS))

#: Volume of a day relative to ``events_per_day``.
MONDAY_FACTOR = 1.15
ADJUSTED_WORKDAY_FACTOR = 0.9  # 调休 Saturdays/Sundays: offices open, fewer applicants
OFF_DAY_FACTOR_RANGE = (0.05, 0.10)

#: Files per delivery day (1, 2 or 3) and their odds.
FILE_COUNTS = (1, 2, 3)
FILE_COUNT_WEIGHTS = (35.0, 40.0, 25.0)
#: Share of a file-defect day's rows that go into the rejected file.
REJECTED_FILE_SHARE = 0.2
#: File-level defects are planned only for ranges at least this long.
MIN_DAYS_FOR_FILE_DEFECTS = 10


@dataclass(frozen=True)
class RegistrationSettings:
    landing: Path
    start: date
    end: date
    seed: int = 20250101
    defect_rate: float = 0.01
    events_per_day: int = 600
    population_size: int = 20000

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"--to {self.end} is before --from {self.start}")
        if not 0.0 <= self.defect_rate <= 0.5:
            raise ValueError(f"--defect-rate must be within 0..0.5, got {self.defect_rate}")
        if self.events_per_day < 0 or self.population_size < 1:
            raise ValueError("--events-per-day must be >= 0 and the population >= 1")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(slots=True)
class RegistrationEvent:
    """One event as the simulation decided it; ``loads`` = valid row in a file the pipeline accepts."""

    event_type: str
    event_date: date
    firm: Enterprise
    delivery: date
    slot: int
    defect: str | None
    in_rejected_file: bool

    @property
    def loads(self) -> bool:
        return self.defect is None and not self.in_rejected_file

    def typed_values(self) -> dict[str, object]:
        firm = self.firm
        return {
            "uscc": firm.uscc,
            "enterprise_name": firm.name,
            "event_type": self.event_type,
            "event_date": self.event_date,
            "established_date": firm.established,
            "enterprise_type": firm.enterprise_type,
            "registered_capital_10k": firm.capital_10k,
            "currency": firm.currency,
            "industry_code": firm.industry,
            "park_name": firm.park.name,
            "address": firm.address,
            "legal_representative": firm.legal_rep,
            "contact_phone": firm.phone,
            "qualification_tags": firm.tags,
            "insured_employees": firm.employees,
        }


@dataclass(frozen=True, slots=True)
class PlannedFile:
    name: str
    file_format: str
    weight: float
    file_defect: str | None


@dataclass(frozen=True)
class DeliveryPlan:
    """The files of one delivery day, decided before any of its events exist."""

    day: date
    files: tuple[PlannedFile, ...]
    redelivery_source: date | None = None
    slot_cum_weights: tuple[float, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "slot_cum_weights", tuple(accumulate(f.weight for f in self.files)))

    def choose_slot(self, rng: Random) -> int:
        return rng.choices(range(len(self.files)), cum_weights=self.slot_cum_weights, k=1)[0]

    def folder(self, landing: Path) -> Path:
        return landing / FEED / self.day.isoformat()


def file_name(delivery: date, sequence: int, file_format: str) -> str:
    extension = "xlsx" if file_format == "xlsx" else "csv"
    return f"reg_{delivery:%Y%m%d}_{sequence:02d}.{extension}"


def plan_file_defects(settings: RegistrationSettings) -> tuple[dict[date, str], date | None]:
    """Each file-level defect exactly once, on deterministic days other than the first.

    Returns {day: defect} and the source day of the redelivered file.
    """
    if settings.days < MIN_DAYS_FOR_FILE_DEFECTS:
        return {}, None
    rng = Random(f"{settings.seed}|file-defects|{settings.start}|{settings.end}")
    offsets = rng.sample(range(1, settings.days), 3)
    days = [settings.start + timedelta(days=offset) for offset in offsets]
    schedule = dict(zip(days, (FILE_MISSING_COLUMN, FILE_UNDECODABLE, FILE_REDELIVERY), strict=True))
    redelivery_day = days[2]
    candidates = [
        redelivery_day - timedelta(days=back)
        for back in range(1, 6)
        if redelivery_day - timedelta(days=back) >= settings.start
        and schedule.get(redelivery_day - timedelta(days=back)) not in REJECTED_FILE_DEFECTS
    ] or [settings.start]
    return schedule, rng.choice(candidates)


def plan_delivery(seed: int, day: date, file_defect: str | None, redelivery_source: date | None) -> DeliveryPlan:
    rng = Random(f"{seed}|delivery-plan|{day}")
    count = rng.choices(FILE_COUNTS, weights=FILE_COUNT_WEIGHTS, k=1)[0]
    rejected = file_defect in REJECTED_FILE_DEFECTS
    if rejected:
        count = max(count, 2)
    formats = rng.choices(FILE_FORMATS, weights=FILE_FORMAT_WEIGHTS, k=count)
    weights = [rng.uniform(0.5, 1.5) for _ in range(count)]
    if rejected:
        if file_defect == FILE_UNDECODABLE:
            formats[-1] = FORMAT_CSV_UTF8_BOM
        others = sum(weights[:-1])
        weights[-1] = others * REJECTED_FILE_SHARE / (1.0 - REJECTED_FILE_SHARE)
    files = tuple(
        PlannedFile(
            name=file_name(day, index + 1, formats[index]),
            file_format=formats[index],
            weight=weights[index],
            file_defect=file_defect if rejected and index == count - 1 else None,
        )
        for index in range(count)
    )
    return DeliveryPlan(day=day, files=files, redelivery_source=redelivery_source)


class RegistrationSimulation:
    """Walks event dates, evolves the population, and yields each delivery once it is complete.

    Writes nothing: file output is ``write_registrations``; a future visits/incubators
    generator can run this to get the same population at every date without any files.
    """

    def __init__(self, settings: RegistrationSettings, ref: ReferenceData | None = None) -> None:
        self.settings = settings
        self.ref = ref or load_reference()
        self.first_event_date = settings.start - timedelta(days=MAX_LAG)
        self.population = Population.build(
            self.ref, settings.seed, as_of=self.first_event_date - timedelta(days=1), size=settings.population_size
        )
        self.file_defects, self.redelivery_source = plan_file_defects(settings)
        self.dealer = DefectDealer(settings.seed, settings.defect_rate)
        self._plans: dict[date, DeliveryPlan] = {}

    def plan(self, day: date) -> DeliveryPlan:
        if day not in self._plans:
            defect = self.file_defects.get(day)
            source = self.redelivery_source if defect == FILE_REDELIVERY else None
            self._plans[day] = plan_delivery(self.settings.seed, day, defect, source)
        return self._plans[day]

    def day_volume(self, rng: Random, day: date) -> int:
        base = self.settings.events_per_day
        if is_workday(day):
            if day.weekday() >= 5:
                factor = ADJUSTED_WORKDAY_FACTOR
            elif day.weekday() == 0:
                factor = MONDAY_FACTOR
            else:
                factor = 1.0
        else:
            factor = rng.uniform(*OFF_DAY_FACTOR_RANGE)
        return max(0, round(base * factor * rng.gauss(1.0, 0.05)))

    def run(self) -> Iterator[tuple[DeliveryPlan, list[RegistrationEvent]]]:
        """Yield (plan, events) per delivery day of the range, in order."""
        settings = self.settings
        pending: dict[date, list[RegistrationEvent]] = {}
        day = self.first_event_date
        while day <= settings.end:
            self._simulate_day(day, pending)
            if day >= settings.start:
                yield self.plan(day), pending.pop(day, [])
                self._plans.pop(day, None)
            day += timedelta(days=1)

    def _simulate_day(self, event_date: date, pending: dict[date, list[RegistrationEvent]]) -> None:
        settings = self.settings
        rng = Random(f"{settings.seed}|events|{event_date}")
        self.population.promote(event_date)
        factory = self.population.factory
        for _ in range(self.day_volume(rng, event_date)):
            delivery = event_date + timedelta(days=rng.choices(DELIVERY_LAGS, cum_weights=_LAG_CUM, k=1)[0])
            if not settings.start <= delivery <= settings.end:
                continue  # delivered outside the requested range: never exists
            event_type = rng.choices(EVENT_TYPES, cum_weights=_EVENT_CUM, k=1)[0]
            plan = self.plan(delivery)
            slot = plan.choose_slot(rng)
            in_rejected_file = plan.files[slot].file_defect in REJECTED_FILE_DEFECTS
            if event_type == EVENT_ESTABLISH:
                firm = factory.create(rng, event_date, ORIGIN_ESTABLISHED, as_of=event_date)
            elif event_type == EVENT_MOVE_IN:
                established = event_date - timedelta(days=rng.randint(180, 15 * 365))
                firm = factory.create(rng, established, ORIGIN_MOVED_IN, as_of=event_date)
            else:
                picked = self.population.pick(rng, event_date, spare_key=event_type in ENDING_EVENTS)
                if picked is None:
                    continue
                firm = factory.changed(rng, picked, event_date) if event_type == EVENT_CHANGE else picked
            defect = None if in_rejected_file else self.dealer.next()
            event = RegistrationEvent(event_type, event_date, firm, delivery, slot, defect, in_rejected_file)
            if event.loads:
                self._apply(event)
            pending.setdefault(delivery, []).append(event)

    def _apply(self, event: RegistrationEvent) -> None:
        if event.event_type in CREATING_EVENTS:
            self.population.add_new(event.firm, event.event_date)
        elif event.event_type == EVENT_CHANGE:
            self.population.update(event.firm)
        else:
            self.population.end(event.firm)


@dataclass
class FileReport:
    path: str  # relative to the landing root
    file_format: str
    rows: int
    file_defect: str | None = None
    row_defects: Counter[str] = field(default_factory=Counter)


@dataclass
class RegistrationSummary:
    settings: RegistrationSettings
    files: list[FileReport] = field(default_factory=list)
    row_defects: Counter[str] = field(default_factory=Counter)
    new_tech_by_date: Counter[date] = field(default_factory=Counter)
    loaded_by_date: Counter[date] = field(default_factory=Counter)
    events_by_type: Counter[str] = field(default_factory=Counter)
    removed_stale_files: int = 0
    elapsed_seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    def file_defects(self) -> dict[str, str]:
        return {f.file_defect: f.path for f in self.files if f.file_defect}


def _render_file(
    planned: PlannedFile, plan: DeliveryPlan, events: list[RegistrationEvent], seed: int, ref: ReferenceData
) -> tuple[bytes, Counter[str]]:
    rng = Random(f"{seed}|render|{plan.day}|{planned.name}")
    style = draw_style(rng, planned.file_format)
    drop_field = MISSING_COLUMN_FIELD if planned.file_defect == FILE_MISSING_COLUMN else None
    renderer = RowRenderer(style, rng, drop_field=drop_field)
    row_defects: Counter[str] = Counter()
    rows = []
    for event in sorted(events, key=lambda e: e.event_date):
        values = event.typed_values()
        if rng.random() < 0.02:
            values["contact_phone"] = None
        if rng.random() < 0.003:
            values["address"] = None
        if event.defect:
            apply_row_defect(event.defect, values, plan.day, rng, ref)
            row_defects[event.defect] += 1
        rows.append(renderer.render(values))
    headers = style.headers(drop_field)
    if style.is_xlsx:
        notes = ("本表由企业登记系统导出，仅含张江高新区范围内企业。", f"导出日期：{plan.day.isoformat()}")
        data = xlsx_bytes(
            headers,
            rows,
            sheet_title=style.sheet_title,
            timestamp=export_timestamp(plan.day),
            notes=notes if style.notes_sheet else (),
        )
    else:
        data = csv_bytes(headers, rows, style.file_format, style.line_terminator)
    if planned.file_defect == FILE_UNDECODABLE:
        data = corrupt_encoding(data, rng)
    return data, row_defects


def _clean_folder(folder: Path, keep: set[str]) -> int:
    """Remove generator files of an earlier run that this run does not produce (no leftovers)."""
    removed = 0
    if not folder.is_dir():
        return 0
    for path in sorted(folder.iterdir()):
        ours = path.name.startswith("reg_") and path.suffix in {".csv", ".xlsx"}
        partial = path.name.startswith(".reg_") and path.name.endswith(".partial")
        if (ours and path.name not in keep) or partial:
            path.unlink()
            removed += 1
    return removed


def write_registrations(
    settings: RegistrationSettings, simulation: RegistrationSimulation | None = None
) -> RegistrationSummary:
    """Simulate and write every delivery day of the range; return what was written.

    ``simulation``: a fresh one to run (``all`` keeps it to take the codes and names it issued,
    see ``KnownFirmHistory.from_simulation``); by default one of ``settings``.
    """
    started = time.perf_counter()
    simulation = simulation or RegistrationSimulation(settings)
    ref = simulation.ref
    summary = RegistrationSummary(settings)
    landing = settings.landing
    for plan, events in simulation.run():
        folder = plan.folder(landing)
        folder.mkdir(parents=True, exist_ok=True)
        by_slot: dict[int, list[RegistrationEvent]] = {}
        for event in events:
            by_slot.setdefault(event.slot, []).append(event)
            if event.loads:
                summary.loaded_by_date[event.event_date] += 1
                summary.events_by_type[event.event_type] += 1
                if event.event_type in CREATING_EVENTS and ref.is_tech(event.firm.industry.code, event.firm.tags):
                    summary.new_tech_by_date[event.event_date] += 1
        written: set[str] = set()
        for slot, planned in enumerate(plan.files):
            slot_events = by_slot.get(slot, [])
            data, row_defects = _render_file(planned, plan, slot_events, settings.seed, ref)
            write_file(folder / planned.name, data)
            written.add(planned.name)
            summary.row_defects.update(row_defects)
            summary.files.append(
                FileReport(
                    path=f"{FEED}/{plan.day.isoformat()}/{planned.name}",
                    file_format=planned.file_format,
                    rows=len(slot_events),
                    file_defect=planned.file_defect,
                    row_defects=row_defects,
                )
            )
        if plan.redelivery_source is not None:
            source_folder = landing / FEED / plan.redelivery_source.isoformat()
            original = next(f for f in summary.files if f.path.startswith(f"{FEED}/{plan.redelivery_source}/"))
            name = Path(original.path).name
            target = folder / name
            write_file(target, (source_folder / name).read_bytes())  # arrives with its own delivery
            written.add(name)
            summary.files.append(
                FileReport(
                    path=f"{FEED}/{plan.day.isoformat()}/{name}",
                    file_format=original.file_format,
                    rows=original.rows,
                    file_defect=FILE_REDELIVERY,
                    row_defects=Counter(original.row_defects),
                )
            )
        summary.removed_stale_files += _clean_folder(folder, written)
    summary.elapsed_seconds = time.perf_counter() - started
    return summary


def format_summary(summary: RegistrationSummary) -> str:
    settings = summary.settings
    formats = Counter(f.file_format for f in summary.files)
    lines = [
        f"registrations {settings.start}..{settings.end} seed={settings.seed} defect_rate={settings.defect_rate} "
        f"events_per_day={settings.events_per_day} -> {settings.landing / FEED}",
        f"  delivery days {settings.days}, files {len(summary.files)} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(formats.items()))}), rows {summary.rows:,}",
    ]
    rejected_rows = sum(f.rows for f in summary.files if f.file_defect in REJECTED_FILE_DEFECTS)
    redelivered_rows = sum(f.rows for f in summary.files if f.file_defect == FILE_REDELIVERY)
    lines.append(
        f"  loadable rows {sum(summary.loaded_by_date.values()):,}, row defects {sum(summary.row_defects.values()):,}, "
        f"rows in rejected files {rejected_rows:,}, redelivered duplicate rows {redelivered_rows:,}"
    )
    lines.append("  loaded events by type: " + ", ".join(f"{k} {summary.events_by_type[k]:,}" for k in EVENT_TYPES))
    workday_counts = [
        count
        for day, count in summary.new_tech_by_date.items()
        if settings.start <= day <= settings.end - timedelta(days=MAX_LAG) and is_workday(day)
    ]
    if workday_counts:
        lines.append(
            f"  new tech enterprises per working day (fully delivered dates): mean "
            f"{sum(workday_counts) / len(workday_counts):.0f}, min {min(workday_counts)}, max {max(workday_counts)}"
        )
    lines.append("  row defects by kind:")
    for kind in defects_module.ROW_DEFECT_KINDS:
        lines.append(f"    {kind:<30} {summary.row_defects.get(kind, 0)}")
    file_defects = summary.file_defects()
    lines.append("  file defects:" + ("" if file_defects else " none (range shorter than 10 days)"))
    for kind, path in file_defects.items():
        lines.append(f"    {kind:<30} {path}")
    if summary.removed_stale_files:
        lines.append(f"  removed {summary.removed_stale_files} stale file(s) of an earlier run")
    lines.append(f"  elapsed {summary.elapsed_seconds:.1f} s")
    return "\n".join(lines)
