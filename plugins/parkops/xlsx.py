"""Workbooks whose bytes depend only on their content: openpyxl dates the zip entries at the time
of writing and overwrites the core property ``modified`` while saving. Used by the sample
generator (byte-identical landing files per seed) and the report attachment (re-rendering a
period gives the same file)."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def freeze_xlsx(data: bytes, *, entry_time: dt.datetime, modified_utc: dt.datetime) -> bytes:
    """``data`` rewritten with every zip entry dated ``entry_time`` and ``modified`` = ``modified_utc``."""
    stamp = modified_utc.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    year, month, day, hour, minute, second = entry_time.timetuple()[:6]
    date_time = (max(year, 1980), month, day, hour, minute, second)  # zip dates start in 1980
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
