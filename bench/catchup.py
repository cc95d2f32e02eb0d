"""Pipeline benchmark: ``make bench`` (or ``python bench/catchup.py``).

One run, both engines (DuckDB files under the run folder, PostgreSQL databases of their own that
are created and dropped here), the same landing files for every part:

0. landing: ``python -m parkops_tools.generator all --years N`` into ``data/bench/landing-<N>y-<seed>/``,
   cached: a marker file holds the generator arguments and a hash of the generator's source;
   regenerated only when either differs. Timed apart, not part of any figure below.
1. one-run-per-day sample (per engine, a fresh warehouse): ``run_dag`` of each ingest DAG for a
   few single delivery days spread over the range, then one ``build_marts``; extrapolated to the
   runs a daily schedule makes over the range (the baseline of the catch-up ratio).
2. Airflow catch-up (per engine, its own ``AIRFLOW_HOME`` initialised like ``make airflow-init``):
   ``python -m parkops_tools.run_dag <DAG> --from FIRST --to LAST-1 --continue-on-held`` per DAG (the
   four ingest DAGs, then ``build_marts``), wall time and peak memory of each run's process tree,
   the Airflow task durations from the metadata database, and the batches the gate held.
3. daily increment: the last day of the range, held back from the catch-up, run the same way on
   the caught-up warehouse (every ingest DAG, then ``build_marts``).
4. in-process catch-up of the same files (per engine, a child process so peak RSS is its own, a
   fresh warehouse): ``FileLoader.load_all`` per feed split by stage with wrappers (the library is
   not changed), then ``transform.build_all``; a sampling profiler attributes the time to
   functions per feed.
5. baselines on the registration rows the in-process catch-up put in ``staging.registrations``:
   our ``bulk_insert`` next to raw COPY (PostgreSQL), raw ``insert ... select * from df``
   (DuckDB) and ``DataFrame.to_sql`` on a slice (``bench/registration_load.py``'s write stage,
   reused). ``python bench/registration_load.py`` still gives its own synthetic 1M-row figures.

Figures go to stdout (a table) and to ``data/bench/<timestamp>.json`` (git-ignored).
PostgreSQL: ``PARKOPS_BENCH_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``)
is the maintenance database used to create and drop ``parkops_bench_<random>``; when it cannot be
reached the DuckDB part still runs and the output says, loudly, that PostgreSQL was skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import gc
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
from collections import defaultdict
from pathlib import Path
from typing import Any

# Run as a script from anywhere: the write-stage baselines and the report are sibling modules.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import registration_load as regload
from catchup_report import BULK, CROSS, GATE, GOALS, PREPARE, READ, VALIDATE, WRITE, report

from parkops.feeds import FEEDS, MONTHLY_FEEDS

REPO = regload.REPO
BIN = Path(sys.executable).parent
DEFAULT_PG_URL = regload.DEFAULT_PG_URL
GENERATOR_DIR = REPO / "tools" / "parkops_tools" / "generator"
MARKER = ".bench-landing.json"

#: Ingest DAG -> feed, in pipeline order (the order the Makefile runs them).
INGEST_DAGS = {each.dag_id: each.name for each in FEEDS}
MARTS_DAG = "build_marts"
#: --quick: two months of deliveries at the 3-year run's daily volume (the scale knobs).
QUICK_RANGE = (dt.date(2025, 2, 1), dt.date(2025, 3, 31))

_CHILDREN = regload._CHILDREN
log = regload.log
banner = regload.banner
now = regload.now
rate = regload.rate
fmt_s = regload.fmt_s
fmt_rate = regload.fmt_rate
print_table = regload.print_table


# ---------------------------------------------------------------------------------------------
# landing (cached generation)


def generator_source_hash() -> str:
    """Hash of every file of the generator package: its committed tree hash would miss edits not
    yet committed, and those change the files it writes as much as a commit does."""
    digest = hashlib.sha256()
    for path in sorted(GENERATOR_DIR.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(GENERATOR_DIR).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclasses.dataclass(frozen=True)
class LandingSpec:
    folder: Path
    argv: list[str]
    first: dt.date
    last: dt.date


def landing_spec(args: argparse.Namespace) -> LandingSpec:
    from parkops_tools.generator.__main__ import DEFAULT_END, SCALE_DEFAULTS, years_range

    if args.quick:
        first, last = QUICK_RANGE
        knobs = {"--events-per-day": SCALE_DEFAULTS["events_per_day"], "--staff-scale": SCALE_DEFAULTS["staff_scale"]}
        knobs["--incubators"] = SCALE_DEFAULTS["incubators"]
        argv = ["all", "--from", first.isoformat(), "--to", last.isoformat(), "--seed", str(args.seed)]
        argv += [str(item) for pair in knobs.items() for item in pair]
        folder = args.out_dir / f"landing-quick-{args.seed}"
    else:
        first, last = years_range(args.years, DEFAULT_END)
        argv = ["all", "--years", str(args.years), "--seed", str(args.seed)]
        folder = args.out_dir / f"landing-{args.years}y-{args.seed}"
    return LandingSpec(folder.resolve(), argv, first, last)


def ensure_landing(spec: LandingSpec) -> dict[str, Any]:
    """Reuse the landing when its marker matches, else generate it (marker written last, so an
    interrupted generation is never mistaken for a finished one)."""
    wanted = {"argv": spec.argv, "generator_sha256": generator_source_hash()}
    marker = spec.folder / MARKER
    if marker.is_file():
        found = json.loads(marker.read_text())
        if {key: found.get(key) for key in wanted} == wanted:
            log(f"landing: reusing {spec.folder} (generated {found.get('generated_at')})")
            return {**found, "cached": True}
        log(f"landing: {spec.folder} was generated with other arguments or generator source: regenerating")
    shutil.rmtree(spec.folder, ignore_errors=True)
    spec.folder.mkdir(parents=True)
    command = [sys.executable, "-m", "parkops_tools.generator", *spec.argv, "--landing", str(spec.folder)]
    log(f"landing: generating ({' '.join(spec.argv)}); minutes for years of data")
    started = now()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
    seconds = now() - started
    if done.returncode != 0:
        raise RuntimeError(f"generator failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    volumes = done.stdout[done.stdout.rfind("volumes ") :].strip()
    record = {
        **wanted,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "generation_seconds": seconds,
        "volumes": volumes,
        "first": spec.first.isoformat(),
        "last": spec.last.isoformat(),
    }
    marker.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return {**record, "cached": False}


# ---------------------------------------------------------------------------------------------
# processes: run, time, peak memory of the process tree


class TreeMemory(threading.Thread):
    """Polls the resident set of a process and its descendants; keeps the peak of the sum.

    The sum counts pages shared between processes once per process (an upper bound); the
    largest single process comes exactly from ``wait4``'s ru_maxrss.
    """

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_mib = 0.0
        self._halt = threading.Event()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._halt.is_set():
            total = 0
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for process in processes:
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                    total += process.memory_info().rss
            self.peak_mib = max(self.peak_mib, total / 2**20)
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def run_measured(command: list[str], env: dict[str, str], log_path: Path) -> dict[str, Any]:
    """Run ``command`` (output to ``log_path``); wall seconds, exit code, peak memory."""
    started_at = dt.datetime.now(dt.UTC)
    started = now()
    with log_path.open("a", encoding="utf-8") as handle:
        handle.write(f"$ {' '.join(command)}\n")
        handle.flush()
        # A session of its own: stopping the bench ends the whole tree (airflow dags test included).
        child = subprocess.Popen(
            command, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True
        )
        _CHILDREN.append(child)
        memory = TreeMemory(child.pid)
        memory.start()
        # wait4 rather than wait: its rusage gives the largest process of the tree (ru_maxrss).
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        _CHILDREN.remove(child)
        memory.stop()
    return {
        "seconds": now() - started,
        "exit_code": child.returncode,
        "started_at": started_at.isoformat(),
        "ended_at": dt.datetime.now(dt.UTC).isoformat(),
        "peak_tree_rss_mib": memory.peak_mib,
        "peak_process_rss_mib": usage.ru_maxrss / 1024,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
    }


# ---------------------------------------------------------------------------------------------
# Airflow runs


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AirflowSetup:
    """An AIRFLOW_HOME of the bench, its environment and the local outbox the alerts go to
    (a held batch fails its run, whose alert is mailed through ``smtp_default``)."""

    def __init__(self, home: Path, landing: Path, logs: Path) -> None:
        self.home = home
        self.landing = landing
        self.logs = logs
        self.port = free_port()
        self.outbox: subprocess.Popen | None = None

    def env(self, warehouse_url: str) -> dict[str, str]:
        base = self.home.parent
        smtp = {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": self.port,
            "extra": {"disable_ssl": True, "disable_tls": True, "timeout": 30, "retry_limit": 3},
        }
        return os.environ | {
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
            "AIRFLOW_CONN_PARKOPS_WAREHOUSE": warehouse_url,
            "AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(smtp),
            "PARKOPS_WAREHOUSE_URL": warehouse_url,
            "PARKOPS_LANDING_DIR": str(self.landing),
            # Everything the runs write (Data Docs, report archive) stays in the bench folder.
            "PARKOPS_HOME": str(base),
            "PARKOPS_DATA_DOCS_DIR": str(base / "data_docs"),
            "PARKOPS_REPORT_ARCHIVE_DIR": str(base / "reports"),
            "GX_ANALYTICS_ENABLED": "False",
            "NO_COLOR": "1",
        }

    def init(self) -> float:
        """``make airflow-init``: migrate the metadata database, create the writer pool."""
        self.home.mkdir(parents=True, exist_ok=True)
        env = self.env("duckdb:///unused")
        started = now()
        for command in (
            [str(BIN / "airflow"), "db", "migrate"],
            [str(BIN / "airflow"), "pools", "set", "warehouse_writer", "1", "Serialises warehouse writers"],
        ):
            done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO, check=False)
            (self.logs / "airflow-init.log").open("a").write(done.stdout + done.stderr)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(command[1:])} failed:\n{(done.stdout + done.stderr)[-3000:]}")
        return now() - started

    def start_outbox(self) -> None:
        command = [sys.executable, "-m", "parkops_tools.outbox", "--folder", str(self.home.parent / "outbox")]
        command += ["--port", str(self.port)]
        handle = (self.logs / "outbox.log").open("w")
        self.outbox = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, cwd=REPO)
        _CHILDREN.append(self.outbox)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            time.sleep(0.2)
        raise RuntimeError(f"the local outbox did not listen on port {self.port}")

    def stop_outbox(self) -> None:
        if self.outbox is not None:
            self.outbox.terminate()
            self.outbox.wait()
            _CHILDREN.remove(self.outbox)
            self.outbox = None

    def run_dag(self, dag_id: str, first: dt.date | None, last: dt.date | None, warehouse_url: str, tag: str) -> dict:
        """One ``python -m parkops_tools.run_dag`` (one ``airflow dags test``) for one DAG."""
        command = [sys.executable, "-m", "parkops_tools.run_dag", dag_id, "--continue-on-held"]
        if first is not None:
            command += ["--from", first.isoformat(), "--to", last.isoformat()]
        log_path = self.logs / f"{tag}-{dag_id}.log"
        result = run_measured(command, self.env(warehouse_url), log_path)
        text = log_path.read_text(errors="replace")
        result["dag_id"] = dag_id
        self.task_durations([result])
        # Held: the run loaded and only the gate check failed (read from the metadata database,
        # so it does not depend on run_dag recognising the gate's message in Airflow's log).
        failed = {task for task, info in result["tasks"].items() if info["state"] in ("failed", "upstream_failed")}
        loaded = result["tasks"].get("ingest_files", {}).get("state") == "success"
        result["held"] = "the quality gate held batches" in text or (loaded and failed == {"check_quality_gate"})
        result["status"] = "held" if result["held"] else ("failed" if result["exit_code"] or failed else "success")
        result["log"] = str(log_path.relative_to(REPO) if log_path.is_relative_to(REPO) else log_path)
        tail = f"{result['seconds']:.1f} s, {result['status']}, peak tree RSS {result['peak_tree_rss_mib']:,.0f} MiB"
        log(f"  {tag} {dag_id} {first or ''}..{last or ''}: {tail}")
        if result["status"] == "failed":
            raise RuntimeError(f"{dag_id} failed ({tag}); last lines of {log_path}:\n{text[-4000:]}")
        return result

    def task_durations(self, runs: list[dict]) -> None:
        """Add each run's task instances (state, seconds) from the metadata database: a run's
        wall time less its tasks' is Airflow's own overhead (start-up, parsing, scheduling)."""
        database = self.home / "airflow.db"
        with contextlib.closing(sqlite3.connect(database)) as connection:
            rows = connection.execute(
                "select dag_id, task_id, state, start_date, end_date, duration from task_instance"
            ).fetchall()
        for run in runs:
            started = dt.datetime.fromisoformat(run["started_at"])
            ended = dt.datetime.fromisoformat(run["ended_at"])
            tasks = {}
            for dag_id, task_id, state, start, _end, duration in rows:
                if dag_id != run["dag_id"] or start is None:
                    continue
                moment = dt.datetime.fromisoformat(str(start))
                moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
                if started <= moment <= ended:
                    tasks[task_id] = {"state": state, "seconds": duration}
            run["tasks"] = tasks
            run["task_seconds"] = sum(task["seconds"] or 0.0 for task in tasks.values())


def gate_counts(url: str) -> dict[str, dict[str, int]]:
    """Batches per feed and gate status (``ops.quality_gate_batches``)."""
    from parkops.warehouse import create_warehouse_engine

    engine = create_warehouse_engine(url, read_only=url.startswith("duckdb"))
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    try:
        with engine.connect() as connection:
            for feed, status, count in connection.exec_driver_sql(
                "select feed, status, count(*) from ops.quality_gate_batches group by feed, status order by 1, 2"
            ):
                counts[feed][status] = count
    finally:
        engine.dispose()
    return dict(counts)


def warehouse_rows(url: str) -> dict[str, int]:
    from parkops.warehouse import create_warehouse_engine

    engine = create_warehouse_engine(url, read_only=url.startswith("duckdb"))
    tables = [f"staging.{table}" for each in FEEDS for table in each.tables]
    tables += ["core.fct_registration_events", "core.dim_enterprise", "core.fct_visits"]
    try:
        with engine.connect() as connection:
            return {table: connection.exec_driver_sql(f"select count(*) from {table}").scalar_one() for table in tables}
    finally:
        engine.dispose()


def spread_days(first: dt.date, last: dt.date, count: int) -> list[dt.date]:
    """``count`` days evenly spread over first..last (weekends and holidays fall where they fall,
    as in a year of daily runs)."""
    span = (last - first).days
    if count <= 1:
        return [first + dt.timedelta(days=span // 2)]
    return sorted({first + dt.timedelta(days=round(span * (index + 0.5) / count)) for index in range(count)})


def scheduled_runs(feed: str, first: dt.date, last: dt.date) -> int:
    """Runs a schedule makes over the range: one per delivery day, or per month (incubators)."""
    if feed in MONTHLY_FEEDS:
        return (last.year - first.year) * 12 + last.month - first.month + 1
    return (last - first).days + 1


# ---------------------------------------------------------------------------------------------
# one engine through Airflow


def airflow_engine(
    engine: str,
    urls: dict[str, str],
    spec: LandingSpec,
    run_dir: Path,
    samples: int,
    result: dict[str, Any],
) -> dict[str, Any]:
    """Daily-run sample, catch-up and increment of one engine, through ``airflow dags test``.

    ``result`` is filled as runs finish, so a run stopped half-way still leaves its figures."""
    logs = run_dir / "logs" / engine
    logs.mkdir(parents=True, exist_ok=True)
    setup = AirflowSetup(run_dir / engine / "airflow", spec.folder, logs)
    log(f"{engine}: airflow db migrate + pool (own AIRFLOW_HOME {setup.home})")
    result["airflow_init_seconds"] = setup.init()
    setup.start_outbox()
    catchup_last = spec.last - dt.timedelta(days=1)
    try:
        # 1. One run per day, on a warehouse of its own: what the catch-up replaces.
        log(f"{engine}: one-run-per-day sample, {samples} delivery day(s) per feed")
        daily: list[dict] = result.setdefault("daily_sample", [])
        for dag_id, feed in INGEST_DAGS.items():
            for day in spread_days(spec.first, catchup_last, samples):
                run = setup.run_dag(dag_id, day, day, urls["daily"], f"daily-{day}")
                daily.append({"feed": feed, "day": day.isoformat(), **run})
        daily.append({**setup.run_dag(MARTS_DAG, None, None, urls["daily"], "daily")})

        # 2. The catch-up: one run per feed over the range less its last day, then the marts.
        log(f"{engine}: Airflow catch-up {spec.first}..{catchup_last}")
        catchup: list[dict] = result.setdefault("catchup_runs", [])
        for dag_id in [*INGEST_DAGS, MARTS_DAG]:
            first, last = (None, None) if dag_id == MARTS_DAG else (spec.first, catchup_last)
            catchup.append({**setup.run_dag(dag_id, first, last, urls["catchup"], "catchup")})
        result["catchup"] = {
            "first": spec.first.isoformat(),
            "last": catchup_last.isoformat(),
            "runs": catchup,
            "seconds": sum(run["seconds"] for run in catchup),
            "peak_tree_rss_mib": max(run["peak_tree_rss_mib"] for run in catchup),
            "peak_process_rss_mib": max(run["peak_process_rss_mib"] for run in catchup),
            "gate": gate_counts(urls["catchup"]),
            "rows": warehouse_rows(urls["catchup"]),
        }

        # 3. The next day's delivery: the day held back. As scheduled, each feed's run (10:00,
        # 10:30, 11:00 daily; incubators on the 11th) is followed by the rebuild its asset event
        # triggers, so a feed's daily increment is its ingest run plus that build_marts run.
        log(f"{engine}: daily increment {spec.last}")
        increment: list[dict] = result.setdefault("increment_runs", [])
        per_feed: dict[str, float] = {}
        for dag_id in INGEST_DAGS:
            ingest_run = setup.run_dag(dag_id, spec.last, spec.last, urls["catchup"], "increment")
            marts_run = setup.run_dag(MARTS_DAG, None, None, urls["catchup"], "increment")
            increment += [ingest_run, {**marts_run, "after": dag_id}]
            per_feed[dag_id] = ingest_run["seconds"] + marts_run["seconds"]
        result["increment"] = {
            "day": spec.last.isoformat(),
            "runs": increment,
            "per_feed_seconds": per_feed,
            "worst_feed_seconds": max(per_feed.values()),
            "all_seconds": sum(run["seconds"] for run in increment),
            "registrations_path_seconds": per_feed["ingest_enterprise_registrations"],
            "gate": gate_counts(urls["catchup"]),
        }
        if url_is_duckdb(urls["catchup"]):
            result["warehouse_bytes"] = sum(
                path.stat().st_size for path in Path(urls["catchup"].removeprefix("duckdb:///")).parent.glob("*")
            )
    finally:
        setup.stop_outbox()
    result["per_day_extrapolation"] = extrapolate_daily(result, spec.first, catchup_last)
    return result


def url_is_duckdb(url: str) -> bool:
    return url.startswith("duckdb")


def extrapolate_daily(result: dict[str, Any], first: dt.date, last: dt.date) -> dict[str, Any]:
    """Mean single-day run per feed times the runs a schedule makes over the range; the marts
    rebuilt after every day at the mean of a rebuild on the small sample warehouse and on the
    caught-up one (a rebuild reads all history, so its cost grows about linearly over the range)."""
    per_feed = {}
    for dag_id, feed in INGEST_DAGS.items():
        seconds = [run["seconds"] for run in result["daily_sample"] if run["dag_id"] == dag_id]
        runs = scheduled_runs(feed, first, last)
        catchup_run = next(run for run in result["catchup"]["runs"] if run["dag_id"] == dag_id)
        mean = sum(seconds) / len(seconds)
        per_feed[feed] = {
            "sample_runs": len(seconds),
            "mean_run_seconds": mean,
            "scheduled_runs": runs,
            "extrapolated_seconds": mean * runs,
            "catchup_seconds": catchup_run["seconds"],
            "ratio": mean * runs / catchup_run["seconds"],
        }
    small = next(run["seconds"] for run in result["daily_sample"] if run["dag_id"] == MARTS_DAG)
    rebuilds = [run["seconds"] for run in result["increment"]["runs"] if run["dag_id"] == MARTS_DAG]
    full = sum(rebuilds) / len(rebuilds)
    days = (last - first).days + 1
    marts = (small + full) / 2 * days
    ingest_total = sum(feed["extrapolated_seconds"] for feed in per_feed.values())
    return {
        "feeds": per_feed,
        "marts_per_day_seconds": {"sample_warehouse": small, "caught_up_warehouse": full, "days": days},
        "ingest_seconds": ingest_total,
        "with_marts_seconds": ingest_total + marts,
        "catchup_seconds": result["catchup"]["seconds"],
        "ratio_ingest": ingest_total / sum(feed["catchup_seconds"] for feed in per_feed.values()),
        "ratio_with_marts": (ingest_total + marts) / result["catchup"]["seconds"],
    }


# ---------------------------------------------------------------------------------------------
# in-process catch-up (child process per engine): stages and profile


class Sampler(threading.Thread):
    """Statistical profiler of the main thread: every ``interval`` it reads the main thread's
    stack and credits the wall time since the previous sample to the leaf function (self) and
    to every function on the stack (cumulative), under the current label (a feed).

    Not cProfile: its per-call hook slows the pandas/GX-heavy Python severalfold, which would
    distort the stage timings measured in the same pass; this costs about one percent.
    """

    def __init__(self, interval: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.main_id = threading.main_thread().ident
        self.label = "setup"
        self.self_seconds: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.cumulative: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.package_seconds: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        #: Per innermost parkops function on the stack: which of the project's own functions the
        #: time (in pandas, the database driver, ...) is spent for.
        self.parkops_seconds: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self._halt = threading.Event()
        self._functions: dict[Any, tuple[str, str]] = {}

    def _function_of(self, code: Any) -> tuple[str, str]:
        known = self._functions.get(code)
        if known is None:
            path = re.sub(r"^.*/(site-packages|plugins|lib/python3\.\d+)/", "", code.co_filename)
            package = path.split("/", 1)[0] if "/" in path else path.removesuffix(".py")
            if path.startswith("<frozen importlib"):
                package = "imports"
            elif code.co_filename.startswith(sys.base_prefix) and "site-packages" not in code.co_filename:
                package = "python stdlib"
            known = (f"{path}:{code.co_firstlineno} {code.co_qualname}", package)
            self._functions[code] = known
        return known

    def run(self) -> None:
        last = time.perf_counter()
        while not self._halt.wait(self.interval):
            frame = sys._current_frames().get(self.main_id)
            moment = time.perf_counter()
            weight, last = moment - last, moment
            if frame is None:
                continue
            label = self.label
            leaf, package = self._function_of(frame.f_code)
            self.self_seconds[label][leaf] += weight
            self.package_seconds[label][package] += weight
            seen = set()
            owner = None
            while frame is not None:
                name, package = self._function_of(frame.f_code)
                if owner is None and package == "parkops":
                    owner = name
                    self.parkops_seconds[label][name] += weight
                if name not in seen:
                    seen.add(name)
                    self.cumulative[label][name] += weight
                frame = frame.f_back

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def summary(self, top: int = 25) -> dict[str, Any]:
        def best(table: dict[str, float]) -> list[list[object]]:
            return [[name, round(seconds, 3)] for name, seconds in sorted(table.items(), key=lambda kv: -kv[1])[:top]]

        return {
            label: {
                "sampled_seconds": sum(self.self_seconds[label].values()),
                "self": best(self.self_seconds[label]),
                "cumulative": best(self.cumulative[label]),
                "packages": best(self.package_seconds[label]),
                "parkops": best(self.parkops_seconds[label]),
            }
            for label in self.self_seconds
        }


#: Stage label of the transform's table rebuilds (the in-process split's other labels: catchup_report).
REBUILD = "rebuild"


def run_inprocess(url: str, landing: Path, first: dt.date, last: dt.date) -> dict[str, Any]:
    """Reference data, ``FileLoader.load_all`` per feed over every landed file, ``build_all``."""
    started_process = now()
    from parkops import warehouse
    from parkops.feeds import feed
    from parkops.ingest import tabular
    from parkops.pipeline import discovery, ingest, transform, writer
    from parkops.pipeline.reference import load_reference_data
    from parkops.quality import validation

    sampler = Sampler()
    sampler.start()
    result: dict[str, Any] = {"imports_seconds": now() - started_process, "feeds": {}}
    engine = warehouse.create_warehouse_engine(url)
    result["dialect"] = engine.dialect.name
    started = now()
    load_reference_data(engine)
    result["reference_seconds"] = now() - started
    started = now()
    with contextlib.suppress(AttributeError):  # private helpers: when renamed, validate includes this
        validation._import_gx()
        validation._batch_definition()
    result["gx_setup_seconds"] = now() - started

    clock = regload.StageClock()
    # Each reading module (and the tabular one the one-table feeds share) calls its reader by the name it imported.
    for module in (tabular, *(each.reading for each in FEEDS)):
        for reader in ("read_table", "read_workbook_sheets", "read_json_lines"):
            if hasattr(module, reader):
                clock.wrap(module, reader, READ)
    clock.wrap(validation, "validate_frame", VALIDATE)
    clock.wrap(writer.FileWriter, "write_group", WRITE)
    clock.wrap(ingest, "decide", GATE)
    clock.wrap(warehouse, "bulk_insert", lambda connection, schema, table, frame: f"{BULK} {schema}.{table}")
    clock.wrap(warehouse, "rebuild_table", lambda connection, schema, table, params=None: f"{REBUILD} {schema}.{table}")
    days = discovery.delivery_days(first, last)
    for feed_name in INGEST_DAGS.values():
        landing_feed = feed(feed_name)
        # The feed looks its reading module's functions up at each call: wrapped there, they are timed.
        clock.wrap(landing_feed.reading, "prepare", PREPARE)
        if landing_feed.cross_check is not None:
            clock.wrap(landing_feed.reading, "cross_check", CROSS)
        sampler.label = feed_name
        started = now()
        files = discovery.discover_files(landing, landing_feed, days)
        discover = now() - started
        before = dict(clock.seconds)
        loader = ingest.FileLoader(engine, landing_feed, "bench_inprocess")
        started = now()
        outcomes = loader.load_all(files)
        seconds = now() - started
        summary = ingest.outcome_summary(outcomes)
        summary.pop("rejected", None)
        held = [decision for decision in loader.gate_decisions if decision.status == "held"]
        result["feeds"][feed_name] = {
            "files": len(files),
            "bytes": sum(landed.size_bytes for landed in files),
            "discover_seconds": discover,
            "load_all_seconds": seconds,
            "stages": {
                label: value - before.get(label, 0.0)
                for label, value in clock.seconds.items()
                if value - before.get(label, 0.0) > 0
            },
            "outcomes": summary,
            "batches": len(loader.gate_decisions),
            "batches_held": len(held),
            "peak_rss_mib": regload.peak_rss_mib(),
        }
        log(f"in-process {feed_name}: {len(files)} files in {seconds:.1f} s ({summary})")
    sampler.label = "transform (build_all)"
    started = now()
    counts = transform.build_all(engine)
    result["transform"] = {"seconds": now() - started, "tables": len(counts), "rows_written": sum(counts.values())}
    result["transform"]["table_seconds"] = {
        label.removeprefix(f"{REBUILD} "): seconds
        for label, seconds in clock.seconds.items()
        if label.startswith(REBUILD)
    }
    with engine.connect() as connection:
        result["transform"]["staging_rows"] = sum(
            connection.exec_driver_sql(f"select count(*) from staging.{table}").scalar_one()
            for name in INGEST_DAGS.values()
            for table in feed(name).tables
        )
    engine.dispose()
    sampler.stop()
    result["profile"] = sampler.summary()
    result["peak_rss_mib"] = regload.peak_rss_mib()
    return result


def spawn_inprocess(url: str, spec: LandingSpec, last: dt.date, run_dir: Path, engine: str) -> dict[str, Any]:
    out = run_dir / f"inprocess-{engine}.json"
    command = [sys.executable, str(Path(__file__).resolve()), "_inprocess", "--url", url]
    command += ["--landing", str(spec.folder), "--first", spec.first.isoformat(), "--last", last.isoformat()]
    command += ["--out", str(out)]
    log_path = run_dir / "logs" / f"inprocess-{engine}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"PARKOPS_WAREHOUSE_URL": url, "PARKOPS_LANDING_DIR": str(spec.folder)}
    env |= {"PARKOPS_HOME": str(run_dir / engine), "GX_ANALYTICS_ENABLED": "False"}
    measured = run_measured(command, env, log_path)
    if measured["exit_code"] != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(f"in-process child failed (exit {measured['exit_code']}), {log_path}:\n{tail}")
    return {**json.loads(out.read_text()), "process": measured}


# ---------------------------------------------------------------------------------------------
# baselines: the write stage of registration_load on the catch-up's registration rows


def staging_registrations(url: str) -> Any:
    """staging.registrations as the pipeline hands it to bulk_insert: texts (object), NULLs None,
    in load order; lineage columns as pandas strings, as ``DataFrame.assign`` makes them."""
    import pandas as pd

    from parkops.warehouse import create_warehouse_engine

    engine = create_warehouse_engine(url, read_only=url_is_duckdb(url))
    try:
        with engine.connect() as connection:
            columns = [
                row[0]
                for row in connection.exec_driver_sql(
                    "select column_name from information_schema.columns where table_schema = 'staging' "
                    "and table_name = 'registrations' order by ordinal_position"
                )
            ]
            casts = ", ".join(
                column if column == "source_row_number" else f"cast({column} as varchar) as {column}"
                for column in columns
            )
            result = connection.exec_driver_sql(
                f"select {casts} from staging.registrations order by source_file, source_row_number"
            )
            frame = pd.DataFrame(result.fetchall(), columns=columns, dtype=object)
    finally:
        engine.dispose()
    frame["source_row_number"] = frame["source_row_number"].astype("int64")
    for name in ("source_file", "source_sha256", "delivery_date", "run_id"):
        if name in frame:
            frame[name] = frame[name].astype(pd.Series([""]).dtype)
    return frame


def baselines(source_url: str, engines: list[str], pg_admin: str, run_dir: Path, args) -> dict[str, Any]:
    frame = staging_registrations(source_url)
    log(f"baselines: {len(frame):,} registration rows of the in-process catch-up")
    result: dict[str, Any] = {"rows": len(frame), "source": "staging.registrations of the in-process catch-up"}
    to_sql_rows = min(args.to_sql_rows, len(frame))
    if "duckdb" in engines:
        path = run_dir / "baselines.duckdb"
        result["duckdb"] = regload.write_stage_duckdb(path, frame, to_sql_rows, args.to_sql_chunksize)
        path.unlink(missing_ok=True)
    if "postgresql" in engines:
        database = regload.PgDatabase(pg_admin)
        try:
            url = database.create()
            result["postgresql"] = regload.write_stage_postgres(url, frame, to_sql_rows, args.to_sql_chunksize)
        finally:
            database.drop()
    return result


# ---------------------------------------------------------------------------------------------
# main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--years", type=int, default=3, help="years of deliveries (ending 2025-03-31)")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_RANGE[0]}..{QUICK_RANGE[1]}")
    parser.add_argument("--engines", default="duckdb,postgresql", help="comma-separated: duckdb, postgresql")
    parser.add_argument("--skip-baselines", action="store_true", help="no raw COPY / raw insert / to_sql part")
    parser.add_argument("--skip-airflow", action="store_true", help="only the in-process catch-up and baselines")
    parser.add_argument(
        "--daily-samples", type=int, default=None, help="single-day runs per feed for the one-run-per-day baseline"
    )
    parser.add_argument("--to-sql-rows", type=int, default=100_000, help="slice timed with DataFrame.to_sql")
    parser.add_argument("--to-sql-chunksize", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20250101)
    parser.add_argument("--keep", action="store_true", help="keep the run folder's warehouses and Airflow homes")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("PARKOPS_BENCH_PG_URL", DEFAULT_PG_URL),
        help="maintenance database used to create/drop the bench databases",
    )
    parser.add_argument("--out-dir", type=Path, default=REPO / "data" / "bench")
    parser.add_argument("--report", type=Path, metavar="JSON", help="print the table of an earlier run's JSON, no run")
    args = parser.parse_args(argv)
    if args.report:
        report(json.loads(args.report.read_text(encoding="utf-8")), INGEST_DAGS)
        return 0
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    if unknown := set(engines) - {"duckdb", "postgresql"}:
        parser.error(f"unknown engine(s): {', '.join(sorted(unknown))}")
    samples = args.daily_samples or (1 if args.quick else 5)

    signal.signal(signal.SIGTERM, regload._raise_on_signal)
    signal.signal(signal.SIGHUP, regload._raise_on_signal)
    started_total = now()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    run_dir = (args.out_dir / f"run-{stamp}").resolve()
    run_dir.mkdir()
    data: dict[str, Any] = {
        "started_at": stamp,
        "args": {key: str(value) for key, value in vars(args).items() if key != "pg_url"},
        "engines": engines,
        "goals": GOALS,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "loadavg_at_start": os.getloadavg(),
        },
        "versions": regload.versions() | {"apache-airflow": _version("apache-airflow")},
        "git": regload.git_state(),
        "airflow": {},
        "inprocess": {},
        "partial": {},
        "errors": {},
    }
    json_path = args.out_dir / f"{stamp}.json"
    spec = landing_spec(args)
    span = "quick (2-month)" if args.quick else f"{args.years}-year"
    data["range"] = {"first": spec.first.isoformat(), "last": spec.last.isoformat(), "span": span}
    catchup_last = spec.last - dt.timedelta(days=1)
    databases: list[regload.PgDatabase] = []
    exit_code = 0
    try:
        data["landing"] = ensure_landing(spec)
        urls: dict[str, dict[str, str]] = {}
        if "duckdb" in engines:
            folder = run_dir / "duckdb"
            folder.mkdir()
            urls["duckdb"] = {
                part: f"duckdb:///{folder / f'{part}.duckdb'}" for part in ("daily", "catchup", "inprocess")
            }
        if "postgresql" in engines:
            try:
                urls["postgresql"] = {}
                for part in ("daily", "catchup", "inprocess"):
                    database = regload.PgDatabase(args.pg_url)
                    databases.append(database)
                    urls["postgresql"][part] = database.create().render_as_string(hide_password=False)
                    log(f"postgresql: created database {database.name} ({part})")
            except Exception as error:  # noqa: BLE001 - any failure to reach PG means "skip PG", loudly
                data["postgresql_skipped"] = f"{type(error).__name__}: {str(error).strip()}"
                banner(f"PostgreSQL SKIPPED ({data['postgresql_skipped']}); running the DuckDB part only")
                urls.pop("postgresql")
        for engine, engine_urls in urls.items():
            write_json(data, json_path, started_total)
            if not args.skip_airflow:
                # Figures of a part that fails or is stopped stay in "partial" (JSON only).
                partial = data["partial"][f"{engine} through Airflow"] = {}
                try:
                    data["airflow"][engine] = airflow_engine(engine, engine_urls, spec, run_dir, samples, partial)
                    del data["partial"][f"{engine} through Airflow"]
                except Exception as error:  # noqa: BLE001 - report the failed engine loudly, go on with the other
                    data["errors"][f"{engine} through Airflow"] = failure(error)
                    exit_code = 1
            log(f"{engine}: in-process catch-up {spec.first}..{catchup_last} (stages, profile) in a child process")
            try:
                data["inprocess"][engine] = spawn_inprocess(
                    engine_urls["inprocess"], spec, catchup_last, run_dir, engine
                )
            except Exception as error:  # noqa: BLE001
                data["errors"][f"{engine} in process"] = failure(error)
                exit_code = 1
            gc.collect()
        write_json(data, json_path, started_total)
        if not args.skip_baselines and data["inprocess"]:
            source = next(iter(data["inprocess"]))
            try:
                data["baselines"] = baselines(urls[source]["inprocess"], list(urls), args.pg_url, run_dir, args)
            except Exception as error:  # noqa: BLE001
                data["errors"]["baselines"] = failure(error)
                exit_code = 1
    except SystemExit as stop:
        # Stopped by a signal (SIGTERM, SIGHUP): keep what was measured, then stop.
        reason = f"signal {stop.code - 128}" if isinstance(stop.code, int) and stop.code > 128 else f"exit {stop.code}"
        data["errors"]["interrupted"] = f"stopped by {reason} before the end"
        write_json(data, json_path, started_total)
        banner(f"interrupted ({reason}); figures so far in {json_path}")
        raise
    finally:
        for child in list(_CHILDREN):
            end_tree(child)
        for database in databases:
            try:
                database.drop()
            except Exception as error:  # noqa: BLE001 - say so; the others are still dropped
                banner(f"could not drop PostgreSQL database {database.name}: {error}")
        if not args.keep:
            # The logs stay (each DAG run's run_dag output, the in-process children's): the rest is large.
            for path in run_dir.iterdir():
                if path.name != "logs" and path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)

    write_json(data, json_path, started_total)
    report(data, INGEST_DAGS)
    return exit_code


def end_tree(child: subprocess.Popen) -> None:
    """Kill a child and, when it leads its own session (``run_measured``), its descendants."""
    with contextlib.suppress(ProcessLookupError):
        if os.getpgid(child.pid) == child.pid:
            os.killpg(child.pid, signal.SIGKILL)
        else:
            child.kill()
    with contextlib.suppress(ChildProcessError):
        child.wait()


def write_json(data: dict[str, Any], json_path: Path, started_total: float) -> None:
    """The figures so far (written after each part too, so an interrupted run keeps them)."""
    data["total_seconds"] = now() - started_total
    data["machine"]["loadavg_at_end"] = os.getloadavg()
    data["json_path"] = str(json_path.relative_to(REPO) if json_path.resolve().is_relative_to(REPO) else json_path)
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def failure(error: BaseException) -> str:
    """The error and where it came from (the bench goes on with the other parts)."""
    return f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=-6)}"


def _version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def inprocess_main(argv: list[str]) -> int:
    return regload.child_main("catchup.py _inprocess", argv, run_inprocess)


if __name__ == "__main__":
    if sys.argv[1:2] == ["_inprocess"]:
        sys.exit(inprocess_main(sys.argv[2:]))
    sys.exit(main())
