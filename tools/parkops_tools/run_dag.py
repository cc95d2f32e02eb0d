"""``python -m parkops_tools.run_dag DAG_ID [DAG_ID ...] --from D1 --to D2``: DAG runs through Airflow, in order.

Runs ``airflow dags test`` per DAG (a real DAG run in the metadata database, tasks executed in
process, no scheduler needed) with the delivery range as run conf, so a catch-up over any
range is a single run per feed. ``build_marts`` gets no conf: without a scheduler no asset
event triggers it, and a run without triggering events rebuilds every family. The report DAGs
get ``period``: ``--weekly-period``/``--monthly-period``, else the latest period whose data is
ready in the warehouse.

The full Airflow log goes to a file under ``$AIRFLOW_HOME/logs/runs``;
the terminal gets a per-task summary, and the exit status is non-zero when the run failed.
A run that failed only because the quality gate held a batch (its published batches did
load) exits with status 3, or, with ``--continue-on-held`` (``make demo``), is reported and the
next DAGs run: the held batch waits for a person (README, "Runbook: a held batch").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

#: DAGs that take no delivery range (scheduled on assets, or triggered by a person with --conf).
RANGELESS_DAGS = frozenset({"build_marts", "release_held_batch"})
#: Report DAGs: they get the latest period whose data is ready (or --period) as conf.
REPORT_DAGS = {"send_weekly_report": "weekly", "send_monthly_report": "monthly"}

HELD_EXIT_STATUS = 3
HELD_MESSAGE = re.compile(r"质量闸门扣留[^\n\"]*")
#: Tasks that load before the gate is checked: when they succeeded, a failed run was only held.
LOADING_TASKS = ("ingest_files", "release_or_rerun")
TASK_STATE = re.compile(r"Marking task as (?P<state>[A-Z_]+)\.?.*?task_id=(?P<task>[\w.]+)")
#: Airflow 3's `dags test` log: "[DAG TEST] running task <TaskInstance: dag.task run [...] ti_id=...>",
#: then "Task instance state updated ... new_state=success ... ti_id=..." for that instance.
TASK_STARTED = re.compile(
    r"\[DAG TEST\] running task <TaskInstance: [\w-]+\.(?P<task>[\w.]+) .*?ti_id=(?P<ti>[0-9a-f-]+)>"
)
TASK_STATE_UPDATED = re.compile(r"new_state=(?P<state>\w+)\b.*?ti_id=(?P<ti>[0-9a-f-]+)")


def task_states(log_text: str) -> list[tuple[str, str]]:
    """(task id, final state in capitals) of each task the run executed, in the order they ended."""
    tasks_by_instance = {match["ti"]: match["task"] for match in TASK_STARTED.finditer(log_text)}
    final: dict[str, str] = {}
    for match in TASK_STATE_UPDATED.finditer(log_text):
        task_id = tasks_by_instance.get(match["ti"])
        if task_id is not None:
            final.pop(task_id, None)
            final[task_id] = match["state"].upper()
    for match in TASK_STATE.finditer(log_text):  # older log format
        final.pop(match["task"], None)
        final[match["task"]] = match["state"]
    return list(final.items())


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")


def run_dag(dag_id: str, conf: dict[str, object]) -> int:
    log_dir = airflow_home() / "logs" / "runs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{dag_id}-{dt.datetime.now():%Y%m%dT%H%M%S}.log"
    airflow = Path(sys.executable).with_name("airflow")
    command = [str(airflow), "dags", "test", dag_id, "--conf", json.dumps(conf)]
    print(f">> {dag_id} {json.dumps(conf, ensure_ascii=False)} (log: {log_path})", flush=True)
    started = time.monotonic()
    with log_path.open("w", encoding="utf-8") as log_file:
        completed = subprocess.run(command, stdout=log_file, stderr=subprocess.STDOUT, check=False)
    elapsed = time.monotonic() - started
    log_text = log_path.read_text(encoding="utf-8", errors="replace")
    states = task_states(log_text)
    for task_id, state in states:
        print(f"   {task_id:<28} {state.lower()}")
    held = held_message(log_text, states)
    if completed.returncode != 0 and held:
        print(f"!! {dag_id}: {held} (after {elapsed:.0f} s)", file=sys.stderr)
        return HELD_EXIT_STATUS
    if completed.returncode != 0:
        print(f"!! {dag_id} failed after {elapsed:.0f} s; last lines of {log_path}:", file=sys.stderr)
        print("\n".join(log_text.splitlines()[-40:]), file=sys.stderr)
        return completed.returncode
    print(f"   {dag_id} succeeded in {elapsed:.0f} s")
    return 0


def held_message(log_text: str, states: list[tuple[str, str]]) -> str | None:
    """The quality gate's message when the run loaded and then only the gate failed it."""
    final_states = dict(states)
    if not any(final_states.get(task_id) == "SUCCESS" for task_id in LOADING_TASKS):
        return None
    failed = {task_id for task_id, state in final_states.items() if state in ("FAILED", "UPSTREAM_FAILED")}
    if failed - {"check_quality_gate"}:
        return None
    match = HELD_MESSAGE.search(log_text)
    return match.group(0) if match else None


