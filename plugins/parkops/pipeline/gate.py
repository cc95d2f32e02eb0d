"""Quality gate per feed: a delivery with too much quarantined is held; nothing of it is published.

**Batch.** One delivery of a feed: the current file versions (loaded or rejected) of a delivery
folder, a day's (a month's for the incubator reports). A daily run decides exactly its day's
batch, and a catch-up run decides each day on its own, so how runs are sliced changes nothing. A
rejected file's rows count as received and quarantined: a file refused whole is the worst
quality a delivery can have.

**Decision** (``config/operations.yaml``, section ``quality_gate``; per-feed overrides): a batch
is **held** when more than ``max_quarantine_share`` of its rows were quarantined (default 5 %)
and at least ``min_quarantined_rows`` of them (default 5: one bad line of a 12-line Sunday
delivery is not a failed batch); otherwise **published**: its valid rows publish and its
quarantined rows are reported as always. ``core`` reads ``staging`` only through
``ops.published_files`` (the loaded file versions a published or released decision covered), so
a held batch reaches neither ``core`` nor ``mart``, and neither does a file loaded but not yet
decided.

**Waiting.** While a file of the delivery is not completely uploaded (recorded in
``ops.unsettled_files`` by discovery, ``parkops.pipeline.settle``), its batch is not decided
(status ``waiting`` in the load's decisions, nothing written): a delivery is not published half
delivered. A batch never decided publishes nothing; one decided before (a file arriving late in
a published folder, a corrected version being uploaded) keeps its decision, so what it published
stays published and nothing newly loaded of it is. The load that takes the last file decides it.

Every load decides the batches of the files it was given and of the older versions it
superseded (a corrected file delivered later re-decides the batch of the file it replaces). A
batch whose covered file versions did not change keeps its decision, a release included; the
run of a batch still held fails (``check_quality_gate``) and alerts, once per run.

**Release or rerun** (the runbook: README, "Runbook: a held batch"): a person releases a held
batch as it is (:func:`release_batch`: its valid rows publish), or reruns it after a fix
(:func:`forget_batch` then a load of the delivery: every file of the batch is read again, for
example after a normaliser was corrected), through the ``release_held_batch`` DAG or
``python -m parkops.cli gate``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from parkops import warehouse
from parkops.pipeline.versions import supersede
from parkops.quality.personal_data import mask, masked_row_value
from parkops.quality.rule_labels import rule_label

log = logging.getLogger(__name__)

DEFAULT_MAX_QUARANTINE_SHARE = 0.05
DEFAULT_MIN_QUARANTINED_ROWS = 5
GATE_KEYS = {"max_quarantine_share", "min_quarantined_rows"}
#: Failing rules and sample rows an alert shows per held batch.
TOP_RULES = 5
SAMPLE_ROWS = 3


class QualityGateError(ValueError):
    """A release or rerun that cannot be done (no such held batch): the message says why."""


@dataclass(frozen=True)
class GateSettings:
    max_quarantine_share: float = DEFAULT_MAX_QUARANTINE_SHARE
    min_quarantined_rows: int = DEFAULT_MIN_QUARANTINED_ROWS

    def holds(self, rows_received: int, rows_quarantined: int) -> bool:
        """True when a batch with these counts is held.

        >>> GateSettings().holds(100, 5), GateSettings().holds(100, 6), GateSettings().holds(12, 1)
        (False, True, False)
        """
        if rows_received == 0 or rows_quarantined < self.min_quarantined_rows:
            return False
        return rows_quarantined / rows_received > self.max_quarantine_share


def _settings_from(values: dict, where: str, base: GateSettings) -> GateSettings:
    from parkops.ops.config import OperationsConfigError

    unknown = set(values) - GATE_KEYS
    if unknown:
        raise OperationsConfigError(f"{where}: unknown keys {sorted(unknown)} (expected {sorted(GATE_KEYS)})")
    share = values.get("max_quarantine_share", base.max_quarantine_share)
    minimum = values.get("min_quarantined_rows", base.min_quarantined_rows)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise OperationsConfigError(f"{where}.max_quarantine_share: expected a share between 0 and 1, got {share!r}")
    if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 1:
        raise OperationsConfigError(f"{where}.min_quarantined_rows: expected an integer >= 1, got {minimum!r}")
    return GateSettings(float(share), minimum)


def load_gate_settings(feed_name: str) -> GateSettings:
    """The feed's gate thresholds from ``config/operations.yaml`` (defaults when the section is absent)."""
    from parkops.ops.config import OperationsConfigError, config_path, load_section

    try:
        path, section = load_section("quality_gate")
    except OperationsConfigError as error:
        if "is missing" not in str(error):
            raise
        log.info("%s has no quality_gate section: default thresholds", config_path())
        return GateSettings()
    feeds = section.get("feeds") or {}
    if not isinstance(feeds, dict):
        raise OperationsConfigError(f"{path}: quality_gate.feeds must be a mapping of feed -> thresholds")
    settings = _settings_from(
        {key: value for key, value in section.items() if key != "feeds"}, f"{path}: quality_gate", GateSettings()
    )
    override = feeds.get(feed_name) or {}
    if not isinstance(override, dict):
        raise OperationsConfigError(f"{path}: quality_gate.feeds.{feed_name} must be a mapping")
    return _settings_from(override, f"{path}: quality_gate.feeds.{feed_name}", settings)


