"""``python -m parkops.run_dag DAG_ID --from D1 --to D2``: one DAG run through Airflow.

Runs ``airflow dags test`` (a real DAG run in the metadata database, tasks executed in
process, no scheduler needed) with the delivery range as run conf, so a catch-up over any
range is a single run. The full Airflow log goes to a file under ``$AIRFLOW_HOME/logs/runs``;
the terminal gets a per-task summary, and the exit status is non-zero when the run failed.
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

TASK_STATE = re.compile(r"Marking task as (?P<state>[A-Z_]+)\.?.*?task_id=(?P<task>[\w.]+)")


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
    states = [(match["task"], match["state"]) for match in TASK_STATE.finditer(log_text)]
    for task_id, state in states:
        print(f"   {task_id:<28} {state.lower()}")
    if completed.returncode != 0:
        print(f"!! {dag_id} failed after {elapsed:.0f} s; last lines of {log_path}:", file=sys.stderr)
        print("\n".join(log_text.splitlines()[-40:]), file=sys.stderr)
        return completed.returncode
    print(f"   {dag_id} succeeded in {elapsed:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m parkops.run_dag", description=__doc__.split("\n")[0])
    parser.add_argument("dag_id")
    parser.add_argument("--from", dest="delivery_from", required=True, type=dt.date.fromisoformat)
    parser.add_argument("--to", dest="delivery_to", required=True, type=dt.date.fromisoformat)
    args = parser.parse_args(argv)
    if args.delivery_to < args.delivery_from:
        parser.error(f"--to {args.delivery_to} is before --from {args.delivery_from}")
    conf = {"delivery_from": args.delivery_from.isoformat(), "delivery_to": args.delivery_to.isoformat()}
    return run_dag(args.dag_id, conf)


if __name__ == "__main__":
    sys.exit(main())
