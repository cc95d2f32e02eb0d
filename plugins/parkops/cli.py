"""``python -m parkops.cli``: read-only views of the warehouse for people.

- ``progress``: the KPI progress table (Chinese names, actual, target, 达成率, on track) for the
  latest as-of date (or ``--as-of``), with the 日均新增科技企业 windows and the main service,
  incubator and park-evaluation measures.
- ``files``: the file audit of a feed: status and accounting per file, rejected files' reasons.
- ``health``: pipeline health at a glance, per feed: the latest delivery landed and the latest
  loaded, the last successful load, rows loaded and quarantine share over the last ``--days``
  days, rejected files, and the open freshness incidents (``ops.feed_incidents``); ``--json``
  for scripts.
- ``gate list``: the batches the quality gate holds, with their top failing rules and sample
  rows; ``gate release`` / ``gate rerun --feed F --delivery D --by NAME --reason TEXT``: let a
  held batch through as it is, or read its files again after a fix, then rebuild the feed's
  marts (``--no-rebuild`` to leave that to ``build_marts``). With Airflow running, prefer the
  DAG ``release_held_batch`` (it takes the warehouse writer pool). README, "Runbook: a held batch".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import unicodedata

import sqlalchemy as sa

from parkops.feeds import FEED_NAMES
from parkops.ops.health import (  # shared with the UI plugin's health page
    format_number,
    health_headers,
    held_batches,
    minute_text,
    pipeline_health,
)
from parkops.report import formatting as fmt
from parkops.warehouse import create_warehouse_engine, fetch_frame

FEED_CHOICES = FEED_NAMES
WINDOW_NAMES = {"day": "当日", "rolling_30d": "近30日", "month_to_date": "本月", "year_to_date": "本年累计"}
#: ``ops.file_audit.status`` as the file list shows it.
FILE_STATUS_LABELS = {
    "loaded": "已加载",
    "rejected": "整个文件被拒",
    "duplicate": "重复未加载",
    "superseded": "已被取代",
}


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def pad(text: str, width: int, align: str = "<") -> str:
    gap = max(width - display_width(text), 0)
    return text + " " * gap if align == "<" else " " * gap + text


def format_table(headers: list[str], rows: list[list[str]], right_aligned: set[int]) -> str:
    widths = [max(display_width(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    lines = [
        # The last column padded too would end every line in spaces.
        "  ".join(pad(cell, widths[i], ">" if i in right_aligned else "<") for i, cell in enumerate(line)).rstrip()
        for line in [headers, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _known(value: object) -> object:
    """A frame's value, with a missing one (None, or NaN from a numeric column) as None."""
    return None if value is None or value != value else value


def kpi_progress_row(kpi: object) -> list[str]:
    """One KPI of ``mart.kpi_target_progress`` as the progress table shows it: name, actual, target,
    unit, 达成率, on track. Values go through :mod:`parkops.report.formatting`, the rules of the
    leadership reports, so the CLI and the report show the same figure for the same date."""
    on_track = {True: "是", False: "否"}.get(kpi.on_track, fmt.DASH)
    has_data = kpi.data_status != "no data"
    window_days = _known(kpi.window_days)
    return [
        kpi.kpi_name,
        fmt.kpi_number(_known(kpi.actual), kpi.unit) if has_data else "无数据",
        fmt.target_text(
            kpi.direction,
            _known(kpi.target),
            _known(kpi.target_upper),
            kpi.unit,
            window_days=None if window_days is None else int(window_days),
        ),
        kpi.unit or "",
        fmt.percent_from_ratio(_known(kpi.attainment)) if has_data else fmt.DASH,
        on_track,
    ]


def progress(as_of: str | None) -> str:
    engine = create_warehouse_engine(read_only=True)
    with engine.connect() as connection:
        latest = connection.execute(sa.text("select max(as_of_date) from mart.kpi_target_progress")).scalar_one()
        if latest is None:
            return "mart.kpi_target_progress is empty: run the pipeline first (make run FROM=... TO=...)."
        as_of_date = as_of or latest.isoformat()
        kpis = fetch_frame(
            connection,
            "select progress.*, targets.window_days from mart.kpi_target_progress as progress "
            "inner join core.dim_kpi_target as targets on targets.kpi_code = progress.kpi_code "
            "where progress.as_of_date = :as_of order by progress.category, progress.kpi_code",
            {"as_of": as_of_date},
        )
        windows = fetch_frame(
            connection,
            "select * from mart.new_tech_per_day_windows where as_of_date = :as_of",
            {"as_of": as_of_date},
        )
    rows = [kpi_progress_row(kpi) for kpi in kpis.itertuples()]
    text = [
        f"指标进度 (截至 {as_of_date})",
        format_table(["指标", "实际", "目标", "单位", "达成率", "按期达标"], rows, {1, 2, 4}),
    ]
    if not windows.empty:
        order = list(WINDOW_NAMES)
        window_rows = [
            [
                WINDOW_NAMES[row.window_code],
                f"{row.window_start} ~ {as_of_date}",
                fmt.count(row.new_tech_enterprises),
                str(row.calendar_days),
                fmt.decimal(_known(row.new_tech_per_day), 1),
                fmt.percent_from_ratio(_known(row.attainment)),
            ]
            for row in sorted(windows.itertuples(), key=lambda row: order.index(row.window_code))
        ]
        text += [
            "",
            "日均新增科技企业 (目标 200 家/日)",
            format_table(["窗口", "区间", "新增科技企业", "天数", "日均", "达成率"], window_rows, {2, 3, 4, 5}),
        ]
    with engine.connect() as connection:
        text += service_measures(connection)
    return "\n".join(text)


