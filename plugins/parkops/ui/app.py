"""The FastAPI app of the ``parkops`` Airflow UI plugin: pipeline health, quarantine, Data Docs.

Routes (relative to where the app is mounted, ``/parkops`` on the api-server):

- ``GET /health``: per feed the latest delivery landed and loaded, the last successful load, rows
  loaded, quarantine share and rejected files over the last ``days`` (default 30), open incidents;
  the numbers of ``python -m parkops.cli health``. Refreshes itself every 60 s.
- ``GET /health.json``: the same document as ``python -m parkops.cli health --json``.
- ``GET /quarantine?feed=&day=&rule=``: ``ops.quarantine_by_rule`` filtered, with totals (the
  sample file, row and reason of each group only for users allowed personal data).
- ``GET /quarantine/rows?feed=&day=&rule=&limit=200``: the quarantined rows themselves (feed, file,
  row, column, value, rule, reason; never ``record_json``, the whole row as received).
- ``GET /data-docs/...``: the Great Expectations Data Docs site from ``PARKOPS_DATA_DOCS_DIR``
  (default ``<PARKOPS_HOME>/data/data_docs``), or a page saying how to build it.

Every route needs an Airflow user (see :func:`airflow_user`); the row values, which hold personal
data (the quarantined rows, the sample reasons of ``/quarantine``), also need the personal-data
permission (:func:`personal_data_reader`): ``/quarantine/rows`` answers 403 without it, and
``/quarantine`` shows the counts only.

The warehouse is opened read-only per request. A DuckDB warehouse admits no reader while a task
writes to it: the pages then answer 503 with "仓库正被写入，稍后刷新" instead of failing.

The markup is in ``ui/templates`` (Jinja: ``base.html.j2`` holds the stylesheet and navigation,
``macros.html.j2`` the tables, filter form and cells the pages share, one template per page); this
module builds each page's view (formatted numbers, labels, links) and Jinja escapes every value.

Imports of the pipeline (SQLAlchemy, pandas, DuckDB) and of the api-server's security happen in
the handlers: every Airflow process loads the plugins, and only the api-server serves these pages.
"""

from __future__ import annotations

import datetime as dt
import html
import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from markupsafe import Markup
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from parkops.config import home_dir

if TYPE_CHECKING:
    import sqlalchemy as sa

WAREHOUSE_BUSY_MESSAGE = "仓库正被写入，稍后刷新"
HEALTH_REFRESH_SECONDS = 60
BUSY_REFRESH_SECONDS = 15
#: Groups of ops.quarantine_by_rule shown at once; the totals always cover every group.
MAX_GROUPS = 1000
MAX_ROWS = 1000
RUN_PIPELINE_HINT = "先运行数据管道（make run FROM=... TO=...）"
PERSONAL_DATA_REFUSED = (
    "隔离行含个人信息，仅限有个人数据权限的用户（简单认证：admin 角色；其他认证：Parkops Personal Data 的读权限），"
    "见 README「Who sees personal data」"
)


class WarehouseBusyError(RuntimeError):
    """The DuckDB warehouse file is locked by the process writing to it (an ingest or rebuild task)."""


# --- authentication ------------------------------------------------------------------------------

_bearer_scheme = HTTPBearer(auto_error=False)


async def airflow_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> Any:
    """The Airflow user of the request, as the REST API authenticates it.

    Apps of ``fastapi_apps`` are mounted on the api-server without any authentication of their
    own, so every route depends on this: a JWT in ``Authorization: Bearer`` (from ``POST
    /auth/token``, for scripts), else the ``_token`` cookie the Airflow UI sets at login (so the
    pages work inside the UI and in a browser tab of a logged-in user). 401 without either.
    """
    from airflow.api_fastapi.core_api.security import get_user

    return await get_user(request, _oauth_token=None, bearer_credentials=credentials)


#: The custom resource an auth manager other than the simple one (FAB, Keycloak...) checks before
#: showing row values: grant ``can_read`` on it to the roles that may see personal data.
PERSONAL_DATA_RESOURCE = "Parkops Personal Data"


