"""Airflow UI plugin ``parkops``: pipeline health, quarantined rows and GX Data Docs, in the Airflow UI.

Airflow imports this module from the plugins folder (``parkops/`` next to it is excluded from that
scan by ``plugins/.airflowignore``, which Airflow reads when it looks for plugins: the package is
imported as a library). It registers, with the Airflow 3 plugin interface:

- ``fastapi_apps``: the app of :mod:`parkops.ui.app`, mounted by the api-server under ``/parkops``:

  ===================================  ====================================================
  ``/parkops/health``                  pipeline health per feed, open incidents (HTML)
  ``/parkops/health.json``             the same as ``python -m parkops.cli health --json``
  ``/parkops/quarantine``              ops.quarantine_by_rule, filters ``feed``, ``day``, ``rule``
  ``/parkops/quarantine/rows``         the quarantined rows (no record_json), same filters, ``limit``
  ``/parkops/data-docs/``              the Great Expectations Data Docs site, when built
  ===================================  ====================================================

- ``external_views``: menu entries of the Airflow UI that show those pages in a frame: 管道健康
  Pipeline health on the navigation bar, 隔离数据 Quarantine under Browse, 数据文档 Data Docs under
  Docs. Their ``href`` has no leading slash: the UI resolves it against its ``<base href>``, so the
  links hold when the api-server is served under a sub-path (``[api] base_url``).

Authentication: the api-server mounts plugin apps without protecting them, so the app itself
requires an Airflow user on every route, exactly as the REST API reads it: an
``Authorization: Bearer <JWT>`` header (token from ``POST /auth/token``), else the ``_token``
cookie the Airflow UI sets at login. Inside the UI the cookie is sent with the frame's requests; a
browser without a session is redirected to the Airflow login and back, an API client gets 401.
The row values (personal data: the quarantined rows, the sample reasons) also need the
personal-data permission (``parkops.ui.auth.personal_data_reader``; README, "Who sees personal data").

Only light modules are imported here (FastAPI, the app's module): every Airflow process, the
scheduler and the task runners included, loads the plugins, and only the api-server serves pages.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from parkops.ui.app import create_app

URL_PREFIX = "/parkops"


class ParkopsUiPlugin(AirflowPlugin):
    name = "parkops"
    fastapi_apps = [  # noqa: RUF012 (the plugin interface declares these as class attributes)
        {"app": create_app(URL_PREFIX), "url_prefix": URL_PREFIX, "name": "parkops: pipeline health, quarantine"}
    ]
    external_views = [  # noqa: RUF012
        {
            "name": "管道健康 Pipeline health",
            "href": "parkops/health",
            "url_route": "parkops-health",
            "destination": "nav",
            "nav_top_level": True,
        },
        {
            "name": "隔离数据 Quarantine",
            "href": "parkops/quarantine",
            "url_route": "parkops-quarantine",
            "destination": "nav",
            "category": "browse",
        },
        {
            "name": "数据文档 Data Docs",
            "href": "parkops/data-docs/",
            "url_route": "parkops-data-docs",
            "destination": "nav",
            "category": "docs",
        },
    ]