@dataclass(frozen=True)
class BatchDecision:
    feed: str
    delivery_date: str
    status: str  # published | held | released | waiting (files not settled: not decided)
    files: int
    rows_received: int
    rows_quarantined: int
    changed: bool  # decided anew by this call (False: the covered files had not changed)

    @property
    def share(self) -> float | None:
        return self.rows_quarantined / self.rows_received if self.rows_received else None

    def as_dict(self) -> dict:
        return asdict(self)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _current_files(connection: Connection, feed_name: str, delivery_date: dt.date) -> list[sa.Row]:
    return connection.execute(
        sa.text(
            "select source_file, source_sha256, rows_received, rows_quarantined from ops.file_audit "
            "where feed = :feed and delivery_date = :delivery_date and status in ('loaded', 'rejected') "
            "order by source_file"
        ),
        {"feed": feed_name, "delivery_date": delivery_date},
    ).all()


def _unsettled_files(connection: Connection, feed_name: str, delivery_date: dt.date) -> int:
    """Files of the delivery still being uploaded (``parkops.pipeline.settle``)."""
    return connection.execute(
        sa.text("select count(*) from ops.unsettled_files where feed = :feed and delivery_date = :delivery_date"),
        {"feed": feed_name, "delivery_date": delivery_date},
    ).scalar_one()


def _log(connection: Connection, feed_name: str, delivery_date: dt.date, action: str, **values: object) -> None:
    row = {
        "feed": feed_name,
        "delivery_date": delivery_date,
        "action": action,
        "files": None,
        "rows_received": None,
        "rows_quarantined": None,
        "quarantine_share": None,
        "run_id": None,
        "actor": None,
        "note": None,
        "logged_at": _now(),
    }
    row.update(values)
    connection.execute(
        sa.text(
            "insert into ops.quality_gate_log (feed, delivery_date, action, files, rows_received, rows_quarantined, "
            "quarantine_share, run_id, actor, note, logged_at) values (:feed, :delivery_date, :action, :files, "
            ":rows_received, :rows_quarantined, :quarantine_share, :run_id, :actor, :note, :logged_at)"
        ),
        row,
    )


