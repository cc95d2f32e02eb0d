"""Registration load benchmark: ``make bench`` (or ``python bench/registration_load.py``).

One run, both engines (DuckDB in a temp file, PostgreSQL in a database of its own that is
created and dropped here), and the same synthetic registration rows for every write path:

1. write stage: ``parkops.warehouse.bulk_insert`` of the typed staging frame (as the pipeline
   builds it) into ``staging.registrations``, one transaction, commit included;
2. baselines on the same rows: raw psycopg COPY (prebuilt CSV buffer; CSV encoding timed
   apart; ``write_row``), raw DuckDB ``insert ... select * from df``, and ``DataFrame.to_sql``
   on a slice (it is far too slow for the full frame);
3. end to end: landing files from the generator, then ``FileLoader.load_all`` per engine in a
   subprocess (so peak RSS is per engine), split by stage with wrappers installed here (the
   library is not changed), then the core and mart rebuilds.

Figures go to stdout (a table) and to ``data/bench/<timestamp>.json`` (git-ignored).
PostgreSQL: ``PARKOPS_BENCH_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``)
is the maintenance database used to create and drop ``parkops_bench_<random>``; when it cannot
be reached the DuckDB part still runs and the output says, loudly, that PostgreSQL was skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import hashlib
import io
import itertools
import json
import math
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
STAGING = ("staging", "registrations")
BASELINE_SCHEMA = "bench_raw"
TO_SQL_SCHEMA = "bench_to_sql"
#: Delivered rows per delivery day relative to --events-per-day (weekends and holidays are quiet);
#: measured on the generator: 992,907 rows over 280 days at 5,000 events/day (0.709).
ROWS_PER_DAY_FACTOR = 0.71
E2E_FIRST_DAY = dt.date(2025, 1, 2)
RUN_ID = "manual__2025-06-30T10:00:00+08:00"
# Stage labels of the end-to-end split (wrapped functions of the library).
PREPARE = "prepare (prepare_table: normalise)"
BATCH = "validate_and_write (batch total)"
VALIDATE = "validate (GX validate_frame)"
WRITE = "write (write_group, one transaction per write group)"
READ_DECODE = "decode_text (csv)"
READ_GB_CHECK = "_first_suspicious_char (gb18030 check)"
READ_CSV = "read_csv_text (csv module)"
READ_XLSX = "read_xlsx (calamine; openpyxl for workbooks with error cells)"
BEGIN_WRITE = "_begin_write (lock, audit re-check)"
CONNECT = "open connection (dialect.connect)"
CLOSE = "close connection (dialect.do_close)"
COMMIT = "commit (dialect.do_commit)"
PING = "pre-ping (dialect.do_ping)"
CROSS_CUTTING = (CONNECT, CLOSE, COMMIT, PING)

# Child processes still running when the bench is interrupted; ended in ``cleanup``.
_CHILDREN: list[subprocess.Popen] = []


# ---------------------------------------------------------------------------------------------
# small helpers


def now() -> float:
    return time.perf_counter()


def rate(rows: int, seconds: float | None) -> float | None:
    return rows / seconds if seconds else None


def maxrss_mib() -> float:
    """getrusage ru_maxrss. Linux carries it over fork + exec, so a child started by a big parent
    reports at least the parent's size: use ``peak_rss_mib`` for the child's own peak."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def peak_rss_mib() -> float | None:
    """Peak resident set of this process image (VmHWM), reset by exec, unlike ru_maxrss."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def banner(message: str) -> None:
    line = "!" * 100
    print(f"\n{line}\n!!! {message}\n{line}\n", flush=True)


def versions() -> dict[str, str]:
    found = {}
    for name in ("pandas", "numpy", "sqlalchemy", "duckdb", "duckdb-engine", "psycopg", "great-expectations"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def git_state() -> dict[str, object]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "dirty_files": len(git("status", "--porcelain").splitlines())}


def staging_ddl(schema: str) -> str:
    """``create table`` of staging.registrations as in sql/ddl, renamed into ``schema``."""
    from parkops.config import sql_dir
    from parkops.warehouse import split_statements

    text = (sql_dir() / "ddl" / "20_staging.sql").read_text(encoding="utf-8")
    for statement in split_statements(text):
        if re.match(r"create table if not exists staging\.registrations\b", statement, flags=re.IGNORECASE):
            return re.sub(r"staging\.registrations", f"{schema}.registrations", statement, count=1)
    raise LookupError("create table staging.registrations not found in sql/ddl/20_staging.sql")


# ---------------------------------------------------------------------------------------------
# the 1M-row staging frame


def build_staging_frame(rows: int, seed: int) -> pd.DataFrame:
    """Typed staging rows as ``write_plan.plan_file_write`` hands them to ``bulk_insert``.

    Firms come from the generator's population (real USCCs, names, addresses, parks, industry
    classes, tags); events, dates and files are drawn with numpy. Values are the normalised
    texts of ``prepare_table`` (ISO dates, canonical numbers, tags joined by ';'), object
    dtype; the lineage columns are added with ``DataFrame.assign`` exactly as the pipeline does,
    which gives them pandas' ``str`` dtype; column order is the pipeline's.
    """
    from parkops.feeds import feed
    from parkops.ingest.normalise import number_cell_to_text
    from parkops_tools.generator.population import Population
    from parkops_tools.generator.refdata import load_reference
    from parkops_tools.generator.registrations import DELIVERY_LAG_WEIGHTS, DELIVERY_LAGS, EVENT_TYPES, EVENT_WEIGHTS

    rng = np.random.default_rng(seed)
    population = Population.build(load_reference(), seed, dt.date(2025, 1, 1), size=min(50_000, max(rows // 20, 100)))
    firms = list(population.active())

    def attribute(function: Callable[[Any], object]) -> np.ndarray:
        return np.array([function(firm) for firm in firms], dtype=object)

    pick = rng.integers(0, len(firms), rows)
    columns: dict[str, np.ndarray] = {
        "uscc": attribute(lambda f: f.uscc)[pick],
        "enterprise_name": attribute(lambda f: f.name)[pick],
        "established_date": attribute(lambda f: f.established.isoformat())[pick],
        "enterprise_type": attribute(lambda f: f.enterprise_type)[pick],
        "registered_capital_10k": attribute(lambda f: number_cell_to_text(f.capital_10k))[pick],
        "currency": attribute(lambda f: f.currency)[pick],
        "industry_code": attribute(lambda f: f.industry.code)[pick],
        "park_name": attribute(lambda f: f.park.name)[pick],
        "address": attribute(lambda f: f.address)[pick],
        "legal_representative": attribute(lambda f: f.legal_rep)[pick],
        "contact_phone": attribute(lambda f: f.phone)[pick],
        "qualification_tags": attribute(lambda f: ";".join(f.tags) or None)[pick],
        "insured_employees": attribute(lambda f: None if f.employees is None else str(f.employees))[pick],
    }
    columns["contact_phone"][rng.random(rows) < 0.02] = None
    columns["address"][rng.random(rows) < 0.003] = None
    weights = np.array(EVENT_WEIGHTS) / sum(EVENT_WEIGHTS)
    columns["event_type"] = np.array(EVENT_TYPES, dtype=object)[rng.choice(len(EVENT_TYPES), rows, p=weights)]

    days = np.arange(np.datetime64("2025-01-02"), np.datetime64("2026-01-01"))
    event_day = rng.integers(0, len(days), rows)
    lag_weights = np.array(DELIVERY_LAG_WEIGHTS) / sum(DELIVERY_LAG_WEIGHTS)
    delivery_day = event_day + np.array(DELIVERY_LAGS)[rng.choice(len(DELIVERY_LAGS), rows, p=lag_weights)]
    all_days = np.arange(np.datetime64("2025-01-02"), np.datetime64("2025-01-02") + len(days) + max(DELIVERY_LAGS))
    day_text = np.array([str(day) for day in all_days], dtype=object)
    columns["event_date"] = day_text[event_day]

    # Rows are grouped in files: 1..3 per delivery day, in delivery order, numbered from row 2.
    slot = rng.integers(0, 3, rows)
    order = np.lexsort((slot, delivery_day))
    for name in columns:
        columns[name] = columns[name][order]
    delivery_day, slot = delivery_day[order], slot[order]
    file_key = delivery_day * 3 + slot
    starts = np.r_[0, np.flatnonzero(np.diff(file_key)) + 1]
    lengths = np.diff(np.r_[starts, rows])
    row_number = np.arange(rows) - np.repeat(starts, lengths) + 2
    delivery_text = day_text[delivery_day]
    source_file = np.array(
        [
            f"registrations/{day}/reg_{day.replace('-', '')}_{number + 1:02d}.csv"
            for day, number in zip(delivery_text, slot, strict=True)
        ],
        dtype=object,
    )
    unique_files, inverse = np.unique(source_file, return_inverse=True)
    sha = np.array([hashlib.sha256(name.encode()).hexdigest() for name in unique_files], dtype=object)[inverse]

    normalised = pd.DataFrame(
        {
            column.name: pd.Series(columns[column.name], dtype=object)
            for column in feed("registrations").contract("registrations").columns
        },
        index=pd.Index(row_number, name="row_number"),
    )
    # As _file_write: drop delivery_date (not in normalised here), reset_index, rename, assign lineage.
    frame = normalised.reset_index().rename(columns={"row_number": "source_row_number"})
    lineage = frame.iloc[:0].assign(source_file="", source_sha256="", delivery_date="", run_id="")
    frame = frame.assign(source_file=source_file, source_sha256=sha, delivery_date=delivery_text, run_id=RUN_ID)
    for name in ("source_file", "source_sha256", "delivery_date", "run_id"):
        frame[name] = frame[name].astype(lineage[name].dtype)
    return frame


# ---------------------------------------------------------------------------------------------
# write stage and baselines


def _our_bulk_insert(engine: sa.Engine, frame: pd.DataFrame) -> dict[str, float]:
    """bulk_insert into staging.registrations in one transaction; seconds to commit included."""
    from parkops import warehouse

    with engine.connect() as connection:
        transaction = connection.begin()
        started = now()
        warehouse.bulk_insert(connection, *STAGING, frame)
        inserted = now()
        transaction.commit()
        committed = now()
    return {
        "seconds": committed - started,
        "insert_seconds": inserted - started,
        "commit_seconds": committed - inserted,
    }


def _empty(engine: sa.Engine, *tables: str) -> None:
    """Empty the tables and checkpoint, so the next timed insert starts from the same state."""
    with engine.begin() as connection:
        for table in tables:
            connection.exec_driver_sql(f"truncate {table}")
    with engine.connect() as connection:  # CHECKPOINT outside a transaction (DuckDB requires it)
        connection.connection.driver_connection.execute("checkpoint")


def _count(engine: sa.Engine, table: str) -> int:
    with engine.connect() as connection:
        return connection.exec_driver_sql(f"select count(*) from {table}").scalar_one()


NULLABLE = ("enterprise_type", "address", "contact_phone", "qualification_tags", "insured_employees")


def _null_counts(engine: sa.Engine, table: str) -> dict[str, int]:
    """NULLs per nullable column: checks that a path writes missing values as NULL."""
    select = ", ".join(f"count(*) - count({column})" for column in NULLABLE)
    with engine.connect() as connection:
        return dict(zip(NULLABLE, connection.exec_driver_sql(f"select {select} from {table}").one(), strict=True))


def _frame_null_counts(frame: pd.DataFrame) -> dict[str, int]:
    return {column: int(frame[column].isna().sum()) for column in NULLABLE}


def _to_sql_dtypes() -> dict[str, sa.types.TypeEngine]:
    """Column types for to_sql, from the staging DDL: SQLAlchemy's psycopg dialect renders a cast
    per bound value (``%(x)s::VARCHAR``), which PostgreSQL refuses for date/numeric columns."""
    return {
        "source_row_number": sa.Integer(),
        "delivery_date": sa.Date(),
        "event_date": sa.Date(),
        "established_date": sa.Date(),
        "registered_capital_10k": sa.Numeric(20, 4),
        "insured_employees": sa.Integer(),
    }


def _time_to_sql(engine, frame, to_sql_rows: int, chunksize: int, engine_label: str) -> dict:
    """pandas.to_sql baseline on a slice (it is too slow for all rows): warm-up, then timed."""
    log(f"{engine_label}: DataFrame.to_sql of {to_sql_rows:,} rows (chunksize {chunksize:,}; warm-up, then timed)")
    sliced = frame.iloc[:to_sql_rows]
    _to_sql(engine, sliced.iloc[:1000], chunksize)
    _empty(engine, f"{TO_SQL_SCHEMA}.registrations")
    seconds = _to_sql(engine, sliced, chunksize)
    assert _count(engine, f"{TO_SQL_SCHEMA}.registrations") == len(sliced)
    return {
        "rows": len(sliced),
        "chunksize": chunksize,
        "method": "default (executemany)",
        "seconds": seconds,
        "rows_per_s": rate(len(sliced), seconds),
    }


def _to_sql(engine: sa.Engine, frame: pd.DataFrame, chunksize: int) -> float:
    with engine.connect() as connection:
        transaction = connection.begin()
        started = now()
        frame.to_sql(
            "registrations",
            connection,
            schema=TO_SQL_SCHEMA,
            if_exists="append",
            index=False,
            chunksize=chunksize,
            method=None,
            dtype=_to_sql_dtypes(),
        )
        transaction.commit()
        return now() - started


def _prepare_tables(engine: sa.Engine) -> None:
    from parkops import warehouse

    with engine.begin() as connection:
        warehouse.apply_ddl(connection)
        for schema in (BASELINE_SCHEMA, TO_SQL_SCHEMA):
            connection.exec_driver_sql(f"create schema if not exists {schema}")
            connection.exec_driver_sql(staging_ddl(schema))


def write_stage_duckdb(path: Path, frame: pd.DataFrame, to_sql_rows: int, chunksize: int) -> dict[str, Any]:
    import duckdb

    from parkops.warehouse import create_warehouse_engine

    rows = len(frame)
    engine = create_warehouse_engine(f"duckdb:///{path}")
    _prepare_tables(engine)
    result: dict[str, Any] = {"rows": rows}
    staging = ".".join(STAGING)
    baseline = f"{BASELINE_SCHEMA}.registrations"

    log("duckdb: our bulk_insert (warm-up, then timed)")
    _our_bulk_insert(engine, frame.iloc[:2000])
    _empty(engine, staging)
    ours = _our_bulk_insert(engine, frame)
    assert _count(engine, staging) == rows
    result["ours"] = {**ours, "rows_per_s": rate(rows, ours["seconds"])}
    result["ours_nulls_match"] = _null_counts(engine, staging) == _frame_null_counts(frame)
    _empty(engine, staging)

    log("duckdb: raw insert ... select * from df (warm-up, then timed)")
    engine.dispose()
    con = duckdb.connect(str(path))
    try:
        table_order = [
            row[0]
            for row in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                "order by ordinal_position",
                [BASELINE_SCHEMA, "registrations"],
            ).fetchall()
        ]
        df = frame[table_order]  # same column order as the table, so "select *" lines up  # noqa: F841
        sql = f"insert into {baseline} select * from df"
        con.execute("begin")
        con.execute(f"insert into {baseline} select * from df limit 2000")
        con.execute("rollback")
        con.execute("begin")
        started = now()
        con.execute(sql)
        con.execute("commit")
        seconds = now() - started
        assert con.execute(f"select count(*) from {baseline}").fetchone()[0] == rows
        con.execute(f"delete from {baseline}")
        con.execute("checkpoint")
    finally:
        con.close()
    result["raw_insert"] = {"seconds": seconds, "rows_per_s": rate(rows, seconds), "sql": sql}

    result["to_sql"] = _time_to_sql(engine, frame, to_sql_rows, chunksize, "duckdb")
    engine.dispose()
    return result


def _pg_settings(engine: sa.Engine) -> dict[str, str]:
    names = (
        "server_version",
        "shared_buffers",
        "synchronous_commit",
        "fsync",
        "wal_level",
        "max_wal_size",
        "work_mem",
        "maintenance_work_mem",
        "checkpoint_timeout",
    )
    with engine.connect() as connection:
        return {name: connection.exec_driver_sql(f"show {name}").scalar_one() for name in names}


def write_stage_postgres(url: sa.URL, frame: pd.DataFrame, to_sql_rows: int, chunksize: int) -> dict[str, Any]:
    import psycopg

    from parkops import warehouse
    from parkops.warehouse import create_warehouse_engine

    rows = len(frame)
    engine = create_warehouse_engine(url.render_as_string(hide_password=False))
    _prepare_tables(engine)
    result: dict[str, Any] = {"rows": rows, "server": _pg_settings(engine)}
    staging = ".".join(STAGING)
    baseline = f"{BASELINE_SCHEMA}.registrations"

    log("postgresql: our bulk_insert (warm-up, then timed)")
    _our_bulk_insert(engine, frame.iloc[:2000])
    _empty(engine, staging)
    ours = _our_bulk_insert(engine, frame)
    assert _count(engine, staging) == rows
    result["ours"] = {**ours, "rows_per_s": rate(rows, ours["seconds"])}
    result["ours_nulls_match"] = _null_counts(engine, staging) == _frame_null_counts(frame)
    _empty(engine, staging)

    log("postgresql: our CSV chunk encoding alone (warehouse._csv_chunks, nothing sent)")
    started = now()
    encoded = sum(len(chunk) for chunk in warehouse._csv_chunks(frame))
    seconds = now() - started
    result["ours_csv_encoding"] = {"seconds": seconds, "rows_per_s": rate(rows, seconds), "characters": encoded}

    log("postgresql: raw CSV encoding (one DataFrame.to_csv + utf-8 encode) and raw COPY of the prebuilt buffer")
    columns = list(frame.columns)
    copy_sql = f"copy {baseline} ({', '.join(columns)}) from stdin with (format csv)"
    started = now()
    text = io.StringIO()
    frame.to_csv(text, header=False, index=False, lineterminator="\n")
    payload = text.getvalue().encode("utf-8")
    encode_seconds = now() - started
    del text
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)

    def copy_buffer(data: bytes) -> float:
        view = memoryview(data)
        with psycopg.connect(conninfo) as connection:
            started = now()
            with connection.transaction(), connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
                for offset in range(0, len(view), 1 << 20):
                    copy.write(view[offset : offset + (1 << 20)])
            return now() - started

    warm = frame.iloc[:2000].to_csv(header=False, index=False, lineterminator="\n").encode("utf-8")
    copy_buffer(warm)
    _empty(engine, baseline)
    copy_seconds = copy_buffer(payload)
    assert _count(engine, baseline) == rows
    _empty(engine, baseline)
    result["csv_encoding"] = {
        "seconds": encode_seconds,
        "rows_per_s": rate(rows, encode_seconds),
        "bytes": len(payload),
    }
    result["raw_copy_prebuilt"] = {"seconds": copy_seconds, "rows_per_s": rate(rows, copy_seconds)}
    both = encode_seconds + copy_seconds
    result["raw_copy_with_encoding"] = {"seconds": both, "rows_per_s": rate(rows, both)}
    del payload

    log("postgresql: alternative encoder pyarrow.csv.write_csv, then COPY of its buffer")
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    started = now()
    sink = io.BytesIO()
    # Strings quoted, nulls as unquoted empty fields (COPY NULL); the frame holds no empty strings.
    options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
    pa_csv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), sink, options)
    arrow_payload = sink.getvalue()
    arrow_seconds = now() - started
    del sink
    copy_seconds = copy_buffer(arrow_payload)
    assert _count(engine, baseline) == rows
    result["pyarrow_nulls_match"] = _null_counts(engine, baseline) == _frame_null_counts(frame)
    _empty(engine, baseline)
    result["pyarrow_csv_encoding"] = {"seconds": arrow_seconds, "rows_per_s": rate(rows, arrow_seconds)}
    both = arrow_seconds + copy_seconds
    result["raw_copy_pyarrow"] = {"seconds": both, "copy_seconds": copy_seconds, "rows_per_s": rate(rows, both)}
    del arrow_payload

    log("postgresql: raw COPY with psycopg write_row over DataFrame.itertuples (psycopg encodes)")

    def copy_rows(part: pd.DataFrame) -> float:
        with psycopg.connect(conninfo) as connection:
            started = now()
            with (
                connection.transaction(),
                connection.cursor() as cursor,
                cursor.copy(f"copy {baseline} ({', '.join(columns)}) from stdin") as copy,
            ):
                for row in part.itertuples(index=False, name=None):
                    copy.write_row(row)
            return now() - started

    copy_rows(frame.iloc[:2000])
    _empty(engine, baseline)
    seconds = copy_rows(frame)
    assert _count(engine, baseline) == rows
    _empty(engine, baseline)
    result["raw_copy_write_row"] = {"seconds": seconds, "rows_per_s": rate(rows, seconds)}

    result["to_sql"] = _time_to_sql(engine, frame, to_sql_rows, chunksize, "postgresql")
    engine.dispose()
    return result


# ---------------------------------------------------------------------------------------------
# end to end (child process per engine)


class StageClock:
    """Wraps module attributes / methods to add up their wall time (and call counts)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._depth: dict[str, int] = {}

    def wrap(self, owner: Any, attribute: str, label: str | Callable[..., str]) -> None:
        original = getattr(owner, attribute)
        clock = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            name = label(*args, **kwargs) if callable(label) else label
            depth = clock._depth.get(name, 0)
            clock._depth[name] = depth + 1
            started = now()
            try:
                return original(*args, **kwargs)
            finally:
                clock._depth[name] = depth
                if depth == 0:  # re-entrant calls are counted once
                    clock.seconds[name] = clock.seconds.get(name, 0.0) + now() - started
                    clock.calls[name] = clock.calls.get(name, 0) + 1

        setattr(owner, attribute, timed)


