"""The bench's printed report: ``report(data, ingest_dags)`` renders a run's figures (``bench/catchup.py``,
also ``--report JSON`` for an earlier run's) as one table per part, then the goals.

``ingest_dags`` (ingest DAG -> feed) gives the order of the rows, as the runs were made.
"""

from __future__ import annotations

from typing import Any

from registration_load import banner, fmt_rate, fmt_s, print_table

#: What a run is judged against (2 cores); catchup.py keeps them in the run's JSON too.
GOALS = {
    "catchup_duckdb_s": 600,
    "catchup_postgresql_s": 900,
    "load_vs_raw_copy": 0.7,
    "peak_memory_mib": 2048,
    "daily_increment_s": 60,
}

#: Stage labels of the in-process split (wrapped functions of the library): catchup.run_inprocess records
#: each stage's time under its label, table 4 shows them in this order.
READ = "read"
PREPARE = "prepare (read + normalise, feed.prepare)"
VALIDATE = "validate (GX validate_frame)"
CROSS = "cross-file check (feed.cross_check)"
WRITE = "load (write_group: one transaction per file on PostgreSQL, per delivery group on DuckDB)"
BULK = "load: bulk_insert"
GATE = "gate (decide)"


def goal(value: float | None, limit: float, *, at_least: bool = False) -> str:
    if value is None:
        return "-"
    return "met" if (value >= limit if at_least else value <= limit) else "NOT met"


def goal_ratio(label: str, ratio: float) -> tuple[str, str]:
    """A table row of a write-stage ratio against the load goal."""
    target = GOALS["load_vs_raw_copy"]
    return (f"{label} (goal >= {target})", f"{ratio:.2f}: " + goal(ratio, target, at_least=True))


def outside_tasks(runs: list[dict]) -> float:
    """Wall seconds of DAG runs not spent in their tasks: Airflow's own share."""
    return sum(run["seconds"] - (run.get("task_seconds") or 0.0) for run in runs)


def report(data: dict[str, Any], ingest_dags: dict[str, str]) -> None:
    engines = [name for name in data["engines"] if name in data["airflow"] or name in data["inprocess"]]
    print_header(data)
    airflow = data["airflow"]
    if airflow:
        print_airflow_catchup(airflow)
        print_daily_increment(airflow, ingest_dags)
        print_one_run_per_day(airflow, ingest_dags)
    inprocess = data["inprocess"]
    if inprocess:
        print_inprocess_stages(inprocess, ingest_dags)
    base = data.get("baselines") or {}
    if base:
        print_write_stage(base, inprocess)
    if inprocess:
        print_profile(inprocess)
    print_goals(engines, airflow, inprocess, base, data["range"])
    print_errors_and_total(data)


def print_header(data: dict[str, Any]) -> None:
    """The run's date and machine load, the landing files."""
    print("\n" + "=" * 110)
    print(f"parkops pipeline benchmark  {data['started_at']}  ({data['machine']['cpus']} CPUs)")
    print("=" * 110)
    load = data["machine"]["loadavg_at_start"][0]
    print(f"load average (1 min) at start {load:.2f}, at end {data['machine']['loadavg_at_end'][0]:.2f}")
    if load > 1.0:
        print("  WARNING: the machine was busy when the bench started; other processes compete for the 2 cores")
    landing = data["landing"]
    print(
        f"\nlanding {data['range']['first']}..{data['range']['last']} ({landing['argv']}): "
        + ("cached" if landing["cached"] else f"generated in {landing['generation_seconds']:.0f} s (not counted)")
    )
    for line in landing.get("volumes", "").splitlines()[1:]:
        print(f"  {line.strip()}")


def print_airflow_catchup(airflow: dict[str, Any]) -> None:
    """1. The catch-up through Airflow: one row per DAG run, the total, the gate's held batches."""
    rows = []
    names = [run["dag_id"] for run in next(iter(airflow.values()))["catchup"]["runs"]]
    for index, dag_id in enumerate(names):
        cells = []
        for engine in airflow:
            run = airflow[engine]["catchup"]["runs"][index]
            tasks = run.get("task_seconds") or 0.0
            cells.append(
                f"{run['seconds']:,.1f} s {run['status']}, tasks {tasks:,.1f} s, "
                f"RSS {run['peak_tree_rss_mib']:,.0f}/{run['peak_process_rss_mib']:,.0f} MiB"
            )
        rows.append((dag_id, *cells))
    rows.append(
        (
            "TOTAL catch-up (goal DuckDB <= 600 s, PG <= 900 s)",
            *[
                f"{side['catchup']['seconds']:,.1f} s = {side['catchup']['seconds'] / 60:.1f} min: "
                + goal(side["catchup"]["seconds"], GOALS[f"catchup_{engine}_s"])
                for engine, side in airflow.items()
            ],
        )
    )
    rows.append(
        (
            "  of which outside the tasks (process start, DAG parse, task start-up)",
            *[f"{outside_tasks(side['catchup']['runs']):,.1f} s" for side in airflow.values()],
        )
    )
    rows.append(
        (
            "batches held by the gate (of all), per feed",
            *[
                "; ".join(
                    f"{feed} {status.get('held', 0)}/{sum(status.values())}"
                    for feed, status in side["catchup"]["gate"].items()
                )
                for side in airflow.values()
            ],
        )
    )
    first = next(iter(airflow.values()))["catchup"]
    print_table(
        f"1. Airflow catch-up {first['first']}..{first['last']}: one run_dag per DAG "
        "(wall incl. Airflow; task durations from the metadata DB; RSS peak: process tree sum / largest process)",
        ("DAG run", *airflow),
        rows,
    )


