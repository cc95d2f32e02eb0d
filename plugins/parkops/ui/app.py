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

Imports of the pipeline (SQLAlchemy, pandas, DuckDB) and of the api-server's security happen in
the handlers: every Airflow process loads the plugins, and only the api-server serves these pages.
"""

from __future__ import annotations

import datetime as dt
import html
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
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


# --- HTML ----------------------------------------------------------------------------------------


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


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


STYLE = """
:root { color-scheme: light; --line: #d9dee5; --muted: #5f6b7a; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.55 system-ui, "PingFang SC", "Microsoft YaHei", "Noto Sans SC", sans-serif;
       color: #1f2328; background: #f6f8fa; }
nav { display: flex; gap: 4px; padding: 8px 20px; background: #fff; border-bottom: 1px solid var(--line); }
nav a { padding: 4px 10px; border-radius: 6px; color: #1f2328; text-decoration: none; }
nav a:hover { background: #eef1f4; }
nav a.current { background: #0969da; color: #fff; }
main { padding: 16px 20px 32px; max-width: 1400px; }
h1 { font-size: 20px; margin: 4px 0 6px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
p.meta { color: var(--muted); margin: 0 0 14px; }
a { color: #0969da; }
.notice { padding: 10px 14px; border-radius: 6px; border: 1px solid #d4a72c; background: #fff8c5; margin: 12px 0; }
.notice.busy { border-color: #54aeff; background: #ddf4ff; font-size: 16px; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); width: 100%; }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: #eef1f4; font-weight: 600; word-break: keep-all; }
tr:last-child td { border-bottom: none; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
td.value, td.reason { overflow-wrap: anywhere; }
td.reason { min-width: 16em; }
td.rule { min-width: 12em; }
td.value { min-width: 8em; }
td.nowrap, td.file { white-space: nowrap; }
div.table { overflow-x: auto; }
code { font-family: ui-monospace, monospace; background: #eef1f4; padding: 0 4px; border-radius: 4px; }
td.muted, span.muted { color: var(--muted); }
.status { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; white-space: nowrap;
          border: 1px solid currentColor; }
.status.ok { color: var(--ok); } .status.warn { color: var(--warn); } .status.bad { color: var(--bad); }
.status.none { color: var(--muted); }
td.alert { color: var(--bad); font-weight: 600; }
form.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: end; margin: 8px 0 14px; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
form.filters select, form.filters input { font: inherit; padding: 4px 6px; min-width: 160px; }
form.filters button { font: inherit; padding: 5px 14px; }
ul.incidents { padding-left: 20px; } ul.incidents li { margin-bottom: 8px; }
ul.incidents .detail { color: var(--muted); white-space: pre-wrap; }
footer { margin-top: 20px; color: var(--muted); }
"""

NAV_PAGES = (("health", "管道健康"), ("quarantine", "隔离数据"), ("data-docs/", "数据文档"))


def render_page(links: Links, title: str, body: str, *, current: str, refresh_seconds: int | None = None) -> str:
    refresh = f'<meta http-equiv="refresh" content="{refresh_seconds}">' if refresh_seconds else ""
    nav = "".join(
        f'<a href="{_e(links.page(path))}"{" class=current" if path == current else ""}>{label}</a>'
        for path, label in NAV_PAGES
    )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">{refresh}'
        f"<title>{_e(title)} · parkops</title><style>{STYLE}</style></head>"
        f"<body><nav>{nav}</nav><main>{body}</main></body></html>"
    )


def feed_short_name(feed: str) -> str:
    from parkops.report.readiness import FEED_NAMES_CN

    return FEED_NAMES_CN.get(feed, feed)


def _file_cell(source_file: str, sheet_name: str | None = None) -> str:
    """The file's name (its folder is the feed and delivery shown beside it); the whole path on hover."""
    sheet = f"<br><span class=muted>工作表 {_e(sheet_name)}</span>" if sheet_name else ""
    return (
        f'<td class=file data-field="source_file" data-path="{_e(source_file)}" title="{_e(source_file)}">'
        f"{_e(source_file.rsplit('/', 1)[-1])}{sheet}</td>"
    )


def _table(header_cells: str, rows: list[str]) -> str:
    """A table that scrolls sideways inside its frame when the window is narrow."""
    return f"<div class=table><table><thead><tr>{header_cells}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"


def _identifier(name: str | None) -> str:
    """A rule or column id that may wrap after its underscores (they have no other break opportunity)."""
    return _e(name or "—").replace("_", "_<wbr>")


def _rule(rule: str) -> str:
    """A rule as people read it: its Chinese label, the id (what SQL and the URL filter use) on hover."""
    from parkops.quality.rule_labels import rule_label

    return f'<span data-field="rule" title="{_e(rule)}">{_e(rule_label(rule))}</span>'


def column_labels() -> dict[str, dict[str, str]]:
    """Feed -> column -> its Chinese header, from the suites of the feed's tables (their ``column_labels``)."""
    from parkops.ingest.catalogue import FEED_NAMES, feed
    from parkops.quality.validation import suite_column_labels

    return {
        name: {column: label for table in feed(name).tables for column, label in suite_column_labels(table).items()}
        for name in FEED_NAMES
    }


def _column(labels: dict[str, dict[str, str]], feed: str, column: str | None) -> str:
    """A column by its Chinese header, the id on hover; one the suites do not name (e.g. needs) as its id."""
    label = labels.get(feed, {}).get(column or "")
    if label is None:
        return _identifier(column)
    return f'<span data-field="column" title="{_e(column)}">{_e(label)}</span>'


def _minute_text(iso: str | None) -> str:
    return iso.replace("T", " ") if iso else "—"


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


def render_health(report: dict, links: Links) -> str:
    from parkops.ops.freshness import INGEST_DAG_IDS
    from parkops.ops.health import format_number, health_headers

    headers = health_headers(report["days"])
    numeric = {4, 5, 6, 7, 8}
    # Headers break after the window (近30日 / 加载行数) and nowhere else: th keeps CJK words whole.
    window = f"近{report['days']}日"
    head = "".join(
        f"<th{' class=num' if index in numeric else ''}>{_e(name).replace(window, f'{window}<wbr>')}</th>"
        for index, name in enumerate(headers)
    )
    rows = []
    for feed in report["feeds"]:
        status_class, status_label = _feed_status(feed)
        share = feed["quarantine_share"]
        dag_id = INGEST_DAG_IDS.get(feed["feed"])
        dag_link = (
            f'<a href="{_e(links.dag(dag_id))}" target="_top" title="Airflow DAG {_e(dag_id)}">DAG 运行</a>'
            if dag_id
            else ""
        )
        quarantine_link = f'<a href="{_e(links.page("quarantine", {"feed": feed["feed"]}))}">隔离数据</a>'
        cells = [
            f'<td class=nowrap data-field="name">{_e(feed["name"])}</td>',
            f'<td class=nowrap data-field="latest_landed_delivery">{_e(feed["latest_landed_delivery"] or "—")}</td>',
            f'<td class=nowrap data-field="latest_loaded_delivery">{_e(feed["latest_loaded_delivery"] or "—")}</td>',
            f'<td class=nowrap data-field="last_successful_load_at">'
            f"{_e(_minute_text(feed['last_successful_load_at']))}</td>",
            f'<td class=num data-field="rows_loaded">{_e(format_number(feed["rows_loaded"]))}</td>',
            f'<td class=num data-field="quarantine_share" title="{feed["rows_quarantined"]:,} / '
            f'{feed["rows_received"]:,} 行">{"—" if share is None else f"{share * 100:.1f}%"}</td>',
            f'<td class="num{" alert" if feed["rejected_files"] else ""}" data-field="rejected_files">'
            f"{feed['rejected_files']}</td>",
            f'<td class="num{" alert" if feed["held_batches"] else ""}" data-field="held_batches">'
            f"{feed['held_batches']}</td>",
            f'<td class="num{" alert" if feed["open_incidents"] else ""}" data-field="open_incidents">'
            f"{feed['open_incidents']}</td>",
        ]
        rows.append(
            f'<tr data-feed="{_e(feed["feed"])}"><td><span class="status {status_class}">{status_label}</span></td>'
            f"{''.join(cells)}<td class=nowrap>{dag_link} · {quarantine_link}</td></tr>"
        )
    notice = ""
    if report["warehouse"] == "missing":
        notice = f"仓库尚未创建（{_e(report['warehouse_url'])}）：{RUN_PIPELINE_HINT}。"
    elif report["warehouse"] == "empty":
        notice = f"仓库中还没有加载记录（ops.file_audit 为空）：{RUN_PIPELINE_HINT}。"
    incidents = report["open_incidents"]
    if incidents:
        items = []
        for incident in incidents:
            alerted = f"已告警 {_minute_text(incident['alerted_at'])}" if incident["alerted_at"] else "告警尚未送达"
            dag_id = INGEST_DAG_IDS.get(incident["feed"], "monitor_feed_freshness")
            items.append(
                f"<li><strong>{_e(incident['title'])}</strong><br>"
                f"应于 {_e(_minute_text(incident['due_at']))}，发现于 {_e(_minute_text(incident['opened_at']))}，"
                f'{_e(alerted)} · <a href="{_e(links.dag(dag_id))}" target="_top">{_e(dag_id)}</a>'
                f'<div class="detail">{_e(chr(10).join(incident["detail"]))}</div></li>'
            )
        incidents_html = f"<h2>未关闭的迟到事件（{len(incidents)} 个）</h2><ul class=incidents>{''.join(items)}</ul>"
    else:
        incidents_html = '<h2>未关闭的迟到事件</h2><p class="muted">无</p>'
    held = report["held_batches"]
    if held:
        items = []
        for batch in held:
            share = "—" if batch["quarantine_share"] is None else f"{batch['quarantine_share'] * 100:.1f}%"
            batch_filter = {"feed": batch["feed"], "day": batch["delivery_date"]}
            quarantine = links.page("quarantine", batch_filter)
            top = "；".join(
                f'<a href="{_e(links.page("quarantine", {**batch_filter, "rule": rule["rule"]}))}">'
                f"{_rule(rule['rule'])}</a> {rule['rows']:,} 行"
                for rule in batch["top_rules"]
            )
            rules = f"主要失败规则：{top} · " if top else ""
            items.append(
                f'<li data-feed="{_e(batch["feed"])}" data-delivery="{_e(batch["delivery_date"])}">'
                f"<strong>{_e(feed_short_name(batch['feed']))} {_e(batch['delivery_date'])}</strong>："
                f"{batch['rows_quarantined']:,}/{batch['rows_received']:,} 行被隔离（{_e(share)}，上限 "
                f"{batch['max_quarantine_share'] * 100:.0f}%），{batch['files']} 个文件 · {rules}"
                f'<a href="{_e(quarantine)}">隔离数据</a> · '
                f'<a href="{_e(links.dag("release_held_batch"))}" target="_top">'
                "放行或重跑（release_held_batch）</a></li>"
            )
        held_html = (
            f"<h2>质量闸门扣留的批次（{len(held)} 个，未进入 core / mart）</h2>"
            f"<ul class=incidents>{''.join(items)}</ul>"
        )
    else:
        held_html = '<h2>质量闸门扣留的批次</h2><p class="muted">无</p>'
    body = (
        "<h1>数据管道健康状况</h1>"
        f"<p class=meta>生成于 {_e(_minute_text(report['generated_at']))}（北京时间）；"
        f"近{report['days']}日按文件的加载时间统计；每 {HEALTH_REFRESH_SECONDS} 秒自动刷新；"
        f"仓库 {_e(report['warehouse_url'])}</p>"
        + (f'<div class="notice">{notice}</div>' if notice else "")
        + _table(f"<th>状态</th>{head}<th>链接</th>", rows)
        + held_html
        + incidents_html
        + "<footer>"
        f'<a href="{_e(links.page("quarantine"))}">隔离数据（按规则）</a> · '
        f'<a href="{_e(links.page("data-docs/"))}">数据文档 Data Docs</a> · '
        f'<a href="{_e(links.page("health.json", {"days": report["days"]}))}">JSON</a> · '
        "命令行：<code>python -m parkops.cli health</code>"
        "</footer>"
    )
    return render_page(links, "管道健康", body, current="health", refresh_seconds=HEALTH_REFRESH_SECONDS)


def _filter_form(links: Links, action: str, filters: QuarantineFilters, rules: list[str], limit: int | None) -> str:
    from parkops.ingest.catalogue import FEED_NAMES
    from parkops.ops.freshness import feed_label
    from parkops.quality.rule_labels import rule_label

    def options(values: list[tuple[str, str]], selected: str | None) -> str:
        items = []
        for value, label in values:
            # The id (of a feed, of a rule) on hover: the label is what the list shows.
            title = f' title="{_e(value)}"' if value else ""
            chosen = " selected" if value == (selected or "") else ""
            items.append(f'<option value="{_e(value)}"{title}{chosen}>{_e(label)}</option>')
        return "".join(items)

    feeds = [("", "全部数据源")] + [(name, feed_label(name)) for name in FEED_NAMES]
    if filters.feed and filters.feed not in FEED_NAMES:
        feeds.append((filters.feed, filters.feed))
    rule_options = [("", "全部规则")] + [(rule, rule_label(rule)) for rule in rules]
    if filters.rule and filters.rule not in rules:
        rule_options.append((filters.rule, rule_label(filters.rule)))
    day = filters.invalid_day or (filters.day.isoformat() if filters.day else "")
    limit_field = (
        f'<label>最多显示<input type="number" name="limit" min="1" max="{MAX_ROWS}" value="{limit}"></label>'
        if limit is not None
        else ""
    )
    return (
        f'<form class="filters" method="get" action="{_e(links.page(action))}">'
        f'<label>数据源<select name="feed">{options(feeds, filters.feed)}</select></label>'
        f'<label>交付日期<input type="date" name="day" value="{_e(day)}"></label>'
        f'<label>规则<select name="rule">{options(rule_options, filters.rule)}</select></label>'
        f'{limit_field}<button type="submit">筛选</button> <a href="{_e(links.page(action))}">清除筛选</a></form>'
    )


def _invalid_day_notice(filters: QuarantineFilters) -> str:
    if filters.invalid_day is None:
        return ""
    return f'<div class="notice">交付日期应为 YYYY-MM-DD（收到 “{_e(filters.invalid_day)}”）：没有匹配的行。</div>'


def render_quarantine(links: Links, filters: QuarantineFilters, data: dict[str, Any], *, show_rows: bool) -> str:
    """The groups; ``show_rows``: the user may see personal data (sample reasons, links to the rows)."""
    body = ["<h1>隔离数据（按数据源、交付日期、规则、列）</h1>"]
    body.append(
        "<p class=meta>来自 ops.quarantine_by_rule：未通过数据契约的行不进入仓库，留在隔离区；"
        "一行违反两条规则时在每条规则下各计一次。</p>"
    )
    if data["message"]:
        body.append(f'<div class="notice">{_e(data["message"])}</div>')
        return render_page(links, "隔离数据", "".join(body), current="quarantine")
    body.append(_filter_form(links, "quarantine", filters, data["rules"], None))
    body.append(_invalid_day_notice(filters))
    shown = len(data["groups"])
    body.append(
        f'<p>共 <strong id="total-rows">{data["total_rows"]:,}</strong> 行被隔离，'
        f'<strong id="total-groups">{data["total_groups"]:,}</strong> 组'
        + (f"（仅显示前 {shown:,} 组，请按数据源或日期筛选）" if shown < data["total_groups"] else "")
        + (
            f'。<a href="{_e(links.page("quarantine/rows", filters.query()))}">查看这些隔离行</a></p>'
            if show_rows
            else "。</p>"
        )
    )
    if not show_rows:
        body.append(
            f'<div class="notice" id="personal-data">示例原因和隔离行不显示：{_e(PERSONAL_DATA_REFUSED)}。</div>'
        )
    if not data["groups"]:
        body.append('<p class="muted">没有匹配的隔离数据。</p>')
        return render_page(links, "隔离数据", "".join(body), current="quarantine")
    rows = []
    labels = column_labels()
    for group in data["groups"]:
        day = group["delivery_date"].isoformat()
        rows_link = links.page("quarantine/rows", {"feed": group["feed"], "day": day, "rule": group["rule"]})
        rows.append(
            f'<tr data-feed="{_e(group["feed"])}" data-rule="{_e(group["rule"])}">'
            f'<td class=nowrap title="{_e(group["feed"])}">'
            f'<a href="{_e(links.page("quarantine", {**filters.query(), "feed": group["feed"]}))}">'
            f"{_e(feed_short_name(group['feed']))}</a></td>"
            f'<td class=nowrap><a href="{_e(links.page("quarantine", {**filters.query(), "day": day}))}">{day}</a></td>'
            f'<td class=rule><a href="{_e(links.page("quarantine", {**filters.query(), "rule": group["rule"]}))}">'
            f"{_rule(group['rule'])}</a></td>"
            f"<td>{_column(labels, group['feed'], group['column_name'])}</td>"
            f'<td class=num data-field="rows_quarantined">{group["rows_quarantined"]:,}</td>'
            f"<td class=num>{group['files']:,}</td>"
            f"{_file_cell(group['sample_file'])}"
            f"<td class=num>{_e(group['sample_row_number'] if group['sample_row_number'] is not None else '—')}</td>"
            + (
                f"<td class=reason>{_e(group['sample_reason'])}</td>"
                f'<td class=nowrap><a href="{_e(rows_link)}">查看行</a></td>'
                if show_rows
                else ""
            )
            + "</tr>"
        )
    sample_headers = "<th>示例原因</th><th></th>" if show_rows else ""
    body.append(
        _table(
            "<th>数据源</th><th>交付日期</th><th>规则</th><th>列</th><th class=num>隔离行数</th>"
            f"<th class=num>文件数</th><th>示例文件</th><th class=num>示例行号</th>{sample_headers}",
            rows,
        )
    )
    return render_page(links, "隔离数据", "".join(body), current="quarantine")


def render_quarantine_rows(links: Links, filters: QuarantineFilters, limit: int, data: dict[str, Any]) -> str:
    body = ["<h1>隔离行</h1>"]
    body.append(
        "<p class=meta>来自 ops.quarantine：每行一个（源行, 未通过的规则）；行号按表格软件所见（表头为第 1 行），"
        "JSON Lines 为行序号。含个人信息，仅供数据管道人员排查；整行原始记录（record_json）不在此显示。</p>"
    )
    if data["message"]:
        body.append(f'<div class="notice">{_e(data["message"])}</div>')
        return render_page(links, "隔离行", "".join(body), current="quarantine")
    body.append(_filter_form(links, "quarantine/rows", filters, data["rules"], limit))
    body.append(_invalid_day_notice(filters))
    shown = len(data["rows"])
    body.append(
        f'<p>共 <strong id="total-rows">{data["total_rows"]:,}</strong> 行'
        + (f"，显示前 {shown:,} 行" if shown < data["total_rows"] else "")
        + f'。<a href="{_e(links.page("quarantine", filters.query()))}">按规则汇总</a></p>'
    )
    if not data["rows"]:
        body.append('<p class="muted">没有匹配的隔离行。</p>')
        return render_page(links, "隔离行", "".join(body), current="quarantine")
    rows = []
    labels = column_labels()
    for row in data["rows"]:
        value = '<span class="muted">（空）</span>' if row["value"] in (None, "") else _e(row["value"])
        row_number = "—" if row["row_number"] is None else row["row_number"]
        rows.append(
            f'<tr data-feed="{_e(row["feed"])}" data-rule="{_e(row["rule"])}">'
            f'<td class=nowrap title="{_e(row["feed"])}">{_e(feed_short_name(row["feed"]))}</td>'
            f"<td class=nowrap>{row['delivery_date'].isoformat()}</td>"
            f"{_file_cell(row['source_file'], row['sheet_name'])}"
            f'<td class=num data-field="row_number">{row_number}'
            f"</td><td>{_column(labels, row['feed'], row['column_name'])}</td><td class=value>{value}</td>"
            f"<td class=rule>{_rule(row['rule'])}</td><td class=reason>{_e(row['reason'])}</td></tr>"
        )
    body.append(
        _table(
            "<th>数据源</th><th>交付日期</th><th>文件</th><th class=num>行号</th><th>列</th><th>值</th>"
            "<th>规则</th><th>原因</th>",
            rows,
        )
    )
    return render_page(links, "隔离行", "".join(body), current="quarantine")


def render_data_docs_missing(links: Links, directory: Path) -> str:
    body = (
        "<h1>数据文档（Great Expectations Data Docs）</h1>"
        '<div class="notice">数据文档尚未生成。在项目目录运行 <code>make data-docs</code> 生成后刷新本页'
        f"（生成到 <code>{_e(directory)}</code>，可用环境变量 PARKOPS_DATA_DOCS_DIR 指定其他目录）。</div>"
    )
    return render_page(links, "数据文档", body, current="data-docs/")


def render_busy(links: Links) -> str:
    body = (
        "<h1>数据管道</h1>"
        f'<div class="notice busy">{WAREHOUSE_BUSY_MESSAGE}：数据管道的任务正在写入 DuckDB 仓库，'
        f"写入期间不能读取。本页 {BUSY_REFRESH_SECONDS} 秒后自动刷新。</div>"
    )
    return render_page(links, "仓库正被写入", body, current="", refresh_seconds=BUSY_REFRESH_SECONDS)


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
