"""The park evaluation recount (support.independent_evaluation) on hand-built facts, worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from support.independent_evaluation import EvaluationInputs, IncubatorFacts, NeedFacts, evaluate_parks, evaluation_days

D = date.fromisoformat


def days(first: str, last: str) -> list[date]:
    return [D(first) + timedelta(days=offset) for offset in range((D(last) - D(first)).days + 1)]


def inputs() -> EvaluationInputs:
    """2024: registrations from 03-01, visits from 11-05; 2025: visits from 01-02, registrations
    from 01-10; both feeds cover up to 2025-02-10. One key firm, in 张江, visited on 2024-11-05 only:
    its quarter's coverage to date is 100 % from then to the end of 2024, 0 % in 2025 (from 01-02,
    the first visit of 2025Q1)."""
    return EvaluationInputs(
        registration_dates={D("2024-03-01"), D("2025-01-10"), D("2025-01-12")},
        visit_dates={D("2024-11-05"), D("2024-12-01"), D("2025-01-02"), D("2025-02-10")},
        covered_through=D("2025-02-10"),
        new_tech={
            (D("2024-03-01"), "zhangjiang_core"): 4,
            (D("2024-03-01"), "jinqiao"): 2,
            (D("2025-01-10"), "zhangjiang_core"): 1,
            (D("2025-01-12"), "lingang"): 2,
        },
        needs=[
            NeedFacts("zhangjiang_core", D("2024-11-05"), D("2024-11-10")),
            NeedFacts("zhangjiang_core", D("2024-11-05"), None),
            NeedFacts("shibo", D("2025-01-20"), D("2025-02-05")),
        ],
        incubator_reports=[
            IncubatorFacts("INC_Z", D("2024-11-01"), "zhangjiang_core", False),
            IncubatorFacts("INC_Z", D("2024-12-01"), "zhangjiang_core", True),
            IncubatorFacts("INC_J", D("2024-12-01"), "jinqiao", False),
            IncubatorFacts("INC_J", D("2025-01-01"), "jinqiao", True),
        ],
        key_coverage={(day, "zhangjiang_core"): Fraction(100) for day in days("2024-11-05", "2024-12-31")}
        | {(day, "zhangjiang_core"): 0.0 for day in days("2025-01-02", "2025-02-10")},
    )


def test_days_judged() -> None:
    days = evaluation_days(inputs())
    assert (days[0], days[-1], len(days)) == (D("2024-11-05"), D("2025-02-10"), 57 + 32)
    assert D("2025-01-09") not in days and D("2025-01-10") in days


def test_evaluation_as_of_a_day() -> None:
    facts = inputs()
    assert evaluate_parks(facts, D("2024-11-04")) is None  # no visit of 2024 yet
    nov = evaluate_parks(facts, D("2024-11-30"))
    # 张江: new tech 100, November's report (not high quality) 0, needs 1 of 2; 2024Q4 to date 100.
    z = nov["zhangjiang_core"]
    assert (z.new_tech_score, z.incubator_quality_score, z.needs_resolution_score, z.key_coverage_score) == (
        100,
        0,
        50,
        100,
    )
    assert (z.score, z.rank, z.status) == (Decimal("67.5"), 1, "正常")  # 30 + 0 + 12.5 + 25
    assert (nov["jinqiao"].score, nov["jinqiao"].rank) == (Decimal("50"), 2)
    year_end = evaluate_parks(facts, D("2024-12-31"))
    # 张江: (.3*100 + .2*100 + .25*50 + .25*100) = 87.5; 金桥: (.3*50 + .2*0) / .5 = 30.
    assert (year_end["zhangjiang_core"].score, year_end["jinqiao"].score) == (Decimal("87.5"), Decimal("30"))
    jan = evaluate_parks(facts, D("2025-01-31"))
    # New tech: 临港 2, 张江 1, 金桥 0 -> 100, 50, 0. 金桥: January's report high quality: (0 + .2*100) / .5.
    # 2024Q4 is last year's; 2025Q1 to date: 张江's key firm not visited, (.3*50 + .25*0) / .55.
    # 世博: its need is not resolved yet (0 %).
    scores = [(jan[park].score, jan[park].rank, jan[park].status) for park in ("lingang", "zhangjiang_core", "jinqiao")]
    assert scores == [(Decimal("100"), 1, "正常"), (Decimal("27.2727"), 3, "通报"), (Decimal("40"), 2, "摘牌")]
    assert (jan["zhangjiang_core"].key_coverage_score, jan["zhangjiang_core"].key_coverage_quarters) == (0, 1)
    assert (jan["shibo"].needs_resolution_score, jan["shibo"].score, jan["shibo"].status) == (0, Decimal("0"), "摘牌")
    assert evaluate_parks(facts, D("2025-02-05"))["shibo"].needs_resolution_score == 100
    assert evaluate_parks(facts, D("2025-02-11")) is None  # beyond the data


def test_key_coverage_counts_the_current_quarter_to_date() -> None:
    """As of a day in a quarter, that quarter's coverage to date counts beside the year's ended quarters."""
    facts = inputs()
    # 金桥's key firms all visited in the first weeks of 2025Q1: 100 % to date from 01-20.
    facts.key_coverage |= {(day, "jinqiao"): Fraction(100) for day in days("2025-01-20", "2025-02-10")}
    facts.key_coverage[(D("2025-03-31"), "jinqiao")] = Fraction(50)  # not reached by the data: ignored
    early = evaluate_parks(facts, D("2025-01-20"))["jinqiao"]
    assert (early.key_coverage_score, early.key_coverage_quarters) == (100, 1)
    # 2025-02-10: new tech 0, January's report 100, key 100 -> (0 + 20 + 25) / .75; no need raised.
    late = evaluate_parks(facts, D("2025-02-10"))["jinqiao"]
    assert (late.key_coverage_score, late.score) == (100, Decimal("60"))
    # 2024's evaluation as of 12-31 takes 2024Q4 whole; a year's earlier quarters count as they ended.
    facts.key_coverage[(D("2024-09-30"), "zhangjiang_core")] = Fraction(50)
    facts.key_coverage[(D("2024-09-29"), "zhangjiang_core")] = Fraction(10)  # a day before Q3's end: not counted
    year_end = evaluate_parks(facts, D("2024-12-31"))["zhangjiang_core"]
    assert (year_end.key_coverage_score, year_end.key_coverage_quarters) == (75, 2)