def print_daily_increment(airflow: dict[str, Any], ingest_dags: dict[str, str]) -> None:
    """2. The next day's runs on the caught-up warehouse, against the increment goal."""
    first = next(iter(airflow.values()))["catchup"]
    rows = []
    increment_runs = next(iter(airflow.values()))["increment"]["runs"]
    for index, run in enumerate(increment_runs):
        label = f"  then {run['dag_id']}" if run.get("after") else run["dag_id"]
        rows.append(
            (
                label,
                *[
                    f"{side['increment']['runs'][index]['seconds']:,.1f} s {side['increment']['runs'][index]['status']}"
                    for side in airflow.values()
                ],
            )
        )
    for dag_id in ingest_dags:
        rows.append(
            (
                f"{dag_id} + its build_marts (goal <= 60 s)",
                *[
                    f"{side['increment']['per_feed_seconds'][dag_id]:,.1f} s: "
                    + goal(side["increment"]["per_feed_seconds"][dag_id], GOALS["daily_increment_s"])
                    for side in airflow.values()
                ],
            )
        )
    rows.append(
        (
            "the day's runs together (scheduled 10:00-11:00, not back to back)",
            *[f"{side['increment']['all_seconds']:,.1f} s" for side in airflow.values()],
        )
    )
    rows.append(
        (
            "  of which outside the tasks (process start, DAG parse, task start-up)",
            *[f"{outside_tasks(side['increment']['runs']):,.1f} s" for side in airflow.values()],
        )
    )
    print_table(
        f"2. Daily increment after the catch-up (delivery day {first['last']} + 1), wall incl. Airflow",
        ("DAG run", *airflow),
        rows,
    )


def print_one_run_per_day(airflow: dict[str, Any], ingest_dags: dict[str, str]) -> None:
    """3. The sampled single-day runs extrapolated to a daily schedule, against the catch-up."""
    rows = []
    for feed in ingest_dags.values():
        rows.append(
            (
                feed,
                *[
                    f"{e['mean_run_seconds']:,.1f} s x {e['scheduled_runs']:,} = "
                    f"{e['extrapolated_seconds'] / 60:,.0f} min vs {e['catchup_seconds']:,.0f} s "
                    f"({e['ratio']:,.0f}x)"
                    for e in (side["per_day_extrapolation"]["feeds"][feed] for side in airflow.values())
                ],
            )
        )
    rows.append(
        (
            "build_marts after every day (mean of small/full warehouse)",
            *[
                f"({m['sample_warehouse']:,.1f} + {m['caught_up_warehouse']:,.1f}) / 2 s x {m['days']:,}"
                for m in (side["per_day_extrapolation"]["marts_per_day_seconds"] for side in airflow.values())
            ],
        )
    )
    rows.append(
        (
            "one-run-per-day / catch-up: ingest only; with marts",
            *[
                f"{x['ratio_ingest']:,.0f}x; {x['ratio_with_marts']:,.0f}x "
                f"({x['with_marts_seconds'] / 3600:,.1f} h vs {x['catchup_seconds'] / 60:,.1f} min)"
                for x in (side["per_day_extrapolation"] for side in airflow.values())
            ],
        )
    )
    print_table(
        "3. One run per day (sampled single-day runs, extrapolated) against the catch-up",
        ("feed", *airflow),
        rows,
    )