def run_e2e(url: str, landing: Path, first: dt.date, last: dt.date) -> dict[str, Any]:
    """Reference data, FileLoader.load_all over every landed file, core and mart rebuilds."""
    started_process = now()
    from parkops import warehouse
    from parkops.feeds import feed
    from parkops.ingest import readers, tabular
    from parkops.pipeline import discovery, ingest, transform, writer
    from parkops.pipeline.reference import load_reference_data
    from parkops.quality import validation

    result: dict[str, Any] = {"imports_seconds": now() - started_process}
    engine = warehouse.create_warehouse_engine(url)
    result["dialect"] = engine.dialect.name

    started = now()
    result["reference_rows"] = load_reference_data(engine)
    result["reference_seconds"] = now() - started

    started = now()
    registrations = feed("registrations")
    files = discovery.discover_files(landing, registrations, discovery.delivery_days(first, last))
    result["discover_seconds"] = now() - started  # includes sha256 of every file
    result["files"] = len(files)
    result["landing_bytes"] = sum(landed.size_bytes for landed in files)

    # GX import, context and suite parsing happen once per process on the first validation; done
    # here so "validate" below is the steady-state cost. Private helpers: skipped if renamed.
    started = now()
    try:
        validation._import_gx()
        validation._batch_definition()
        validation._cached_suite("registrations")
        result["gx_setup_seconds"] = now() - started
    except AttributeError as error:
        result["gx_setup_seconds"] = None
        result["gx_setup_note"] = f"not separated ({error}); included in validate"
    result["rss_before_load_mib"] = peak_rss_mib()
    result["ru_maxrss_before_load_mib"] = maxrss_mib()

    clock = StageClock()
    # The one-table reading calls read_table and prepare_table by the names it imported.
    clock.wrap(tabular, "read_table", lambda path, *_: f"read (read_table) {Path(path).suffix.lower()}")
    clock.wrap(readers, "decode_text", READ_DECODE)
    clock.wrap(readers, "_first_suspicious_char", READ_GB_CHECK)
    clock.wrap(readers, "read_csv_text", READ_CSV)
    clock.wrap(readers, "read_xlsx", READ_XLSX)
    clock.wrap(writer.FileWriter, "_begin_write", BEGIN_WRITE)
    clock.wrap(engine.dialect, "connect", CONNECT)
    clock.wrap(engine.dialect, "do_close", CLOSE)
    clock.wrap(engine.dialect, "do_commit", COMMIT)
    clock.wrap(engine.dialect, "do_ping", PING)
    clock.wrap(tabular, "prepare_table", PREPARE)
    clock.wrap(validation, "validate_frame", VALIDATE)
    clock.wrap(ingest.FileLoader, "_validate_and_write", BATCH)
    clock.wrap(writer.FileWriter, "write_group", WRITE)
    clock.wrap(
        warehouse,
        "bulk_insert",
        lambda connection, schema, table, frame: f"bulk_insert {schema}.{table}",
    )

    loader = ingest.FileLoader(engine, registrations, "bench_e2e")
    started = now()
    outcomes = loader.load_all(files)
    load_seconds = now() - started
    result["rss_after_load_mib"] = peak_rss_mib()
    result["ru_maxrss_after_load_mib"] = maxrss_mib()
    summary = ingest.outcome_summary(outcomes)
    summary.pop("rejected")
    result["outcomes"] = summary
    result["load_all_seconds"] = load_seconds
    result["stage_seconds"] = clock.seconds
    result["stage_calls"] = clock.calls

    # As build_marts after a registrations load (its marts include kpi_target_progress and the
    # park evaluation), timed per layer.
    for layer in ("core", "mart"):
        tables = tuple(table for schema, table in transform.build_plan(["registrations"]) if schema == layer)
        started = now()
        result[f"{layer}_rows"] = transform.build_tables(engine, layer, tables)
        result[f"{layer}_seconds"] = now() - started
    with engine.connect() as connection:
        result["staging_rows"] = connection.exec_driver_sql("select count(*) from staging.registrations").scalar_one()
    engine.dispose()
    result["rss_peak_mib"] = peak_rss_mib()
    result["ru_maxrss_peak_mib"] = maxrss_mib()
    return result


