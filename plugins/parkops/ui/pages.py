"""The pages: view models for the templates in ``ui/templates`` (formatted numbers, labels, links),
rendered with every value escaped.

The markup is in ``ui/templates`` (Jinja: ``base.html.j2`` holds the stylesheet and navigation,
``macros.html.j2`` the tables, filter form and cells the pages share, one template per page).
"""

from __future__ import annotations

import html
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import Request
from markupsafe import Markup

from parkops.ui.auth import PERSONAL_DATA_REFUSED
from parkops.ui.queries import MAX_ROWS, RUN_PIPELINE_HINT, WAREHOUSE_BUSY_MESSAGE, QuarantineFilters

HEALTH_REFRESH_SECONDS = 60
BUSY_REFRESH_SECONDS = 15


@dataclass(frozen=True)
class Links:
    """Absolute paths to this app's pages and to the Airflow UI, wherever the api-server is served."""

    app_root: str
    airflow_root: str

    @classmethod
    def of(cls, request: Request) -> Links:
        # A mounted app's root_path is the api-server's own (its [api] base_url path) plus the mount prefix.
        app_root = str(request.scope.get("root_path", "")).rstrip("/")
        return cls(app_root, app_root.removesuffix(request.app.state.url_prefix))

    def page(self, path: str, query: dict[str, object] | None = None) -> str:
        given = {key: value for key, value in (query or {}).items() if value not in (None, "")}
        return f"{self.app_root}/{path}" + (f"?{urlencode(given)}" if given else "")

    def dag(self, dag_id: str) -> str:
        return f"{self.airflow_root}/dags/{dag_id}"


# Every ``{{ value }}`` is escaped by html.escape, as the pages were before templates (``&quot;``,
# ``&#x27;``: scripts and tests look for those); autoescape stays on for anything finalize lets by.
def _escaped(value: object) -> Markup:
    """A template value as HTML text: markup of the templates' own macros as is, anything else escaped."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value)))


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("parkops.ui", "templates"),
        autoescape=True,  # the pages show warehouse text: file names, cell values of quarantined rows
        finalize=_escaped,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


NAV_PAGES = (("health", "管道健康"), ("quarantine", "隔离数据"), ("data-docs/", "数据文档"))


def render_page(
    template: str, links: Links, title: str, *, current: str, refresh_seconds: int | None = None, **view: Any
) -> str:
    """``template`` (extending base.html.j2: the stylesheet, the navigation) with ``view``."""
    nav = [{"href": links.page(path), "label": label, "current": path == current} for path, label in NAV_PAGES]
    return _environment().get_template(template).render(title=title, nav=nav, refresh_seconds=refresh_seconds, **view)


def feed_short_name(feed: str) -> str:
    from parkops.feeds import feed_label_cn

    return feed_label_cn(feed)


def _rule(rule: str) -> dict[str, str]:
    """A rule as people read it (macro ``rule``): its Chinese label, and the id SQL and the URL filter use."""
    from parkops.quality.rule_labels import rule_label

    return {"id": rule, "label": rule_label(rule)}


def column_labels() -> dict[str, dict[str, str]]:
    """Feed -> column -> its Chinese header, from the suites of the feed's tables (their ``column_labels``)."""
    from parkops.feeds import FEED_NAMES, feed
    from parkops.quality.validation import suite_column_labels

    return {
        name: {column: label for table in feed(name).tables for column, label in suite_column_labels(table).items()}
        for name in FEED_NAMES
    }


def _column(labels: dict[str, dict[str, str]], feed: str, column: str | None) -> dict[str, str | None]:
    """A column (macro ``column``): its id and its Chinese header, None when the suites do not name it (e.g. needs)."""
    return {"id": column, "label": labels.get(feed, {}).get(column or "")}


def _headers(labels: list[str], numeric: Collection[int] = (), break_after: str | None = None) -> list[dict]:
    """Headers of macro ``table``: those at the indexes ``numeric`` right-aligned, breaking after ``break_after``."""
    return [
        {"label": label, "numeric": index in numeric, "break_after": break_after} for index, label in enumerate(labels)
    ]


def _feed_status(feed: dict) -> tuple[str, str]:
    """(css class, label) summarising a feed's row of the health table."""
    if feed["open_incidents"]:
        return "bad", "有未关闭事件"
    if feed["held_batches"]:
        return "bad", "有扣留批次"
    if feed["latest_loaded_delivery"] is None:
        return "none", "尚未加载"
    landed = feed["latest_landed_delivery"]
    # Delivery names of one feed share a format (YYYY-MM-DD or YYYY-MM): they sort as text.
    if landed is not None and landed > feed["latest_loaded_delivery"]:
        return "warn", "有交付待加载"
    if feed["rejected_files"]:
        return "warn", "有拒收文件"
    return "ok", "正常"