async def personal_data_reader(user: Annotated[Any, Depends(airflow_user)]) -> bool:
    """Whether the user may see row values (personal data): quarantined rows, sample reasons.

    The simple auth manager (Airflow's default, the one of this project's deployment) lets every
    viewer into every custom view, so there its ``admin`` role decides; any other auth manager is
    asked about the custom view :data:`PERSONAL_DATA_RESOURCE`. Reading task logs is not enough:
    every ``viewer`` may do that.
    """
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    manager = get_auth_manager()
    if isinstance(manager, SimpleAuthManager):
        return str(getattr(user, "role", None) or "").upper() == "ADMIN"
    return manager.is_authorized_custom_view(method="GET", resource_name=PERSONAL_DATA_RESOURCE, user=user)


async def quarantine_row_reader(allowed: Annotated[bool, Depends(personal_data_reader)]) -> None:
    """403 unless the user may see personal data (:func:`personal_data_reader`)."""
    if not allowed:
        raise HTTPException(status_code=403, detail=PERSONAL_DATA_REFUSED)


async def _login_redirect_or_error(request: Request, error: StarletteHTTPException) -> Response:
    """A browser without a valid session goes to the Airflow login and back; API clients get the error."""
    if error.status_code == 401 and "text/html" in request.headers.get("accept", ""):
        from airflow.api_fastapi.app import get_auth_manager

        return RedirectResponse(get_auth_manager().get_url_login(next_url=str(request.url)), status_code=303)
    return await http_exception_handler(request, error)


# --- warehouse access ----------------------------------------------------------------------------


@contextmanager
def _lock_errors_as_busy() -> Iterator[None]:
    import duckdb
    import sqlalchemy as sa

    try:
        yield
    except sa.exc.OperationalError as error:
        # DuckDB: "IO Error: Could not set lock on file ...: Conflicting lock is held in <writer>".
        if isinstance(error.orig, duckdb.IOException) and "lock" in str(error.orig).lower():
            raise WarehouseBusyError(str(error.orig)) from error
        raise


@contextmanager
def warehouse_connection() -> Iterator[sa.Connection | None]:
    """A read-only connection to the warehouse, or None when its DuckDB file does not exist yet."""
    from parkops.config import warehouse_url
    from parkops.ops.health import missing_duckdb_file
    from parkops.warehouse import create_warehouse_engine

    url = warehouse_url()
    if missing_duckdb_file(url) is not None:
        yield None
        return
    engine = create_warehouse_engine(url, read_only=True)
    try:
        with _lock_errors_as_busy(), engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _warehouse_label() -> str:
    import sqlalchemy as sa

    from parkops.config import warehouse_url

    return sa.make_url(warehouse_url()).render_as_string(hide_password=True)


def pipeline_health(days: int) -> dict:
    """``parkops.ops.health.pipeline_health``, with a locked DuckDB file reported as busy."""
    from parkops.ops import health

    with _lock_errors_as_busy():
        return health.pipeline_health(days)


@dataclass(frozen=True)
class QuarantineFilters:
    """The filters of the quarantine pages; values are only ever bound as parameters."""

    feed: str | None = None
    day: dt.date | None = None
    rule: str | None = None
    #: What was given as ``day`` when it is not a date: it matches no row.
    invalid_day: str | None = None

    @classmethod
    def from_query(cls, feed: str | None, day: str | None, rule: str | None) -> QuarantineFilters:
        day = (day or "").strip()
        try:
            parsed = dt.date.fromisoformat(day) if day else None
        except ValueError:
            return cls(feed=feed or None, rule=rule or None, invalid_day=day)
        return cls(feed=feed or None, day=parsed, rule=rule or None)

    def where(self) -> tuple[str, dict[str, object]]:
        """``where`` clause over ops.quarantine / ops.quarantine_by_rule, and its parameters.

        The SQL text is made of constant fragments only; the values travel as bound parameters.
        """
        conditions: list[str] = []
        params: dict[str, object] = {}
        if self.feed is not None:
            conditions.append("feed = :feed")
            params["feed"] = self.feed
        if self.day is not None:
            conditions.append("delivery_date = :day")
            params["day"] = self.day
        if self.rule is not None:
            conditions.append("rule = :rule")
            params["rule"] = self.rule
        return (" where " + " and ".join(conditions)) if conditions else "", params

    def query(self) -> dict[str, str]:
        given = {"feed": self.feed, "day": self.invalid_day or (self.day and self.day.isoformat()), "rule": self.rule}
        return {key: value for key, value in given.items() if value}