def _percent(value: object) -> str:
    return fmt.percent(_known(value))


def service_measures(connection: sa.Connection) -> list[str]:
    """The service, incubator and evaluation measures a reader checks after the targets."""
    text: list[str] = []
    weeks = fetch_frame(
        connection,
        "select * from mart.visits_per_staff_week where week_start = ("
        "select max(week_start) from mart.visits_per_staff_week) order by visitor_role",
    )
    if not weeks.empty:
        rows = [
            [
                row.visitor_role,
                str(row.visitors),
                str(row.visits),
                # The KPI's own rule: the 片长 row reads as the 人均周走访数 row of the table above.
                fmt.kpi_number(_known(row.visits_per_visitor), "次/人/周"),
                "—" if _known(row.target) is None else f"≥{fmt.decimal(row.target, 1, trim=True)}",
                "—"
                if row.visitors_meeting_target is None or row.visitors_meeting_target != row.visitors_meeting_target
                else f"{int(row.visitors_meeting_target)}/{row.visitors}",
            ]
            for row in weeks.itertuples()
        ]
        first = weeks.iloc[0]
        text += [
            "",
            f"人均周走访数 ({first.iso_year}年第{first.iso_week}周, {first.week_start} ~ {first.week_end})",
            format_table(["角色", "走访人员", "走访次数", "人均", "目标", "达标人数"], rows, {1, 2, 3, 4, 5}),
        ]
    coverage = fetch_frame(
        connection, "select * from mart.key_enterprise_coverage where park_code = 'all' order by quarter_start"
    )
    if not coverage.empty:
        rows = [
            [row.quarter_label, str(row.key_enterprises), str(row.visited_key_enterprises), _percent(row.coverage_pct)]
            for row in coverage.itertuples()
        ]
        text += [
            "",
            "重点企业走访覆盖率 (全区)",
            format_table(["季度", "重点企业", "已走访", "覆盖率"], rows, {1, 2, 3}),
        ]
    needs = fetch_frame(
        connection,
        "select * from mart.needs_resolution where park_code = 'all' and category = '全部' order by raised_month",
    )
    if not needs.empty:
        rows = [
            [
                row.raised_month.strftime("%Y年%m月"),
                str(row.needs_raised),
                str(row.needs_resolved),
                _percent(row.resolution_rate),
                fmt.decimal(_known(row.median_days_to_resolve), 1, trim=True),
            ]
            for row in needs.itertuples()
        ]
        text += [
            "",
            "诉求办结 (按提出月份, 全区)",
            format_table(["月份", "提出", "已办结", "办结率", "办结天数中位数"], rows, {1, 2, 3, 4}),
        ]
    episodes = fetch_frame(connection, "select * from mart.recurring_needs order by first_hot_day, category")
    if not episodes.empty:
        rows = [
            [row.category, f"{row.episode_start} ~ {row.last_hot_day}", str(row.enterprises), str(row.needs)]
            for row in episodes.itertuples()
        ]
        text += [
            "",
            "共性诉求全部时段 (7日内不少于5家企业提出同类诉求; 上表指标为近30日内出现的时段数)",
            format_table(["类别", "期间", "企业数", "诉求数"], rows, {2, 3}),
        ]
    agents = fetch_frame(
        connection,
        "select month, sum(services) as services, sum(enterprises) as enterprises "
        "from mart.agent_services where park_code <> 'all' group by month order by month",
    )
    if not agents.empty:
        rows = [
            [row.month.strftime("%Y年%m月"), str(row.services), str(row.enterprises)] for row in agents.itertuples()
        ]
        text += ["", "首席代办员代办次数", format_table(["月份", "代办次数", "服务企业(按园区累加)"], rows, {1, 2})]
    incubators = fetch_frame(
        connection, "select * from mart.high_quality_incubators where park_code = 'all' order by month"
    )
    if not incubators.empty:
        rows = [
            [row.month.strftime("%Y年%m月"), str(row.reporting_incubators), str(row.high_quality_incubators)]
            for row in incubators.itertuples()
        ]
        text += ["", "孵化器 (按报告期)", format_table(["报告期", "报送孵化器", "高质量孵化器"], rows, {1, 2})]
    evaluation = fetch_frame(
        connection,
        "select * from mart.park_evaluation where is_latest_of_year "
        "and year = (select max(year) from mart.park_evaluation) order by rank nulls last, park_code",
    )
    if not evaluation.empty:
        rows = [
            [
                "—" if row.rank is None or row.rank != row.rank else str(int(row.rank)),
                row.park_name,
                fmt.decimal(_known(row.score), 1),
                row.status or "—",
                "是" if row.too_many_leading_industries else "",
            ]
            for row in evaluation.itertuples()
        ]
        text += [
            "",
            f"园区考核评估 ({int(evaluation.iloc[0].year)}年, 截至{evaluation.iloc[0].as_of_date:%Y-%m-%d})",
            format_table(["排名", "园区", "综合得分", "结果", "主导产业超过3个"], rows, {0, 2}),
        ]
    return text


