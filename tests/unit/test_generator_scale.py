"""The sample generator at scale: ``--years``, streaming with bounded memory, volumes per knob.

The full three-year run (650k registration events, 350k visit lines) takes minutes, so these
tests run the same code paths on small knobs: a multi-month range must be byte-identical across
two runs, its peak Python memory must not grow with the length of the range the way it would if
events, visits or workbooks were held until the end, and the volumes printed must follow the knobs.
"""

from __future__ import annotations

import hashlib
import re
import tracemalloc
from datetime import date
from pathlib import Path

import pytest

from parkops_tools.generator.__main__ import (
    DEFAULT_END,
    DEMO_DEFAULTS,
    SCALE_DEFAULTS,
    build_parser,
    main,
    resolve_range_and_defaults,
    years_range,
)

#: Small knobs: a few dozen events and visits a day, a dozen incubators.
SMALL = ["--events-per-day", "40", "--population", "1500", "--staff-scale", "0.4", "--incubators", "12"]
SEED = "7"


def run_all(landing: Path, start: str, end: str, extra: list[str] | None = None) -> None:
    argv = ["all", "--landing", str(landing), "--from", start, "--to", end, "--seed", SEED]
    assert main(argv + (extra if extra is not None else SMALL)) == 0


def sha256_tree(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


# --- --years --------------------------------------------------------------------------------------


def test_years_end_on_the_sample_end_or_to_and_start_the_day_after_n_years_back():
    assert years_range(3, DEFAULT_END) == (date(2022, 4, 1), date(2025, 3, 31))
    assert years_range(1, date(2024, 12, 31)) == (date(2024, 1, 1), date(2024, 12, 31))
    assert years_range(1, date(2024, 2, 29)) == (date(2023, 3, 1), date(2024, 2, 29))  # no 2023-02-29
    with pytest.raises(ValueError, match="at least 1"):
        years_range(0, DEFAULT_END)


def parsed(*argv: str):
    args = build_parser().parse_args(list(argv))
    resolve_range_and_defaults(args)
    return args


def test_years_sets_the_range_and_the_scale_defaults_and_explicit_knobs_win():
    args = parsed("all", "--years", "3")
    assert (args.start, args.end) == (date(2022, 4, 1), date(2025, 3, 31))
    assert {name: getattr(args, name) for name in SCALE_DEFAULTS} == SCALE_DEFAULTS

    args = parsed("all", "--years", "2", "--to", "2024-06-30", "--staff-scale", "2", "--incubators", "30")
    assert (args.start, args.end) == (date(2022, 7, 1), date(2024, 6, 30))
    assert (args.staff_scale, args.incubators, args.events_per_day) == (2.0, 30, SCALE_DEFAULTS["events_per_day"])

    args = parsed("visits", "--from", "2025-01-02", "--to", "2025-03-31")
    assert (args.staff_scale, args.events_per_day) == (DEMO_DEFAULTS["staff_scale"], DEMO_DEFAULTS["events_per_day"])
    assert parsed("registrations", "--years", "1").events_per_day == SCALE_DEFAULTS["events_per_day"]


@pytest.mark.parametrize(
    "argv",
    [
        ["all", "--years", "1", "--from", "2024-01-01"],  # two ranges
        ["all", "--from", "2025-01-02"],  # no end
        ["all"],  # no range at all
        ["all", "--years", "0"],
    ],
)
def test_a_range_given_twice_or_not_at_all_is_a_usage_error(argv: list[str], tmp_path: Path):
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--landing", str(tmp_path)])
    assert exit_info.value.code == 2
    assert not any(tmp_path.iterdir())  # nothing written


# --- streaming ------------------------------------------------------------------------------------


def test_a_multi_month_streamed_run_is_byte_identical_across_runs(tmp_path: Path, capsys: pytest.CaptureFixture):
    run_all(tmp_path / "a", "2025-01-02", "2025-04-15")
    run_all(tmp_path / "b", "2025-01-02", "2025-04-15")
    capsys.readouterr()
    first, second = sha256_tree(tmp_path / "a"), sha256_tree(tmp_path / "b")
    assert first == second
    feeds = {path.split("/")[0] for path in first}
    assert feeds == {"registrations", "visits", "incubator_reports", "manual_statistics"}
    assert sum(path.startswith("visits/") for path in first) > 100  # every delivery day, three and a half months


def traced_visits_peak(landing: Path, end: str) -> int:
    # Three registration events a day: the firm population (which the simulation must hold and
    # which grows with the range by design) stays near its initial 800, so what could grow is
    # what the writer holds: visits, lines, rendered files.
    argv = ["visits", "--landing", str(landing), "--from", "2025-01-02", "--to", end, "--seed", SEED]
    tracemalloc.start()
    try:
        assert main([*argv, "--events-per-day", "3", "--population", "800", "--staff-scale", "0.4"]) == 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_does_not_grow_with_the_range(tmp_path: Path, capsys: pytest.CaptureFixture):
    """Six weeks against five and a half months of visits: holding every visit and its rendered
    line until the end (as before streaming) made the peak grow about 4.5-fold (3.3 MB to 14.5 MB);
    streamed, it stays near the fixed cost (reference data, roster, a few days of files)."""
    traced_visits_peak(tmp_path / "warm", "2025-01-12")  # caches and lazy imports, not measured
    short = traced_visits_peak(tmp_path / "short", "2025-02-15")
    long = traced_visits_peak(tmp_path / "long", "2025-06-15")
    capsys.readouterr()
    assert long < 1.5 * short, (short, long)


# --- volumes --------------------------------------------------------------------------------------

VOLUMES = re.compile(
    r"registration rows ([\d,]+), visit lines ([\d,]+) \(needs ([\d,]+)\), "
    r"incubator reports ([\d,]+), manual statistics rows ([\d,]+)"
)


def printed_volumes(output: str) -> dict[str, int]:
    match = VOLUMES.search(output)
    assert match is not None, output[-2000:]
    names = ("registrations", "visits", "needs", "incubator_reports", "manual")
    return {name: int(value.replace(",", "")) for name, value in zip(names, match.groups(), strict=True)}


def test_the_printed_volumes_follow_the_knobs(tmp_path: Path, capsys: pytest.CaptureFixture):
    # The roster has a floor per park and area, so it scales in proportion from about 1.0 up.
    single = ["--events-per-day", "40", "--population", "1500", "--staff-scale", "1", "--incubators", "12"]
    run_all(tmp_path / "one", "2025-01-02", "2025-02-28", single)
    base = printed_volumes(capsys.readouterr().out)
    double = ["--events-per-day", "80", "--population", "1500", "--staff-scale", "2", "--incubators", "24"]
    run_all(tmp_path / "two", "2025-01-02", "2025-02-28", double)
    output = capsys.readouterr().out
    doubled = printed_volumes(output)
    assert 1.7 < doubled["registrations"] / base["registrations"] < 2.3, (base, doubled)
    assert 1.6 < doubled["visits"] / base["visits"] < 2.4, (base, doubled)
    assert 1.8 < doubled["incubator_reports"] / base["incubator_reports"] < 2.2, (base, doubled)
    assert doubled["manual"] == base["manual"]  # hand-typed statistics do not scale
    # The paragraph counts what the files hold.
    landing = tmp_path / "two"
    assert doubled["incubator_reports"] == len(list((landing / "incubator_reports").rglob("*.xlsx")))
    visit_lines = sum(len(path.read_bytes().splitlines()) for path in (landing / "visits").rglob("*.jsonl"))
    assert doubled["visits"] == visit_lines
    assert re.search(r"files [\d,]+, [\d.,]+ MB on disk; elapsed", output)
