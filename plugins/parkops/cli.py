"""``python -m parkops.cli``: read-only views of the warehouse for people.

- ``progress``: the KPI progress table (Chinese names, actual, target, 达成率, on track) for the
  latest as-of date (or ``--as-of``), with the 日均新增科技企业 windows and the main service,
  incubator and park-evaluation measures.
- ``files``: the file audit of a feed: status and accounting per file, rejected files' reasons.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from decimal import Decimal

import sqlalchemy as sa

from parkops.warehouse import create_warehouse_engine, fetch_frame

WINDOW_NAMES = {"day": "当日", "rolling_30d": "近30日", "month_to_date": "本月", "year_to_date": "本年累计"}


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def pad(text: str, width: int, align: str = "<") -> str:
    gap = max(width - display_width(text), 0)
    return text + " " * gap if align == "<" else " " * gap + text


def format_table(headers: list[str], rows: list[list[str]], right_aligned: set[int]) -> str:
    widths = [max(display_width(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    lines = [
        "  ".join(pad(cell, widths[i], ">" if i in right_aligned else "<") for i, cell in enumerate(line))
        for line in [headers, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def format_number(value: object, unit: str | None = None) -> str:
    if value is None:
        return "—"
    number = Decimal(str(value))
    if unit == "%":
        return f"{number:,.1f}%"
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{number:,.1f}"


def progress(as_of: str | None) -> str:
    engine = create_warehouse_engine(read_only=True)
    with engine.connect() as connection:
        latest = connection.execute(sa.text("select max(as_of_date) from mart.kpi_target_progress")).scalar_one()
        if latest is None:
            return "mart.kpi_target_progress is empty: run the pipeline first (make run FROM=... TO=...)."
        as_of_date = as_of or latest.isoformat()
        kpis = fetch_frame(
            connection,
            "select * from mart.kpi_target_progress where as_of_date = :as_of order by category, kpi_code",
            {"as_of": as_of_date},
        )
        windows = fetch_frame(
            connection,
            "select * from mart.new_tech_per_day_windows where as_of_date = :as_of",
            {"as_of": as_of_date},
        )
    rows = []
    for kpi in kpis.itertuples():
        target = format_number(kpi.target, kpi.unit)
        if kpi.direction == "between":
            target = f"{format_number(kpi.target)}–{format_number(kpi.target_upper)}"
        elif kpi.direction == "more_than":
            target = f">{target}"
        elif kpi.direction == "at_least":
            target = f"≥{target}"
        on_track = {True: "是", False: "否"}.get(kpi.on_track, "—")
        rows.append(
            [
                kpi.kpi_name,
                "无数据" if kpi.data_status == "no data" else format_number(kpi.actual, kpi.unit),
                target,
                kpi.unit or "",
                "—" if kpi.attainment is None else f"{Decimal(str(kpi.attainment)) * 100:.1f}%",
                on_track,
            ]
        )
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
                f"{row.new_tech_enterprises:,}",
                str(row.calendar_days),
                format_number(row.new_tech_per_day),
                "—" if row.attainment is None else f"{Decimal(str(row.attainment)) * 100:.1f}%",
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
    return "—" if value is None else f"{Decimal(str(value)):.1f}%"


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
                format_number(row.visits_per_visitor),
                "—" if row.target is None or row.target != row.target else f"≥{format_number(row.target)}",
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
                format_number(row.median_days_to_resolve),
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
            "共性诉求 (7日内不少于5家企业提出同类诉求)",
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
        "select * from mart.park_evaluation where year = (select max(year) from mart.park_evaluation) "
        "order by rank nulls last, park_code",
    )
    if not evaluation.empty:
        rows = [
            [
                "—" if row.rank is None or row.rank != row.rank else str(int(row.rank)),
                row.park_name,
                format_number(row.score),
                row.status or "—",
                "是" if row.too_many_leading_industries else "",
            ]
            for row in evaluation.itertuples()
        ]
        text += [
            "",
            f"园区考核评估 ({int(evaluation.iloc[0].year)}年, 截至目前数据)",
            format_table(["排名", "园区", "综合得分", "结果", "主导产业超过3个"], rows, {0, 2}),
        ]
    return text


def files(feed: str) -> str:
    engine = create_warehouse_engine(read_only=True)
    with engine.connect() as connection:
        audit = fetch_frame(
            connection,
            "select delivery_date, file_name, status, rows_received, rows_loaded, rows_quarantined, reason "
            "from ops.file_audit where feed = :feed order by delivery_date, file_name, processed_at",
            {"feed": feed},
        )
    rows = [
        [
            str(row.delivery_date),
            row.file_name,
            row.status,
            str(row.rows_received),
            str(row.rows_loaded),
            str(row.rows_quarantined),
            row.reason or "",
        ]
        for row in audit.itertuples()
    ]
    return format_table(["delivery", "file", "status", "received", "loaded", "quarantined", "reason"], rows, {3, 4, 5})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m parkops.cli", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    progress_parser = commands.add_parser("progress", help="KPI progress table")
    progress_parser.add_argument("--as-of", help="as-of date (YYYY-MM-DD); default: the latest")
    files_parser = commands.add_parser("files", help="file audit of a feed")
    files_parser.add_argument("--feed", default="registrations")
    args = parser.parse_args(argv)
    if args.command == "progress":
        print(progress(args.as_of))
    elif args.command == "files":
        print(files(args.feed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
