"""Task callables of the ingest DAGs and of ``build_marts``.

They take and return plain JSON-serialisable values (XCom) and open the warehouse themselves, so
DAG files only wire them. Everything heavy is imported here or below, at execute time.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict
from zoneinfo import ZoneInfo

from parkops.config import landing_dir
from parkops.ingest.catalogue import feed
from parkops.pipeline import ingest, reference, transform
from parkops.pipeline.errors import retry_only_transient
from parkops.warehouse import create_warehouse_engine

log = logging.getLogger(__name__)

ZONE = ZoneInfo("Asia/Shanghai")


def _day(text: str, *, last: bool) -> dt.date:
    """A day, or a month (``YYYY-MM``: its first day, or its last day when ``last``)."""
    if len(text) == 7:
        first = dt.date.fromisoformat(f"{text}-01")
        if not last:
            return first
        following = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
        return following - dt.timedelta(days=1)
    return dt.date.fromisoformat(text)


@retry_only_transient
def resolve_delivery_range(
    delivery_from: str | None,
    delivery_to: str | None,
    data_interval_start: dt.datetime | None,
    data_interval_end: dt.datetime | None,
) -> dict[str, str]:
    """Delivery days a run covers.

    A run given ``delivery_from``/``delivery_to`` (manual catch-up; days ``YYYY-MM-DD`` or
    months ``YYYY-MM``) covers those days, inclusive. Otherwise it covers the delivery days in
    (start, end] of its data interval in Asia/Shanghai: the daily run at 10:00 on day D covers
    delivery day D, which is due by 09:00; a monthly feed's run covers the months those days
    fall in (its delivery folders are months).
    """
    if delivery_from or delivery_to:
        first = _day(delivery_from or delivery_to, last=False)
        last = _day(delivery_to or delivery_from, last=True)
    else:
        if data_interval_end is None:
            raise ValueError("a run without delivery_from/delivery_to needs a data interval")
        last = data_interval_end.astimezone(ZONE).date()
        start = (data_interval_start or data_interval_end).astimezone(ZONE).date()
        first = min(start + dt.timedelta(days=1), last)
    if last < first:
        raise ValueError(f"delivery_from {first} is after delivery_to {last}")
    log.info("covering delivery days %s to %s", first, last)
    return {"first": first.isoformat(), "last": last.isoformat()}


@retry_only_transient
def load_reference_data() -> dict[str, int]:
    return reference.load_reference_data(create_warehouse_engine())


@retry_only_transient
def discover_files(feed_name: str, delivery_range: dict[str, str]) -> list[dict]:
    days = ingest.delivery_days(
        dt.date.fromisoformat(delivery_range["first"]), dt.date.fromisoformat(delivery_range["last"])
    )
    landing_feed = feed(feed_name)
    files = ingest.discover_files(landing_dir(), landing_feed, days)
    folders = ingest.delivery_folders(landing_feed, days)
    log.info("%s: %d files in %d delivery folders under %s", feed_name, len(files), len(folders), landing_dir())
    return [asdict(landed) for landed in files]


@retry_only_transient
def ingest_files(feed_name: str, files: list[dict], run_id: str) -> dict[str, object]:
    loader = ingest.FileLoader(create_warehouse_engine(), feed_name, run_id)
    outcomes = loader.load_all([ingest.LandedFile(**landed) for landed in files])
    for outcome in outcomes:
        log.info(
            "%s: %s, %d received, %d loaded, %d quarantined%s",
            outcome.source_file,
            outcome.status,
            outcome.rows_received,
            outcome.rows_loaded,
            outcome.rows_quarantined,
            f" ({outcome.reason})" if outcome.reason else "",
        )
    return ingest.outcome_summary(outcomes)


def feed_changed(summary: dict[str, object]) -> bool:
    """Whether a load changed staging, which the marts read.

    A loaded file adds rows; a rejected one may replace an older version of the same file (its
    rows leave staging). A duplicate or an outdated delivery is only recorded in the audit.
    """
    return any(summary.get(f"files_{status}", 0) for status in ("loaded", "rejected"))


@retry_only_transient
def rebuild(families: list[str]) -> dict[str, int]:
    """Rebuild ``core`` then ``mart`` of ``families`` in one transaction (a consistent snapshot)."""
    return transform.build_families(create_warehouse_engine(), families)


#: Feed -> families whose core/mart read it. Registrations feed the enterprise links of the
#: visits and incubator tenants (enterprise_known), so they rebuild those families too.
FAMILIES_READING_FEED = {
    "registrations": ("registrations", "visits", "incubator_reports"),
    "visits": ("visits",),
    "incubator_reports": ("incubator_reports",),
    "manual_statistics": ("manual_statistics",),
}


def plan_families(triggering_events: list[tuple[str, dict]]) -> list[str]:
    """Families to rebuild from the triggering asset events (uri, extra); every family when none.

    A manual run (no triggering event) rebuilds everything. An event whose ``extra`` says the
    load changed nothing (every file already loaded) asks for no rebuild.
    """
    from parkops.assets import feed_of_asset

    if not triggering_events:
        return list(FAMILIES_READING_FEED)
    families: set[str] = set()
    for uri, extra in triggering_events:
        feed_name = feed_of_asset(uri)
        if feed_name is None:
            log.warning("ignoring an event of asset %s: not a feed", uri)
            continue
        if (extra or {}).get("changed", True):
            families.update(FAMILIES_READING_FEED[feed_name])
    ordered = [name for name in FAMILIES_READING_FEED if name in families]
    log.info("families to rebuild: %s", ", ".join(ordered) or "none (no feed changed)")
    return ordered
