"""A landing file still being uploaded is neither loaded nor published (parkops.pipeline.settle).

The upload is real: a delivery's file is written cut (at a line end, or inside a character), as
a source system's export looks half-way, with the modification time of a file being written
(now); discovery leaves it, the quality gate keeps its delivery waiting, later runs revisit the
day, and once the upload is complete (its last write longer ago than the settle interval) the
file loads whole: the warehouse then equals a clean run's (``support.faults.comparable_snapshot``).
Also: the ``<file>.done`` marker of a feed configured with it, the short in-run wait, and the
freshness monitor's alert for a file that never settles.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import create_postgres_database, drop_postgres_database
from support.faults import accounting_problems, comparable_snapshot
from support.landing import generate_registrations, write_registration_delivery
from support.pipeline import rows, run_pipeline, snapshot_diff
from support.smtp import smtp_server

from parkops.feeds import feed
from parkops.ops.config import DEFAULT_CONFIG
from parkops.ops.freshness.monitor import check_freshness
from parkops.ops.freshness.rules import shanghai_naive
from parkops.pipeline import settle
from parkops.warehouse import create_warehouse_engine

FEED = "registrations"
STAGING, RAW = "staging.registrations", "raw.registrations"
#: Four delivery days of generated registrations (7 files).
FIRST, LAST = dt.date(2025, 3, 3), dt.date(2025, 3, 6)
SETTLE_SECONDS = 180
ON_CALL = "oncall-test@example.cn"

pytestmark = pytest.mark.timeout(300)


def operations_config(tmp_path: Path, **landing: object) -> Path:
    """The shipped operations configuration with ``landing`` replaced (settle interval of 3 min,
    no in-run wait unless given)."""
    document = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    document["landing"] = {"settle_seconds": SETTLE_SECONDS, "max_wait_seconds": 0, **landing}
    path = tmp_path / "operations.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def settling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Use the real settle rules (the suite's conftest sets the interval to 0)."""

    def configure(**landing: object) -> Path:
        monkeypatch.delenv(settle.SETTLE_SECONDS_ENV, raising=False)
        path = operations_config(tmp_path, **landing)
        monkeypatch.setenv("PARKOPS_OPERATIONS_CONFIG", str(path))
        return path

    return configure


def upload_finished(path: Path, seconds_ago: float = SETTLE_SECONDS + 20) -> None:
    """The file's last write lies ``seconds_ago`` back (the settle interval has passed since)."""
    moment = time.time() - seconds_ago
    os.utime(path, (moment, moment))


def cut(data: bytes, where: str) -> bytes:
    """The first part of a UTF-8 CSV as an upload half-way has it: ending at a line end in the
    middle of the file, or inside the multi-byte character nearest the middle."""
    middle = len(data) // 2
    if where == "line_end":
        return data[: data.index(b"\n", middle) + 1]
    start = next(index for index in range(middle, len(data)) if data[index] >= 0xE0)  # a 3-byte character
    return data[: start + 1]


def unsettled(url: str) -> list[dict]:
    return rows(url, "select source_file, delivery_date, reason from ops.unsettled_files order by source_file")


def published(url: str, delivery: dt.date) -> list[str]:
    return [
        row["source_file"]
        for row in rows(
            url,
            "select source_file from ops.published_files where feed = :feed and delivery_date = :day "
            "order by source_file",
            {"feed": FEED, "day": delivery},
        )
    ]


def audited(url: str, source_file: str) -> list[dict]:
    return rows(
        url,
        "select status, rows_received, rows_loaded from ops.file_audit where source_file = :source_file",
        {"source_file": source_file},
    )


# --- a file growing while discovered, on generated deliveries, against a clean run --------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_registrations(tmp_path_factory.mktemp("generated"), FIRST, LAST)


