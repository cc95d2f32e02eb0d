"""``python -m parkops.deploy init-warehouse``: prepare the warehouse of a deployment.

Applies the DDL (schemas, tables, views, comments) and loads the reference seeds, so the
first DAG run finds a complete warehouse. Idempotent: safe to run at every start-up.
"""

from __future__ import annotations

import argparse
import sys

from parkops.pipeline.reference import load_reference_data
from parkops.warehouse import create_warehouse_engine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m parkops.deploy")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init-warehouse", help="apply the DDL and load the reference seeds")
    args = parser.parse_args(argv)
    if args.command == "init-warehouse":
        counts = load_reference_data(create_warehouse_engine())
        print("warehouse ready; reference rows: " + ", ".join(f"{table} {rows}" for table, rows in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
