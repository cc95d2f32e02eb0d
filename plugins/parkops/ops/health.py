"""Pipeline health as data: what ``python -m parkops.cli health`` prints and the UI plugin's health page shows.

Per feed the latest delivery landed and loaded, the last successful load, rows loaded, quarantine
share and rejected files over a window, the batches the quality gate holds and the open freshness
incidents (:func:`pipeline_health`); with the small helpers both front ends share (numbers, headers,
whether a table or the DuckDB file exists). Read-only: the warehouse is opened read-only.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from parkops.warehouse import create_warehouse_engine


def format_number(value: object, unit: str | None = None) -> str:
    if value is None:
        return "—"
    number = Decimal(str(value))
    if unit == "%":
        return f"{number:,.1f}%"
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{number:,.1f}"


def health_headers(days: int) -> list[str]:
    window = f"近{days}日"
    return [
        "数据源",
        "最新落地交付",
        "最新已加载交付",
        "最近成功加载",
        f"{window}加载行数",
        f"{window}隔离占比",
        f"{window}拒收文件",
        "扣留批次",
        "未关闭事件",
    ]


def table_exists(connection: sa.Connection, schema: str, table: str) -> bool:
    query = sa.text(
        "select count(*) from information_schema.tables where table_schema = :schema and table_name = :table"
    )
    return bool(connection.execute(query, {"schema": schema, "table": table}).scalar_one())


def missing_duckdb_file(url: str) -> Path | None:
    """The DuckDB file of ``url`` when it does not exist (a read-only connection cannot create it)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "duckdb" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def _audit_by_feed(connection: sa.Connection, since: dt.datetime) -> dict[str, dict]:
    """Per feed: latest loaded delivery and load, and the accounting of file versions processed since ``since``.

    Rows loaded count the file versions in effect (status loaded): a version later superseded
    was replaced, its rows are not counted twice. The quarantine share is quarantined / received
    rows over loaded and rejected versions (a rejected file is quarantined whole); duplicates
    were not read.
    """
    rows = connection.execute(
        sa.text(
            "select feed, "
            "max(case when status = 'loaded' then delivery_date end) as latest_loaded_delivery, "
            "max(case when status = 'loaded' then processed_at end) as last_load_at, "
            "sum(case when status = 'loaded' and processed_at >= :since then rows_loaded else 0 end) as rows_loaded, "
            "sum(case when status in ('loaded', 'rejected') and processed_at >= :since "
            "then rows_received else 0 end) as rows_received, "
            "sum(case when status in ('loaded', 'rejected') and processed_at >= :since "
            "then rows_quarantined else 0 end) as rows_quarantined, "
            "sum(case when status = 'rejected' and processed_at >= :since then 1 else 0 end) as rejected_files "
            "from ops.file_audit group by feed"
        ),
        {"since": since},
    ).all()
    return {row.feed: row._asdict() for row in rows}


def held_batches(connection: sa.Connection) -> list[dict]:
    """Batches the quality gate holds now (``ops.held_batches``), oldest delivery first, with their top rules."""
    from parkops.pipeline.gate import top_failing_rules
    from parkops.quality.rule_labels import rule_label

    if not table_exists(connection, "ops", "quality_gate_batches"):
        return []
    rows = connection.execute(
        sa.text(
            "select feed, delivery_date, files, rows_received, rows_quarantined, quarantine_share, "
            "max_quarantine_share, run_id, decided_at from ops.held_batches order by feed, delivery_date"
        )
    ).all()
    return [
        {
            "feed": row.feed,
            "delivery_date": row.delivery_date.isoformat(),
            "files": row.files,
            "rows_received": row.rows_received,
            "rows_quarantined": row.rows_quarantined,
            "quarantine_share": row.quarantine_share,
            "max_quarantine_share": row.max_quarantine_share,
            "run_id": row.run_id,
            "decided_at": row.decided_at.isoformat(timespec="minutes"),
            "top_rules": [
                {"rule": rule.rule, "label": rule_label(rule.rule), "rows": rule.row_count}
                for rule in top_failing_rules(connection, row.feed, row.delivery_date)
            ],
        }
        for row in rows
    ]