def _quarantine_tables_missing(connection: sa.Connection | None) -> str | None:
    """Why the quarantine cannot be read yet, or None when it can."""
    from parkops.ops.health import table_exists

    if connection is None:
        return f"仓库尚未创建（{_warehouse_label()}）：{RUN_PIPELINE_HINT}。"
    if not (table_exists(connection, "ops", "quarantine") and table_exists(connection, "ops", "quarantine_by_rule")):
        return f"仓库中还没有隔离数据表（ops.quarantine）：{RUN_PIPELINE_HINT}。"
    return None


def _rules(connection: sa.Connection) -> list[str]:
    import sqlalchemy as sa

    return list(connection.execute(sa.text("select distinct rule from ops.quarantine order by rule")).scalars())


def read_quarantine_groups(filters: QuarantineFilters) -> dict[str, Any]:
    """Groups of ops.quarantine_by_rule matching ``filters`` (at most MAX_GROUPS) and the totals of all."""
    import sqlalchemy as sa

    with warehouse_connection() as connection:
        missing = _quarantine_tables_missing(connection)
        if missing:
            return {"message": missing, "rules": [], "groups": [], "total_groups": 0, "total_rows": 0}
        rules = _rules(connection)
        if filters.invalid_day is not None:
            return {"message": None, "rules": rules, "groups": [], "total_groups": 0, "total_rows": 0}
        where, params = filters.where()
        total_groups, total_rows = connection.execute(
            sa.text(f"select count(*), coalesce(sum(rows_quarantined), 0) from ops.quarantine_by_rule{where}"), params
        ).one()
        groups = connection.execute(
            sa.text(
                "select feed, delivery_date, rule, column_name, rows_quarantined, files, sample_file, "
                f"sample_row_number, sample_reason from ops.quarantine_by_rule{where} "
                "order by delivery_date desc, feed, rule, column_name limit :limit"
            ),
            {**params, "limit": MAX_GROUPS},
        ).all()
    return {
        "message": None,
        "rules": rules,
        "groups": [row._asdict() for row in groups],
        "total_groups": int(total_groups),
        "total_rows": int(total_rows),
    }


def read_quarantine_rows(filters: QuarantineFilters, limit: int) -> dict[str, Any]:
    """Rows of ops.quarantine matching ``filters`` (the first ``limit``), without ``record_json``."""
    import sqlalchemy as sa

    with warehouse_connection() as connection:
        missing = _quarantine_tables_missing(connection)
        if missing:
            return {"message": missing, "rules": [], "rows": [], "total_rows": 0}
        rules = _rules(connection)
        if filters.invalid_day is not None:
            return {"message": None, "rules": rules, "rows": [], "total_rows": 0}
        where, params = filters.where()
        total = connection.execute(sa.text(f"select count(*) from ops.quarantine{where}"), params).scalar_one()
        rows = connection.execute(
            sa.text(
                "select feed, delivery_date, source_file, sheet_name, row_number, column_name, value, rule, reason "
                f"from ops.quarantine{where} "
                "order by delivery_date desc, feed, source_file, sheet_name, row_number, rule, column_name "
                "limit :limit"
            ),
            {**params, "limit": limit},
        ).all()
    return {"message": None, "rules": rules, "rows": [row._asdict() for row in rows], "total_rows": int(total)}


def data_docs_dir() -> Path:
    """``PARKOPS_DATA_DOCS_DIR`` (relative: to ``PARKOPS_HOME``), default ``<PARKOPS_HOME>/data/data_docs``."""
    configured = os.environ.get("PARKOPS_DATA_DOCS_DIR")
    if not configured:
        return home_dir() / "data" / "data_docs"
    path = Path(configured).expanduser()
    return path if path.is_absolute() else home_dir() / path


