"""Build ``core`` and ``mart`` tables from ``sql/<layer>/<table>.sql``, each layer in one transaction."""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine

from parkops import warehouse

log = logging.getLogger(__name__)

#: Build order per feed: every table listed is rebuilt whole (the SQL reads all loaded history,
#: so a rerun of any interval produces exactly the same rows).
REGISTRATIONS_CORE = ("fct_registration_events", "dim_enterprise")
REGISTRATIONS_MART = ("daily_new_tech_enterprises", "new_tech_per_day_windows", "kpi_target_progress")


def build_tables(engine: Engine, layer: str, tables: tuple[str, ...]) -> dict[str, int]:
    counts: dict[str, int] = {}
    with engine.begin() as connection:
        for table in tables:
            counts[table] = warehouse.rebuild_table(connection, layer, table)
            log.info("%s.%s: %d rows", layer, table, counts[table])
    return counts