def print_inprocess_stages(inprocess: dict[str, Any], ingest_dags: dict[str, str]) -> None:
    """4. The in-process catch-up split by stage, per feed, then the transform and the peak memory."""
    rows = []
    for feed in ingest_dags.values():
        rows.append((f"{feed}", *["" for _ in inprocess]))
        for label, rows_key in (
            (READ, "rows_received"),
            (PREPARE, "rows_received"),
            (VALIDATE, "rows_received"),
            (CROSS, "rows_received"),
            (WRITE, "rows_loaded"),
            (GATE, None),
        ):
            cells = []
            for side in inprocess.values():
                f = side["feeds"][feed]
                seconds = f["stages"].get(label)
                count = f["outcomes"].get(rows_key) if rows_key else None
                text = fmt_s(seconds)
                if seconds and count:
                    text += f" s ({fmt_rate(count / seconds)} rows/s)"
                cells.append(text)
            if any(cell != "-" for cell in cells):
                rows.append((f"  {label}", *cells))
        rows.append(
            (
                "  load_all total (rows received/loaded/quarantined)",
                *[
                    f"{side['feeds'][feed]['load_all_seconds']:,.1f} s ({fmt_rate(received / seconds)} rows/s; "
                    f"{received:,}/{side['feeds'][feed]['outcomes']['rows_loaded']:,}/"
                    f"{side['feeds'][feed]['outcomes']['rows_quarantined']:,})"
                    for side in inprocess.values()
                    for received, seconds in [
                        (
                            side["feeds"][feed]["outcomes"]["rows_received"],
                            side["feeds"][feed]["load_all_seconds"],
                        )
                    ]
                ],
            )
        )
    rows.append(
        (
            "transform: build_all (staging rows/s)",
            *[
                f"{side['transform']['seconds']:,.1f} s "
                f"({fmt_rate(side['transform']['staging_rows'] / side['transform']['seconds'])} rows/s)"
                for side in inprocess.values()
            ],
        )
    )
    rows.append(
        (
            "  slowest tables",
            *[
                ", ".join(
                    f"{name} {seconds:.1f}"
                    for name, seconds in sorted(
                        side["transform"].get("table_seconds", {}).items(), key=lambda kv: -kv[1]
                    )[:3]
                )
                for side in inprocess.values()
            ],
        )
    )
    rows.append(
        (
            "in-process total (load_all x4 + build_all)",
            *[
                f"{total:,.1f} s"
                for side in inprocess.values()
                for total in [sum(f["load_all_seconds"] for f in side["feeds"].values()) + side["transform"]["seconds"]]
            ],
        )
    )
    rows.append(
        (
            "peak RSS VmHWM (goal < 2048 MiB)",
            *[
                f"{side['peak_rss_mib']:,.0f} MiB: {goal(side['peak_rss_mib'], GOALS['peak_memory_mib'])}"
                for side in inprocess.values()
            ],
        )
    )
    print_table(
        "4. Stages of the same catch-up in process (one child per engine), seconds and rows/s",
        ("stage", *inprocess),
        rows,
    )


def print_write_stage(base: dict[str, Any], inprocess: dict[str, Any]) -> None:
    """5. The write stage next to raw COPY / raw insert / to_sql, and their ratios."""
    duck, pg = base.get("duckdb") or {}, base.get("postgresql") or {}
    rows = []
    n = base["rows"]
    for label, side, key in (
        ("DuckDB ours: bulk_insert -> staging.registrations", duck, "ours"),
        ("DuckDB raw: insert into t select * from df", duck, "raw_insert"),
        ("DuckDB pandas to_sql (slice)", duck, "to_sql"),
        ("PG ours: bulk_insert (COPY) -> staging.registrations", pg, "ours"),
        ("PG raw COPY of a prebuilt CSV buffer", pg, "raw_copy_prebuilt"),
        ("PG raw COPY incl. CSV encoding", pg, "raw_copy_with_encoding"),
        ("PG pandas to_sql (slice)", pg, "to_sql"),
    ):
        if side.get(key):
            rows.append((label, fmt_s(side[key]["seconds"]), fmt_rate(side[key]["rows_per_s"])))
    print_table(f"5. Write stage on the catch-up's {n:,} registration rows", ("path", "s", "rows/s"), rows)
    ratios = []
    if pg:
        ours = pg["ours"]["rows_per_s"]
        ratios.append(goal_ratio("PG ours / raw COPY prebuilt", ours / pg["raw_copy_prebuilt"]["rows_per_s"]))
        ratios.append(("PG ours / raw COPY incl. encoding", f"{ours / pg['raw_copy_with_encoding']['rows_per_s']:.2f}"))
        ratios.append(("PG ours / to_sql", f"{ours / pg['to_sql']['rows_per_s']:.1f}"))
    if duck:
        ours = duck["ours"]["rows_per_s"]
        ratios.append(goal_ratio("DuckDB ours / raw insert", ours / duck["raw_insert"]["rows_per_s"]))
        ratios.append(("DuckDB ours / to_sql", f"{ours / duck['to_sql']['rows_per_s']:.1f}"))
    for engine, side in inprocess.items():
        staging = side["feeds"]["registrations"]["stages"].get(f"{BULK} staging.registrations")
        raw = (pg.get("raw_copy_prebuilt") if engine == "postgresql" else duck.get("raw_insert")) or {}
        loaded = side["feeds"]["registrations"]["outcomes"]["rows_loaded"]
        if staging and raw:
            ratios.append(
                (
                    f"{engine} in-pipeline bulk_insert staging.registrations (per file) / raw",
                    f"{loaded / staging / raw['rows_per_s']:.2f}",
                )
            )
    print_table("   ratios (rows/s over rows/s)", ("ratio", "value"), ratios)


