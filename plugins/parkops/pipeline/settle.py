"""Landing files are taken only once complete ("settled"); a delivery with unsettled files is revisited.

A source system writes its export into the delivery folder while the pipeline may be looking: a
file read half-way would load part of its rows (cut at a line end) or be rejected whole (cut
inside a character), and the delivery would be published. So discovery takes a file only once it
is **settled** (``config/operations.yaml``, section ``landing``; per-feed overrides):

- its size and modification time have not changed for ``settle_seconds`` (default 180): its
  modification time is at least that old, or an earlier observation (``ops.unsettled_files``)
  saw the same size and modification time at least that long ago (this also settles a file
  whose modification time lies in the future, as a source host's clock can put it);
- and, for a feed with ``marker: true`` (a source system that writes ``<file>.done`` once the
  file is complete), its marker exists. Marker files are never data files: never loaded, never
  rejected (``parkops.pipeline.discovery.discover_files`` leaves them out).

A file not settled is left in the landing area and recorded in ``ops.unsettled_files`` (its
size, modification time, since when it has been seen so, why it is not taken). Every discovery
of a feed also covers the delivery days that table lists, so a day is revisited by each later
run (the next scheduled one, a rerun, a catch-up) until its files settled or went away; a row
leaves the table when its file settles or disappears. No run sleeps minutes to honour the
interval, except one short wait: when every file still unsettled could settle within
``max_wait_seconds`` (default 300; it is unchanged and only young), discovery waits that long
and looks again, so a file finishing just before its run is loaded by that run. While a file of
a delivery is unsettled, the quality gate keeps that delivery's batch waiting
(``parkops.pipeline.gate``: no decision, so nothing newly loaded of it is published), and
``monitor_feed_freshness`` alerts when a file stays unsettled ``unsettled_alert_minutes``
(default 60) after it was first seen.

``PARKOPS_LANDING_SETTLE_SECONDS`` overrides ``settle_seconds`` of every feed (the test suite
sets 0: it writes landing files and loads them at once).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from parkops.feeds import Feed
from parkops.pipeline import discovery

log = logging.getLogger(__name__)

MARKER_SUFFIX = discovery.MARKER_SUFFIX
DEFAULT_SETTLE_SECONDS = 180
DEFAULT_MAX_WAIT_SECONDS = 300
DEFAULT_UNSETTLED_ALERT_MINUTES = 60
SETTLE_SECONDS_ENV = "PARKOPS_LANDING_SETTLE_SECONDS"
LANDING_KEYS = {"settle_seconds", "marker", "max_wait_seconds", "unsettled_alert_minutes"}

#: ``ops.unsettled_files.reason``
REASON_CHANGING = "changing"
REASON_NO_MARKER = "marker_missing"


@dataclass(frozen=True)
class LandingSettings:
    settle_seconds: float = DEFAULT_SETTLE_SECONDS
    marker: bool = False
    max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS
    unsettled_alert_minutes: int = DEFAULT_UNSETTLED_ALERT_MINUTES


def _settings_from(values: dict, where: str, base: LandingSettings) -> LandingSettings:
    from parkops.ops.config import OperationsConfigError

    unknown = set(values) - LANDING_KEYS
    if unknown:
        raise OperationsConfigError(f"{where}: unknown keys {sorted(unknown)} (expected {sorted(LANDING_KEYS)})")
    settings = base
    for key in ("settle_seconds", "max_wait_seconds", "unsettled_alert_minutes"):
        value = values.get(key, getattr(base, key))
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise OperationsConfigError(f"{where}.{key}: expected a number >= 0, got {value!r}")
        settings = replace(settings, **{key: value})
    marker = values.get("marker", base.marker)
    if not isinstance(marker, bool):
        raise OperationsConfigError(f"{where}.marker: expected true or false, got {marker!r}")
    return replace(settings, marker=marker)


def load_landing_settings(feed_name: str) -> LandingSettings:
    """The feed's settle rules from ``config/operations.yaml`` (defaults when the section is absent),
    ``settle_seconds`` overridden by ``PARKOPS_LANDING_SETTLE_SECONDS`` when set."""
    from parkops.ops.config import OperationsConfigError, load_section

    try:
        path, section = load_section("landing")
    except OperationsConfigError as error:
        if "is missing" not in str(error):
            raise
        settings = LandingSettings()
    else:
        feeds = section.get("feeds") or {}
        if not isinstance(feeds, dict):
            raise OperationsConfigError(f"{path}: landing.feeds must be a mapping of feed -> settings")
        base = {key: value for key, value in section.items() if key != "feeds"}
        settings = _settings_from(base, f"{path}: landing", LandingSettings())
        override = feeds.get(feed_name) or {}
        if not isinstance(override, dict):
            raise OperationsConfigError(f"{path}: landing.feeds.{feed_name} must be a mapping")
        settings = _settings_from(override, f"{path}: landing.feeds.{feed_name}", settings)
    forced = os.environ.get(SETTLE_SECONDS_ENV)
    if forced:
        try:
            seconds = float(forced)
        except ValueError:
            raise OperationsConfigError(f"{SETTLE_SECONDS_ENV}={forced!r}: expected a number of seconds") from None
        settings = replace(settings, settle_seconds=seconds)
    return settings


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _utc_of_timestamp(seconds: float) -> dt.datetime:
    """A file's modification time as naive UTC, to the microsecond (how both engines store it)."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Observation:
    """A file seen not settled: a row of ``ops.unsettled_files`` (times naive UTC)."""

    feed: str
    delivery_date: dt.date
    source_file: str
    size_bytes: int
    modified_at: dt.datetime
    stable_since: dt.datetime
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    reason: str


