"""Task callables of the ``ingest_enterprise_registrations`` DAG.

They take and return plain JSON-serialisable values (XCom) and open the warehouse themselves,
so the DAG file only wires them. Everything heavy is imported here, at execute time.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict
from zoneinfo import ZoneInfo

from parkops.config import landing_dir
from parkops.ingest.feeds import REGISTRATIONS
from parkops.pipeline import ingest, reference, transform
from parkops.pipeline.errors import retry_only_transient
from parkops.warehouse import create_warehouse_engine

log = logging.getLogger(__name__)

ZONE = ZoneInfo("Asia/Shanghai")


@retry_only_transient
def resolve_delivery_range(
    delivery_from: str | None,
    delivery_to: str | None,
    data_interval_start: dt.datetime | None,
    data_interval_end: dt.datetime | None,
) -> dict[str, str]:
    """Delivery days a run covers.

    A run given ``delivery_from``/``delivery_to`` (manual catch-up) covers those days, inclusive.
    Otherwise it covers the delivery days whose date falls in (start, end] of its data interval
    in Asia/Shanghai: the daily run at 10:00 on day D covers delivery day D, which is due by 09:00.
    """
    if delivery_from or delivery_to:
        first = dt.date.fromisoformat(delivery_from or delivery_to)
        last = dt.date.fromisoformat(delivery_to or delivery_from)
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
def discover_files(delivery_range: dict[str, str]) -> list[dict]:
    days = ingest.delivery_days(
        dt.date.fromisoformat(delivery_range["first"]), dt.date.fromisoformat(delivery_range["last"])
    )
    files = ingest.discover_files(landing_dir(), REGISTRATIONS, days)
    log.info("%d files in %d delivery folders under %s", len(files), len(days), landing_dir())
    return [asdict(landed) for landed in files]


@retry_only_transient
def ingest_files(files: list[dict], run_id: str) -> dict[str, object]:
    loader = ingest.FileLoader(create_warehouse_engine(), REGISTRATIONS, run_id)
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


@retry_only_transient
def build_core() -> dict[str, int]:
    return transform.build_tables(create_warehouse_engine(), "core", transform.REGISTRATIONS_CORE)


@retry_only_transient
def build_marts() -> dict[str, int]:
    return transform.build_tables(create_warehouse_engine(), "mart", transform.REGISTRATIONS_MART)
