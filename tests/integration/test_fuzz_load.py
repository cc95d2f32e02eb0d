"""Fuzzed landing files through ``FileLoader.load_all`` into a real warehouse, on both engines.

Whatever lands, the load finishes (no exception), and ``ops.file_audit`` accounts for every file:
rows_received = rows_loaded + rows_quarantined, each quarantined row has a reason, and staging
holds exactly the rows loaded. A few examples per engine: each runs the Great Expectations suites.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, assume, example, given, settings
from support import fuzz
from support.independent import build_uscc

from parkops.pipeline import reference
from parkops.pipeline.discovery import LandedFile, sha256_of
from parkops.pipeline.ingest import FileLoader
from parkops.warehouse import create_warehouse_engine

_names = itertools.count()
_days = itertools.count()
#: Bytes already landed in this session: the same bytes again are a duplicate, a case of its own below.
_landed_bytes: set[bytes] = set()


def fresh(*contents: bytes) -> None:
    """Skip an example landing bytes an earlier file had: the same bytes again are a duplicate, not
    read, which the accounting checks here do not model (empty files come up often)."""
    assume(len(set(contents)) == len(contents) and not _landed_bytes.intersection(contents))
    _landed_bytes.update(contents)


_HEADER = ",".join(fuzz.REGISTRATION_HEADERS[:5]) + "\n"
_USCC = build_uscc("91310115MA000424")
_GOOD_ROW = f"{_USCC},上海张江测试科技有限公司,设立,2025-03-05,2025-03-05\n"


def next_delivery() -> str:
    """A delivery day of its own per example: examples share the warehouse, not their deliveries."""
    return (dt.date(2025, 1, 1) + dt.timedelta(days=next(_days) % 3000)).isoformat()


def land(landing: Path, feed_folder: str, suffix: str, data: bytes, delivery: str) -> LandedFile:
    """Write ``data`` as a new file (a fresh name per call) in the delivery folder of ``delivery``."""
    folder = landing / feed_folder / delivery
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"fuzz_{next(_names):05d}{suffix}"
    path.write_bytes(data)
    feed_name = {"registrations": "registrations", "visits": "visits", "manual_statistics": "manual_statistics"}
    return LandedFile(
        feed=feed_name[feed_folder],
        delivery_date=delivery,
        source_file=path.relative_to(landing).as_posix(),
        path=str(path),
        file_name=path.name,
        sha256=sha256_of(path),
        size_bytes=path.stat().st_size,
    )


def check_accounting(engine: sa.Engine, landed: LandedFile, outcome, staging_table: str) -> None:
    assert outcome.status in ("loaded", "rejected", "duplicate"), f"{landed.file_name}: {outcome}"
    with engine.connect() as connection:
        audit = connection.execute(
            sa.text(
                "select status, rows_received, rows_loaded, rows_quarantined, reason from ops.file_audit "
                "where source_file = :source_file"
            ),
            {"source_file": landed.source_file},
        ).one()
        quarantine = connection.execute(
            sa.text("select sheet_name, row_number, rule, reason from ops.quarantine where source_file = :source_file"),
            {"source_file": landed.source_file},
        ).all()
        staged = connection.execute(
            sa.text(f"select count(*) from staging.{staging_table} where source_file = :source_file"),
            {"source_file": landed.source_file},
        ).scalar_one()
    status, received, loaded, quarantined, reason = audit
    where = f"{landed.file_name} ({status}, {reason})"
    assert received == loaded + quarantined, f"{where}: {received} received != {loaded} loaded + {quarantined}"
    assert (received, loaded, quarantined) == (outcome.rows_received, outcome.rows_loaded, outcome.rows_quarantined)
    assert staged == loaded, f"{where}: staging.{staging_table} holds {staged} rows, audit says {loaded} loaded"
    assert all(row.reason and row.reason.strip() and row.rule for row in quarantine), f"{where}: reasonless row"
    assert len({(row.sheet_name, row.row_number) for row in quarantine}) == quarantined, (
        f"{where}: {quarantined} quarantined but quarantine rows cover {len(quarantine)}"
    )
    if status == "rejected":
        assert reason and reason.strip(), f"{where}: rejected without reason"


@pytest.fixture
def warehouse(reference_warehouse_url: str) -> sa.Engine:
    engine = create_warehouse_engine(reference_warehouse_url)
    reference.load_reference_data(engine)
    return engine


# The warehouse is shared by the examples on purpose (each lands new file names); it is built once per engine.
FUZZ_LOAD = settings(max_examples=4, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ_LOAD
@given(
    csv_data=fuzz.csv_files(fuzz.REGISTRATION_HEADERS),
    xlsx_data=fuzz.xlsx_files(fuzz.REGISTRATION_HEADERS),
)
# A NUL in a valid row reached PostgreSQL, which refuses it: the whole load failed.
@example(csv_data=(_HEADER + _GOOD_ROW.replace("上海", "上\x00海")).encode(), xlsx_data=b"")
@example(csv_data=(_HEADER + _GOOD_ROW + 'x,"' + "y" * 140_000).encode(), xlsx_data=b"PK\x03\x04")
def test_registrations_load_accounts_for_every_row(
    warehouse: sa.Engine, tmp_path_factory: pytest.TempPathFactory, csv_data: bytes, xlsx_data: bytes
) -> None:
    fresh(csv_data, xlsx_data)
    landing = tmp_path_factory.mktemp("landing")
    delivery = next_delivery()
    files = [
        land(landing, "registrations", ".csv", csv_data, delivery),
        land(landing, "registrations", ".xlsx", xlsx_data, delivery),
    ]
    outcomes = FileLoader(warehouse, "registrations", "fuzz-run").load_all(files)
    for landed, outcome in zip(files, outcomes, strict=True):
        check_accounting(warehouse, landed, outcome, "registrations")


@FUZZ_LOAD
@given(data=fuzz.jsonl_files())
# A lone surrogate escape broke the DuckDB insert (UnicodeEncodeError), NUL the PostgreSQL one.
@example(data=b'{"visit_id": "V\\ud800"}\n{"visit_id": "V\\u0000", "needs": [{"need_id": "\\u0000"}]}\n')
@example(data=b"[" * 5000 + b"\n")  # RecursionError out of json.loads
def test_visits_load_accounts_for_every_line(
    warehouse: sa.Engine, tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    fresh(data)
    landing = tmp_path_factory.mktemp("landing")
    landed = land(landing, "visits", ".jsonl", data, next_delivery())
    (outcome,) = FileLoader(warehouse, "visits", "fuzz-run").load_all([landed])
    check_accounting(warehouse, landed, outcome, "visits")


@FUZZ_LOAD
@given(data=fuzz.csv_files(fuzz.MANUAL_STATISTICS_HEADERS))
@example(data="指标代码,期间,数值,来源\nk,9999Q4,1,统计局\nk,0000-01,1,统计局\nk,2025Q1,1e400,统计局\n".encode())
def test_manual_statistics_load_accounts_for_every_row(
    warehouse: sa.Engine, tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    fresh(data)
    landing = tmp_path_factory.mktemp("landing")
    landed = land(landing, "manual_statistics", ".csv", data, next_delivery())
    (outcome,) = FileLoader(warehouse, "manual_statistics", "fuzz-run").load_all([landed])
    check_accounting(warehouse, landed, outcome, "manual_statistics")


def test_two_empty_files_are_both_rejected(warehouse: sa.Engine, tmp_path: Path) -> None:
    """Empty files are rejected, never duplicates of each other (nothing of them is loaded)."""
    files = [land(tmp_path, "registrations", suffix, b"", next_delivery()) for suffix in (".csv", ".xlsx")]
    outcomes = FileLoader(warehouse, "registrations", "fuzz-run").load_all(files)
    for landed, outcome in zip(files, outcomes, strict=True):
        check_accounting(warehouse, landed, outcome, "registrations")