def settle_verdict(
    size: int,
    modified_at: dt.datetime,
    marker_present: bool,
    now: dt.datetime,
    settings: LandingSettings,
    recorded: Observation | None,
) -> tuple[bool, dt.datetime, float | None]:
    """(settled, stable since, seconds it still needs when waiting can settle it, else None).

    >>> at = dt.datetime(2025, 3, 4, 10, 0)
    >>> settle_verdict(10, at - dt.timedelta(minutes=5), False, at, LandingSettings(), None)[0]
    True
    >>> settle_verdict(10, at - dt.timedelta(minutes=1), False, at, LandingSettings(), None)[2]
    120.0
    """
    unchanged = recorded is not None and (recorded.size_bytes, recorded.modified_at) == (size, modified_at)
    stable_since = recorded.stable_since if unchanged else now
    quiet = max((now - modified_at).total_seconds(), (now - stable_since).total_seconds())
    if settings.marker and not marker_present:
        return False, stable_since, None
    if quiet >= settings.settle_seconds:
        return True, stable_since, 0.0
    return False, stable_since, settings.settle_seconds - quiet


@dataclass
class Settler:
    """Decides, file by file, what discovery takes (:meth:`take`, the predicate of
    ``discovery.discover_files``), and keeps what it saw of the files it leaves."""

    landing: Path
    landing_feed: Feed
    settings: LandingSettings
    recorded: dict[str, Observation]
    clock: Callable[[], dt.datetime] = _utc_now
    unsettled: dict[str, Observation] = field(default_factory=dict)
    #: Seconds each unsettled file still needs, when waiting alone can settle it.
    remaining: dict[str, float | None] = field(default_factory=dict)

    def take(self, path: Path, delivery: dt.date) -> bool:
        source_file = path.relative_to(self.landing).as_posix()
        stat = path.stat()
        now = self.clock()
        modified_at = _utc_of_timestamp(stat.st_mtime)
        marker_present = path.with_name(path.name + MARKER_SUFFIX).is_file()
        recorded = self.unsettled.get(source_file) or self.recorded.get(source_file)
        settled, stable_since, remaining = settle_verdict(
            stat.st_size, modified_at, marker_present, now, self.settings, recorded
        )
        if settled:
            self.unsettled.pop(source_file, None)
            self.remaining.pop(source_file, None)
            return True
        reason = REASON_NO_MARKER if self.settings.marker and not marker_present else REASON_CHANGING
        self.unsettled[source_file] = Observation(
            feed=self.landing_feed.name,
            delivery_date=delivery,
            source_file=source_file,
            size_bytes=stat.st_size,
            modified_at=modified_at,
            stable_since=stable_since,
            first_seen_at=recorded.first_seen_at if recorded else now,
            last_seen_at=now,
            reason=reason,
        )
        self.remaining[source_file] = remaining
        log.info(
            "%s not settled yet (%s): %d bytes, modified %s UTC%s",
            source_file,
            reason,
            stat.st_size,
            modified_at.isoformat(sep=" ", timespec="seconds"),
            f", needs {remaining:.0f} s more unchanged" if remaining is not None else "",
        )
        return False

    def wait_needed(self) -> float | None:
        """Seconds after which every unsettled file is settled if it does not change; None when
        some cannot settle by waiting (its marker is missing) or none is unsettled."""
        if not self.remaining or any(value is None for value in self.remaining.values()):
            return None
        return max(value for value in self.remaining.values() if value is not None)