def print_profile(inprocess: dict[str, Any]) -> None:
    """6. The sampling profile of the in-process catch-up, per engine and feed."""
    print(
        "\n6. Profile of the in-process catch-up (sampled wall time; 'for' = innermost parkops function on the"
        " stack, i.e. what the time in libraries was spent for; 'self' = in the function itself)"
    )
    for engine, side in inprocess.items():
        for label, profile in side["profile"].items():
            if profile["sampled_seconds"] < 1:
                continue
            packages = ", ".join(
                f"{name} {100 * seconds / profile['sampled_seconds']:.0f}%" for name, seconds in profile["packages"][:6]
            )
            print(f"  {engine} / {label}: {profile['sampled_seconds']:,.1f} s sampled; by package: {packages}")
            for name, seconds in profile.get("parkops", [])[:6]:
                print(f"      for  {seconds:8.1f} s  {name}")
            for name, seconds in profile["self"][:5]:
                print(f"      self {seconds:8.1f} s  {name}")


def print_goals(
    engines: list[str],
    airflow: dict[str, Any],
    inprocess: dict[str, Any],
    base: dict[str, Any],
    run_range: dict[str, str],
) -> None:
    """The goals table: every goal, its target, the figure measured."""
    rows = []
    for engine, side in airflow.items():
        rows.append(
            (
                f"{run_range.get('span', '')} catch-up through Airflow, {engine}",
                f"<= {GOALS[f'catchup_{engine}_s'] / 60:.0f} min",
                f"{side['catchup']['seconds'] / 60:.1f} min",
                goal(side["catchup"]["seconds"], GOALS[f"catchup_{engine}_s"]),
            )
        )
    if base.get("postgresql"):
        pg = base["postgresql"]
        ratio = pg["ours"]["rows_per_s"] / pg["raw_copy_prebuilt"]["rows_per_s"]
        rows.append(("load / raw COPY (PG write stage)", ">= 0.7", f"{ratio:.2f}", goal(ratio, 0.7, at_least=True)))
    if base.get("duckdb"):
        duck = base["duckdb"]
        ratio = duck["ours"]["rows_per_s"] / duck["raw_insert"]["rows_per_s"]
        rows.append(
            ("load / raw insert (DuckDB write stage)", ">= 0.7", f"{ratio:.2f}", goal(ratio, 0.7, at_least=True))
        )
    for engine in engines:
        peaks = []
        if engine in airflow:
            peaks.append(airflow[engine]["catchup"]["peak_tree_rss_mib"])
        if engine in inprocess:
            peaks.append(inprocess[engine]["peak_rss_mib"])
        rows.append(
            (
                f"peak memory, {engine} (Airflow tree sum; in-process)",
                "< 2048 MiB",
                " ; ".join(f"{peak:,.0f} MiB" for peak in peaks),
                goal(max(peaks), GOALS["peak_memory_mib"]),
            )
        )
    for engine, side in airflow.items():
        per_feed = side["increment"]["per_feed_seconds"]
        slowest = max(per_feed, key=per_feed.get)
        rows.append(
            (
                f"daily increment, {engine}: slowest feed run + its rebuild ({slowest})",
                "<= 60 s",
                f"{per_feed[slowest]:.1f} s",
                goal(per_feed[slowest], GOALS["daily_increment_s"]),
            )
        )
    print_table("Goals (2 cores)", ("goal", "target", "measured", ""), rows)


def print_errors_and_total(data: dict[str, Any]) -> None:
    """The parts that failed, the total wall time, and PostgreSQL skipped (loudly)."""
    for name, error in data["errors"].items():
        banner(f"{name} FAILED: {error}")
    print(f"\ntotal wall time {data['total_seconds'] / 60:.1f} min; JSON: {data.get('json_path')}")
    if data.get("postgresql_skipped"):
        banner(f"PostgreSQL was SKIPPED ({data['postgresql_skipped']}): the figures above are DuckDB only")
