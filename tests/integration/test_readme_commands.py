"""The commands README.md names work: the README is the contract with a new user.

Every command the README shows in code (``make ...``, ``python ...``, ``.venv/bin/...``,
``airflow ...``, ``docker ...``) is either run here, as written, against a warehouse holding five
weeks of every feed (the session's ``five_week_warehouse``, on both engines), or listed in
``SKIPPED`` with the reason and the test that covers it. A command the README names and this
file does not know fails the test, so a new command cannot enter the README untested; an entry
here that the README no longer names fails too.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from parkops.feeds import FEED_NAMES
from parkops.ops.freshness.rules import feed_label
from parkops.quality.rule_labels import rule_label
from parkops.warehouse import create_warehouse_engine, fetch_frame

PROJECT_DIR = Path(__file__).resolve().parents[2]
README = PROJECT_DIR / "README.md"
VENV_BIN = Path(sys.executable).parent
COMMAND_PREFIXES = ("make ", "python ", ".venv/bin/", "airflow ", "docker ")


def readme_commands(text: str) -> set[str]:
    """The commands in the README's code: fenced lines (comments cut) and inline spans, spaces collapsed."""
    spans = [
        line.split("#", 1)[0] for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S) for line in block.splitlines()
    ]
    spans += re.findall(r"`([^`]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    commands = {" ".join(span.split()) for span in spans}
    return {command for command in commands if command.startswith(COMMAND_PREFIXES)}


@dataclass(frozen=True)
class Run:
    """What a command's output must show; ``check`` gets (stdout, the run's folders) for the rest."""

    expect: tuple[str, ...]
    check: Callable[[str, dict[str, Path]], None] | None = None
    duckdb_only: bool = False
    #: Further invocations the README names in prose beside the command (e.g. "or ``registrations``").
    variants: tuple[str, ...] = field(default=())


def _health_json(output: str, folders: dict[str, Path]) -> None:
    report = json.loads(output)
    assert report["warehouse"] == "loaded"
    assert [item["feed"] for item in report["feeds"]] == list(FEED_NAMES)
    assert all(item["rows_loaded"] > 0 for item in report["feeds"]), report["feeds"]


def _report_archived(output: str, folders: dict[str, Path]) -> None:
    pages = list(folders["reports"].rglob("report.html"))
    assert len(pages) == 1 and "2025-W10" in str(pages[0]), pages
    assert "<html" in pages[0].read_text(encoding="utf-8")


def _data_docs_built(output: str, folders: dict[str, Path]) -> None:
    assert (folders["data_docs"] / "index.html").is_file()


RUN: dict[str, Run] = {
    "make progress": Run(("指标进度 (截至", "达成率", "日均新增科技企业")),
    "make health": Run(("数据管道健康状况", *(feed_label(name) for name in FEED_NAMES))),
    "python -m parkops.cli health --json": Run((), check=_health_json),
    "make report PERIOD=2025-W10": Run(("2025-W10:", "report.html"), check=_report_archived),
    "make data-docs": Run((), check=_data_docs_built),
    "python -m parkops.cli gate list": Run(("质量闸门扣留的批次",)),
    # The file audit of each feed, and of registrations without --feed (the demo's last line).
    "python -m parkops.cli files --feed visits": Run(
        ("交付日期", "状态"),
        variants=(
            *(f"python -m parkops.cli files --feed {name}" for name in FEED_NAMES if name != "visits"),
            "python -m parkops.cli files",
        ),
    ),
    (
        """.venv/bin/python -c "import duckdb; print(duckdb.connect('data/warehouse/parkops.duckdb', """
        """read_only=True).sql('select * from mart.kpi_target_progress order by as_of_date desc limit 11'))\""""
    ): Run(("kpi_code", "as_of_date"), duckdb_only=True),
}

SKIPPED: dict[str, str] = {
    "make demo": "the whole pipeline and reports through Airflow (5-8 min) with a mail server: tests/e2e",
    "make test": "the test suite itself",
    "make airflow": "a server that runs until stopped: the topology runs in tests/e2e/test_native_topology.py",
    "airflow standalone": "what make airflow starts: tests/e2e/test_native_topology.py",
    "make outbox": "an SMTP server that runs until stopped: tests/e2e/test_report_dags.py sends through it",
    "make bench": "an hour on both engines; make bench is its own check",
    "make run FROM=2025-03-01 TO=2025-03-31": "runs the DAGs through Airflow, writing the warehouse: tests/e2e",
    "make run FROM=… TO=…": "as make run FROM=2025-03-01 TO=2025-03-31",
    "airflow dags test": "what make run calls: tests/e2e/test_airflow_*.py",
    "make sample SAMPLE_FROM=… SAMPLE_TO=…": "writes landing files; the fixture runs the same generator CLI",
    "python -m parkops_tools.generator all --years 3": "make bench's three years; tests/unit/test_generator*.py",
    "make docs": "rewrites docs/warehouse.md: tests/unit/test_docs.py checks it is fresh",
    "make lint": "ruff's verdict on the working tree, not a command reading the warehouse",
    "python -m parkops.cli gate release|rerun --feed F --delivery D --by NAME --reason TEXT": (
        "writes the warehouse; its tasks.release_or_rerun: tests/integration/test_quality_gate.py"
    ),
    "python -m parkops.deploy grant-roles": "changes PostgreSQL roles: tests/integration/test_warehouse_roles.py",
    "python -m parkops.report resend data/reports/weekly/2025-W10 [--to …]": (
        "sends mail: tests/e2e/test_report_dags.py"
    ),
    "docker compose up": "no Docker engine here: tests/e2e/test_native_topology.py, test_deployment_files.py",
    "docker compose logs api-server | grep -i password": "as docker compose up",
    **dict.fromkeys(
        (
            "airflow roles create PersonalData",
            'airflow roles add-perms PersonalData -r "Parkops Personal Data" -a can_read',
            "airflow users add-role -u alice -r PersonalData",
        ),
        "FAB auth manager commands (FAB is not installed: the simple auth manager is in use); the "
        "permission they grant is the one tests/e2e/test_personal_data_access.py checks with the simple one",
    ),
}


def _covered(command: str, known: set[str]) -> bool:
    """Known as written, or a bare ``make <target>`` named in prose whose full form is known."""
    bare_target = command.startswith("make ") and len(command.split()) == 2
    return command in known or (bare_target and any(entry.startswith(f"{command} ") for entry in known))


def test_every_command_of_the_readme_is_run_or_skipped_with_a_reason() -> None:
    named = readme_commands(README.read_text(encoding="utf-8"))
    known = set(RUN) | set(SKIPPED)
    unknown = sorted(command for command in named if not _covered(command, known))
    assert unknown == [], "README names commands this test neither runs nor skips (with a reason)"
    assert sorted(known - named) == [], "commands listed here that the README no longer names"
    assert not set(RUN) & set(SKIPPED)


def _environment(url: str, landing: Path, folders: dict[str, Path]) -> dict[str, str]:
    return {
        **os.environ,
        # README's `python` is the project's (make puts .venv/bin first on PATH too).
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PARKOPS_WAREHOUSE_URL": url,
        "AIRFLOW_CONN_PARKOPS_WAREHOUSE": url,
        "PARKOPS_LANDING_DIR": str(landing),
        "PARKOPS_DATA_DOCS_DIR": str(folders["data_docs"]),
        "PARKOPS_REPORT_ARCHIVE_DIR": str(folders["reports"]),
        "NO_COLOR": "1",
    }


def _checkout_view(url: str, root: Path) -> Path:
    """A folder whose ``.venv`` is the project's and ``data/warehouse/parkops.duckdb`` the test's warehouse."""
    (root / "data" / "warehouse").mkdir(parents=True)
    (root / "data" / "warehouse" / "parkops.duckdb").symlink_to(sa.make_url(url).database)
    (root / ".venv").symlink_to(VENV_BIN.parent)
    return root


def _run(command: str, cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (
        f"{command} exited {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    # pandas' missing values must never reach a reader (a NULL reason printed as "nan" crashed files).
    assert not re.search(r"\bnan\b", result.stdout, re.IGNORECASE), result.stdout[-3000:]
    return result.stdout


@pytest.mark.parametrize("command", list(RUN))
def test_readme_command_runs_on_a_loaded_warehouse(
    command: str, five_week_warehouse: str, five_week_landing: Path, tmp_path: Path
) -> None:
    run = RUN[command]
    if run.duckdb_only and not five_week_warehouse.startswith("duckdb"):
        pytest.skip("the README's example opens the embedded DuckDB file")
    folders = {"data_docs": tmp_path / "data_docs", "reports": tmp_path / "reports"}
    env = _environment(five_week_warehouse, five_week_landing, folders)
    cwd = _checkout_view(five_week_warehouse, tmp_path / "checkout") if run.duckdb_only else PROJECT_DIR
    for invocation in (command, *run.variants):
        output = _run(invocation, cwd, env)
        for expected in run.expect:
            assert expected in output, f"{invocation}: {expected!r} not in its output:\n{output[-3000:]}"
        if run.check is not None:
            run.check(output, folders)


@pytest.mark.parametrize("feed", FEED_NAMES)
def test_files_lists_every_file_version_of_the_feed(feed: str, five_week_warehouse: str, tmp_path: Path) -> None:
    """One line per ops.file_audit row of the feed (a loaded file's missing reason shown empty); a
    rejected file's line names the rule of its quarantined rows by its Chinese label."""
    engine = create_warehouse_engine(five_week_warehouse, read_only=True)
    try:
        with engine.connect() as connection:
            audit = connection.execute(
                sa.text(
                    "select cast(delivery_date as text) as day, file_name, source_file, source_sha256, status, reason "
                    "from ops.file_audit where feed = :feed"
                ),
                {"feed": feed},
            ).all()
            quarantined_rules = {
                (row.source_file, row.source_sha256): row.rule
                for row in connection.execute(
                    sa.text("select distinct source_file, source_sha256, rule from ops.quarantine where feed = :feed"),
                    {"feed": feed},
                )
            }
    finally:
        engine.dispose()
    assert any(row.reason is None for row in audit), "the case that crashed: a file without a reason"
    folders = {"data_docs": tmp_path, "reports": tmp_path}
    output = _run(
        f"python -m parkops.cli files --feed {feed}", PROJECT_DIR, _environment(five_week_warehouse, tmp_path, folders)
    )
    lines = output.rstrip("\n").splitlines()
    assert len(lines) == 2 + len(audit), output  # header, rule, one line per file version
    labelled = 0
    for row in audit:
        (line,) = [line for line in lines if line.startswith(f"{row.day} ") and f" {row.file_name} " in line]
        rule = quarantined_rules.get((row.source_file, row.source_sha256))
        if row.status == "rejected" and rule is not None:
            assert f" {rule_label(rule)} " in line and rule not in line, line
            labelled += 1
    if feed == "registrations":
        assert labelled >= 1  # the five weeks hold a workbook refused whole (support.pipeline.load_feeds)


def test_fetch_frame_returns_null_as_none_and_integers_as_int(warehouse_url: str) -> None:
    """The CLI's frames hold what the database returned: pandas' inference made a NULL text NaN (files crashed)."""
    engine = create_warehouse_engine(warehouse_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("create table probe (reason text, rows_loaded integer, day date)"))
            connection.execute(sa.text("insert into probe values ('bad header', null, null), (null, 2, '2025-03-09')"))
            frame = fetch_frame(connection, "select * from probe order by rows_loaded nulls first")
    finally:
        engine.dispose()
    assert [tuple(row) for row in frame.itertuples(index=False)] == [
        ("bad header", None, None),
        (None, 2, dt.date(2025, 3, 9)),
    ]
    assert isinstance(frame.iloc[1]["rows_loaded"], int)
