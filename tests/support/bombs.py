"""Files that make a naive reader allocate without bound, and a child process to read them in.

A regression must not take the test runner down with it: each dangerous read runs in a child
whose address space is capped (``RLIMIT_AS``), so a reader that tries to allocate gigabytes
fails there (MemoryError, or an abort inside calamine) and the test reports it.
"""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl

from support.landing import REGISTRATION_HEADERS

#: What the child prints: the outcome of reading ``path`` with the reader named, as JSON.
_CHILD = """
import json, sys
from pathlib import Path
import openpyxl, python_calamine, yaml  # what the readers import on first use, before measuring
from parkops.ingest import readers

def status(key):  # KiB, from the kernel's account of this process
    return int(next(line for line in open("/proc/self/status") if line.startswith(key)).split()[1])

reader, path = sys.argv[1], Path(sys.argv[2])
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # resets VmHWM, the peak resident set, to the resident set now
before = status("VmRSS:")
try:
    if reader == "sheets":
        tables = readers.read_workbook_sheets(path, set(sys.argv[3].split(",")))
        outcome = {"read": {name: len(table.rows) for name, table in tables.items()}}
    else:
        outcome = {"read": len(readers.read_table(path).rows)}
except readers.FileRejected as rejection:
    outcome = {"rule": rejection.rule, "reason": rejection.reason, "counted_by": rejection.counted_by,
               "rows": rejection.received_rows}
outcome["peak_growth_bytes"] = (status("VmHWM:") - before) * 1024
print(json.dumps(outcome, ensure_ascii=False))
"""


def read_isolated(path: Path, *, sheets: set[str] | None = None, config: Path | None = None, limit_gb: float = 2):
    """Read ``path`` (read_table, or read_workbook_sheets for ``sheets``) in a child limited to
    ``limit_gb`` of address space; the outcome as a dict, or the child's failure as an assertion."""

    def cap_address_space() -> None:
        limit = int(limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = dict(os.environ)
    if config is not None:
        env["PARKOPS_OPERATIONS_CONFIG"] = str(config)
    command = [sys.executable, "-c", _CHILD, "sheets" if sheets else "table", str(path)]
    if sheets:
        command.append(",".join(sorted(sheets)))
    child = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, preexec_fn=cap_address_space)
    assert child.returncode == 0, (
        f"reading {path.name} killed the reader (exit {child.returncode}): {child.stderr[-1500:]}"
    )
    return json.loads(child.stdout.strip().splitlines()[-1])


def config_with_limits(directory: Path, **limits: float) -> Path:
    """config/operations.yaml with its ingest_limits replaced by ``limits``, written in ``directory``."""
    import yaml

    from parkops.ops.config import DEFAULT_CONFIG

    document = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    document["ingest_limits"] = dict(limits)
    path = directory / "operations.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def far_cell_workbook(path: Path, *, rows: list[list[object]] = (), sheet: str | None = None, error_cell: bool = False):
    """A few KB: ``rows`` (maybe none) and one cell at ALL1048576, the last row of Excel, column 1000."""
    book = openpyxl.Workbook()
    worksheet = book.active
    if sheet:
        worksheet.title = sheet
    for row in rows:
        worksheet.append(row)
    worksheet["ALL1048576"] = "x"
    if error_cell:
        worksheet["B2"].value = "#N/A"
        worksheet["B2"].data_type = "e"  # read with openpyxl, as the readers do for error cells
    book.save(path)
    return path


def zip_bomb_workbook(path: Path, inflated_mb: int) -> Path:
    """A registrations workbook whose sheet inflates to about ``inflated_mb`` MiB (rows of blank
    styled cells, which deflate about 1000 to 1): the file itself is a few hundred KB."""
    book = openpyxl.Workbook()
    book.active.append(REGISTRATION_HEADERS)
    buffer = io.BytesIO()
    book.save(buffer)
    row = b'<row r="2"><c r="A2" s="0"/></row>'
    padding = row * (inflated_mb * 2**20 // len(row))
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", padding + b"</sheetData>")
            target.writestr(item.filename, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return path


def registrations_csv(path: Path, rows: int) -> Path:
    """A registrations CSV of ``rows`` distinct rows (about 250 bytes each), written quickly."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(REGISTRATION_HEADERS) + "\n")
        for number in range(rows):
            handle.write(
                f"91310115MA{number:08d},上海张江测试{number}科技有限公司,设立,2025-03-{1 + number % 28:02d},"
                f"20{10 + number % 15}-0{1 + number % 9}-1{number % 10},有限责任公司（自然人投资或控股）,"
                f"{number % 997},人民币,65{number % 100:02d},张江核心园,上海市浦东新区张江路{number}号,"
                f"张{number % 5000},1380000{number % 10000:04d},高新技术企业,{number % 300}\n"
            )
    return path
