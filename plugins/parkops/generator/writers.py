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
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook

_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")

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
    return _freeze_zip(buffer.getvalue(), timestamp)


def _freeze_zip(data: bytes, timestamp: datetime) -> bytes:
    """Rewrite the archive with fixed entry times and a fixed core-properties modified time."""
    stamp = timestamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    date_time = (timestamp.year, timestamp.month, timestamp.day, timestamp.hour, timestamp.minute, timestamp.second)
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _MODIFIED.sub(rb"\g<1>" + stamp + rb"\g<2>", content)
            entry = zipfile.ZipInfo(info.filename, date_time=date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, content)
    return output.getvalue()


def export_timestamp(delivery: date) -> datetime:
    """Registry exports run early in the morning of the delivery day."""
    return datetime(delivery.year, delivery.month, delivery.day, 6, 30, 0)


def write_file(path: Path, data: bytes) -> bool:
    """Write atomically; skip when the bytes are already there (keeps mtimes stable). True if written."""
    if path.exists() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return True
