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
from parkops.feeds import FEEDS, families_rebuilt_by, feed, feed_label_cn, feed_of_asset
from parkops.pipeline import discovery, gate, ingest, reference, settle, transform
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
    """The settled files of the range's delivery folders and of every earlier delivery with files
    still unsettled (``parkops.pipeline.settle``); the unsettled ones are recorded and left."""
    days = discovery.delivery_days(
        dt.date.fromisoformat(delivery_range["first"]), dt.date.fromisoformat(delivery_range["last"])
    )
    landing_feed = feed(feed_name)
    engine = create_warehouse_engine()
    try:
        files, unsettled = settle.discover_settled_files(engine, landing_dir(), landing_feed, days)
    finally:
        engine.dispose()
    folders = discovery.delivery_folders(landing_feed, days)
    log.info("%s: %d files in %d delivery folders under %s", feed_name, len(files), len(folders), landing_dir())
    for observation in unsettled:
        log.warning(
            "%s left for a later run: not completely uploaded (%s); its delivery's batch waits",
            observation.source_file,
            observation.reason,
        )
    return [asdict(landed) for landed in files]


@retry_only_transient
def ingest_files(feed_name: str, files: list[dict], run_id: str) -> dict[str, object]:
    """Load the files, then the quality gate decides each delivery's batch (summary: ``held``).

    The lines of the held batches' alert (counts, top failing rules, sample rows) are read here,
    where the task holds the warehouse, and travel in the summary to ``check_quality_gate``.
    """
    engine = create_warehouse_engine()
    loader = ingest.FileLoader(engine, feed_name, run_id)
    outcomes = loader.load_all([discovery.LandedFile(**landed) for landed in files])
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
    summary = ingest.outcome_summary(outcomes) | ingest.gate_summary(loader.gate_decisions)
    if summary["held"]:
        with engine.connect() as connection:
            for batch in summary["held"]:
                batch["alert_lines"] = gate.held_batch_details(connection, feed_name, batch["delivery_date"])
    return summary


#: Held batches an alert details; the rest are counted.
HELD_BATCHES_IN_ALERT = 5


class QualityGateHeld(Exception):
    """Batches the quality gate held; ``alert_lines`` detail them for the failure alert."""

    def __init__(self, message: str, alert_lines: list[str]):
        super().__init__(message)
        self.alert_lines = alert_lines


def check_quality_gate(feed_name: str, summary: dict[str, object]) -> dict[str, int]:
    """Fail (as a data error: no retry) when the load's quality gate held a batch.

    Raises :class:`QualityGateHeld`, whose message names the held deliveries and whose
    ``alert_lines`` give, per batch, the counts, the top failing rules and sample rows.
    """
    held = list(summary.get("held") or [])
    published = int(summary.get("batches_published", 0)) + int(summary.get("batches_released", 0))
    if not held:
        log.info("%s: quality gate passed, %d batches published or released", feed_name, published)
        return {"held": 0, "published": published}
    days = ", ".join(batch["delivery_date"] for batch in held)
    message = (
        f"质量闸门扣留 {feed_label_cn(feed_name)}（{feed_name}）{len(held)} 个批次：{days}；"
        "这些交付的数据未进入 core / mart（处理：README「Runbook: a held batch」，DAG release_held_batch）"
    )
    lines: list[str] = []
    for batch in held[:HELD_BATCHES_IN_ALERT]:
        lines.extend(batch.get("alert_lines") or [batch["delivery_date"]])
    if len(held) > HELD_BATCHES_IN_ALERT:
        lines.append(f"另有 {len(held) - HELD_BATCHES_IN_ALERT} 个批次被扣留：见 ops.held_batches")
    for line in lines:
        log.error("%s", line)
    raise QualityGateHeld(message, lines)


@retry_only_transient
def release_or_rerun(
    feed_name: str, delivery_date: str, action: str, requested_by: str, reason: str, run_id: str
) -> dict[str, object]:
    """Release a held batch as it is, or rerun it (read every file of the delivery again).

    A rerun returns the new load's summary (its gate decision included: still held fails in
    ``check_quality_gate``); a release returns the batch's new status.
    """
    engine = create_warehouse_engine()
    landing_feed = feed(feed_name)
    if action == "release":
        with engine.begin() as connection:
            gate.release_batch(connection, feed_name, delivery_date, requested_by, reason)
        return {"action": "release", "delivery_date": delivery_date, "held": [], "files_loaded": 0, "rows_loaded": 0}
    if action != "rerun":
        raise ValueError(f"action must be release or rerun, got {action!r}")
    with engine.begin() as connection:
        gate.forget_batch(
            connection,
            feed_name,
            delivery_date,
            landing_feed.raw_tables,
            landing_feed.tables,
            requested_by,
            reason,
        )
    day = gate.as_day(delivery_date).isoformat()
    files = discover_files(feed_name, {"first": day, "last": day})
    return {"action": "rerun", "delivery_date": delivery_date} | ingest_files(feed_name, files, run_id)


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


@retry_only_transient
def build_data_docs() -> str:
    """The GX Data Docs site (suites and the latest runs' validation results); returns its index."""
    from parkops.quality.data_docs import build_data_docs as build

    site = build()
    log.info("Data Docs: %s", site / "index.html")
    return str(site / "index.html")


#: Feed -> families whose core/mart read it (its own, and those whose core reads its core: ``Feed.reads_core_of``).
FAMILIES_READING_FEED = {each.name: families_rebuilt_by(each.name) for each in FEEDS}


def plan_families(triggering_events: list[tuple[str, dict]]) -> list[str]:
    """Families to rebuild from the triggering asset events (uri, extra); every family when none.

    A manual run (no triggering event) rebuilds everything. An event whose ``extra`` says the
    load changed nothing (every file already loaded) asks for no rebuild.
    """
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
