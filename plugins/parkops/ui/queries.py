"""What the pages read: the warehouse opened read-only per request (a DuckDB file locked by a writer is
reported as busy), pipeline health, the quarantine, the Data Docs folder.

SQLAlchemy, DuckDB and the pipeline are imported in the functions: every Airflow process loads the
plugins, and only the api-server serves these pages.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parkops.config import home_dir

if TYPE_CHECKING:
    import sqlalchemy as sa

WAREHOUSE_BUSY_MESSAGE = "仓库正被写入，稍后刷新"
#: Groups of ops.quarantine_by_rule shown at once; the totals always cover every group.
MAX_GROUPS = 1000
MAX_ROWS = 1000
RUN_PIPELINE_HINT = "先运行数据管道（make run FROM=... TO=...）"


class WarehouseBusyError(RuntimeError):
    """The DuckDB warehouse file is locked by the process writing to it (an ingest or rebuild task)."""


@contextmanager
def _lock_errors_as_busy() -> Iterator[None]:
    import duckdb
    import sqlalchemy as sa

    try:
        yield
    except sa.exc.OperationalError as error:
        # DuckDB: "IO Error: Could not set lock on file ...: Conflicting lock is held in <writer>".
        if isinstance(error.orig, duckdb.IOException) and "lock" in str(error.orig).lower():
            raise WarehouseBusyError(str(error.orig)) from error
        raise


@contextmanager
def warehouse_connection() -> Iterator[sa.Connection | None]:
    """A read-only connection to the warehouse, or None when its DuckDB file does not exist yet."""
    from parkops.config import warehouse_url
    from parkops.ops.health import missing_duckdb_file
    from parkops.warehouse import create_warehouse_engine

    url = warehouse_url()
    if missing_duckdb_file(url) is not None:
        yield None
        return
    engine = create_warehouse_engine(url, read_only=True)
    try:
        with _lock_errors_as_busy(), engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _warehouse_label() -> str:
    import sqlalchemy as sa

    from parkops.config import warehouse_url

    return sa.make_url(warehouse_url()).render_as_string(hide_password=True)


def pipeline_health(days: int) -> dict:
    """``parkops.ops.health.pipeline_health``, with a locked DuckDB file reported as busy."""
    from parkops.ops import health

    with _lock_errors_as_busy():
        return health.pipeline_health(days)


@dataclass(frozen=True)
class QuarantineFilters:
    """The filters of the quarantine pages; values are only ever bound as parameters."""

    feed: str | None = None
    day: dt.date | None = None
    rule: str | None = None
    #: What was given as ``day`` when it is not a date: it matches no row.
    invalid_day: str | None = None

    @classmethod
    def from_query(cls, feed: str | None, day: str | None, rule: str | None) -> QuarantineFilters:
        day = (day or "").strip()
        try:
            parsed = dt.date.fromisoformat(day) if day else None
        except ValueError:
            return cls(feed=feed or None, rule=rule or None, invalid_day=day)
        return cls(feed=feed or None, day=parsed, rule=rule or None)

    def where(self) -> tuple[str, dict[str, object]]:
        """``where`` clause over ops.quarantine / ops.quarantine_by_rule, and its parameters.

        The SQL text is made of constant fragments only; the values travel as bound parameters.
        """
        conditions: list[str] = []
        params: dict[str, object] = {}
        if self.feed is not None:
            conditions.append("feed = :feed")
            params["feed"] = self.feed
        if self.day is not None:
            conditions.append("delivery_date = :day")
            params["day"] = self.day
        if self.rule is not None:
            conditions.append("rule = :rule")
            params["rule"] = self.rule
        return (" where " + " and ".join(conditions)) if conditions else "", params

    def query(self) -> dict[str, str]:
        given = {"feed": self.feed, "day": self.invalid_day or (self.day and self.day.isoformat()), "rule": self.rule}
        return {key: value for key, value in given.items() if value}


def _quarantine_tables_missing(connection: sa.Connection | None) -> str | None:
    """Why the quarantine cannot be read yet, or None when it can."""
    from parkops.ops.health import table_exists

    if connection is None:
        return f"仓库尚未创建（{_warehouse_label()}）：{RUN_PIPELINE_HINT}。"
    if not (table_exists(connection, "ops", "quarantine") and table_exists(connection, "ops", "quarantine_by_rule")):
        return f"仓库中还没有隔离数据表（ops.quarantine）：{RUN_PIPELINE_HINT}。"
    return None


def _rules(connection: sa.Connection) -> list[str]:
    import sqlalchemy as sa

    return list(connection.execute(sa.text("select distinct rule from ops.quarantine order by rule")).scalars())


def read_quarantine_groups(filters: QuarantineFilters) -> dict[str, Any]:
    """Groups of ops.quarantine_by_rule matching ``filters`` (at most MAX_GROUPS) and the totals of all."""
    import sqlalchemy as sa

    with warehouse_connection() as connection:
        missing = _quarantine_tables_missing(connection)
        if missing:
            return {"message": missing, "rules": [], "groups": [], "total_groups": 0, "total_rows": 0}
        rules = _rules(connection)
        if filters.invalid_day is not None:
            return {"message": None, "rules": rules, "groups": [], "total_groups": 0, "total_rows": 0}
        where, params = filters.where()
        total_groups, total_rows = connection.execute(
            sa.text(f"select count(*), coalesce(sum(rows_quarantined), 0) from ops.quarantine_by_rule{where}"), params
        ).one()
        groups = connection.execute(
            sa.text(
                "select feed, delivery_date, rule, column_name, rows_quarantined, files, sample_file, "
                f"sample_row_number, sample_reason from ops.quarantine_by_rule{where} "
                "order by delivery_date desc, feed, rule, column_name limit :limit"
            ),
            {**params, "limit": MAX_GROUPS},
        ).all()
    return {
        "message": None,
        "rules": rules,
        "groups": [row._asdict() for row in groups],
        "total_groups": int(total_groups),
        "total_rows": int(total_rows),
    }


def read_quarantine_rows(filters: QuarantineFilters, limit: int) -> dict[str, Any]:
    """Rows of ops.quarantine matching ``filters`` (the first ``limit``), without ``record_json``."""
    import sqlalchemy as sa

    with warehouse_connection() as connection:
        missing = _quarantine_tables_missing(connection)
        if missing:
            return {"message": missing, "rules": [], "rows": [], "total_rows": 0}
        rules = _rules(connection)
        if filters.invalid_day is not None:
            return {"message": None, "rules": rules, "rows": [], "total_rows": 0}
        where, params = filters.where()
        total = connection.execute(sa.text(f"select count(*) from ops.quarantine{where}"), params).scalar_one()
        rows = connection.execute(
            sa.text(
                "select feed, delivery_date, source_file, sheet_name, row_number, column_name, value, rule, reason "
                f"from ops.quarantine{where} "
                "order by delivery_date desc, feed, source_file, sheet_name, row_number, rule, column_name "
                "limit :limit"
            ),
            {**params, "limit": limit},
        ).all()
    return {"message": None, "rules": rules, "rows": [row._asdict() for row in rows], "total_rows": int(total)}


def data_docs_dir() -> Path:
    """``PARKOPS_DATA_DOCS_DIR`` (relative: to ``PARKOPS_HOME``), default ``<PARKOPS_HOME>/data/data_docs``."""
    configured = os.environ.get("PARKOPS_DATA_DOCS_DIR")
    if not configured:
        return home_dir() / "data" / "data_docs"
    path = Path(configured).expanduser()
    return path if path.is_absolute() else home_dir() / path
