"""The park evaluation as of a date (mart.park_evaluation and the reports' ranking) against the
independent recount of :mod:`support.independent_evaluation`, on both engines.

Five weeks of generated feeds (deliveries 2025-02-03 to 2025-03-09, ``five_week_warehouse`` in
conftest): a report of a past period must show the evaluation as of that period's end, not the
latest one.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from support import independent_evaluation as evaluation
from support.pipeline import FIVE_WEEKS, rows

from parkops.report.assemble import assemble
from parkops.report.periods import ReportPeriod
from parkops.report.readiness import assess
from parkops.warehouse import create_warehouse_engine

FIRST, LAST = FIVE_WEEKS
AFTER_ALL_REPORTS = dt.datetime(2025, 3, 20, 9, 0)
#: Scores: the recount is exact, the warehouse rounds each component to 4 decimals first.
TOLERANCE = Decimal("0.0005")


@pytest.fixture(scope="module")
def inputs(five_week_landing: Path) -> evaluation.EvaluationInputs:
    return evaluation.read_evaluation_inputs(five_week_landing, FIRST, LAST)


def content_of(url: str, period: ReportPeriod):
    with create_warehouse_engine(url, read_only=url.startswith("duckdb")).connect() as connection:
        readiness = assess(connection, period, now=AFTER_ALL_REPORTS, cutoff_day=15)
        return assemble(connection, period, readiness, zone_name="张江高新区", generated_at=AFTER_ALL_REPORTS)


def close(left: object, right: object) -> bool:
    if left is None or right is None:
        return left is None and right is None
    return abs(Decimal(str(left)) - Decimal(str(right))) <= TOLERANCE


def as_decimal(value: object) -> Decimal | None:
    return None if value is None else Decimal(value.numerator) / Decimal(value.denominator)


@pytest.mark.parametrize("key", ["2025-02", "2025-W07", "2025-W09"])
def test_a_past_period_shows_the_evaluation_as_of_its_end(five_week_warehouse, inputs, key):
    period = ReportPeriod.parse(key)
    expected = evaluation.evaluate_parks(inputs, period.end)
    latest = evaluation.evaluate_parks(inputs, inputs.covered_through)
    assert expected is not None and latest is not None
    # The period's evaluation is not the latest one, or this test would not tell them apart.
    assert any(expected[park].score != latest[park].score for park in expected)

    content = content_of(five_week_warehouse, period)
    shown = {row.park_code: row for row in content.parks.rows}
    assert set(shown) == set(expected)
    for park, park_expected in expected.items():
        row = shown[park]
        assert close(row.score, park_expected.score), (park, row.score, park_expected.score)
        assert (row.rank, row.status, row.components_scored) == (
            park_expected.rank,
            park_expected.status,
            park_expected.components_scored,
        ), park
    ranks = [row.rank for row in content.parks.rows]
    assert ranks == sorted(ranks, key=lambda rank: (rank is None, rank or 0))
    assert (content.parks.year, content.parks.as_of) == (period.end.year, period.end)
    sheet = next(table for table in content.details if table.sheet_name == "园区考核")
    assert sheet.title == f"园区考核评估（2025年，截至{period.end.isoformat()}）与本期数据"
    assert [(row[1], row[3]) for row in sheet.rows] == [(row.park_code, row.score) for row in content.parks.rows]


def test_mart_holds_the_evaluation_as_of_every_day(five_week_warehouse, inputs):
    found = rows(five_week_warehouse, "select * from mart.park_evaluation")
    days = evaluation.evaluation_days(inputs)
    assert sorted({row["as_of_date"] for row in found}) == days
    assert len(found) == len(days) * len(evaluation.load_rules().parks)
    assert {row["as_of_date"] for row in found if row["is_latest_of_year"]} == {inputs.covered_through}
    by_day = {day: evaluation.evaluate_parks(inputs, day) for day in days}
    for row in found:
        expected = by_day[row["as_of_date"]][row["park_code"]]
        key = (row["as_of_date"], row["park_code"])
        assert row["year"] == row["as_of_date"].year
        for column in (
            "new_tech_score",
            "incubator_quality_score",
            "needs_resolution_score",
            "key_coverage_score",
        ):
            assert close(row[column], as_decimal(getattr(expected, column))), (key, column)
        assert close(row["score"], expected.score), key
        assert (
            row["new_tech_enterprises"],
            row["incubators"],
            row["needs_raised"],
            row["key_coverage_quarters"],
            row["components_scored"],
            row["rank"],
            row["in_failing_band"],
            row["status"],
            row["too_many_leading_industries"],
        ) == (
            expected.new_tech_enterprises,
            expected.incubators,
            expected.needs_raised,
            expected.key_coverage_quarters,
            expected.components_scored,
            expected.rank,
            expected.in_failing_band,
            expected.status,
            expected.too_many_leading_industries,
        ), key
