"""Build ``core``, ``ops`` and ``mart`` tables from ``sql/<layer>/<table>.sql``.

Every table listed is rebuilt whole (its SQL reads all loaded history), so a rerun of any interval
produces exactly the same rows. Tables are grouped per feed family, each with its core and mart
build order; the shared tables read every family and are rebuilt with any of them.

- :func:`build_families` / :func:`build_all`: core, then ops, then mart of the chosen families in
  **one transaction** (on PostgreSQL at isolation level REPEATABLE READ: every statement reads
  the same snapshot of staging, so the layers are consistent with each other even while an
  ingestion commits new rows). Readers see the old tables or the new ones, never a mix.
- :func:`build_tables`: one layer's tables in one transaction (e.g. the load benchmark).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from parkops import warehouse
from parkops.feeds import FEEDS

log = logging.getLogger(__name__)

#: Read every family: rebuilt by every build_families call, after the families' own tables.
SHARED_OPS = ("unknown_enterprise_references",)
SHARED_MART = ("kpi_target_progress", "park_evaluation")

#: family (named after the feed it reads) -> (core tables, mart tables), in build order (``parkops.feeds``).
FAMILIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    each.name: (each.core_models, each.mart_models) for each in FEEDS
}
#: Families whose core tables read another family's (``Feed.reads_core_of``): rebuilding that
#: family rebuilds them too; otherwise their flags (e.g. enterprise_known) would describe old data.
DEPENDENTS: dict[str, tuple[str, ...]] = {
    each.name: dependents
    for each in FEEDS
    if (dependents := tuple(other.name for other in FEEDS if each.name in other.reads_core_of))
}


def build_tables(engine: Engine, layer: str, tables: tuple[str, ...]) -> dict[str, int]:
    """Rebuild ``tables`` of one layer, in order, in one transaction; rows per table."""
    counts: dict[str, int] = {}
    with engine.begin() as connection:
        for table in tables:
            counts[table] = warehouse.rebuild_table(connection, layer, table)
            log.info("%s.%s: %d rows", layer, table, counts[table])
    return counts


def family_closure(families: Iterable[str]) -> list[str]:
    """The families asked for plus those that read them (DEPENDENTS), in FAMILIES order."""
    wanted = set()
    pending = list(families)
    while pending:
        family = pending.pop()
        if family not in FAMILIES:
            raise KeyError(f"unknown table family {family!r}; known: {', '.join(FAMILIES)}")
        if family not in wanted:
            wanted.add(family)
            pending.extend(DEPENDENTS.get(family, ()))
    return [family for family in FAMILIES if family in wanted]


def build_plan(families: Iterable[str]) -> list[tuple[str, str]]:
    """``(layer, table)`` in build order: every chosen family's core tables, the shared ops
    tables, every chosen family's mart tables, then the shared marts (each table once)."""
    chosen = family_closure(families)
    plan: list[tuple[str, str]] = []
    plan += [("core", table) for family in chosen for table in FAMILIES[family][0]]
    plan += [("ops", table) for table in SHARED_OPS]
    plan += [("mart", table) for family in chosen for table in FAMILIES[family][1] if table not in SHARED_MART]
    plan += [("mart", table) for table in SHARED_MART]
    return plan


#: ``set local`` of a PostgreSQL rebuild transaction (see :func:`build_families`). Every rebuild
#: statement reads whole tables. Joins on lineage keys (file version, row number, id) are
#: correlated columns the planner multiplies into an estimate of one row, and with statistics
#: fresh it still chose a nested loop that compared each need record with 150k enterprises:
#: core.fct_need_records of a 3-year warehouse ran for over eight minutes in a daily rebuild,
#: 1.8 s with hash joins. Nested loops the plan cannot avoid (a generate_series lateral to its
#: bounds) then carry the planner's "disabled" cost of 1e10, which is above jit_above_cost: every
#: such statement was JIT-compiled, ~0.5-2.4 s of LLVM a statement even on empty tables (a rebuild
#: of an empty warehouse took 5.6 s, 0.3 s without), so JIT is off as well.
POSTGRES_REBUILD_SETTINGS = ("enable_nestloop = off", "jit = off")