def _lock_batch(connection: Connection, feed_name: str, delivery_date: str) -> None:
    """Serialise decisions of one batch on PostgreSQL: two runs deciding the same delivery at once
    would otherwise both insert its row (DuckDB has one writer anyway). Dates in sorted order,
    so two runs' locks cannot deadlock."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            sa.text("select pg_advisory_xact_lock(hashtext(:key))"), {"key": f"gate:{feed_name}:{delivery_date}"}
        )


def decide(
    connection: Connection,
    feed_name: str,
    delivery_dates: Iterable[str],
    run_id: str,
    settings: GateSettings,
) -> list[BatchDecision]:
    """Decide each delivery's batch, in the caller's transaction; decisions in date order.

    A batch whose current file versions are exactly those its decision covered keeps that
    decision (``changed`` False); otherwise it is decided anew from its files' audit counts.
    """
    decisions = []
    for delivery_date in sorted({str(day) for day in delivery_dates}):
        day = dt.date.fromisoformat(delivery_date)
        _lock_batch(connection, feed_name, delivery_date)
        files = _current_files(connection, feed_name, day)
        received = sum(row.rows_received for row in files)
        quarantined = sum(row.rows_quarantined for row in files)
        unsettled = _unsettled_files(connection, feed_name, day)
        if unsettled:
            # Half a delivery is not published: the batch waits (its decision, if any, stays).
            log.info("quality gate waits for %s %s: %d files not settled yet", feed_name, delivery_date, unsettled)
            decisions.append(
                BatchDecision(feed_name, delivery_date, "waiting", len(files), received, quarantined, changed=False)
            )
            continue
        current = connection.execute(
            sa.text(
                "select status from ops.quality_gate_batches where feed = :feed and delivery_date = :delivery_date"
            ),
            {"feed": feed_name, "delivery_date": day},
        ).scalar_one_or_none()
        covered = {
            (row.source_file, row.source_sha256)
            for row in connection.execute(
                sa.text(
                    "select source_file, source_sha256 from ops.quality_gate_files "
                    "where feed = :feed and delivery_date = :delivery_date"
                ),
                {"feed": feed_name, "delivery_date": day},
            )
        }
        versions = {(row.source_file, row.source_sha256) for row in files}
        if current is not None and covered == versions:
            decisions.append(
                BatchDecision(feed_name, delivery_date, current, len(files), received, quarantined, changed=False)
            )
            continue
        status = "held" if settings.holds(received, quarantined) else "published"
        share = quarantined / received if received else None
        keys = {"feed": feed_name, "delivery_date": day}
        warehouse.delete_where(connection, "ops", "quality_gate_batches", keys)
        warehouse.delete_where(connection, "ops", "quality_gate_files", keys)
        connection.execute(
            sa.text(
                "insert into ops.quality_gate_batches (feed, delivery_date, status, files, rows_received, "
                "rows_quarantined, quarantine_share, max_quarantine_share, min_quarantined_rows, run_id, decided_at) "
                "values (:feed, :delivery_date, :status, :files, :received, :quarantined, :share, :max_share, "
                ":min_rows, :run_id, :decided_at)"
            ),
            {
                **keys,
                "status": status,
                "files": len(files),
                "received": received,
                "quarantined": quarantined,
                "share": share,
                "max_share": settings.max_quarantine_share,
                "min_rows": settings.min_quarantined_rows,
                "run_id": run_id,
                "decided_at": _now(),
            },
        )
        if files:
            connection.execute(
                sa.text(
                    "insert into ops.quality_gate_files (feed, delivery_date, source_file, source_sha256) "
                    "values (:feed, :delivery_date, :source_file, :source_sha256)"
                ),
                [{**keys, "source_file": row.source_file, "source_sha256": row.source_sha256} for row in files],
            )
        _log(
            connection,
            feed_name,
            day,
            status,
            files=len(files),
            rows_received=received,
            rows_quarantined=quarantined,
            quarantine_share=share,
            run_id=run_id,
            actor="quality gate",
            note=f"max_quarantine_share={settings.max_quarantine_share}, "
            f"min_quarantined_rows={settings.min_quarantined_rows}",
        )
        decision = BatchDecision(feed_name, delivery_date, status, len(files), received, quarantined, changed=True)
        if status == "held":
            log.warning("quality gate holds %s %s: %s", feed_name, delivery_date, describe_counts(decision))
        decisions.append(decision)
    return decisions


def describe_counts(decision: BatchDecision) -> str:
    share = f"{decision.share:.1%}" if decision.share is not None else "-"
    return f"{decision.rows_quarantined}/{decision.rows_received} 行被隔离（{share}），{decision.files} 个文件"


def as_day(delivery_date: str | dt.date) -> dt.date:
    """A delivery date given as ``YYYY-MM-DD`` (or a date), bound as a date on both engines."""
    if isinstance(delivery_date, dt.date):
        return delivery_date
    try:
        return dt.date.fromisoformat(delivery_date)
    except ValueError:
        raise QualityGateError(f"delivery date {delivery_date!r}: expected YYYY-MM-DD") from None


def _held_status(connection: Connection, feed_name: str, delivery_date: dt.date) -> str:
    status = connection.execute(
        sa.text("select status from ops.quality_gate_batches where feed = :feed and delivery_date = :delivery_date"),
        {"feed": feed_name, "delivery_date": delivery_date},
    ).scalar_one_or_none()
    if status is None:
        raise QualityGateError(f"{feed_name} {delivery_date}: the quality gate has no decision for this delivery")
    return status


def release_batch(
    connection: Connection, feed_name: str, delivery_date: str | dt.date, actor: str, reason: str
) -> None:
    """Let a held batch through as it is: its valid rows publish at the next mart rebuild."""
    delivery_date = as_day(delivery_date)
    if not actor.strip() or not reason.strip():
        raise QualityGateError("a release needs who releases it and why (actor, reason)")
    status = _held_status(connection, feed_name, delivery_date)
    if status != "held":
        raise QualityGateError(f"{feed_name} {delivery_date} is {status}, not held: nothing to release")
    connection.execute(
        sa.text(
            "update ops.quality_gate_batches set status = 'released', released_by = :actor, "
            "release_reason = :reason, released_at = :at where feed = :feed and delivery_date = :delivery_date"
        ),
        {"feed": feed_name, "delivery_date": delivery_date, "actor": actor, "reason": reason, "at": _now()},
    )
    _log(connection, feed_name, delivery_date, "released", actor=actor, note=reason)
    log.info("%s %s released by %s: %s", feed_name, delivery_date, actor, reason)


def forget_batch(
    connection: Connection,
    feed_name: str,
    delivery_date: str | dt.date,
    raw_tables: Iterable[str],
    staging_tables: Iterable[str],
    actor: str,
    reason: str,
) -> int:
    """Prepare a held batch's rerun: its current file versions are marked superseded ("reread")
    and their raw, staging and quarantine rows deleted, so the next load of the delivery reads
    every file again (after a fix of the pipeline) and the gate decides anew. Returns the files.

    The audit rows stay (status superseded, reason naming the rerun), as do the validation
    results: the history of what each version was judged on.
    """
    delivery_date = as_day(delivery_date)
    if not actor.strip() or not reason.strip():
        raise QualityGateError("a rerun needs who asks for it and why (actor, reason)")
    status = _held_status(connection, feed_name, delivery_date)
    if status != "held":
        raise QualityGateError(f"{feed_name} {delivery_date} is {status}, not held: rerun the ingest DAG instead")
    files = _current_files(connection, feed_name, delivery_date)
    for row in files:
        supersede(
            connection,
            feed_name,
            row.source_file,
            row.source_sha256,
            raw_tables=raw_tables,
            staging_tables=staging_tables,
            reason=f"read again: rerun of the held batch by {actor}",
        )
    # The next load decides anew: no covered files means "changed".
    warehouse.delete_where(connection, "ops", "quality_gate_files", {"feed": feed_name, "delivery_date": delivery_date})
    _log(connection, feed_name, delivery_date, "rerun", files=len(files), actor=actor, note=reason)
    log.info("%s %s: %d file versions will be read again (%s: %s)", feed_name, delivery_date, len(files), actor, reason)
    return len(files)


#: ops.quarantine holds the rows of current file versions only (a superseded version's rows leave
#: with it, a rerun deletes its batch's), so a delivery's rows are those of its batch.
_TOP_RULES_QUERY = sa.text(
    """
    select rule, column_name, count(*) as row_count
    from ops.quarantine
    where feed = :feed and delivery_date = :delivery_date
    group by rule, column_name
    order by row_count desc, rule, column_name
    limit :top
    """
)

_SAMPLE_ROWS_QUERY = sa.text(
    """
    select source_file, sheet_name, row_number, column_name, value, reason
    from ops.quarantine
    where feed = :feed and delivery_date = :delivery_date
    order by source_file, sheet_name, row_number, rule
    limit :samples
    """
)


def top_failing_rules(connection: Connection, feed_name: str, delivery_date: str | dt.date) -> list[sa.Row]:
    """The delivery's most frequent failures (rule, column_name, row_count), most rows first."""
    params = {"feed": feed_name, "delivery_date": as_day(delivery_date), "top": TOP_RULES}
    return list(connection.execute(_TOP_RULES_QUERY, params).all())