def pipeline_health(days: int = 30, *, now: dt.datetime | None = None) -> dict:
    """What ``health`` shows, as data (the ``--json`` document). ``now``: aware, default the clock."""
    from parkops.config import landing_dir, warehouse_url
    from parkops.feeds import FEED_NAMES, feed
    from parkops.ops.freshness.announcements import opening_title
    from parkops.ops.freshness.incidents import open_incidents
    from parkops.ops.freshness.rules import delivery_name, feed_label, latest_landed_delivery, utc_naive_to_shanghai

    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(tzinfo=None)
    since = now - dt.timedelta(days=days)
    url = warehouse_url()
    missing_file = missing_duckdb_file(url)
    audit: dict[str, dict] = {}
    incidents: list = []
    held: list[dict] = []
    state = "missing" if missing_file else "empty"
    if missing_file is None:
        engine = create_warehouse_engine(url, read_only=True)
        try:
            with engine.connect() as connection:
                if table_exists(connection, "ops", "file_audit"):
                    audit = _audit_by_feed(connection, since)
                if table_exists(connection, "ops", "feed_incidents"):
                    incidents = open_incidents(connection)
                held = held_batches(connection)
        finally:
            engine.dispose()
        state = "loaded" if audit else "empty"
    landing = landing_dir()
    feeds = []
    for name in FEED_NAMES:
        cadence = "monthly" if feed(name).cadence == "monthly" else "daily"
        numbers = audit.get(name, {})
        received = int(numbers.get("rows_received") or 0)
        quarantined = int(numbers.get("rows_quarantined") or 0)
        landed = latest_landed_delivery(landing, name, cadence)
        loaded = numbers.get("latest_loaded_delivery")
        last_load = numbers.get("last_load_at")
        feeds.append(
            {
                "feed": name,
                "name": feed_label(name),
                "latest_landed_delivery": delivery_name(cadence, landed) if landed else None,
                "latest_loaded_delivery": delivery_name(cadence, loaded) if loaded else None,
                "last_successful_load_at": (
                    utc_naive_to_shanghai(last_load).isoformat(timespec="minutes") if last_load else None
                ),
                "rows_loaded": int(numbers.get("rows_loaded") or 0),
                "rows_received": received,
                "rows_quarantined": quarantined,
                "quarantine_share": quarantined / received if received else None,
                "rejected_files": int(numbers.get("rejected_files") or 0),
                "held_batches": sum(1 for batch in held if batch["feed"] == name),
                "open_incidents": sum(1 for incident in incidents if incident.feed == name),
            }
        )
    return {
        "generated_at": utc_naive_to_shanghai(now).isoformat(timespec="minutes"),
        "timezone": "Asia/Shanghai",
        "days": days,
        "warehouse": state,
        "warehouse_url": sa.make_url(url).render_as_string(hide_password=True),
        "landing_dir": str(landing),
        "feeds": feeds,
        "held_batches": held,
        "open_incidents": [
            {
                "feed": incident.feed,
                "kind": incident.kind,
                "expected_delivery": incident.expected_delivery.isoformat(),
                "due_at": incident.due_at.isoformat(timespec="minutes"),
                "opened_at": incident.opened_at.isoformat(timespec="minutes"),
                "alerted_at": incident.alerted_at.isoformat(timespec="minutes") if incident.alerted_at else None,
                "title": opening_title(incident),
                "detail": incident.detail.splitlines(),
            }
            for incident in incidents
        ],
    }


def minute_text(iso: str | None) -> str:
    """An ISO timestamp to the minute as people read it (``2025-03-01 08:05``); ``—`` when there is none."""
    return iso.replace("T", " ") if iso else "—"
