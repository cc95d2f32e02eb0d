"""Runtime configuration, read from the environment at call time (never at import time).

| variable | default | meaning |
|---|---|---|
| ``PARKOPS_HOME`` | the project checkout | where relative paths below are resolved |
| ``PARKOPS_LANDING_DIR`` | ``data/landing`` | landing root with ``<feed>/<YYYY-MM-DD>/`` etc. |
| ``PARKOPS_WAREHOUSE_URL`` | ``duckdb:///<home>/data/warehouse/parkops.duckdb`` | SQLAlchemy URL of the warehouse |
"""

from __future__ import annotations

import os
from pathlib import Path

#: The checkout this package was installed from: plugins/parkops/config.py -> repo root.
PROJECT_DIR = Path(__file__).resolve().parents[2]


def home_dir() -> Path:
    return Path(os.environ.get("PARKOPS_HOME") or PROJECT_DIR).resolve()


def _resolve(path: str) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else home_dir() / candidate


def landing_dir() -> Path:
    return _resolve(os.environ.get("PARKOPS_LANDING_DIR") or "data/landing")


def default_warehouse_path() -> Path:
    return home_dir() / "data" / "warehouse" / "parkops.duckdb"


def warehouse_url() -> str:
    return os.environ.get("PARKOPS_WAREHOUSE_URL") or f"duckdb:///{default_warehouse_path()}"


def seeds_dir() -> Path:
    return PROJECT_DIR / "seeds"


def sql_dir() -> Path:
    return PROJECT_DIR / "sql"


def expectations_dir() -> Path:
    return PROJECT_DIR / "expectations"