def held_batch_details(connection: Connection, feed_name: str, delivery_date: str | dt.date) -> list[str]:
    """Lines for an alert about a held batch: counts, the top failing rules, sample rows (personal
    values masked: :mod:`parkops.quality.personal_data`)."""
    delivery_date = as_day(delivery_date)
    batch = connection.execute(
        sa.text(
            "select files, rows_received, rows_quarantined, quarantine_share, max_quarantine_share "
            "from ops.quality_gate_batches where feed = :feed and delivery_date = :delivery_date"
        ),
        {"feed": feed_name, "delivery_date": delivery_date},
    ).one()
    share = f"{batch.quarantine_share:.1%}" if batch.quarantine_share is not None else "-"
    lines = [
        f"{delivery_date}：{batch.rows_quarantined}/{batch.rows_received} 行被隔离（{share}，上限 "
        f"{batch.max_quarantine_share:.0%}），{batch.files} 个文件，整批扣留，未进入 core / mart"
    ]
    params = {"feed": feed_name, "delivery_date": delivery_date, "top": TOP_RULES, "samples": SAMPLE_ROWS}
    rules = top_failing_rules(connection, feed_name, delivery_date)
    if rules:
        # A rule's label names its column: the id and column stay in ops.quarantine for SQL.
        lines.append("主要失败规则：" + "；".join(f"{rule_label(row.rule)} {row.row_count} 行" for row in rules))
    rejected = connection.execute(
        sa.text(
            "select source_file, reason from ops.file_audit where feed = :feed and delivery_date = :delivery_date "
            "and status = 'rejected' order by source_file"
        ),
        params,
    ).all()
    for row in rejected:
        lines.append(f"整个文件被拒：{row.source_file}：{mask(row.reason)}")
    samples = connection.execute(_SAMPLE_ROWS_QUERY, params).all()
    for row in samples:
        # Alerts reach chat groups: personal values masked (a phone or an ID number in any column too).
        shown, hidden = masked_row_value(feed_name, row.column_name, row.value)
        where = f"{row.source_file}" + (f" [{row.sheet_name}]" if row.sheet_name else "") + f" 第 {row.row_number} 行"
        value = f" {row.column_name}={json.dumps(shown, ensure_ascii=False)}" if row.column_name else ""
        lines.append(f"样例：{where}{value}：{mask(row.reason, hidden)}")
    return lines
