"""Files built to exhaust memory are refused whole, before parsing, with the cap they break named.

Each read runs in a child process whose address space is capped (support.bombs), so a reader
that allocates without bound fails the test instead of killing the runner. Caps are set small
through PARKOPS_OPERATIONS_CONFIG where the default ones would need large files.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.bombs import (
    config_with_limits,
    far_cell_workbook,
    read_isolated,
    registrations_csv,
    zip_bomb_workbook,
)

from parkops.feeds.incubator_reports.reading import REPORT_SHEET, TENANT_SHEET


def test_a_single_cell_at_all1048576_is_refused_not_allocated(tmp_path: Path) -> None:
    # 5 KB on disk; calamine would hold every cell of A1:ALL1048576 (33 GB). Default caps.
    path = far_cell_workbook(tmp_path / "reg.xlsx")
    assert path.stat().st_size < 10_000
    outcome = read_isolated(path)
    assert outcome.get("rule") == "sheet_too_large", outcome
    assert "last row is 1,048,576" in outcome["reason"], outcome["reason"]
    assert "ingest_limits.max_sheet_rows = 200,000" in outcome["reason"], outcome["reason"]
    # Its one non-empty row is the header: no data rows, counted from the sheet's XML.
    assert (outcome["counted_by"], outcome["rows"]) == ("sheet_rows", [])


@pytest.mark.parametrize("error_cell", [False, True], ids=["calamine", "openpyxl"])
def test_an_incubator_workbook_with_a_far_cell_counts_its_rows(tmp_path: Path, error_cell: bool) -> None:
    # A report of header and one row, three tenants, and a stray cell at ALL1048576 in 月报; with an
    # error cell the workbook would be read by openpyxl, which pads every row up to the far one.
    path = far_cell_workbook(
        tmp_path / "incubator.xlsx",
        rows=[["孵化器编号", "孵化器名称"], ["F001", "张江孵化器"]],
        sheet=REPORT_SHEET,
        error_cell=error_cell,
    )
    import openpyxl

    book = openpyxl.load_workbook(path)
    tenants = book.create_sheet(TENANT_SHEET)
    for row in (["统一社会信用代码"], ["91310115MA00000001"], ["91310115MA00000002"], ["91310115MA00000003"]):
        tenants.append(row)
    book.save(path)

    outcome = read_isolated(path, sheets={REPORT_SHEET, TENANT_SHEET})
    assert outcome.get("rule") == "sheet_too_large", outcome
    assert f"sheet {REPORT_SHEET} is too large to read" in outcome["reason"]
    # 月报: rows 2 and 1048576 (the header is row 1); 在孵企业名单: rows 2..4.
    assert outcome["counted_by"] == "sheet_rows"
    assert sorted((sheet, number) for sheet, number, _ in outcome["rows"]) == sorted(
        [(REPORT_SHEET, 2), (REPORT_SHEET, 1048576), (TENANT_SHEET, 2), (TENANT_SHEET, 3), (TENANT_SHEET, 4)]
    )


def test_a_zip_bomb_sheet_is_refused_before_it_inflates(tmp_path: Path) -> None:
    path = zip_bomb_workbook(tmp_path / "reg.xlsx", inflated_mb=60)
    assert path.stat().st_size < 200_000
    config = config_with_limits(tmp_path, max_workbook_member_mb=5)
    outcome = read_isolated(path, config=config, limit_gb=1)
    assert outcome.get("rule") == "workbook_too_large", outcome
    assert "xl/worksheets/sheet1.xml inflates to" in outcome["reason"]
    assert "ingest_limits.max_workbook_member_mb = 5" in outcome["reason"], outcome["reason"]
    # Counting its rows would inflate it: one uncountable row, said so.
    assert (outcome["counted_by"], outcome["rows"]) == ("uncountable", [[None, None, None]])
    assert "counts as one row" in outcome["reason"]
    assert outcome["peak_growth_bytes"] < 20 * 2**20, outcome["peak_growth_bytes"]


def test_an_oversized_csv_is_refused_counting_its_lines(tmp_path: Path) -> None:
    path = registrations_csv(tmp_path / "reg.csv", rows=4_000)  # about 1 MB
    config = config_with_limits(tmp_path, max_file_mb=0.5)
    outcome = read_isolated(path, config=config)
    assert outcome.get("rule") == "file_too_large", outcome
    assert f"the file is {path.stat().st_size:,} bytes" in outcome["reason"]
    assert "ingest_limits.max_file_mb = 0.5" in outcome["reason"], outcome["reason"]
    # Its rows are its non-empty lines less the header, numbered as a spreadsheet shows them.
    assert outcome["counted_by"] == "text_lines"
    assert [number for _, number, _ in outcome["rows"]] == list(range(2, 4_002))


def test_a_large_csv_under_the_cap_is_read_in_bounded_memory(tmp_path: Path) -> None:
    # About 20 MB of distinct rows, under the default 100 MB cap. Reading it held ten times its size
    # (the bytes, the text, a four-byte-a-character copy of it and a string per cell); now under
    # four (the text, then a string per distinct cell: equal cells share one).
    path = registrations_csv(tmp_path / "reg.csv", rows=80_000)
    size = path.stat().st_size
    outcome = read_isolated(path)
    assert outcome.get("read") == 80_000, outcome
    growth = outcome["peak_growth_bytes"]
    assert growth < 5 * size, f"reading {size / 2**20:.1f} MiB grew the peak by {growth / 2**20:.0f} MiB"


def test_the_caps_come_from_the_operations_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from parkops.ingest.limits import IngestLimits, ingest_limits
    from parkops.ops.config import OperationsConfigError

    monkeypatch.setenv("PARKOPS_OPERATIONS_CONFIG", str(config_with_limits(tmp_path, max_sheet_rows=10)))
    assert ingest_limits() == IngestLimits(max_sheet_rows=10)
    bad = tmp_path / "bad"
    bad.mkdir()
    monkeypatch.setenv("PARKOPS_OPERATIONS_CONFIG", str(config_with_limits(bad, max_sheet_rows=0.5)))
    with pytest.raises(OperationsConfigError, match="max_sheet_rows: expected a positive integer"):
        ingest_limits()
