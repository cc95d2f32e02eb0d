"""A file rejected whole counts the rows it holds, as received and quarantined, on both engines.

Hand-built registration deliveries: an undecodable CSV beside a file whose own quarantine stays
under the gate's thresholds (the delivery must be held because of the rejected file's rows); a
file without 所属园区 and rows with an empty park or industry class (sources.md: required); files
whose rows cannot be parsed (a workbook the readers refuse, not a workbook at all, an unsupported
type). Expected counts come from the files as written here, and agree with the independent
recount (support.independent), which counts lines and sheet rows in its own way.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from support.independent import expected_landing
from support.landing import REGISTRATION_HEADERS, write_registration_delivery
from support.pipeline import rows, run_pipeline, scalar

from parkops import warehouse

DAY = dt.date(2025, 3, 11)


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "landing"
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(root))
    monkeypatch.delenv("PARKOPS_OPERATIONS_CONFIG", raising=False)
    return root


def audit(url: str) -> dict[str, tuple]:
    return {
        row["file_name"]: (row["status"], row["rows_received"], row["rows_loaded"], row["rows_quarantined"])
        for row in rows(url, "select * from ops.file_audit where feed = 'registrations'")
    }


def counted_by(url: str) -> dict[str, str | None]:
    return {
        row["file_name"]: row["rows_counted_by"]
        for row in rows(url, "select file_name, rows_counted_by from ops.file_audit where feed = 'registrations'")
    }


def quarantine_of(url: str, file_name: str) -> list[dict]:
    return rows(
        url,
        "select row_number, column_name, rule, reason, record_json from ops.quarantine "
        "where source_file like :name order by row_number, rule",
        {"name": f"%/{file_name}"},
    )


def test_an_undecodable_file_counts_its_lines_and_holds_the_delivery(use_warehouse, landing):
    from parkops import cli
    from parkops.report.assemble import feed_quality
    from parkops.report.periods import ReportPeriod
    from parkops.report.readiness import Readiness

    url = use_warehouse
    # 3 of 100 rows fail: 3 %, under both thresholds, so this file alone publishes.
    write_registration_delivery(landing, DAY, "reg_01.csv", range(1, 101), bad={1, 2, 3})
    second = write_registration_delivery(landing, DAY, "reg_02.csv", range(201, 207))
    lines = second.read_bytes().split(b"\r\n")  # header and 6 records (lines 1..7) and a last empty one
    lines[3] = lines[3].replace("测试203".encode(), b"\xff\xfe203")  # neither UTF-8 nor GB18030
    lines.insert(3, b"  ")  # a blank line (line 4) is not a row
    second.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(lines))

    summary = run_pipeline("run-1", DAY, DAY)

    # reg_02 holds 6 rows (7 non-empty lines less the header): all received and quarantined.
    assert audit(url) == {"reg_01.csv": ("loaded", 100, 97, 3), "reg_02.csv": ("rejected", 6, 0, 6)}
    assert counted_by(url) == {"reg_01.csv": "parsed", "reg_02.csv": "text_lines"}
    quarantined = quarantine_of(url, "reg_02.csv")
    assert [row["row_number"] for row in quarantined] == [2, 3, 5, 6, 7, 8]
    assert {row["rule"] for row in quarantined} == {"file_undecodable"}
    texts = [json.loads(row["record_json"])["_line_text"] for row in quarantined]
    assert texts[0].startswith("91310115") and "上海张江测试201科技有限公司" in texts[0]
    assert "\ufffd" in texts[2] and "203科技有限公司" in texts[2]  # the bad bytes, visibly replaced

    # The delivery: 9 of 106 rows quarantined (8.5 %) -> held; nothing of it reaches core.
    assert [
        (batch["delivery_date"], batch["rows_received"], batch["rows_quarantined"]) for batch in summary["held"]
    ] == [(DAY.isoformat(), 106, 9)]
    assert scalar(url, "select count(*) from core.fct_registration_events") == 0
    expected = expected_landing(landing, DAY, DAY)
    assert expected.held == {DAY}
    assert {
        name.rsplit("/", 1)[1]: (file.rows_received, file.rows_quarantined) for name, file in expected.files.items()
    } == {
        "reg_01.csv": (100, 3),
        "reg_02.csv": (6, 6),
    }

    # Every place that shows the accounting reads the same counts.
    health = cli.pipeline_health()
    assert "- registrations 2025-03-11：9/106 行被隔离（8.5%，上限 5%），2 个文件" in cli.format_health(health)
    period = ReportPeriod.week(2025, 11)  # 03-10..03-16: deliveries 03-11..03-17
    with warehouse.create_warehouse_engine(url).connect() as connection:
        quality = {feed.feed: feed for feed in feed_quality(connection, period, Readiness(period))}
    footer = quality["registrations"]
    assert (footer.files_loaded, footer.files_rejected, footer.rows_loaded, footer.rows_quarantined) == (1, 1, 97, 9)


def _without_column(path: Path, header: str) -> None:
    records = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    position = records[0].index(header)
    buffer = io.StringIO()
    csv.writer(buffer).writerows([record[:position] + record[position + 1 :] for record in records])
    path.write_text(buffer.getvalue(), encoding="utf-8")


def _with_cells(path: Path, changes: dict[int, dict[str, str]]) -> None:
    """Set cells of data rows (spreadsheet row numbers: the header is row 1)."""
    records = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    for number, cells in changes.items():
        for header, value in cells.items():
            records[number - 1][records[0].index(header)] = value
    buffer = io.StringIO()
    csv.writer(buffer).writerows(records)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def test_registrations_need_a_park_and_an_industry_class(use_warehouse, landing):
    url = use_warehouse
    no_park = write_registration_delivery(landing, DAY, "reg_01.csv", range(1, 6))
    _without_column(no_park, "所属园区")
    no_class = write_registration_delivery(landing, DAY, "reg_02.csv", range(11, 16))
    _without_column(no_class, "行业代码")
    empty_cells = write_registration_delivery(landing, DAY, "reg_03.csv", range(21, 31))
    _with_cells(empty_cells, {3: {"所属园区": ""}, 4: {"行业代码": " "}, 5: {"所属园区": "", "行业代码": ""}})

    run_pipeline("run-1", DAY, DAY)

    assert audit(url) == {
        "reg_01.csv": ("rejected", 5, 0, 5),
        "reg_02.csv": ("rejected", 5, 0, 5),
        "reg_03.csv": ("loaded", 10, 7, 3),
    }
    reasons = {row["file_name"]: row["reason"] for row in rows(url, "select file_name, reason from ops.file_audit")}
    assert "所属园区" in reasons["reg_01.csv"] and "行业代码" in reasons["reg_02.csv"]
    assert {row["rule"] for row in quarantine_of(url, "reg_01.csv")} == {"missing_required_column"}
    failures = {(row["row_number"], row["column_name"], row["rule"]) for row in quarantine_of(url, "reg_03.csv")}
    assert failures == {
        (3, "park_name", "park_name_missing"),
        (4, "industry_code", "industry_code_missing"),
        (5, "park_name", "park_name_missing"),
        (5, "industry_code", "industry_code_missing"),
    }
    # Nothing without a park or a class reaches staging; the independent recount agrees row by row.
    assert (
        scalar(url, "select count(*) from staging.registrations where park_name is null or industry_code is null") == 0
    )
    expected = expected_landing(landing, DAY, DAY)
    by_name = {name.rsplit("/", 1)[1]: file for name, file in expected.files.items()}
    assert (by_name["reg_01.csv"].status, by_name["reg_01.csv"].reject_detail) == ("rejected", "所属园区")
    assert {
        (number, column, rule) for number, found in by_name["reg_03.csv"].failures.items() for rule, column in found
    } == failures
    assert expected.held == {DAY}  # 13 of 20 rows quarantined


def _broken_styles_workbook(path: Path, data_rows: int) -> None:
    """A workbook whose readers fail (styles.xml is not XML) but whose sheet XML is intact."""
    book = openpyxl.Workbook()
    book.active.append(REGISTRATION_HEADERS)
    for number in range(data_rows):
        book.active.append([f"row {number}"] + [None] * (len(REGISTRATION_HEADERS) - 1))
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            target.writestr(item, b"<styleSheet" if item.filename == "xl/styles.xml" else source.read(item.filename))


def test_files_that_cannot_be_parsed_still_count(use_warehouse, landing):
    from parkops import cli

    url = use_warehouse
    folder = landing / "registrations" / DAY.isoformat()
    folder.mkdir(parents=True)
    _broken_styles_workbook(folder / "reg_01.xlsx", data_rows=4)
    (folder / "reg_02.xlsx").write_bytes(b"PK\x03\x04 an upload cut short")
    (folder / "reg_03.pdf").write_bytes(b"%PDF-1.4")

    run_pipeline("run-1", DAY, DAY)

    assert audit(url) == {
        "reg_01.xlsx": ("rejected", 4, 0, 4),
        "reg_02.xlsx": ("rejected", 1, 0, 1),
        "reg_03.pdf": ("rejected", 1, 0, 1),
    }
    assert counted_by(url) == {"reg_01.xlsx": "sheet_rows", "reg_02.xlsx": "uncountable", "reg_03.pdf": "uncountable"}
    assert [row["row_number"] for row in quarantine_of(url, "reg_01.xlsx")] == [2, 3, 4, 5]
    assert [(row["row_number"], row["record_json"]) for row in quarantine_of(url, "reg_02.xlsx")] == [(None, None)]
    # `parkops.cli files` shows the same accounting.
    files_table = cli.files("registrations")
    assert re.search(r"reg_01\.xlsx\s+整个文件被拒\s+4\s+0\s+4\s", files_table), files_table
    assert re.search(r"reg_02\.xlsx\s+整个文件被拒\s+1\s+0\s+1\s", files_table), files_table
    expected = expected_landing(landing, DAY, DAY)
    assert {name.rsplit("/", 1)[1]: file.rows_received for name, file in expected.files.items()} == {
        "reg_01.xlsx": 4,
        "reg_02.xlsx": 1,
        "reg_03.pdf": 1,
    }


#: ops.file_audit as versions before rows_counted_by created it.
FILE_AUDIT_BEFORE_ROWS_COUNTED_BY = """
create table ops.file_audit (
    feed text not null, delivery_date date not null, source_file text not null, file_name text not null,
    source_sha256 text not null, size_bytes bigint not null, file_format text, encoding text,
    status text not null, rows_received integer not null, rows_loaded integer not null,
    rows_quarantined integer not null, unknown_columns text, reason text, duplicate_of text,
    run_id text not null, processed_at timestamp not null, duration_seconds double precision not null
)
"""


def test_a_warehouse_created_before_the_column_gets_it(warehouse_url):
    engine = warehouse.create_warehouse_engine(warehouse_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("create schema ops")
        connection.exec_driver_sql(FILE_AUDIT_BEFORE_ROWS_COUNTED_BY)
        connection.execute(
            sa.text(
                "insert into ops.file_audit values ('registrations', '2025-03-11', 'r/a.csv', 'a.csv', 'x', 1, "
                "'csv', 'utf-8', 'loaded', 1, 1, 0, null, null, null, 'run-0', '2025-03-11 01:00:00', 0.1)"
            )
        )
        warehouse.apply_ddl(connection)
    with engine.connect() as connection:
        assert "rows_counted_by" in warehouse.table_columns(connection, "ops", "file_audit")
        assert connection.execute(sa.text("select rows_counted_by from ops.file_audit")).all() == [(None,)]