def build_families(engine: Engine, families: Iterable[str]) -> dict[str, int]:
    """Rebuild the families' tables (with their dependents and the shared tables) in one
    transaction, at REPEATABLE READ on PostgreSQL; returns rows per ``layer.table``."""
    plan = build_plan(families)
    counts: dict[str, int] = {}
    with engine.connect() as connection, _one_rebuild_at_a_time(connection):
        if connection.dialect.name == "postgresql":
            # One snapshot for every statement: a core table and the mart built from it see the
            # same staging rows even if an ingestion commits meanwhile (READ COMMITTED would not).
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            started_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            _analyze_changed_tables(connection)
            if connection.dialect.name == "postgresql":
                for setting in POSTGRES_REBUILD_SETTINGS:
                    connection.exec_driver_sql(f"set local {setting}")
            for layer, table in plan:
                counts[f"{layer}.{table}"] = warehouse.rebuild_table(connection, layer, table)
                log.info("%s.%s: %d rows", layer, table, counts[f"{layer}.{table}"])
                if connection.dialect.name == "postgresql":
                    # The tables built after this one read it in the same transaction: plan them on its new rows.
                    connection.exec_driver_sql(f"analyze {warehouse.qualified(connection, layer, table)}")
            record_build(connection, family_closure(families), started_at)
    return counts


def _analyze_changed_tables(connection: sa.Connection) -> None:
    """PostgreSQL: statistics for the tables the rebuild reads that changed since last analysed.

    A catch-up loads staging and ops in bulk and the rebuild follows at once, before autovacuum
    has analysed them (or never, where it is off): without statistics the planner takes a table
    of 600k rows for a handful and picks nested loops that rescan it per row (a 3-year
    core.fct_need_records ran for over ten minutes). Only changed tables are sampled, so a daily
    rebuild pays for the few its load touched. A table the role does not own is skipped with a
    warning by PostgreSQL, not an error.
    """
    if connection.dialect.name != "postgresql":
        return
    changed = connection.execute(
        sa.text(
            "select quote_ident(schemaname) || '.' || quote_ident(relname) from pg_stat_user_tables "
            "where schemaname in ('staging', 'ops', 'core') and n_mod_since_analyze > 0 order by 1"
        )
    ).scalars()
    for table in list(changed):
        connection.exec_driver_sql(f"analyze {table}")


#: Advisory lock key of the rebuilds (PostgreSQL).
REBUILD_LOCK_KEY = "parkops:build_families"


@contextlib.contextmanager
def _one_rebuild_at_a_time(connection: sa.Connection) -> Iterator[None]:
    """Serialise rebuilds on PostgreSQL (DuckDB has one writer process anyway).

    Two rebuilds at once would each delete the rows their own snapshot sees and insert theirs:
    on tables empty in both snapshots (a first build, a family's first data) both inserts land,
    and every row is there twice. The lock is a session lock taken in its own transaction,
    *before* the rebuild's REPEATABLE READ transaction: a lock taken inside it would come after
    the snapshot, and the waiting rebuild would still not see what the first one committed.
    """
    if connection.dialect.name != "postgresql":
        yield
        return
    key = {"key": REBUILD_LOCK_KEY}
    connection.execute(sa.text("select pg_advisory_lock(hashtext(:key))"), key)
    connection.commit()
    try:
        yield
    finally:
        # A lost connection took its session and the lock with it: nothing to release then.
        if not connection.invalidated:
            connection.execute(sa.text("select pg_advisory_unlock(hashtext(:key))"), key)
            connection.commit()


def record_build(connection: sa.Connection, families: list[str], started_at: dt.datetime) -> None:
    """Note in ``ops.mart_builds`` which file versions of each rebuilt family's feed this rebuild
    saw (read in its own transaction, so exactly the snapshot it built from): a later load makes
    the feed's count differ, which is how readers tell whether the marts are fresh."""
    build_id = uuid.uuid4().hex
    connection.execute(
        sa.text(
            """
            insert into ops.mart_builds (build_id, feed, started_at, loaded_file_versions, latest_load_at)
            select :build_id, :feed, :started_at, count(*), max(processed_at)
            from ops.file_audit
            where feed = :feed and status in ('loaded', 'superseded')
            """
        ),
        [{"build_id": build_id, "feed": family, "started_at": started_at} for family in families],
    )


def build_all(engine: Engine) -> dict[str, int]:
    """Rebuild every core, ops and mart table in one transaction (see :func:`build_families`)."""
    return build_families(engine, FAMILIES)