def latest_ready_period(kind: str) -> str | None:
    from parkops.report.tasks import latest_ready_period as latest

    return latest(kind)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m parkops_tools.run_dag", description=__doc__.split("\n")[0])
    parser.add_argument("dag_ids", nargs="+", metavar="DAG_ID")
    parser.add_argument("--from", dest="delivery_from", type=dt.date.fromisoformat)
    parser.add_argument("--to", dest="delivery_to", type=dt.date.fromisoformat)
    parser.add_argument("--weekly-period", help="period of send_weekly_report, e.g. 2025-W10")
    parser.add_argument("--monthly-period", help="period of send_monthly_report, e.g. 2025-03")
    parser.add_argument(
        "--conf",
        type=json.loads,
        default={},
        help='run conf of release_held_batch, e.g. \'{"feed": "registrations", "delivery_date": "2025-03-09", '
        '"action": "release", "requested_by": "me", "reason": "why"}\'',
    )
    parser.add_argument(
        "--continue-on-held",
        action="store_true",
        help="a run failed only by the quality gate (a held batch) does not stop the next DAGs, nor fail the command",
    )
    args = parser.parse_args(argv)
    ingesting = [dag_id for dag_id in args.dag_ids if dag_id not in RANGELESS_DAGS and dag_id not in REPORT_DAGS]
    if ingesting and (args.delivery_from is None or args.delivery_to is None):
        parser.error(f"--from and --to are required for {', '.join(ingesting)}")
    if ingesting and args.delivery_to < args.delivery_from:
        parser.error(f"--to {args.delivery_to} is before --from {args.delivery_from}")
    started = time.monotonic()
    held_runs: list[str] = []
    for dag_id in args.dag_ids:
        conf: dict[str, object] = {}
        if dag_id in REPORT_DAGS:
            kind = REPORT_DAGS[dag_id]
            period = getattr(args, f"{kind}_period") or latest_ready_period(kind)
            if period is None:
                print(f"!! {dag_id}: no {kind} period has its data ready in the warehouse", file=sys.stderr)
                return 1
            conf = {"period": period}
        elif dag_id not in RANGELESS_DAGS:
            conf = {"delivery_from": args.delivery_from.isoformat(), "delivery_to": args.delivery_to.isoformat()}
        elif dag_id == "release_held_batch":
            conf = args.conf
        status = run_dag(dag_id, conf)
        if status == HELD_EXIT_STATUS and args.continue_on_held:
            held_runs.append(dag_id)
            continue
        if status != 0:
            return status
    if len(args.dag_ids) > 1:
        succeeded = len(args.dag_ids) - len(held_runs)
        print(f"   {succeeded} of {len(args.dag_ids)} DAG runs succeeded in {time.monotonic() - started:.0f} s")
    if held_runs:
        print(
            f"!! the quality gate held batches in {', '.join(held_runs)}: they are not in the marts until released "
            'or rerun (python -m parkops.cli gate list; README, "Runbook: a held batch")'
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
