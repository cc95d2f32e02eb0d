"""Caps on what a landed file may make the readers hold, checked before anything is parsed.

A 5 KB workbook whose one cell sits at ``ALL1048576`` makes calamine allocate every cell of
A1:ALL1048576 (33 GB); a 1.5 MB zip can inflate to gigabytes. So before a file is parsed its
size on disk, a workbook's inflated parts and the extent of the sheets to be read are checked
against the caps here (``config/operations.yaml``, section ``ingest_limits``; every key is
optional and falls back to the default below). A file over a cap is rejected whole with a
reason naming the cap and its value.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass, fields
from pathlib import Path

log = logging.getLogger(__name__)

MIB = 2**20


@dataclass(frozen=True)
class IngestLimits:
    #: Any landed file (CSV, JSON Lines, XLSX) as stored, in MiB.
    max_file_mb: float = 100
    #: One part of an XLSX archive (a sheet, the shared strings) once inflated, in MiB.
    max_workbook_member_mb: float = 200
    #: All parts of an XLSX archive together once inflated, in MiB.
    max_workbook_inflated_mb: float = 400
    #: Last row and last column of a sheet that is read (its used cells, A1 to the farthest).
    max_sheet_rows: int = 200_000
    max_sheet_columns: int = 1024
    #: Rows x columns of that range: the readers hold every cell of it.
    max_sheet_cells: int = 5_000_000

    def max_bytes(self, key: str) -> int:
        return int(getattr(self, key) * MIB)


_INTEGER_KEYS = {"max_sheet_rows", "max_sheet_columns", "max_sheet_cells"}


def cap_text(key: str, limits: IngestLimits) -> str:
    """How a reason names a cap: ``ingest_limits.max_file_mb = 100`` (where it is set)."""
    value = getattr(limits, key)
    shown = f"{value:g}" if isinstance(value, float) else f"{value:,}"
    return f"ingest_limits.{key} = {shown} (config/operations.yaml)"


def limits_from(values: dict, where: str) -> IngestLimits:
    from parkops.ops.config import OperationsConfigError

    known = {item.name for item in fields(IngestLimits)}
    unknown = set(values) - known
    if unknown:
        raise OperationsConfigError(f"{where}: unknown keys {sorted(unknown)} (expected {sorted(known)})")
    for key, value in values.items():
        integer_only = key in _INTEGER_KEYS
        kinds = int if integer_only else int | float
        if isinstance(value, bool) or not isinstance(value, kinds) or value <= 0:
            expected = "a positive integer" if integer_only else "a positive number (MiB)"
            raise OperationsConfigError(f"{where}.{key}: expected {expected}, got {value!r}")
    return IngestLimits(**values)


@functools.lru_cache(maxsize=4)
def _limits_of(path: str, modified_ns: int) -> IngestLimits:
    from parkops.ops.config import OperationsConfigError, load_section

    try:
        config, section = load_section("ingest_limits")
    except OperationsConfigError as error:
        if "is missing" not in str(error):
            raise
        log.info("%s has no ingest_limits section: default caps", path)
        return IngestLimits()
    return limits_from(section, f"{config}: ingest_limits")


def ingest_limits() -> IngestLimits:
    """The caps of ``config/operations.yaml`` (``PARKOPS_OPERATIONS_CONFIG``), read again when it changes."""
    from parkops.ops.config import config_path

    path = config_path()
    try:
        modified_ns = os.stat(path).st_mtime_ns
    except FileNotFoundError:
        modified_ns = -1  # load_section names the missing file
    return _limits_of(str(Path(path)), modified_ns)
