"""Command line: ``python -m parkops_tools.generator FEED --landing DIR (--from D --to D | --years N [--to D]) ...``.

One subcommand per feed, and ``all`` for every feed over the same range and seed:

- ``registrations``: registrations/<YYYY-MM-DD>/reg_*.csv|xlsx
- ``visits``: visits/<YYYY-MM-DD>/visits_<YYYYMMDD>_<nn>.jsonl
- ``incubators``: incubator_reports/<YYYY-MM>/<id>_<YYYYMM>[_更正].xlsx
- ``manual-statistics``: manual_statistics/<YYYY-MM-DD>/manual_statistics_<YYYYMMDD>.csv
- ``all``: the four above; visits and incubators link to the registrations it writes.

Visits and incubator tenants reference firms the registrations feed delivered, so ``visits`` and
``incubators`` replay the registration simulation: give them the registration options
(``--events-per-day``, ``--population``, ``--registration-defect-rate``) the registrations were
generated with, or use ``all``.

``--years N`` (instead of ``--from``): the N years that end on ``--to`` (default 2025-03-31, the
end of the demo sample), i.e. from the day after the same date N years earlier; three years are
2022-04-01..2025-03-31. It also switches the volume knobs left unset to the scale defaults,
per-day rates that give about 650k registration events, 350k visit lines and 4k incubator
reports over three years (``SCALE_DEFAULTS``); an explicit option always wins. Every feed streams
to disk day by day (incubator reports folder by folder): memory holds the firm population and
the linking state, not the events, visits or files of the range.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from parkops.config import landing_dir
from parkops_tools.generator.incubators import IncubatorSettings, format_incubator_summary, write_incubator_reports
from parkops_tools.generator.manual_statistics import (
    ManualStatisticsSettings,
    format_manual_statistics_summary,
    write_manual_statistics,
)
from parkops_tools.generator.registrations import (
    RegistrationSettings,
    RegistrationSimulation,
    RegistrationSummary,
    format_summary,
    write_registrations,
)
from parkops_tools.generator.shared import FeedSummary, KnownFirmHistory, RegistrationLink
from parkops_tools.generator.visits import VisitSettings, VisitSummary, format_visit_summary, write_visits

DEFAULT_SEED = 20250101
#: Last day of the demo sample (Makefile SAMPLE_TO): where ``--years`` ends unless ``--to`` says.
DEFAULT_END = date(2025, 3, 31)
#: Volume knobs when unset: the demo sample's, and with ``--years`` the scale run's. Over three
#: years the latter give about 650k registration events (850 on an ordinary working day, far
#: fewer on off days), 350k visit lines (the roster times 4.5: ~470 visits per working day) and
#: 4k incubator reports (110 incubators x 36 months, plus resubmissions).
DEMO_DEFAULTS = {"events_per_day": 600, "staff_scale": 1.0, "incubators": 120}
SCALE_DEFAULTS = {"events_per_day": 850, "staff_scale": 4.5, "incubators": 110}


def years_range(years: int, end: date) -> tuple[date, date]:
    """The ``years`` years ending on ``end``: from the day after the same date that many years
    earlier (29 February falls back to the 28th)."""
    if years < 1:
        raise ValueError(f"--years must be at least 1, got {years}")
    try:
        same_day = end.replace(year=end.year - years)
    except ValueError:  # 29 February of a leap year, years back to a common year
        same_day = end.replace(year=end.year - years, day=28)
    return same_day + timedelta(days=1), end


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from error


def _range_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--landing", type=Path, default=None, help="landing root (default: PARKOPS_LANDING_DIR or data/landing)"
    )
    parser.add_argument("--from", dest="start", type=_date, default=None, help="first delivery day")
    parser.add_argument(
        "--to",
        dest="end",
        type=_date,
        default=None,
        help=f"last delivery day (inclusive; with --years default {DEFAULT_END})",
    )
    parser.add_argument(
        "--years",
        type=int,
        default=None,
        help="instead of --from: the N years ending on --to, with the scale defaults for unset volume knobs",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)


def _registration_options(parser: argparse.ArgumentParser, *, linked: bool) -> None:
    """Options of the registration simulation; ``linked``: for a feed that only replays it."""
    if linked:
        parser.add_argument(
            "--registration-defect-rate",
            type=float,
            default=0.01,
            help="--defect-rate the registrations were generated with (decides which firms loaded)",
        )
    parser.add_argument(
        "--events-per-day",
        type=int,
        default=None,
        help="registration events on an ordinary working day (default 600; with --years 850)",
    )
    parser.add_argument(
        "--population",
        type=int,
        default=20000,
        help="active firms before the range (established over the past 15 years)",
    )


def _visit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--staff-scale",
        type=float,
        default=None,
        help="multiplies the roster (1.0: about 100 visits per working day; default 1.0, with --years 4.5)",
    )
    parser.add_argument("--needs-per-day", type=float, default=1.75, help="new needs per calendar day, zone-wide")
    parser.add_argument(
        "--burst-start",
        type=_date,
        default=None,
        help="Monday of the 供应链 burst week (default: ~40%% into the range)",
    )


def _incubator_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--incubators", type=int, default=None, help="number of incubators (default 120; with --years 110)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m parkops_tools.generator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    feeds = parser.add_subparsers(dest="feed", required=True)

    registrations = feeds.add_parser("registrations", help="企业登记事件: registrations/<YYYY-MM-DD>/reg_*.csv|xlsx")
    _range_options(registrations)
    registrations.add_argument("--defect-rate", type=float, default=0.01, help="share of rows with a row defect")
    _registration_options(registrations, linked=False)

    visits = feeds.add_parser("visits", help="走访记录: visits/<YYYY-MM-DD>/visits_<YYYYMMDD>_<nn>.jsonl")
    _range_options(visits)
    visits.add_argument("--defect-rate", type=float, default=0.01, help="share of lines with a line defect")
    _visit_options(visits)
    _registration_options(visits, linked=True)

    incubators = feeds.add_parser("incubators", help="孵化器月报: incubator_reports/<YYYY-MM>/<id>_<YYYYMM>.xlsx")
    _range_options(incubators)
    _incubator_options(incubators)
    _registration_options(incubators, linked=True)

    manual = feeds.add_parser("manual-statistics", help="人工统计: manual_statistics/<YYYY-MM-DD>/*.csv")
    _range_options(manual)

    every = feeds.add_parser("all", help="every feed above for the same range and seed")
    _range_options(every)
    every.add_argument(
        "--defect-rate", type=float, default=0.01, help="share of registration rows and visit lines with a defect"
    )
    _registration_options(every, linked=False)
    _visit_options(every)
    _incubator_options(every)
    return parser


def resolve_range_and_defaults(args: argparse.Namespace) -> None:
    """Fill ``start``/``end`` from ``--years`` and unset volume knobs from the matching defaults.

    Raises ValueError for a range given both ways or not at all (a usage error).
    """
    if args.years is not None:
        if args.start is not None:
            raise ValueError("give either --from (with --to) or --years, not both")
        args.start, args.end = years_range(args.years, args.end or DEFAULT_END)
    elif args.start is None or args.end is None:
        raise ValueError("the range is required: --from D --to D, or --years N [--to D]")
    defaults = SCALE_DEFAULTS if args.years is not None else DEMO_DEFAULTS
    for name, value in defaults.items():
        if getattr(args, name, value) is None:
            setattr(args, name, value)


def _registration_link(args: argparse.Namespace, defect_rate: float) -> RegistrationLink:
    return RegistrationLink(
        defect_rate=defect_rate, events_per_day=args.events_per_day, population_size=args.population
    )


def _registration_settings(args: argparse.Namespace, landing: Path, defect_rate: float) -> RegistrationSettings:
    return _registration_link(args, defect_rate).settings(landing, args.start, args.end, args.seed)


def _visit_settings(args: argparse.Namespace, landing: Path, registrations: RegistrationLink) -> VisitSettings:
    return VisitSettings(
        landing=landing,
        start=args.start,
        end=args.end,
        seed=args.seed,
        defect_rate=args.defect_rate,
        staff_scale=args.staff_scale,
        needs_per_day=args.needs_per_day,
        burst_start=args.burst_start,
        registrations=registrations,
    )


def _incubator_settings(args: argparse.Namespace, landing: Path, registrations: RegistrationLink) -> IncubatorSettings:
    return IncubatorSettings(
        landing=landing,
        start=args.start,
        end=args.end,
        seed=args.seed,
        incubators=args.incubators,
        registrations=registrations,
    )


def _manual_settings(args: argparse.Namespace, landing: Path) -> ManualStatisticsSettings:
    return ManualStatisticsSettings(landing=landing, start=args.start, end=args.end, seed=args.seed)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    landing = (args.landing or landing_dir()).resolve()
    try:  # settings validate their arguments; only those errors are usage errors
        resolve_range_and_defaults(args)
        if args.feed == "registrations":
            registrations = _registration_settings(args, landing, args.defect_rate)
        elif args.feed == "visits":
            visits = _visit_settings(args, landing, _registration_link(args, args.registration_defect_rate))
        elif args.feed == "incubators":
            incubators = _incubator_settings(args, landing, _registration_link(args, args.registration_defect_rate))
        elif args.feed == "manual-statistics":
            manual = _manual_settings(args, landing)
        else:
            registrations = _registration_settings(args, landing, args.defect_rate)
            link = _registration_link(args, args.defect_rate)
            visits = _visit_settings(args, landing, link)
            incubators = _incubator_settings(args, landing, link)
            manual = _manual_settings(args, landing)
    except ValueError as error:
        parser.error(str(error))
    if args.feed == "registrations":
        print(format_summary(write_registrations(registrations)))
    elif args.feed == "visits":
        print(format_visit_summary(write_visits(visits)))
    elif args.feed == "incubators":
        print(format_incubator_summary(write_incubator_reports(incubators)))
    elif args.feed == "manual-statistics":
        print(format_manual_statistics_summary(write_manual_statistics(manual)))
    else:
        # Every feed, each summary printed as soon as it is written. The registrations run gives
        # the linked feeds the codes and names it issued (no extra replay for them); each linked
        # feed replays the deterministic simulation lazily, the same as running them one by one.
        started = time.perf_counter()
        simulation = RegistrationSimulation(registrations)
        registration_summary = write_registrations(registrations, simulation)
        print(format_summary(registration_summary), flush=True)
        history = KnownFirmHistory.from_simulation(simulation)
        del simulation  # its population goes; the history keeps only the codes and names issued
        visit_summary = write_visits(visits, history)
        print(format_visit_summary(visit_summary), flush=True)
        incubator_summary = write_incubator_reports(incubators, history)
        print(format_incubator_summary(incubator_summary), flush=True)
        manual_summary = write_manual_statistics(manual)
        print(format_manual_statistics_summary(manual_summary), flush=True)
        print(
            format_volumes(
                args,
                landing,
                registration_summary,
                visit_summary,
                incubator_summary,
                manual_summary,
                time.perf_counter() - started,
            )
        )
    return 0


def format_volumes(
    args: argparse.Namespace,
    landing: Path,
    registrations: RegistrationSummary,
    visits: VisitSummary,
    incubators: FeedSummary,
    manual: FeedSummary,
    elapsed_seconds: float,
) -> str:
    """One paragraph for a scale run: rows per feed, files and bytes written, time, peak memory."""
    paths = [f.path for f in registrations.files] + [
        f.path for summary in (visits, incubators, manual) for f in summary.files
    ]
    size = sum((landing / path).stat().st_size for path in paths)
    span = f"{args.years} years" if args.years is not None else f"{(args.end - args.start).days + 1} days"
    lines = [
        f"volumes {args.start}..{args.end} ({span}, seed {args.seed}):",
        f"  registration rows {registrations.rows:,}, visit lines {visits.rows:,} (needs {len(visits.needs):,}), "
        f"incubator reports {incubators.rows:,}, manual statistics rows {manual.rows:,}",
        f"  files {len(paths):,}, {size / 1e6:,.1f} MB on disk; elapsed {elapsed_seconds:.1f} s"
        + (f", peak RSS {rss:,.0f} MB" if (rss := peak_rss_mb()) is not None else ""),
    ]
    return "\n".join(lines)


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process so far, or None where the platform has no getrusage."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


if __name__ == "__main__":
    sys.exit(main())
