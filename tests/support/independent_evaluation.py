"""An independent recount of the park evaluation (园区考核评估) as of a date, from ``docs/measures.md``.

Nothing here imports the pipeline (``parkops``). :func:`evaluate_parks` works on plain inputs
(:class:`EvaluationInputs`), which a test may build by hand or read from a landing folder with
:func:`read_evaluation_inputs` (through the parkops-free feed recounts of :mod:`support.independent`
and :mod:`support.independent_feeds`).

As of day D, for the year Y of D, from the data dated 1 January of Y to D:

* Y is judged on D once both daily feeds have data dated in Y on or before D (registration
  events of any type, visits); D must also be a day the feeds cover (up to the day before the
  latest delivery of either). Otherwise there is no evaluation (``None``).
* new_tech: new tech enterprises dated 1 January..D (sum of the daily per-park counts); score =
  value / the best park's value * 100, left out when the best is 0.
* incubator_quality: incubators with a report for a month of Y that ended on or before D, each in
  the park of its latest such report; score = share high quality (%).
* needs_resolution: needs (current record, its park) raised 1 January..D; resolved when 已办结 with
  resolved_date <= D; score = resolved / raised * 100.
* key_coverage: mean, over the quarters of Y up to D's own in which the park has key firms, of the
  quarter's coverage (%) from the data dated up to D: an ended quarter whole, D's quarter to date
  (key firms known by D, visits from the quarter's start to D; once a visit is dated in it).
* score: the weighted mean over the components with data (weights from the seeds, rescaled),
  rounded to 4 decimals; rank 1 = best (ties share), band: score < failing_score_below; status
  摘牌 when also in the band in Y - 1's final evaluation (as of 31 December), 通报, else 正常.

Scores here are exact until the final rounding; the warehouse rounds components to 4 decimals
first, so compare scores with a tolerance of a few 1e-4.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

from support.independent import daily_counts, expected_landing, load_reference, read_seed_csv
from support.independent_feeds import (
    ALL_PARKS,
    RESOLVED,
    current_needs,
    key_coverage_to_date,
    quarter_start,
    read_enterprise_history,
    read_incubator_reports,
    read_visits,
)

COMPONENTS = ("new_tech", "incubator_quality", "needs_resolution", "key_coverage")
FOUR_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class NeedFacts:
    park_code: str
    raised_date: date
    resolved_date: date | None  # None unless the current record is 已办结


@dataclass(frozen=True)
class IncubatorFacts:
    incubator_id: str
    report_month: date  # first day of the month
    park_code: str
    is_high_quality: bool


@dataclass
class EvaluationInputs:
    """What the evaluation reads, already reduced to facts."""

    registration_dates: set[date]  # event dates of every loaded registration event (any type)
    visit_dates: set[date]
    covered_through: date  # the latest day the daily feeds cover (latest delivery - 1, either feed)
    new_tech: dict[tuple[date, str], int]  # (event date, park_code) -> new tech enterprises that day
    needs: list[NeedFacts] = field(default_factory=list)
    incubator_reports: list[IncubatorFacts] = field(default_factory=list)
    # (day, park) -> % coverage of the day's quarter from the data dated up to that day; a quarter's
    # last day holds the ended quarter's figure. No entry: no key firm in the park (or no data).
    key_coverage: dict[tuple[date, str], Fraction | float] = field(default_factory=dict)


@dataclass(frozen=True)
class ParkScore:
    park_code: str
    new_tech_enterprises: int
    new_tech_score: Fraction | None
    incubators: int | None
    incubator_quality_score: Fraction | None
    needs_raised: int | None
    needs_resolution_score: Fraction | None
    key_coverage_quarters: int | None
    key_coverage_score: Fraction | None
    components_scored: int
    score: Decimal | None
    rank: int | None
    in_failing_band: bool | None
    status: str | None
    too_many_leading_industries: bool


@dataclass(frozen=True)
class Rules:
    parks: dict[str, int]  # park_code -> leading industries configured
    weights: dict[str, Fraction]
    failing_score_below: Decimal
    max_leading_industries: int


def load_rules(seeds_dir: Path | None = None) -> Rules:
    parks = {
        row["park_code"]: len([part for part in row["leading_industries"].split(";") if part.strip()])
        for row in read_seed_csv("parks", seeds_dir)
    }
    weights = {row["component"]: Fraction(row["weight"]) for row in read_seed_csv("park_evaluation_weights", seeds_dir)}
    rules = {row["rule_code"]: Decimal(row["rule_value"]) for row in read_seed_csv("park_evaluation_rules", seeds_dir)}
    return Rules(parks, weights, rules["failing_score_below"], int(rules["max_leading_industries"]))


def _month_end(month: date) -> date:
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return following - timedelta(days=1)


def _quarter_end(start: date) -> date:
    return _month_end(date(start.year, start.month + 2, 1))


def judged(inputs: EvaluationInputs, as_of: date) -> bool:
    """Whether the year of ``as_of`` is evaluated as of that day."""
    year_start = date(as_of.year, 1, 1)
    return (
        as_of <= inputs.covered_through
        and any(year_start <= day <= as_of for day in inputs.registration_dates)
        and any(year_start <= day <= as_of for day in inputs.visit_dates)
    )


def evaluation_days(inputs: EvaluationInputs) -> list[date]:
    """Every as-of day with an evaluation (the mart's axis)."""
    first = min(min(inputs.registration_dates), min(inputs.visit_dates))
    days, day = [], first
    while day <= inputs.covered_through:
        if judged(inputs, day):
            days.append(day)
        day += timedelta(days=1)
    return days


def evaluate_parks(inputs: EvaluationInputs, as_of: date, rules: Rules | None = None) -> dict[str, ParkScore] | None:
    """park_code -> the evaluation as of ``as_of`` for every park of the seeds; None when not judged."""
    rules = rules or load_rules()
    if not judged(inputs, as_of):
        return None
    previous_end = date(as_of.year - 1, 12, 31)
    previous = evaluate_parks(inputs, previous_end, rules) if judged(inputs, previous_end) else None
    year_start = date(as_of.year, 1, 1)

    new_tech: dict[str, int] = defaultdict(int)
    for (day, park), count in inputs.new_tech.items():
        if year_start <= day <= as_of:
            new_tech[park] += count
    best = max((new_tech[park] for park in rules.parks), default=0)

    latest: dict[str, IncubatorFacts] = {}
    for report in sorted(inputs.incubator_reports, key=lambda report: report.report_month):
        if year_start <= report.report_month and _month_end(report.report_month) <= as_of:
            latest[report.incubator_id] = report
    incubators: dict[str, list[bool]] = defaultdict(list)
    for report in latest.values():
        incubators[report.park_code].append(report.is_high_quality)

    raised: dict[str, int] = defaultdict(int)
    resolved: dict[str, int] = defaultdict(int)
    for need in inputs.needs:
        if year_start <= need.raised_date <= as_of:
            raised[need.park_code] += 1
            if need.resolved_date is not None and need.resolved_date <= as_of:
                resolved[need.park_code] += 1

    current_quarter = quarter_start(as_of)
    counted_days = {as_of}  # D's quarter to date, and the last day of each earlier quarter of the year
    quarter = year_start
    while quarter < current_quarter:
        counted_days.add(_quarter_end(quarter))
        quarter = date(quarter.year, quarter.month + 3, 1)
    coverage: dict[str, list[Fraction]] = defaultdict(list)
    for (day, park), percent in inputs.key_coverage.items():
        if park != ALL_PARKS and day in counted_days:
            coverage[park].append(Fraction(percent))

    partial: dict[str, dict[str, object]] = {}
    for park in rules.parks:
        components: dict[str, Fraction | None] = {
            "new_tech": Fraction(new_tech[park] * 100, best) if best else None,
            "incubator_quality": (
                Fraction(sum(incubators[park]) * 100, len(incubators[park])) if incubators[park] else None
            ),
            "needs_resolution": Fraction(resolved[park] * 100, raised[park]) if raised[park] else None,
            "key_coverage": sum(coverage[park], Fraction(0)) / len(coverage[park]) if coverage[park] else None,
        }
        present = {name: value for name, value in components.items() if value is not None}
        score = None
        if present:
            exact = sum(rules.weights[name] * value for name, value in present.items()) / sum(
                rules.weights[name] for name in present
            )
            score = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(FOUR_PLACES, ROUND_HALF_UP)
        partial[park] = {"components": components, "present": len(present), "score": score}

    scores = [values["score"] for values in partial.values() if values["score"] is not None]
    result = {}
    for park, values in partial.items():
        components, score = values["components"], values["score"]
        band = None if score is None else score < rules.failing_score_below
        status = None
        if score is not None:
            was_failing = previous is not None and bool(previous[park].in_failing_band)
            status = "摘牌" if band and was_failing else "通报" if band else "正常"
        result[park] = ParkScore(
            park_code=park,
            new_tech_enterprises=new_tech[park],
            new_tech_score=components["new_tech"],
            incubators=len(incubators[park]) or None,
            incubator_quality_score=components["incubator_quality"],
            needs_raised=raised[park] or None,
            needs_resolution_score=components["needs_resolution"],
            key_coverage_quarters=len(coverage[park]) or None,
            key_coverage_score=components["key_coverage"],
            components_scored=values["present"],
            score=score,
            rank=None if score is None else 1 + sum(1 for other in scores if other > score),
            in_failing_band=band,
            status=status,
            too_many_leading_industries=rules.parks[park] > rules.max_leading_industries,
        )
    return result


def read_evaluation_inputs(landing: Path, first: date, last: date, seeds_dir: Path | None = None) -> EvaluationInputs:
    """The evaluation's facts from the landed files of delivery days first..last, every delivery
    counted (batches the quality gate holds are taken as released, as ``support.pipeline.load_feeds``
    does)."""
    registrations = expected_landing(landing, first, last, seeds_dir)
    loaded = [expected for expected in registrations.by_status("loaded") if expected.valid_rows]
    new_tech = {
        key: counts.new_tech_enterprises
        for key, counts in daily_counts(loaded, load_reference(seeds_dir)).items()
        if counts.new_tech_enterprises
    }
    visits = read_visits(landing, first, last, seeds_dir, release_held=True)
    needs = [
        NeedFacts(
            record.visit.park_code,
            record.need.raised_date,
            record.need.resolved_date if record.need.status == RESOLVED else None,
        )
        for record in current_needs(visits).values()
    ]
    incubators = read_incubator_reports(landing, _month(first), _month(last), seeds_dir)
    reports = [
        IncubatorFacts(incubator_id, month, report.park_code, report.is_high_quality)
        for (incubator_id, month), report in incubators.reports.items()
    ]
    last_deliveries = [max(expected.delivery_date for expected in loaded)]
    last_deliveries += [max(visit.delivery_date for visit in visits.visits)] if visits.visits else []
    covered_through = max(last_deliveries) - timedelta(days=1)
    enterprises = read_enterprise_history(landing, first, last, seeds_dir)
    coverage: dict[tuple[date, str], Fraction] = {}
    day = min((visit.visit_date for visit in visits.visits), default=covered_through + timedelta(days=1))
    while day <= covered_through:
        for park, figures in key_coverage_to_date(visits, day, enterprises).items():
            coverage[(day, park)] = Fraction(figures.visited * 100, figures.key_enterprises)
        day += timedelta(days=1)
    return EvaluationInputs(
        registration_dates={row.event_date for expected in loaded for row in expected.valid_rows.values()},
        visit_dates={visit.visit_date for visit in visits.visits},
        covered_through=covered_through,
        new_tech=new_tech,
        needs=needs,
        incubator_reports=reports,
        key_coverage=coverage,
    )


def _month(day: date) -> date:
    return day.replace(day=1)


def ranking(evaluation: dict[str, ParkScore]) -> list[ParkScore]:
    """Parks by rank (unscored last), then park code."""
    return sorted(evaluation.values(), key=lambda park: (park.rank is None, park.rank or 0, park.park_code))