@pytest.fixture(scope="module")
def clean_state(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], dict]:
    """The comparable snapshot of one clean run over the four days, per engine, built on first use."""
    cache: dict[str, dict] = {}

    def state(engine: str) -> dict:
        if engine not in cache:
            if engine == "duckdb":
                url = f"duckdb:///{tmp_path_factory.mktemp('clean') / 'warehouse.duckdb'}"
            else:
                url = create_postgres_database("parkops_settle_clean")
            try:
                with pytest.MonkeyPatch.context() as patch:
                    patch.setenv("PARKOPS_WAREHOUSE_URL", url)
                    patch.setenv("PARKOPS_LANDING_DIR", str(generated))
                    summary = run_pipeline("manual__clean", FIRST, LAST)
                assert summary["files_loaded"] == 7 and summary["waiting"] == [], summary
                cache[engine] = comparable_snapshot(url)
            finally:
                if engine == "postgresql":
                    drop_postgres_database(url)
        return cache[engine]

    return state


def growing_target(landing: Path) -> Path:
    """A UTF-8 CSV of the second delivery day, which has other files besides."""
    for path in sorted((landing / FEED / (FIRST + dt.timedelta(days=1)).isoformat()).iterdir()):
        if path.suffix == ".csv" and path.read_bytes().decode("utf-8-sig", errors="replace").count("\ufffd") == 0:
            return path
    raise AssertionError("the generated second day no longer has a UTF-8 CSV")


@pytest.mark.parametrize("where", ["line_end", "mid_character"])
def test_a_file_growing_while_discovered_loads_whole_once_complete_and_equals_a_clean_run(
    where: str,
    use_warehouse: str,
    warehouse_url: str,
    generated: Path,
    clean_state: Callable[[str], dict],
    settling: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = use_warehouse
    landing = tmp_path / "landing"
    shutil.copytree(generated, landing)
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(landing))
    settling()
    target = growing_target(landing)
    source_file = target.relative_to(landing).as_posix()
    day = dt.date.fromisoformat(target.parent.name)
    complete = target.read_bytes()
    target.write_bytes(cut(complete, where))  # the upload half-way: written just now

    first = run_pipeline("scheduled__first", FIRST, LAST)
    assert audited(url, source_file) == [], "a file still being uploaded was read"
    assert first["files_loaded"] + first["files_rejected"] == 6, first
    assert first["waiting"] == [day.isoformat()], first
    assert unsettled(url) == [{"source_file": source_file, "delivery_date": day, "reason": "changing"}]
    assert published(url, day) == [], "a delivery with a file still being uploaded was published"
    assert rows(url, "select count(*) as n from ops.quality_gate_batches where delivery_date = :d", {"d": day}) == [
        {"n": 0}
    ]
    assert published(url, FIRST), "the other deliveries publish"

    target.write_bytes(complete)
    upload_finished(target)
    second = run_pipeline("scheduled__second", FIRST, LAST)
    assert second["files_loaded"] == 1 and second["waiting"] == [], second
    (audit,) = audited(url, source_file)
    assert audit["status"] == "loaded" and audit["rows_received"] == complete.count(b"\n") - 1, audit
    assert unsettled(url) == []
    assert source_file in published(url, day)
    assert accounting_problems(url, FEED, STAGING, RAW) == []
    clean = clean_state("duckdb" if url.startswith("duckdb") else "postgresql")
    assert clean["core.fct_registration_events"] and clean["mart.daily_new_tech_enterprises"]
    assert snapshot_diff(clean, comparable_snapshot(url)) == []


# --- a later run revisits the day; the .done marker; the in-run wait ----------------------------


