"""Discovery of a feed's landed files: its delivery folders, the files in them and their SHA-256.

What a file version is to the warehouse (recorded, superseded, a duplicate) is
``parkops.pipeline.versions``; which landed files are complete is ``parkops.pipeline.settle``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from parkops.feeds import Feed


@dataclass(frozen=True)
class LandedFile:
    feed: str
    delivery_date: str
    source_file: str
    path: str
    file_name: str
    sha256: str
    size_bytes: int


def delivery_days(first: dt.date, last: dt.date) -> list[dt.date]:
    if last < first:
        raise ValueError(f"delivery range is empty: {first} is after {last}")
    return [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def delivery_folders(landing_feed: Feed, days: list[dt.date]) -> list[tuple[str, dt.date]]:
    """(folder name, delivery date) of the delivery folders covering ``days``, in order.

    Daily feeds have a folder per day; monthly feeds (incubator reports) one per month, named
    ``YYYY-MM``, whose delivery date is the month's first day.
    """
    if landing_feed.cadence == "daily":
        return [(day.isoformat(), day) for day in days]
    months = sorted({day.replace(day=1) for day in days})
    return [(month.strftime("%Y-%m"), month) for month in months]


#: A source system's "this file is complete" marker, ``<file>.done``: never a data file.
MARKER_SUFFIX = ".done"


def discover_files(
    landing: Path,
    landing_feed: Feed,
    days: list[dt.date],
    *,
    take: Callable[[Path, dt.date], bool] | None = None,
) -> list[LandedFile]:
    """Every non-hidden file in the delivery folders covering ``days``, in delivery order.

    Files of an unsupported type are listed too: they are rejected with a reason rather than
    silently ignored. A missing delivery folder is not an error here (freshness is checked
    elsewhere); it simply contributes no file. Completion markers (``*.done``) are not data
    files. ``take`` (path, delivery date), when given, decides which files are taken, before
    they are read (``parkops.pipeline.settle``: only files completely uploaded).
    """
    files: list[LandedFile] = []
    for folder_name, delivery in delivery_folders(landing_feed, days):
        folder = landing / landing_feed.landing_folder / folder_name
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.name.startswith((".", "~$")) or path.name.endswith(MARKER_SUFFIX) or not path.is_file():
                continue
            if take is not None and not take(path, delivery):
                continue
            files.append(
                LandedFile(
                    feed=landing_feed.name,
                    delivery_date=delivery.isoformat(),
                    source_file=path.relative_to(landing).as_posix(),
                    path=str(path),
                    file_name=path.name,
                    sha256=sha256_of(path),
                    size_bytes=path.stat().st_size,
                )
            )
    return files