def spawn_e2e(url: str, landing: Path, first: dt.date, last: dt.date, out: Path, log_path: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "_e2e",
        "--url",
        url,
        "--landing",
        str(landing),
        "--first",
        first.isoformat(),
        "--last",
        last.isoformat(),
        "--out",
        str(out),
    ]
    started = now()
    with log_path.open("w") as handle:
        child = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, cwd=REPO)
        _CHILDREN.append(child)
        code = child.wait()
        _CHILDREN.remove(child)
    if code != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(f"e2e child failed (exit {code}), last lines of {log_path}:\n{tail}")
    result = json.loads(out.read_text())
    result["process_seconds"] = now() - started
    return result


def generate_landing(
    landing: Path, first: dt.date, last: dt.date, events_per_day: int, seed: int, processes: int
) -> dict[str, Any]:
    """Run the generator CLI; the range is cut into ``processes`` consecutive parts run side by side.

    Each part is its own simulation (population, file defects), written to its own delivery
    folders; generation is not part of any timed load, this only shortens the bench.
    """
    days = (last - first).days + 1
    processes = max(1, min(processes, days // 10 or 1))
    bounds = [first + dt.timedelta(days=round(days * part / processes)) for part in range(processes + 1)]
    commands = [
        [
            sys.executable,
            "-m",
            "parkops_tools.generator",
            "registrations",
            "--landing",
            str(landing),
            "--from",
            start.isoformat(),
            "--to",
            (end - dt.timedelta(days=1)).isoformat(),
            "--events-per-day",
            str(events_per_day),
            "--seed",
            str(seed),
        ]
        for start, end in itertools.pairwise(bounds)
    ]
    started = now()
    children = []
    for command in commands:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
        _CHILDREN.append(child)
        children.append(child)
    outputs = []
    for child in children:
        output, _ = child.communicate()
        _CHILDREN.remove(child)
        if child.returncode != 0:
            raise RuntimeError(f"generator failed (exit {child.returncode}):\n{output}")
        outputs.append(output)
    seconds = now() - started
    result: dict[str, Any] = {
        "commands": [" ".join(command[1:]) for command in commands],
        "processes": len(commands),
        "seconds": seconds,
        "files": 0,
        "rows": 0,
        "loadable_rows": 0,
        "summaries": [output.strip().splitlines()[:3] for output in outputs],
    }
    formats: dict[str, int] = {}
    for output in outputs:
        rows = re.search(r"files (\d+) \(([^)]*)\), rows ([\d,]+)", output)
        loadable = re.search(r"loadable rows ([\d,]+)", output)
        if not rows or not loadable:
            raise RuntimeError(f"unexpected generator summary:\n{output}")
        result["files"] += int(rows.group(1))
        result["rows"] += int(rows.group(3).replace(",", ""))
        result["loadable_rows"] += int(loadable.group(1).replace(",", ""))
        for part in rows.group(2).split(", "):
            name, count = part.rsplit(" ", 1)
            formats[name] = formats.get(name, 0) + int(count)
    result["formats"] = ", ".join(f"{name} {count}" for name, count in sorted(formats.items()))
    return result


# ---------------------------------------------------------------------------------------------
# PostgreSQL database of the run


class PgDatabase:
    def __init__(self, admin_url: str) -> None:
        self.admin = sa.make_url(admin_url)
        self.name = f"parkops_bench_{secrets.token_hex(4)}"
        self.created = False

    def _admin_conninfo(self) -> str:
        return self.admin.set(drivername="postgresql").render_as_string(hide_password=False)

    def create(self) -> sa.URL:
        import psycopg

        with psycopg.connect(self._admin_conninfo(), autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'create database "{self.name}"')
        self.created = True
        return self.admin.set(drivername="postgresql+psycopg", database=self.name)

    def reset(self) -> None:
        """Drop every schema the write stage made, so the e2e load starts from an empty warehouse."""
        import psycopg

        url = self.admin.set(drivername="postgresql", database=self.name).render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as connection:
            for schema in ("raw", "staging", "core", "mart", "ops", BASELINE_SCHEMA, TO_SQL_SCHEMA):
                connection.execute(f"drop schema if exists {schema} cascade")
            connection.execute("checkpoint")

    def drop(self) -> None:
        if not self.created:
            return
        import psycopg

        with psycopg.connect(self._admin_conninfo(), autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'drop database if exists "{self.name}" with (force)')
        self.created = False


# ---------------------------------------------------------------------------------------------
# report


def fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def fmt_ratio(numerator: float | None, denominator: float | None) -> str:
    if not numerator or not denominator:
        return "-"
    return f"{numerator / denominator:.2f}"


def print_table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    print(
        "  "
        + "  ".join(
            str(h).ljust(w) if i == 0 else str(h).rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    )
    print("  " + "  ".join("-" * w for w in widths))
    for row in rows:
        print(
            "  "
            + "  ".join(
                str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def report(data: dict[str, Any]) -> None:
    write = data["write_stage"]
    rows = write["rows"]
    duck = write.get("duckdb") or {}
    pg = write.get("postgresql") or {}
    print("\n" + "=" * 100)
    print(f"parkops registration load benchmark  {data['started_at']}  ({data['machine']['cpus']} CPUs)")
    print("=" * 100)
    if data.get("postgresql_skipped"):
        banner(f"PostgreSQL SKIPPED: {data['postgresql_skipped']}")
    load = data["machine"]["loadavg_at_start"][0]
    print(f"load average (1 min) at start {load:.2f}, at end {data['machine']['loadavg_at_end'][0]:.2f}")
    if load > 0.5:
        print("  WARNING: the machine was busy when the bench started; other processes compete for the 2 cores")

    lines = [
        ("DuckDB  ours: bulk_insert -> staging.registrations", duck.get("ours", {}).get("seconds"), rows),
        ("DuckDB  raw: insert into t select * from df", duck.get("raw_insert", {}).get("seconds"), rows),
        ("DuckDB  pandas to_sql (slice)", duck.get("to_sql", {}).get("seconds"), duck.get("to_sql", {}).get("rows")),
        ("PG      ours: bulk_insert -> staging.registrations", pg.get("ours", {}).get("seconds"), rows),
        ("PG        of which CSV encoding (_csv_chunks, alone)", pg.get("ours_csv_encoding", {}).get("seconds"), rows),
        (
            "PG      raw COPY incl. CSV encoding (to_csv + COPY)",
            pg.get("raw_copy_with_encoding", {}).get("seconds"),
            rows,
        ),
        ("PG        CSV encoding alone (DataFrame.to_csv)", pg.get("csv_encoding", {}).get("seconds"), rows),
        ("PG        COPY of the prebuilt buffer", pg.get("raw_copy_prebuilt", {}).get("seconds"), rows),
        ("PG      raw COPY via psycopg write_row(itertuples)", pg.get("raw_copy_write_row", {}).get("seconds"), rows),
        ("PG      raw COPY, pyarrow CSV encoding (encode + COPY)", pg.get("raw_copy_pyarrow", {}).get("seconds"), rows),
        ("PG        pyarrow.csv.write_csv encoding alone", pg.get("pyarrow_csv_encoding", {}).get("seconds"), rows),
        ("PG      pandas to_sql (slice)", pg.get("to_sql", {}).get("seconds"), pg.get("to_sql", {}).get("rows")),
    ]
    print_table(
        f"1+2. Write stage, same {rows:,} synthetic staging rows, one transaction each (commit included)",
        ("path", "rows", "seconds", "rows/s"),
        [
            (label, f"{n:,}" if n else "-", fmt_s(s), fmt_rate(rate(n, s) if n else None))
            for label, s, n in lines
            if not (label.startswith("PG") and not pg)
        ],
    )
    if duck:
        print(
            f"  DuckDB ours: insert {fmt_s(duck['ours']['insert_seconds'])} s + commit "
            f"{fmt_s(duck['ours']['commit_seconds'])} s"
        )
    if pg:
        print(
            f"  PG ours: COPY {fmt_s(pg['ours']['insert_seconds'])} s + commit {fmt_s(pg['ours']['commit_seconds'])} s;"
            f" server {pg['server']['server_version']}, synchronous_commit={pg['server']['synchronous_commit']},"
            f" shared_buffers={pg['server']['shared_buffers']}, max_wal_size={pg['server']['max_wal_size']}"
        )
    checks = [(f"{name} ours", side.get("ours_nulls_match")) for name, side in (("DuckDB", duck), ("PG", pg)) if side]
    if pg:
        checks.append(("PG pyarrow", pg.get("pyarrow_nulls_match")))
    print(
        "  NULLs written as NULL (per nullable column, vs the frame): "
        + ", ".join(f"{name} {'yes' if ok else 'NO'}" for name, ok in checks)
    )
    to_sql_note = duck.get("to_sql") or pg.get("to_sql") or {}
    if to_sql_note:
        print(
            f"  to_sql: {to_sql_note['rows']:,}-row slice, chunksize {to_sql_note['chunksize']:,}, "
            f"method={to_sql_note['method']}"
        )

    def our_rate(side: dict) -> float | None:
        return side.get("ours", {}).get("rows_per_s")

    ratios = []
    if pg:
        ratios += [
            (
                "PG ours / raw COPY of prebuilt buffer (goal >= 0.7)",
                fmt_ratio(our_rate(pg), pg["raw_copy_prebuilt"]["rows_per_s"]),
            ),
            (
                "PG ours / raw COPY incl. CSV encoding",
                fmt_ratio(our_rate(pg), pg["raw_copy_with_encoding"]["rows_per_s"]),
            ),
            ("PG ours / raw COPY via write_row", fmt_ratio(our_rate(pg), pg["raw_copy_write_row"]["rows_per_s"])),
            ("PG ours / raw COPY with pyarrow encoding", fmt_ratio(our_rate(pg), pg["raw_copy_pyarrow"]["rows_per_s"])),
            ("PG ours / to_sql", fmt_ratio(our_rate(pg), pg["to_sql"]["rows_per_s"])),
        ]
    if duck:
        ratios += [
            ("DuckDB ours / raw insert select * from df", fmt_ratio(our_rate(duck), duck["raw_insert"]["rows_per_s"])),
            ("DuckDB ours / to_sql", fmt_ratio(our_rate(duck), duck["to_sql"]["rows_per_s"])),
        ]
    if pg and duck:
        ratios.append(("PG ours / DuckDB ours", fmt_ratio(our_rate(pg), our_rate(duck))))
    print_table("5. Ratios (rows/s over rows/s)", ("ratio", "value"), ratios)

    gen = data.get("generation")
    e2e = data.get("e2e", {})
    if gen:
        print(
            f"\n3. End to end: {gen['rows']:,} rows in {gen['files']} files "
            f"(~{gen['rows'] / gen['files']:,.0f} rows/file; "
            f"{gen['formats']}), "
            f"{gen['loadable_rows']:,} loadable; generated in {gen['seconds']:.1f} s by {gen['processes']} generator "
            f"process(es) side by side ({fmt_rate(rate(gen['rows'], gen['seconds']))} rows/s, not part of the load)"
        )
    if e2e:
        engines = [name for name in ("duckdb", "postgresql") if name in e2e]
        stage_names = sorted({stage for name in engines for stage in e2e[name]["stage_seconds"]})
        table: list[tuple[str, ...]] = []

        def add(label: str, values: list[float | None], show_rate: int | None = None) -> None:
            cells = []
            for value in values:
                text = fmt_s(value)
                if show_rate and value:
                    text += f" ({fmt_rate(show_rate / value)} rows/s)"
                cells.append(text)
            table.append((label, *cells))

        def stage(name: str) -> list[float | None]:
            return [e2e[n]["stage_seconds"].get(name) for n in engines]

        for name in engines:
            e = e2e[name]
            stages = e["stage_seconds"]
            e["other_seconds"] = e["load_all_seconds"] - sum(
                seconds
                for label, seconds in stages.items()
                if label.startswith(("read ", "prepare ", "validate_and_write "))
            )
            e["write_other_seconds"] = (
                stages.get(WRITE, 0.0)
                - stages.get(BEGIN_WRITE, 0.0)
                - sum(seconds for label, seconds in stages.items() if label.startswith("bulk_insert "))
            )
            e["batch_glue_seconds"] = stages.get(BATCH, 0.0) - stages.get(VALIDATE, 0.0) - stages.get(WRITE, 0.0)

        add(
            "load_all total (rows received/s)",
            [e2e[n]["load_all_seconds"] for n in engines],
            show_rate=e2e[engines[0]]["outcomes"]["rows_received"],
        )
        children = {".csv": ((READ_DECODE, 4), (READ_GB_CHECK, 6), (READ_CSV, 4)), ".xlsx": ((READ_XLSX, 4),)}
        for label in stage_names:
            if label.startswith("read "):
                add(f"  {label}", stage(label))
                for child, indent in children.get(label.rsplit(" ", 1)[-1], ()):
                    add(" " * indent + child, stage(child))
        add(f"  {PREPARE}", stage(PREPARE))
        add(f"  {BATCH}", stage(BATCH))
        add(f"    {VALIDATE}", stage(VALIDATE))
        add(f"    {WRITE}", stage(WRITE))
        for label in stage_names:
            if label.startswith("bulk_insert "):
                add(f"      {label}", stage(label))
        add(f"      {BEGIN_WRITE}", stage(BEGIN_WRITE))
        add("      rest of write (connect, frames, commit, close)", [e2e[n]["write_other_seconds"] for n in engines])
        add("    rest of batch (concat, split failures by file)", [e2e[n]["batch_glue_seconds"] for n in engines])
        add(
            "  rest of load_all (connect, audit look-ups, rejected/duplicate files)",
            [e2e[n]["other_seconds"] for n in engines],
        )
        for label in CROSS_CUTTING:
            add(f"  across load_all: {label}", stage(label))
            per_call = []
            for n in engines:
                calls = e2e[n]["stage_calls"].get(label)
                seconds = e2e[n]["stage_seconds"].get(label)
                per_call.append(f"{calls:,} x {1000 * seconds / calls:.1f} ms" if calls else "-")
            table.append(("    calls x mean", *per_call))
        add("GX import + context (one-off, before load)", [e2e[n].get("gx_setup_seconds") for n in engines])
        add("reference data (DDL + seeds)", [e2e[n]["reference_seconds"] for n in engines])
        add("discover (list + sha256)", [e2e[n]["discover_seconds"] for n in engines])
        add("core rebuild", [e2e[n]["core_seconds"] for n in engines])
        add("mart rebuild", [e2e[n]["mart_seconds"] for n in engines])
        table.append(
            ("peak RSS after load_all, VmHWM (MiB)", *[f"{e2e[n]['rss_after_load_mib']:,.0f}" for n in engines])
        )
        table.append(
            (
                "peak RSS before load (imports, GX), VmHWM (MiB)",
                *[f"{e2e[n]['rss_before_load_mib']:,.0f}" for n in engines],
            )
        )
        table.append(
            (
                "rows received/loaded/quarantined",
                *[
                    f"{e2e[n]['outcomes']['rows_received']:,}/{e2e[n]['outcomes']['rows_loaded']:,}/"
                    f"{e2e[n]['outcomes']['rows_quarantined']:,}"
                    for n in engines
                ],
            )
        )
        table.append(
            (
                "files by outcome",
                *[
                    ", ".join(
                        f"{key.removeprefix('files_')} {value}"
                        for key, value in e2e[n]["outcomes"].items()
                        if key.startswith("files_") and value
                    )
                    for n in engines
                ],
            )
        )
        print_table("   FileLoader.load_all per engine (child process each), seconds", ("stage", *engines), table)
        for name in engines:
            e = e2e[name]
            loaded = e["outcomes"]["rows_loaded"]
            staging_seconds = e["stage_seconds"].get("bulk_insert staging.registrations")
            print(
                f"  {name}: {fmt_rate(rate(e['outcomes']['rows_received'], e['load_all_seconds']))} rows received/s, "
                f"{fmt_rate(rate(loaded, e['load_all_seconds']))} rows loaded/s; "
                f"staging bulk_insert alone {fmt_rate(rate(loaded, staging_seconds))}"
                f" rows/s; core rows {', '.join(f'{k} {v:,}' for k, v in e['core_rows'].items())}"
            )
    for name, error in data.get("errors", {}).items():
        banner(f"{name} FAILED: {error}")
    print(f"\ntotal wall time {data['total_seconds']:.0f} s; JSON: {data.get('json_path')}")
    if data.get("postgresql_skipped"):
        banner("PostgreSQL was SKIPPED: the figures above are DuckDB only")


# ---------------------------------------------------------------------------------------------
# main


def _raise_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the write-stage frame")
    parser.add_argument("--to-sql-rows", type=int, default=100_000, help="slice timed with DataFrame.to_sql")
    parser.add_argument("--to-sql-chunksize", type=int, default=10_000)
    parser.add_argument(
        "--e2e-rows",
        type=int,
        default=850_000,
        help="target rows of the generated landing files (days = rows / (0.71 x events/day)); 1,000,000 makes the"
        " whole bench take ~12.5 min on 2 cores, over its 12-minute budget",
    )
    parser.add_argument(
        "--events-per-day", type=int, default=8000, help="generator volume (larger days = fewer, larger files)"
    )
    parser.add_argument("--seed", type=int, default=20250101)
    parser.add_argument(
        "--generator-processes", type=int, default=2, help="generator processes run side by side (parts of the range)"
    )
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("PARKOPS_BENCH_PG_URL", DEFAULT_PG_URL),
        help="maintenance database used to create/drop the bench database",
    )
    parser.add_argument("--out-dir", type=Path, default=REPO / "data" / "bench")
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, _raise_on_signal)
    signal.signal(signal.SIGHUP, _raise_on_signal)
    started_total = now()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    data: dict[str, Any] = {
        "started_at": stamp,
        "args": {key: str(value) for key, value in vars(args).items() if key != "pg_url"},
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "loadavg_at_start": os.getloadavg(),
        },
        "versions": versions(),
        "git": git_state(),
        "errors": {},
    }
    workdir = Path(tempfile.mkdtemp(prefix="parkops_bench_"))
    pg = PgDatabase(args.pg_url)
    pg_url: sa.URL | None = None
    exit_code = 0
    try:
        try:
            pg_url = pg.create()
            log(f"postgresql: created database {pg.name}")
        except Exception as error:  # noqa: BLE001 - any failure to reach PG means "skip PG"
            data["postgresql_skipped"] = f"{type(error).__name__}: {str(error).strip()}"
            banner(f"PostgreSQL SKIPPED ({data['postgresql_skipped']}); running the DuckDB part only")

        log(f"building the {args.rows:,}-row staging frame")
        started = now()
        frame = build_staging_frame(args.rows, args.seed)
        data["frame"] = {
            "seconds": now() - started,
            "rows": len(frame),
            "columns": list(frame.columns),
            "dtypes": {name: str(dtype) for name, dtype in frame.dtypes.items()},
            "memory_mib": frame.memory_usage(deep=True).sum() / 2**20,
        }
        data["write_stage"] = {"rows": len(frame)}
        try:
            data["write_stage"]["duckdb"] = write_stage_duckdb(
                workdir / "write_stage.duckdb", frame, args.to_sql_rows, args.to_sql_chunksize
            )
        except Exception as error:  # noqa: BLE001 - report and carry on with the other engine
            data["errors"]["duckdb write stage"] = f"{type(error).__name__}: {error}"
            exit_code = 1
        for suffix in ("", ".wal"):
            (workdir / f"write_stage.duckdb{suffix}").unlink(missing_ok=True)
        if pg_url is not None:
            try:
                data["write_stage"]["postgresql"] = write_stage_postgres(
                    pg_url, frame, args.to_sql_rows, args.to_sql_chunksize
                )
            except Exception as error:  # noqa: BLE001
                data["errors"]["postgresql write stage"] = f"{type(error).__name__}: {error}"
                exit_code = 1
            pg.reset()
        del frame
        gc.collect()

        if not args.skip_e2e:
            days = max(1, math.ceil(args.e2e_rows / (ROWS_PER_DAY_FACTOR * args.events_per_day)))
            last = E2E_FIRST_DAY + dt.timedelta(days=days - 1)
            landing = workdir / "landing"
            log(f"generating landing files: {days} delivery days at {args.events_per_day:,} events/day")
            data["generation"] = generate_landing(
                landing, E2E_FIRST_DAY, last, args.events_per_day, args.seed, args.generator_processes
            )
            data["e2e"] = {}
            targets = [("duckdb", f"duckdb:///{workdir / 'e2e.duckdb'}")]
            if pg_url is not None:
                targets.append(("postgresql", pg_url.render_as_string(hide_password=False)))
            for name, url in targets:
                log(f"{name}: end-to-end load in a child process")
                try:
                    data["e2e"][name] = spawn_e2e(
                        url, landing, E2E_FIRST_DAY, last, workdir / f"e2e_{name}.json", workdir / f"e2e_{name}.log"
                    )
                except Exception as error:  # noqa: BLE001
                    data["errors"][f"{name} e2e"] = f"{type(error).__name__}: {error}"
                    exit_code = 1
    finally:
        for child in list(_CHILDREN):
            child.kill()
            child.wait()
        try:
            pg.drop()
            if pg_url is not None:
                log(f"postgresql: dropped database {pg.name}")
        except Exception as error:  # noqa: BLE001
            banner(f"could not drop PostgreSQL database {pg.name}: {error}")
        shutil.rmtree(workdir, ignore_errors=True)

    data["total_seconds"] = now() - started_total
    data["machine"]["loadavg_at_end"] = os.getloadavg()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    json_path = args.out_dir / f"{stamp}.json"
    data["json_path"] = str(json_path.relative_to(REPO) if json_path.is_relative_to(REPO) else json_path)
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    report(data)
    return exit_code


def child_main(prog: str, argv: list[str], run: Callable[[str, Path, dt.date, dt.date], dict]) -> int:
    """A measured child process: ``run(url, landing, first, last)``, its result written as JSON to ``--out``."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--url", required=True)
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--first", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--last", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    result = run(args.url, args.landing, args.first, args.last)
    args.out.write_text(json.dumps(result, default=str), encoding="utf-8")
    return 0


def e2e_main(argv: list[str]) -> int:
    return child_main("registration_load.py _e2e", argv, run_e2e)


if __name__ == "__main__":
    if sys.argv[1:2] == ["_e2e"]:
        sys.exit(e2e_main(sys.argv[2:]))
    sys.exit(main())