def test_a_later_run_revisits_a_day_left_with_an_unsettled_file(
    use_warehouse: str, settling: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = use_warehouse
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(tmp_path))
    settling()
    day, next_day = dt.date(2025, 3, 4), dt.date(2025, 3, 5)
    upload_finished(write_registration_delivery(tmp_path, day, "a.csv", range(1, 11)))
    growing = write_registration_delivery(tmp_path, day, "b.csv", range(11, 39))
    complete = growing.read_bytes()
    growing.write_bytes(cut(complete, "line_end"))

    first = run_pipeline("scheduled__2025-03-04", day, day)
    assert first["files_loaded"] == 1 and first["waiting"] == [day.isoformat()], first
    assert audited(url, "registrations/2025-03-04/b.csv") == []
    assert published(url, day) == [], "half a delivery was published"

    growing.write_bytes(complete)
    upload_finished(growing)
    upload_finished(write_registration_delivery(tmp_path, next_day, "c.csv", range(39, 45)))
    later = run_pipeline("scheduled__2025-03-05", next_day, next_day)  # covers 2025-03-05 only
    assert later["files_loaded"] == 2 and later["waiting"] == [], later
    assert audited(url, "registrations/2025-03-04/b.csv")[0]["rows_loaded"] == 28
    assert published(url, day) == ["registrations/2025-03-04/a.csv", "registrations/2025-03-04/b.csv"]
    assert unsettled(url) == []
    # The delivery of 2025-03-04 holds the events of the day before, whole.
    events = rows(
        url,
        "select count(*) as n from core.fct_registration_events where event_date = :d",
        {"d": day - dt.timedelta(days=1)},
    )
    assert events == [{"n": 10 + 28}]


def test_a_feed_with_markers_takes_a_file_only_with_its_done_marker(
    use_warehouse: str, settling: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = use_warehouse
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(tmp_path))
    settling(feeds={FEED: {"marker": True}})
    day = dt.date(2025, 3, 4)
    path = write_registration_delivery(tmp_path, day, "a.csv", range(1, 13))
    upload_finished(path)  # complete and quiet, but its marker is not there yet

    first = run_pipeline("scheduled__first", day, day)
    assert first["files"] == 0 and first["waiting"] == [], first
    assert unsettled(url) == [
        {"source_file": "registrations/2025-03-04/a.csv", "delivery_date": day, "reason": "marker_missing"}
    ]
    assert published(url, day) == []

    path.with_name("a.csv.done").write_bytes(b"")
    second = run_pipeline("scheduled__second", day, day)
    assert second["files_loaded"] == 1 and second["files_rejected"] == 0, second
    assert published(url, day) == ["registrations/2025-03-04/a.csv"]
    assert unsettled(url) == []
    statuses = rows(url, "select source_file, status from ops.file_audit order by source_file")
    assert statuses == [{"source_file": "registrations/2025-03-04/a.csv", "status": "loaded"}], "a marker is no data"