#: The file audit of a feed; a rejected version's rule is that of its quarantined rows (all of them
#: carry the rule that refused the file), none when no row of it could be kept.
_FILES_QUERY = """
select audit.delivery_date, audit.file_name, audit.status, audit.rows_received, audit.rows_loaded,
       audit.rows_quarantined, audit.reason, rejection.rule as rejected_by
from ops.file_audit as audit
left join (
    select source_file, source_sha256, min(rule) as rule
    from ops.quarantine
    where feed = :feed
    group by source_file, source_sha256
) as rejection
    on audit.status = 'rejected'
    and rejection.source_file = audit.source_file
    and rejection.source_sha256 = audit.source_sha256
where audit.feed = :feed
order by audit.delivery_date, audit.file_name, audit.processed_at
"""


def files(feed: str) -> str:
    from parkops.quality.rule_labels import rule_label

    engine = create_warehouse_engine(read_only=True)
    with engine.connect() as connection:
        audit = fetch_frame(connection, _FILES_QUERY, {"feed": feed})
    rows = [
        [
            str(row.delivery_date),
            row.file_name,
            FILE_STATUS_LABELS.get(row.status, row.status),
            str(row.rows_received),
            str(row.rows_loaded),
            str(row.rows_quarantined),
            rule_label(row.rejected_by) if row.rejected_by else "",
            row.reason or "",
        ]
        for row in audit.itertuples()
    ]
    headers = ["交付日期", "文件", "状态", "接收行数", "加载行数", "隔离行数", "拒收规则", "原因"]
    return format_table(headers, rows, {3, 4, 5})


def format_health(report: dict) -> str:
    rows = [
        [
            item["name"],
            item["latest_landed_delivery"] or "—",
            item["latest_loaded_delivery"] or "—",
            minute_text(item["last_successful_load_at"]),
            format_number(item["rows_loaded"]),
            "—" if item["quarantine_share"] is None else f"{item['quarantine_share'] * 100:.1f}%",
            str(item["rejected_files"]),
            str(item["held_batches"]),
            str(item["open_incidents"]),
        ]
        for item in report["feeds"]
    ]
    text = [
        f"数据管道健康状况（生成于 {minute_text(report['generated_at'])}；时间均为北京时间；"
        f"近{report['days']}日按文件的加载时间统计）"
    ]
    if report["warehouse"] == "missing":
        text.append(f"仓库尚未创建（{report['warehouse_url']}）：先运行数据管道（make run FROM=... TO=...）。")
    elif report["warehouse"] == "empty":
        text.append("仓库中还没有加载记录（ops.file_audit 为空）：先运行数据管道（make run FROM=... TO=...）。")
    text += ["", format_table(health_headers(report["days"]), rows, {4, 5, 6, 7, 8}), ""]
    text += [*format_held_batches(report["held_batches"]), ""]
    incidents = report["open_incidents"]
    if not incidents:
        text.append("未关闭的迟到事件：无")
        return "\n".join(text)
    text.append(f"未关闭的迟到事件（{len(incidents)} 个，ops.feed_incidents）")
    for incident in incidents:
        alerted = f"已告警 {minute_text(incident['alerted_at'])}" if incident["alerted_at"] else "告警尚未送达"
        text.append(
            f"- {incident['title']}（应于 {minute_text(incident['due_at'])}，"
            f"发现于 {minute_text(incident['opened_at'])}，{alerted}）"
        )
        text += [f"    {line}" for line in incident["detail"]]
    return "\n".join(text)


