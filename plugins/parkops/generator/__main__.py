"""Command line: ``python -m parkops.generator registrations --landing DIR --from D --to D``.

Subcommands are one per feed; only ``registrations`` exists so far (``visits`` and
``incubators`` will reuse the same population and options).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from parkops.config import landing_dir
from parkops.generator.registrations import RegistrationSettings, format_summary, write_registrations


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m parkops.generator", description=__doc__)
    feeds = parser.add_subparsers(dest="feed", required=True)
    registrations = feeds.add_parser("registrations", help="企业登记事件: registrations/<YYYY-MM-DD>/reg_*.csv|xlsx")
    registrations.add_argument(
        "--landing", type=Path, default=None, help="landing root (default: PARKOPS_LANDING_DIR or data/landing)"
    )
    registrations.add_argument("--from", dest="start", type=_date, required=True, help="first delivery day")
    registrations.add_argument("--to", dest="end", type=_date, required=True, help="last delivery day (inclusive)")
    registrations.add_argument("--seed", type=int, default=20250101)
    registrations.add_argument("--defect-rate", type=float, default=0.01, help="share of rows with a row defect")
    registrations.add_argument("--events-per-day", type=int, default=600, help="events on an ordinary working day")
    registrations.add_argument(
        "--population",
        type=int,
        default=20000,
        help="active firms before the range (established over the past 15 years)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.feed == "registrations":
        try:
            settings = RegistrationSettings(
                landing=(args.landing or landing_dir()).resolve(),
                start=args.start,
                end=args.end,
                seed=args.seed,
                defect_rate=args.defect_rate,
                events_per_day=args.events_per_day,
                population_size=args.population,
            )
        except ValueError as error:
            parser.error(str(error))
        print(format_summary(write_registrations(settings)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
