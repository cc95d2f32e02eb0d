"""Command line: ``python -m parkops.generator FEED --landing DIR --from D --to D [--seed N] ...``.

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
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from parkops.config import landing_dir
from parkops.generator.incubators import IncubatorSettings, format_incubator_summary, write_incubator_reports
from parkops.generator.manual_statistics import (
    ManualStatisticsSettings,
    format_manual_statistics_summary,
    write_manual_statistics,
)
from parkops.generator.registrations import RegistrationSettings, format_summary, write_registrations
from parkops.generator.shared import KnownFirmHistory, RegistrationLink
from parkops.generator.visits import VisitSettings, format_visit_summary, write_visits

DEFAULT_SEED = 20250101


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from error


def _range_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--landing", type=Path, default=None, help="landing root (default: PARKOPS_LANDING_DIR or data/landing)"
    )
    parser.add_argument("--from", dest="start", type=_date, required=True, help="first delivery day")
    parser.add_argument("--to", dest="end", type=_date, required=True, help="last delivery day (inclusive)")
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
        "--events-per-day", type=int, default=600, help="registration events on an ordinary working day"
    )
    parser.add_argument(
        "--population",
        type=int,
        default=20000,
        help="active firms before the range (established over the past 15 years)",
    )


def _visit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--staff-scale", type=float, default=1.0, help="multiplies the roster (1.0: about 100 visits per working day)"
    )
    parser.add_argument("--needs-per-day", type=float, default=1.75, help="new needs per calendar day, zone-wide")
    parser.add_argument(
        "--burst-start",
        type=_date,
        default=None,
        help="Monday of the 供应链 burst week (default: ~40%% into the range)",
    )


def _incubator_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--incubators", type=int, default=120, help="number of incubators")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m parkops.generator", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
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
        # Every feed, each summary printed as soon as it is written. One registration replay
        # serves both linked feeds (it is deterministic: the same as running them one by one).
        print(format_summary(write_registrations(registrations)), flush=True)
        history = KnownFirmHistory.replay(registrations)
        print(format_visit_summary(write_visits(visits, history)), flush=True)
        print(format_incubator_summary(write_incubator_reports(incubators, history)), flush=True)
        print(format_manual_statistics_summary(write_manual_statistics(manual)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