def format_held_batches(batches: list[dict]) -> list[str]:
    if not batches:
        return ["质量闸门扣留的批次：无"]
    text = [f"质量闸门扣留的批次（{len(batches)} 个，未进入 core / mart；放行或重跑：DAG release_held_batch）"]
    for batch in batches:
        share = "—" if batch["quarantine_share"] is None else f"{batch['quarantine_share'] * 100:.1f}%"
        text.append(
            f"- {batch['feed']} {batch['delivery_date']}："
            f"{batch['rows_quarantined']}/{batch['rows_received']} 行被隔离"
            f"（{share}，上限 {batch['max_quarantine_share'] * 100:.0f}%），"
            f"{batch['files']} 个文件，运行 {batch['run_id']}"
        )
    return text


def gate_list() -> str:
    from parkops.pipeline.gate import held_batch_details

    engine = create_warehouse_engine(read_only=True)
    with engine.connect() as connection:
        batches = held_batches(connection)
        text = format_held_batches(batches)
        for batch in batches:
            text += ["", f"{batch['feed']} {batch['delivery_date']}"]
            text += [f"  {line}" for line in held_batch_details(connection, batch["feed"], batch["delivery_date"])]
    return "\n".join(text)


def gate_action(action: str, feed_name: str, delivery: str, by: str, reason: str, *, rebuild: bool) -> int:
    """Release or rerun a held batch outside Airflow; 1 when a rerun is held again."""
    from parkops.pipeline import tasks

    run_id = f"cli__{action}__{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    summary = tasks.release_or_rerun(feed_name, delivery, action, by, reason, run_id)
    held = summary.get("held") or []
    if action == "rerun":
        print(f"{feed_name} {delivery}: {summary['files']} files read again, {summary['rows_loaded']} rows loaded")
    if held:
        print(f"{feed_name} {delivery} is held again:")
        for batch in held:
            print("\n".join(f"  {line}" for line in batch.get("alert_lines") or []))
        return 1
    print(f"{feed_name} {delivery}: {'released' if action == 'release' else 'published'}")
    if rebuild:
        families = tasks.FAMILIES_READING_FEED[feed_name]
        tasks.rebuild(list(families))
        print(f"rebuilt the marts of {', '.join(families)}")
    else:
        print("marts not rebuilt (--no-rebuild): run build_marts")
    return 0


def health(days: int = 30, *, as_json: bool = False, now: dt.datetime | None = None) -> str:
    report = pipeline_health(days, now=now)
    return json.dumps(report, ensure_ascii=False, indent=2) if as_json else format_health(report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m parkops.cli", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    progress_parser = commands.add_parser("progress", help="KPI progress table")
    progress_parser.add_argument("--as-of", help="as-of date (YYYY-MM-DD); default: the latest")
    files_parser = commands.add_parser("files", help="file audit of a feed")
    files_parser.add_argument("--feed", default=FEED_NAMES[0])
    health_parser = commands.add_parser("health", help="pipeline health per feed, open freshness incidents")
    health_parser.add_argument("--days", type=int, default=30, help="window of the load statistics (default 30)")
    health_parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    gate_parser = commands.add_parser("gate", help="quality gate: held batches; release or rerun one")
    gate_commands = gate_parser.add_subparsers(dest="gate_command", required=True)
    gate_commands.add_parser("list", help="batches held now, with their failing rules and sample rows")
    for action, help_text in (
        ("release", "let a held batch through as it is (its valid rows publish)"),
        ("rerun", "read every file of a held batch again (after a fix) and decide anew"),
    ):
        action_parser = gate_commands.add_parser(action, help=help_text)
        action_parser.add_argument("--feed", required=True, choices=FEED_CHOICES)
        action_parser.add_argument("--delivery", required=True, help="delivery date YYYY-MM-DD of the held batch")
        action_parser.add_argument("--by", required=True, help="who asks (kept in ops.quality_gate_log)")
        action_parser.add_argument("--reason", required=True, help="why (kept in ops.quality_gate_log)")
        action_parser.add_argument("--no-rebuild", action="store_true", help="leave the mart rebuild to build_marts")
    args = parser.parse_args(argv)
    if args.command == "progress":
        print(progress(args.as_of))
    elif args.command == "files":
        print(files(args.feed))
    elif args.command == "health":
        if args.days < 1:
            parser.error("--days must be at least 1")
        print(health(args.days, as_json=args.json))
    elif args.command == "gate":
        if args.gate_command == "list":
            print(gate_list())
            return 0
        return gate_action(
            args.gate_command, args.feed, args.delivery, args.by, args.reason, rebuild=not args.no_rebuild
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