def recorded_unsettled(connection: Connection, feed_name: str) -> dict[str, Observation]:
    rows = connection.execute(
        sa.text(
            "select feed, delivery_date, source_file, size_bytes, modified_at, stable_since, first_seen_at, "
            "last_seen_at, reason from ops.unsettled_files where feed = :feed"
        ),
        {"feed": feed_name},
    ).all()
    return {row.source_file: Observation(*row) for row in rows}


def _ensure_table(connection: Connection) -> None:
    """Discovery may be the first to meet a warehouse created before ``ops.unsettled_files``."""
    exists = connection.execute(
        sa.text(
            "select count(*) from information_schema.tables "
            "where table_schema = 'ops' and table_name = 'unsettled_files'"
        )
    ).scalar_one()
    if not exists:
        from parkops.warehouse import apply_ddl

        apply_ddl(connection)


def record_unsettled(
    connection: Connection, feed_name: str, deliveries: list[dt.date], unsettled: dict[str, Observation]
) -> None:
    """Replace the rows of the discovered deliveries by what this discovery saw unsettled."""
    if connection.dialect.name == "postgresql":
        # Two discoveries of a feed at once (a held-batch rerun during a scheduled run) would both
        # delete, then both insert the same keys; one at a time per feed (DuckDB has one writer).
        connection.execute(
            sa.text("select pg_advisory_xact_lock(hashtext(:key))"), {"key": f"unsettled_files:{feed_name}"}
        )
    if deliveries:
        connection.execute(
            sa.text("delete from ops.unsettled_files where feed = :feed and delivery_date in :deliveries").bindparams(
                sa.bindparam("deliveries", expanding=True)
            ),
            {"feed": feed_name, "deliveries": sorted(set(deliveries))},
        )
    if unsettled:
        connection.execute(
            sa.text(
                "insert into ops.unsettled_files (feed, delivery_date, source_file, size_bytes, modified_at, "
                "stable_since, first_seen_at, last_seen_at, reason) values (:feed, :delivery_date, :source_file, "
                ":size_bytes, :modified_at, :stable_since, :first_seen_at, :last_seen_at, :reason)"
            ),
            [asdict(observation) for observation in unsettled.values()],
        )


def discover_settled_files(
    engine: Engine,
    landing: Path,
    landing_feed: Feed,
    days: list[dt.date],
    *,
    settings: LandingSettings | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[discovery.LandedFile], list[Observation]]:
    """The settled files of ``days`` and of the deliveries with unsettled files recorded, and
    the files left unsettled (recorded in ``ops.unsettled_files``)."""
    settings = settings or load_landing_settings(landing_feed.name)
    with engine.begin() as connection:
        _ensure_table(connection)
        recorded = recorded_unsettled(connection, landing_feed.name)
    revisited = sorted({observation.delivery_date for observation in recorded.values()} - set(days))
    if revisited:
        log.info(
            "%s: revisiting deliveries with unsettled files: %s",
            landing_feed.name,
            ", ".join(day.isoformat() for day in revisited),
        )
    covered = sorted(set(days) | set(revisited))
    settler = Settler(landing, landing_feed, settings, recorded)
    waited = 0.0
    while True:
        files = discovery.discover_files(landing, landing_feed, covered, take=settler.take)
        wait = settler.wait_needed()
        if wait is None or waited + wait > settings.max_wait_seconds:
            break
        # Files about to settle: one short wait, then look again (a file that changed meanwhile
        # needs the whole interval again and is left for a later run if that exceeds the budget).
        log.info("%s: waiting %.0f s for %d files to settle", landing_feed.name, wait, len(settler.unsettled))
        sleep(wait + 1)
        waited += wait + 1
    deliveries = [delivery for _, delivery in discovery.delivery_folders(landing_feed, covered)]
    with engine.begin() as connection:
        _ensure_table(connection)  # again: an in-memory DuckDB is a new database per connection
        record_unsettled(connection, landing_feed.name, deliveries, settler.unsettled)
    return files, list(settler.unsettled.values())
