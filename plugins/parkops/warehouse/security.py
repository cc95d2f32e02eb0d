"""Warehouse security on PostgreSQL: group roles, ownership and grants from ``sql/security/``.

``apply_security(engine)`` runs ``sql/security/*.sql`` in file-name order, in one transaction:

- ``10_roles.sql``: the NOLOGIN group roles ``parkops_pipeline``, ``parkops_analyst`` and
  ``parkops_reporting`` (cluster-wide; an existing role is fine, even one created concurrently);
- ``20_ownership.sql``: ``parkops_pipeline`` owns the schemas raw, staging, core, mart, ops and
  every object in them (:func:`make_owner` runs this step alone);
- ``30_grants.sql``: the privileges of each role in the current database.

Every step is idempotent; run it after the DDL (``python -m parkops.deploy grant-roles``).
DuckDB has no roles or privileges (an embedded file is protected by file permissions), so on
DuckDB both functions log and return.

The scripts hold ``DO $$ ... $$`` blocks whose bodies contain ``;`` at line ends, so they are
split by :func:`split_sql_script`, which respects quotes and comments, not by
:func:`parkops.warehouse.split_statements`.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from sqlalchemy.engine import Connection, Engine

from parkops.config import sql_dir

log = logging.getLogger(__name__)

#: The group roles, fixed names (see sql/security/10_roles.sql).
PIPELINE_ROLE = "parkops_pipeline"
ANALYST_ROLE = "parkops_analyst"
REPORTING_ROLE = "parkops_reporting"
GROUP_ROLES = (PIPELINE_ROLE, ANALYST_ROLE, REPORTING_ROLE)

#: Schemas owned by the pipeline role.
WAREHOUSE_SCHEMAS = ("raw", "staging", "core", "mart", "ops")

#: core objects analysts may read: no personal data (the list granted in 30_grants.sql).
ANALYST_CORE_OBJECTS = (
    "dim_enterprise_current",
    "dim_park",
    "dim_industry_class",
    "dim_kpi_target",
    "dim_qualification_tag",
    "fct_registration_events",
)

OWNERSHIP_SCRIPT = "20_ownership.sql"

_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$")


def security_dir() -> Path:
    return sql_dir() / "security"


def security_scripts() -> list[Path]:
    return sorted(security_dir().glob("*.sql"))


def split_sql_script(sql_text: str) -> list[str]:
    """Split a PostgreSQL script on ``;`` outside quotes, dollar quotes and comments.

    Handles ``'...'`` (with ``''``), ``"..."``, ``$$ ... $$`` / ``$tag$ ... $tag$``, ``-- ...``
    and ``/* ... */`` comments. Statements keep their text; empty ones (comments only) are dropped.
    """
    statements: list[str] = []
    start = 0
    index = 0
    length = len(sql_text)
    has_code = False
    while index < length:
        char = sql_text[index]
        if char == "-" and sql_text.startswith("--", index):
            end = sql_text.find("\n", index)
            index = length if end < 0 else end + 1
            continue
        if char == "/" and sql_text.startswith("/*", index):
            end = sql_text.find("*/", index + 2)
            index = length if end < 0 else end + 2
            continue
        if char in ("'", '"'):
            index += 1
            while index < length:
                if sql_text[index] == char:
                    if index + 1 < length and sql_text[index + 1] == char:
                        index += 2
                        continue
                    break
                index += 1
            index += 1
            has_code = True
            continue
        if char == "$":
            match = _DOLLAR_TAG.match(sql_text, index)
            if match and not (index > 0 and (sql_text[index - 1].isalnum() or sql_text[index - 1] == "_")):
                end = sql_text.find(match.group(0), match.end())
                index = length if end < 0 else end + len(match.group(0))
                has_code = True
                continue
        if char == ";":
            if has_code:
                statements.append(_strip_comment_lines(sql_text[start:index]))
            start = index + 1
            has_code = False
        elif not char.isspace():
            has_code = True
        index += 1
    if has_code:
        statements.append(_strip_comment_lines(sql_text[start:]))
    return [statement for statement in statements if statement]


def _strip_comment_lines(statement: str) -> str:
    """Drop whole-line ``--`` comments around a statement (those inside $$ bodies are harmless)."""
    lines = statement.strip().splitlines()
    while lines and (not lines[0].strip() or lines[0].strip().startswith("--")):
        lines.pop(0)
    return "\n".join(lines).strip()


def _run_script(connection: Connection, path: Path) -> int:
    """Run a script's statements in the connection's transaction.

    Through the DBAPI cursor without parameters, so ``format('%I', ...)`` in PL/pgSQL reaches
    the server as written (``exec_driver_sql`` would make psycopg parse ``%`` as placeholders).
    """
    statements = split_sql_script(path.read_text(encoding="utf-8"))
    cursor = connection.connection.driver_connection.cursor()
    try:
        for statement in statements:
            cursor.execute(statement)
    finally:
        cursor.close()
    return len(statements)


def _is_postgresql(engine: Engine, action: str) -> bool:
    if engine.dialect.name == "postgresql":
        return True
    log.info("%s skipped: the %s warehouse has no roles or privileges", action, engine.dialect.name)
    return False


def apply_security(engine: Engine) -> dict[str, int]:
    """Create the group roles, hand ownership to the pipeline role and grant (idempotent).

    Runs after the DDL. Returns the number of statements run per script (empty on DuckDB).
    """
    if not _is_postgresql(engine, "warehouse security"):
        return {}
    counts: dict[str, int] = {}
    with engine.begin() as connection:
        for path in security_scripts():
            counts[path.name] = _run_script(connection, path)
    log.info("warehouse security applied: %s", ", ".join(f"{name} {count}" for name, count in counts.items()))
    return counts


def make_owner(engine: Engine) -> None:
    """Hand the warehouse schemas and their objects over to ``parkops_pipeline`` (idempotent).

    Needs the group roles (``10_roles.sql``) and a user allowed to change the owners (a
    superuser or the current owner, member of ``parkops_pipeline``).
    """
    if not _is_postgresql(engine, "ownership transfer"):
        return
    with engine.begin() as connection:
        _run_script(connection, security_dir() / OWNERSHIP_SCRIPT)
