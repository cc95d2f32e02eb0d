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

Every route needs an Airflow user (see :func:`parkops.ui.auth.airflow_user`); the row values, which hold personal
data (the quarantined rows, the sample reasons of ``/quarantine``), also need the personal-data
permission (:func:`parkops.ui.auth.personal_data_reader`): ``/quarantine/rows`` answers 403 without it, and
``/quarantine`` shows the counts only.

The warehouse is opened read-only per request. A DuckDB warehouse admits no reader while a task
writes to it: the pages then answer 503 with "仓库正被写入，稍后刷新" instead of failing.

Modules: ``auth`` (the user and the personal-data permission), ``queries`` (what the pages read),
``pages`` (the views of the templates in ``ui/templates``), this one (the routes).

Imports of the pipeline (SQLAlchemy, pandas, DuckDB) and of the api-server's security happen in
the handlers: every Airflow process loads the plugins, and only the api-server serves these pages.
"""

from __future__ import annotations

import os
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from parkops.ui.auth import airflow_user, login_redirect_or_error, personal_data_reader, quarantine_row_reader
from parkops.ui.pages import (
    BUSY_REFRESH_SECONDS,
    Links,
    render_busy,
    render_data_docs_missing,
    render_health,
    render_quarantine,
    render_quarantine_rows,
)
from parkops.ui.queries import (
    MAX_ROWS,
    WAREHOUSE_BUSY_MESSAGE,
    QuarantineFilters,
    WarehouseBusyError,
    data_docs_dir,
    pipeline_health,
    read_quarantine_groups,
    read_quarantine_rows,
)


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
    app.add_exception_handler(StarletteHTTPException, login_redirect_or_error)

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