def _share(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


def render_health(report: dict, links: Links) -> str:
    from parkops.ops.freshness.rules import INGEST_DAG_IDS
    from parkops.ops.health import format_number, health_headers, minute_text

    # Headers break after the window (近30日 / 加载行数) and nowhere else: th keeps CJK words whole.
    headers = _headers(
        ["状态", *health_headers(report["days"]), "链接"], numeric={5, 6, 7, 8, 9}, break_after=f"近{report['days']}日"
    )
    feeds = []
    for feed in report["feeds"]:
        status_class, status_label = _feed_status(feed)
        dag_id = INGEST_DAG_IDS.get(feed["feed"])
        feeds.append(
            {
                "feed": feed["feed"],
                "status_class": status_class,
                "status_label": status_label,
                "name": feed["name"],
                "latest_landed_delivery": feed["latest_landed_delivery"] or "—",
                "latest_loaded_delivery": feed["latest_loaded_delivery"] or "—",
                "last_successful_load_at": minute_text(feed["last_successful_load_at"]),
                "rows_loaded": format_number(feed["rows_loaded"]),
                "quarantine_share": _share(feed["quarantine_share"]),
                "quarantine_share_title": f"{feed['rows_quarantined']:,} / {feed['rows_received']:,} 行",
                "rejected_files": feed["rejected_files"],
                "held_batches": feed["held_batches"],
                "open_incidents": feed["open_incidents"],
                "dag_id": dag_id,
                "dag_href": links.dag(dag_id) if dag_id else None,
                "quarantine_href": links.page("quarantine", {"feed": feed["feed"]}),
            }
        )
    notice = None
    if report["warehouse"] == "missing":
        notice = f"仓库尚未创建（{report['warehouse_url']}）：{RUN_PIPELINE_HINT}。"
    elif report["warehouse"] == "empty":
        notice = f"仓库中还没有加载记录（ops.file_audit 为空）：{RUN_PIPELINE_HINT}。"
    held = []
    for batch in report["held_batches"]:
        batch_filter = {"feed": batch["feed"], "day": batch["delivery_date"]}
        held.append(
            {
                "feed": batch["feed"],
                "feed_name": feed_short_name(batch["feed"]),
                "delivery_date": batch["delivery_date"],
                "rows_quarantined": f"{batch['rows_quarantined']:,}",
                "rows_received": f"{batch['rows_received']:,}",
                "quarantine_share": _share(batch["quarantine_share"]),
                "max_quarantine_share": f"{batch['max_quarantine_share'] * 100:.0f}%",
                "files": batch["files"],
                "top_rules": [
                    {
                        **_rule(rule["rule"]),
                        "href": links.page("quarantine", {**batch_filter, "rule": rule["rule"]}),
                        "rows": f"{rule['rows']:,}",
                    }
                    for rule in batch["top_rules"]
                ],
                "quarantine_href": links.page("quarantine", batch_filter),
            }
        )
    incidents = []
    for incident in report["open_incidents"]:
        dag_id = INGEST_DAG_IDS.get(incident["feed"], "monitor_feed_freshness")
        incidents.append(
            {
                "title": incident["title"],
                "due_at": minute_text(incident["due_at"]),
                "opened_at": minute_text(incident["opened_at"]),
                "alerted": (
                    f"已告警 {minute_text(incident['alerted_at'])}" if incident["alerted_at"] else "告警尚未送达"
                ),
                "dag_id": dag_id,
                "dag_href": links.dag(dag_id),
                "detail": "\n".join(incident["detail"]),
            }
        )
    return render_page(
        "health.html.j2",
        links,
        "管道健康",
        current="health",
        refresh_seconds=HEALTH_REFRESH_SECONDS,
        generated_at=minute_text(report["generated_at"]),
        days=report["days"],
        warehouse_url=report["warehouse_url"],
        notice=notice,
        headers=headers,
        feeds=feeds,
        held_batches=held,
        release_href=links.dag("release_held_batch"),
        incidents=incidents,
        footer={
            "quarantine_href": links.page("quarantine"),
            "data_docs_href": links.page("data-docs/"),
            "json_href": links.page("health.json", {"days": report["days"]}),
        },
    )


def _filter_form(
    links: Links, action: str, filters: QuarantineFilters, rules: list[str], limit: int | None
) -> dict[str, Any]:
    """The view of macro ``filter_form``: the choices of feed and rule, the day, the limit (rows page only)."""
    from parkops.feeds import FEED_NAMES
    from parkops.ops.freshness.rules import feed_label
    from parkops.quality.rule_labels import rule_label

    def options(values: list[tuple[str, str]], selected: str | None) -> list[dict]:
        return [{"value": value, "label": label, "selected": value == (selected or "")} for value, label in values]

    feeds = [("", "全部数据源")] + [(name, feed_label(name)) for name in FEED_NAMES]
    if filters.feed and filters.feed not in FEED_NAMES:
        feeds.append((filters.feed, filters.feed))
    rule_options = [("", "全部规则")] + [(rule, rule_label(rule)) for rule in rules]
    if filters.rule and filters.rule not in rules:
        rule_options.append((filters.rule, rule_label(filters.rule)))
    return {
        "action": links.page(action),
        "feeds": options(feeds, filters.feed),
        "rules": options(rule_options, filters.rule),
        "day": filters.invalid_day or (filters.day.isoformat() if filters.day else ""),
        "limit": limit,
        "max_limit": MAX_ROWS,
        "invalid_day": filters.invalid_day,
    }


def render_quarantine(links: Links, filters: QuarantineFilters, data: dict[str, Any], *, show_rows: bool) -> str:
    """The groups; ``show_rows``: the user may see personal data (sample reasons, links to the rows)."""
    page = {"current": "quarantine", "message": data["message"], "show_rows": show_rows}
    if data["message"]:
        return render_page("quarantine.html.j2", links, "隔离数据", **page)
    labels = column_labels()
    groups = []
    for group in data["groups"]:
        day = group["delivery_date"].isoformat()
        groups.append(
            {
                "feed": group["feed"],
                "feed_name": feed_short_name(group["feed"]),
                "feed_href": links.page("quarantine", {**filters.query(), "feed": group["feed"]}),
                "day": day,
                "day_href": links.page("quarantine", {**filters.query(), "day": day}),
                "rule": _rule(group["rule"]),
                "rule_href": links.page("quarantine", {**filters.query(), "rule": group["rule"]}),
                "column": _column(labels, group["feed"], group["column_name"]),
                "rows_quarantined": f"{group['rows_quarantined']:,}",
                "files": f"{group['files']:,}",
                "sample_file": group["sample_file"],
                "sample_row_number": "—" if group["sample_row_number"] is None else group["sample_row_number"],
                "sample_reason": group["sample_reason"],
                "rows_href": links.page("quarantine/rows", {"feed": group["feed"], "day": day, "rule": group["rule"]}),
            }
        )
    sample_headers = ["示例原因", ""] if show_rows else []
    shown = len(data["groups"])
    return render_page(
        "quarantine.html.j2",
        links,
        "隔离数据",
        **page,
        form=_filter_form(links, "quarantine", filters, data["rules"], None),
        total_rows=f"{data['total_rows']:,}",
        total_groups=f"{data['total_groups']:,}",
        shown_groups=f"{shown:,}" if shown < data["total_groups"] else None,
        rows_href=links.page("quarantine/rows", filters.query()),
        personal_data_refused=PERSONAL_DATA_REFUSED,
        headers=_headers(
            ["数据源", "交付日期", "规则", "列", "隔离行数", "文件数", "示例文件", "示例行号", *sample_headers],
            numeric={4, 5, 7},
        ),
        groups=groups,
    )


def render_quarantine_rows(links: Links, filters: QuarantineFilters, limit: int, data: dict[str, Any]) -> str:
    if data["message"]:
        return render_page("quarantine_rows.html.j2", links, "隔离行", current="quarantine", message=data["message"])
    labels = column_labels()
    rows = [
        {
            "feed": row["feed"],
            "feed_name": feed_short_name(row["feed"]),
            "day": row["delivery_date"].isoformat(),
            "source_file": row["source_file"],
            "sheet_name": row["sheet_name"],
            "row_number": "—" if row["row_number"] is None else row["row_number"],
            "column": _column(labels, row["feed"], row["column_name"]),
            "value": row["value"],
            "rule": _rule(row["rule"]),
            "reason": row["reason"],
        }
        for row in data["rows"]
    ]
    shown = len(data["rows"])
    return render_page(
        "quarantine_rows.html.j2",
        links,
        "隔离行",
        current="quarantine",
        message=None,
        form=_filter_form(links, "quarantine/rows", filters, data["rules"], limit),
        total_rows=f"{data['total_rows']:,}",
        shown_rows=f"{shown:,}" if shown < data["total_rows"] else None,
        groups_href=links.page("quarantine", filters.query()),
        headers=_headers(["数据源", "交付日期", "文件", "行号", "列", "值", "规则", "原因"], numeric={3}),
        rows=rows,
    )


def render_data_docs_missing(links: Links, directory: Path) -> str:
    return render_page("data_docs_missing.html.j2", links, "数据文档", current="data-docs/", directory=directory)


def render_busy(links: Links) -> str:
    return render_page(
        "busy.html.j2",
        links,
        "仓库正被写入",
        current="",
        refresh_seconds=BUSY_REFRESH_SECONDS,
        message=WAREHOUSE_BUSY_MESSAGE,
    )
