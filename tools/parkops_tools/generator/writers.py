"""Byte-exact, reproducible CSV and XLSX output.

Reproducibility matters because the pipeline treats "same bytes delivered twice" as a
duplicate and tests compare checksums: openpyxl stamps the workbook's modified time and the
zip entries' times with "now", so XLSX bytes are rebuilt with fixed timestamps and a fixed
entry order. Files are written atomically (temporary name without a .csv/.xlsx suffix, then
rename) so a pipeline scanning the landing folder never picks up half a file.
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from parkops.xlsx import freeze_xlsx

CSV_ENCODINGS = {"csv-utf8-bom": "utf-8-sig", "csv-utf8": "utf-8", "csv-gb18030": "gb18030"}


def csv_text(headers: Sequence[str], rows: Iterable[Sequence[object]], line_terminator: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=line_terminator)
    writer.writerow(headers)
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
    return buffer.getvalue()


def csv_bytes(
    headers: Sequence[str], rows: Iterable[Sequence[object]], file_format: str, line_terminator: str
) -> bytes:
    return csv_text(headers, rows, line_terminator).encode(CSV_ENCODINGS[file_format])


def xlsx_bytes(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    sheet_title: str,
    timestamp: datetime,
    notes: Sequence[str] = (),
) -> bytes:
    """One data sheet first (the contract reads the first sheet), optionally a notes sheet after it."""
    workbook = Workbook(write_only=True)
    workbook.properties.creator = "企业登记数据导出"
    workbook.properties.created = timestamp
    sheet = workbook.create_sheet(sheet_title)
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    if notes:
        notes_sheet = workbook.create_sheet("说明")
        for line in notes:
            notes_sheet.append([line])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return freeze_xlsx(buffer.getvalue(), entry_time=timestamp, modified_utc=timestamp)


def export_timestamp(delivery: date) -> datetime:
    """Registry exports run early in the morning of the delivery day."""
    return datetime(delivery.year, delivery.month, delivery.day, 6, 30, 0)


def arrival_time(folder_name: str) -> float | None:
    """When a file of this delivery folder arrived (POSIX time): the export time of its delivery
    day (a monthly folder ``YYYY-MM``: of its first day), Asia/Shanghai, but never later than an
    hour ago (a generated file has arrived); None for a folder that is not a delivery's."""
    for pattern in ("%Y-%m-%d", "%Y-%m"):
        try:
            delivery = datetime.strptime(folder_name, pattern).date()
        except ValueError:
            continue
        exported = export_timestamp(delivery).replace(tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
        return min(exported, time.time() - 3600)
    return None


def write_file(path: Path, data: bytes) -> bool:
    """Write atomically; skip when the bytes are already there (keeps mtimes stable). True if written.

    The file's modification time is its delivery's arrival time (:func:`arrival_time`): the
    pipeline takes a landing file only once it has not changed for a few minutes
    (``parkops.pipeline.settle``), and a sample delivery is one that arrived in full long ago.
    """
    if path.exists() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_bytes(data)
    arrived = arrival_time(path.parent.name)
    if arrived is not None:
        os.utime(temporary, (arrived, arrived))
    os.replace(temporary, path)
    return True
