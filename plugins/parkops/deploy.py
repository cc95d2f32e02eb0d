"""``python -m parkops.deploy init-warehouse``: prepare the warehouse of a deployment.

Applies the DDL (schemas, tables, views, comments) and loads the reference seeds, so the
first DAG run finds a complete warehouse. Idempotent: safe to run at every start-up.

``python -m parkops.deploy grant-roles`` (PostgreSQL, after ``init-warehouse``): group roles,
ownership and grants from ``sql/security/`` (see ``parkops.warehouse.security``).
Idempotent as well; a no-op on DuckDB, which has no roles.
"""

from __future__ import annotations

import argparse
import sys

from parkops.pipeline.reference import load_reference_data
from parkops.warehouse import create_warehouse_engine
from parkops.warehouse.security import apply_security


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m parkops.deploy")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init-warehouse", help="apply the DDL and load the reference seeds")
    commands.add_parser(
        "grant-roles",
        help="PostgreSQL: create the parkops group roles, hand the schemas to parkops_pipeline, grant (sql/security)",
    )
    args = parser.parse_args(argv)
    if args.command == "init-warehouse":
        counts = load_reference_data(create_warehouse_engine())
        print("warehouse ready; reference rows: " + ", ".join(f"{table} {rows}" for table, rows in counts.items()))
    elif args.command == "grant-roles":
        engine = create_warehouse_engine()
        if engine.dialect.name != "postgresql":
            print(f"grant-roles: nothing to do, the {engine.dialect.name} warehouse has no roles")
        else:
            scripts = apply_security(engine)
            print("warehouse security applied: " + ", ".join(f"{name} ({n} statements)" for name, n in scripts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