# --- pages: view models for the templates in ui/templates ------------------------------------------


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
    from parkops.report.readiness import FEED_NAMES_CN

    return FEED_NAMES_CN.get(feed, feed)


def _rule(rule: str) -> dict[str, str]:
    """A rule as people read it (macro ``rule``): its Chinese label, and the id SQL and the URL filter use."""
    from parkops.quality.rule_labels import rule_label

    return {"id": rule, "label": rule_label(rule)}


def column_labels() -> dict[str, dict[str, str]]:
    """Feed -> column -> its Chinese header, from the suites of the feed's tables (their ``column_labels``)."""
    from parkops.ingest.catalogue import FEED_NAMES, feed
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
    from parkops.ingest.catalogue import FEED_NAMES
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


# --- the app -------------------------------------------------------------------------------------


def create_app(url_prefix: str = "/parkops") -> FastAPI:
    """The app; ``url_prefix``: where the plugin mounts it (links to the Airflow UI are made relative to it)."""
    app = FastAPI(
        title="parkops pipeline pages",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(airflow_user)],
    )
    app.state.url_prefix = url_prefix
    app.add_exception_handler(StarletteHTTPException, _login_redirect_or_error)

    @app.exception_handler(WarehouseBusyError)
    async def warehouse_busy(request: Request, error: WarehouseBusyError) -> Response:
        headers = {"Retry-After": str(BUSY_REFRESH_SECONDS)}
        if request.url.path.endswith(".json"):
            return JSONResponse({"warehouse": "busy", "message": WAREHOUSE_BUSY_MESSAGE}, 503, headers=headers)
        return HTMLResponse(render_busy(Links.of(request)), 503, headers=headers)

    @app.get("/", include_in_schema=False)
    def index(request: Request) -> RedirectResponse:
        return RedirectResponse(Links.of(request).page("health"))

    @app.get("/health", response_class=HTMLResponse)
    def health_page(request: Request, days: Annotated[int, Query(ge=1, le=366)] = 30) -> HTMLResponse:
        return HTMLResponse(render_health(pipeline_health(days), Links.of(request)))

    @app.get("/health.json")
    def health_json(days: Annotated[int, Query(ge=1, le=366)] = 30) -> JSONResponse:
        return JSONResponse(pipeline_health(days))

    @app.get("/quarantine", response_class=HTMLResponse)
    def quarantine_page(
        request: Request,
        show_rows: Annotated[bool, Depends(personal_data_reader)],
        feed: str | None = None,
        day: str | None = None,
        rule: str | None = None,
    ) -> HTMLResponse:
        filters = QuarantineFilters.from_query(feed, day, rule)
        data = read_quarantine_groups(filters)
        return HTMLResponse(render_quarantine(Links.of(request), filters, data, show_rows=show_rows))

    @app.get("/quarantine/rows", response_class=HTMLResponse, dependencies=[Depends(quarantine_row_reader)])
    def quarantine_rows_page(
        request: Request,
        feed: str | None = None,
        day: str | None = None,
        rule: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 200,
    ) -> HTMLResponse:
        filters = QuarantineFilters.from_query(feed, day, rule)
        data = read_quarantine_rows(filters, limit)
        return HTMLResponse(render_quarantine_rows(Links.of(request), filters, limit, data))

    @app.get("/data-docs", include_in_schema=False)
    def data_docs_root(request: Request) -> RedirectResponse:
        return RedirectResponse(Links.of(request).page("data-docs/"))

    @app.api_route("/data-docs/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
    async def data_docs(request: Request, path: str) -> Response:
        # Looked up per request: the site may be built (or rebuilt elsewhere) after the api-server started.
        directory = data_docs_dir()
        if not (directory / "index.html").is_file():
            return HTMLResponse(render_data_docs_missing(Links.of(request), directory), status_code=404)
        # StaticFiles refuses paths resolving outside the directory (``..``, symlinks out of it).
        site = StaticFiles(directory=directory, html=True)
        return await site.get_response(os.path.normpath(path or "."), request.scope)

    return app