def test_a_run_waits_briefly_for_a_file_about_to_settle_but_not_for_one_still_growing(
    tmp_path: Path, settling: Callable[..., Path]
) -> None:
    settling()
    engine = create_warehouse_engine(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    landing = tmp_path / "landing"
    day = dt.date(2025, 3, 4)
    quiet = write_registration_delivery(landing, day, "quiet.csv", range(1, 5))
    growing = write_registration_delivery(landing, day, "growing.csv", range(5, 9))
    # Budget for the first wait (about 2.5 s), not for a second whole interval once the file grew.
    rules = settle.LandingSettings(settle_seconds=2, max_wait_seconds=4)
    slept: list[float] = []

    def sleep_while_one_grows(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)
        with growing.open("ab") as handle:
            handle.write(b"\n")

    try:
        files, left = settle.discover_settled_files(
            engine, landing, feed(FEED), [day], settings=rules, sleep=sleep_while_one_grows
        )
    finally:
        engine.dispose()
    assert [landed.file_name for landed in files] == [quiet.name]
    assert [observation.source_file for observation in left] == ["registrations/2025-03-04/growing.csv"]
    assert len(slept) == 1 and 1 < slept[0] <= 3, slept


# --- the freshness monitor reports a file that never settles ----------------------------------------


def test_the_freshness_monitor_reports_a_file_that_never_settles(
    tmp_path: Path, settling: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = settling(unsettled_alert_minutes=60)
    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    document["alerts"] = {
        "email": [ON_CALL],
        "sender": "数据平台测试 <parkops-test@example.cn>",
        "smtp_conn_id": "smtp_default",
        "webhooks": [],
        "airflow_base_url": "http://airflow.test:8080",
    }
    document["freshness"] = {}  # no deadline monitored: the unsettled file alone alerts
    config.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    landing = tmp_path / "landing"
    monkeypatch.setenv("PARKOPS_WAREHOUSE_URL", url)
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(landing))
    day = dt.date(2025, 3, 4)
    stuck = write_registration_delivery(landing, day, "stuck.csv", range(1, 30))
    complete = stuck.read_bytes()
    stuck.write_bytes(cut(complete, "line_end"))
    run_pipeline("scheduled__stuck", day, day, transform=False)
    seen = shanghai_naive(dt.datetime.now(dt.UTC))  # when the run saw it unsettled

    def check(minutes_later: int) -> list:
        engine = create_warehouse_engine(url)
        try:
            return check_freshness(engine, seen + dt.timedelta(minutes=minutes_later), landing=landing)
        finally:
            engine.dispose()

    with smtp_server() as inbox:
        for name, value in inbox.connection_env().items():
            monkeypatch.setenv(name, value)
        assert check(30) == [], "unsettled for 30 minutes: not yet reported"
        (opened,) = check(61)
        assert opened.change == "opened" and opened.incident.kind == "unsettled_file"
        subject = str(inbox.received[0].message["Subject"])
        assert subject.startswith("【文件未传完】企业登记（registrations）：2025-03-04 的交付有文件逾期仍未传完"), (
            subject
        )
        text = inbox.received[0].message.get_body(("html",)).get_content()
        assert "registrations/2025-03-04/stuck.csv" in text and "大小或修改时间仍在变化" in text
        assert "暂缓发布" in text
        assert check(90) == [] and len(inbox.received) == 1, "alerted once"

        stuck.write_bytes(complete)
        upload_finished(stuck)
        run_pipeline("scheduled__next", day + dt.timedelta(days=1), day + dt.timedelta(days=1), transform=False)
        (resolved,) = check(120)
        assert resolved.change == "resolved"
        assert str(inbox.received[1].message["Subject"]).startswith("【已恢复】企业登记（registrations）：")
    assert rows(url, "select status from ops.file_audit") == [{"status": "loaded"}]


# --- two discoveries of a feed at once (PostgreSQL admits several writers) ---------------------


@pytest.mark.postgres
def test_two_discoveries_recording_unsettled_files_at_once_do_not_clash(postgres_url: str) -> None:
    """A held-batch rerun's discovery while the scheduled run's is recording: the second waits for
    the first and replaces its rows, instead of failing on the table's key."""
    import threading

    import sqlalchemy as sa

    from parkops.warehouse import apply_ddl

    engine = create_warehouse_engine(postgres_url)
    with engine.begin() as connection:
        apply_ddl(connection)
    moment = dt.datetime(2025, 3, 4, 9, 0)
    observation = settle.Observation(
        FEED, dt.date(2025, 3, 4), f"{FEED}/2025-03-04/reg.csv", 10, moment, moment, moment, moment, "changing"
    )
    errors: list[BaseException] = []

    def second_discovery() -> None:
        try:
            with engine.begin() as connection:
                settle.record_unsettled(connection, FEED, [dt.date(2025, 3, 4)], {observation.source_file: observation})
        except sa.exc.SQLAlchemyError as error:
            errors.append(error)

    with engine.connect() as first:
        with first.begin():
            settle.record_unsettled(first, FEED, [dt.date(2025, 3, 4)], {observation.source_file: observation})
            other = threading.Thread(target=second_discovery)
            other.start()
            time.sleep(1.0)  # the second discovery is now inside its transaction, blocked on the first
        other.join(timeout=60)
    assert not other.is_alive()
    assert errors == []
    assert unsettled(postgres_url) == [
        {"source_file": observation.source_file, "delivery_date": dt.date(2025, 3, 4), "reason": "changing"}
    ]
    engine.dispose()
