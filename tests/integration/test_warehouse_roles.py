"""Warehouse security on PostgreSQL: the parkops group roles, proven by logging in as members.

The pipeline runs on five generated delivery days, ``apply_security`` runs twice (the second
run changes nothing), then per-test LOGIN users join each group role and connect as
themselves (trust authentication) to show what they can and cannot do. Roles are
cluster-wide, so the users get random names and are dropped at the end, even on failure; the
group roles themselves stay (they are shared by every database of the server, by design).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from support.pipeline import rows, run_pipeline

from parkops.warehouse import create_warehouse_engine
from parkops.warehouse.security import (
    ANALYST_CORE_OBJECTS,
    ANALYST_ROLE,
    PIPELINE_ROLE,
    REPORTING_ROLE,
    WAREHOUSE_SCHEMAS,
    apply_security,
    split_sql_script,
)
from parkops_tools.generator import RegistrationSettings, write_registrations

START = date(2025, 3, 3)
END = START + timedelta(days=4)
SEED = 20250304

PERSONAL_COLUMNS = {"legal_representative", "contact_phone", "visitor_name", "record_json"}
#: Tables holding personal data (PERSONAL_COLUMNS above, ops.quarantine.value).
PERSONAL_TABLES = ("raw.registrations", "staging.registrations", "ops.quarantine")

PRIVILEGES_QUERY = """
select 'schema' as kind, nspname::text as name, pg_get_userbyid(nspowner) as owner,
       array(select x::text from unnest(nspacl) as x order by 1) as acl
from pg_namespace where nspname in ('raw', 'staging', 'core', 'mart', 'ops')
union all
select 'relation', n.nspname::text || '.' || c.relname::text, pg_get_userbyid(c.relowner),
       array(select x::text from unnest(c.relacl) as x order by 1)
from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
where n.nspname in ('raw', 'staging', 'core', 'mart', 'ops') and c.relkind in ('r', 'p', 'v', 'm')
union all
select 'default', coalesce(n.nspname::text, '') || ':' || d.defaclobjtype::text, pg_get_userbyid(d.defaclrole),
       array(select x::text from unnest(d.defaclacl) as x order by 1)
from pg_default_acl as d left join pg_namespace as n on n.oid = d.defaclnamespace
order by 1, 2
"""


# --- helpers --------------------------------------------------------------------------------------


def _admin_engine(url: str) -> sa.Engine:
    return sa.create_engine(
        sa.make_url(url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
    )


@contextmanager
def login_users(database_url: str) -> Iterator[dict[str, str]]:
    """LOGIN users in each group role -> their database URLs; dropped afterwards, even on failure."""
    suffix = uuid.uuid4().hex[:8]
    users = {
        ANALYST_ROLE: f"analyst_{suffix}",
        REPORTING_ROLE: f"reporter_{suffix}",
        PIPELINE_ROLE: f"pipeline_{suffix}",
    }
    admin = _admin_engine(database_url)
    try:
        with admin.connect() as connection:
            for group, user in users.items():
                connection.exec_driver_sql(f'create role "{user}" login in role {group}')
            # Pipeline logins run as the group: what they create belongs to it (sql/security/10_roles.sql).
            connection.exec_driver_sql(f'alter role "{users[PIPELINE_ROLE]}" set role = {PIPELINE_ROLE}')
        base = sa.make_url(database_url).set(drivername="postgresql+psycopg", password=None)
        yield {group: base.set(username=user).render_as_string(hide_password=False) for group, user in users.items()}
    finally:
        with admin.connect() as connection:
            for user in users.values():
                exists = connection.execute(sa.text("select 1 from pg_roles where rolname = :u"), {"u": user}).first()
                if exists:
                    connection.exec_driver_sql(f'drop owned by "{user}"')
                    connection.exec_driver_sql(f'drop role "{user}"')
        admin.dispose()


@contextmanager
def session(url: str) -> Iterator[sa.Connection]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def can_run(url: str, statement: str) -> None:
    """Run a statement as the URL's user, then roll back (so writes leave no trace)."""
    with session(url) as connection:
        connection.exec_driver_sql(statement).close()
        connection.rollback()


def assert_denied(url: str, statement: str) -> None:
    with session(url) as connection, pytest.raises(sa.exc.ProgrammingError) as raised:
        connection.exec_driver_sql(statement)
    assert isinstance(raised.value.orig, psycopg.errors.InsufficientPrivilege), (
        f"{statement!r} failed, but not with permission denied: {raised.value.orig!r}"
    )


def visible_columns(url: str) -> set[tuple[str, str, str]]:
    with session(url) as connection:
        return {
            tuple(row)
            for row in connection.execute(
                sa.text(
                    "select table_schema, table_name, column_name from information_schema.columns "
                    "where table_schema not in ('pg_catalog', 'information_schema')"
                )
            )
        }


def relations(url: str, schema: str) -> list[str]:
    found = rows(
        url,
        "select table_name from information_schema.tables where table_schema = :schema "
        "and table_type = 'BASE TABLE' order by 1",
        {"schema": schema},
    )
    return [f"{schema}.{row['table_name']}" for row in found]


def first_column(url: str, table: str) -> str:
    schema, name = table.split(".")
    return rows(
        url,
        "select column_name from information_schema.columns where table_schema = :s and table_name = :t "
        "order by ordinal_position limit 1",
        {"s": schema, "t": name},
    )[0]["column_name"]


def mart_content(url: str, tables: list[str]) -> dict[str, list[tuple]]:
    with session(url) as connection:
        return {
            table: sorted(map(tuple, connection.exec_driver_sql(f"select * from {table}")), key=repr)
            for table in tables
        }


# --- tests --------------------------------------------------------------------------------------


def test_splitter_keeps_dollar_quoted_blocks_whole() -> None:
    script = """
-- heading; with a semicolon
do $$
begin
    perform 1;
    raise notice 'a;b';
end
$$;
grant select on t to r;  -- trailing
do $body$ begin perform ';'; end $body$;
select 'it''s; fine', "odd;name" from t /* c; */
"""
    statements = split_sql_script(script)
    assert len(statements) == 4, statements
    assert statements[0].startswith("do $$") and statements[0].endswith("$$")
    assert statements[1] == "grant select on t to r"
    assert statements[2] == "do $body$ begin perform ';'; end $body$"
    assert statements[3].startswith("select 'it''s; fine'")


def test_security_is_a_no_op_on_duckdb(tmp_path: Path) -> None:
    engine = create_warehouse_engine(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    try:
        assert apply_security(engine) == {}
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_group_roles_enforce_the_access_model(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = tmp_path / "landing"
    write_registrations(
        RegistrationSettings(
            landing=landing, start=START, end=END, seed=SEED, defect_rate=0.02, events_per_day=60, population_size=600
        )
    )
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(landing))
    monkeypatch.setenv("PARKOPS_WAREHOUSE_URL", postgres_url)
    run_pipeline("roles-admin", START, END)
    assert rows(postgres_url, "select count(*) as n from ops.quarantine")[0]["n"] > 0, "no quarantine rows to hide"

    # Idempotent: a second run succeeds and leaves owners, grants and default privileges unchanged.
    engine = create_warehouse_engine(postgres_url)
    try:
        apply_security(engine)
        first = rows(postgres_url, PRIVILEGES_QUERY)
        apply_security(engine)
        assert rows(postgres_url, PRIVILEGES_QUERY) == first
    finally:
        engine.dispose()
    assert {row["owner"] for row in first if row["kind"] != "default"} == {PIPELINE_ROLE}, first

    mart_tables = relations(postgres_url, "mart")
    assert len(mart_tables) >= 3, mart_tables
    granted_core = [f"core.{name}" for name in ANALYST_CORE_OBJECTS]
    mart_before = mart_content(postgres_url, mart_tables)
    admin_columns = {row[2] for row in visible_columns(postgres_url)}
    assert {"legal_representative", "contact_phone", "record_json"} <= admin_columns  # the check below is not vacuous

    with login_users(postgres_url) as url:
        analyst, reporter, pipeline = url[ANALYST_ROLE], url[REPORTING_ROLE], url[PIPELINE_ROLE]

        # Analyst: every mart table and the listed core objects, read-only; nothing else.
        for table in mart_tables + granted_core:
            can_run(analyst, f"select * from {table} limit 1")
        for table in (*PERSONAL_TABLES, "ops.file_audit", "core.dim_enterprise"):
            assert_denied(analyst, f"select * from {table} limit 1")
        visible = visible_columns(analyst)
        assert {f"{schema}.{table}" for schema, table, _ in visible} == set(mart_tables + granted_core)
        assert not {column for _, _, column in visible} & PERSONAL_COLUMNS
        for table in mart_tables:
            column = first_column(postgres_url, table)
            assert_denied(analyst, f"insert into {table} select * from {table} limit 1")
            assert_denied(analyst, f"update {table} set {column} = {column}")
            assert_denied(analyst, f"delete from {table}")
        for schema in ("mart", "core"):
            assert_denied(analyst, f"create table {schema}.analyst_probe (id integer)")
        assert_denied(analyst, "insert into core.dim_park select * from core.dim_park")

        # Reporting: mart and ops.file_audit, read-only; no personal data, no core.
        for table in [*mart_tables, "ops.file_audit"]:
            can_run(reporter, f"select * from {table} limit 1")
        for table in (*PERSONAL_TABLES, "core.dim_park", "ops.validation_results"):
            assert_denied(reporter, f"select * from {table} limit 1")
        assert not {column for _, _, column in visible_columns(reporter)} & PERSONAL_COLUMNS
        assert_denied(reporter, "delete from ops.file_audit")
        assert_denied(reporter, "insert into ops.file_audit select * from ops.file_audit limit 1")
        assert_denied(reporter, f"delete from {mart_tables[0]}")
        assert_denied(reporter, "create table mart.reporting_probe (id integer)")
        assert_denied(reporter, "create table ops.reporting_probe (id integer)")

        # Pipeline: writes every table of every layer and creates tables, which belong to the group.
        for schema in WAREHOUSE_SCHEMAS:
            for table in relations(postgres_url, schema):
                column = first_column(postgres_url, table)
                with session(pipeline) as connection:
                    # Privileges are checked whether or not a row qualifies: no row, so no key clash.
                    connection.exec_driver_sql(f"insert into {table} select * from {table} where false")
                    connection.exec_driver_sql(f"update {table} set {column} = {column}")
                    connection.exec_driver_sql(f"delete from {table}")
                    connection.rollback()
            with session(pipeline) as connection:
                connection.exec_driver_sql(f"create table {schema}.pipeline_probe (id integer)")
                connection.exec_driver_sql(f"insert into {schema}.pipeline_probe values (1)")
                connection.commit()
        probes = rows(
            postgres_url,
            "select n.nspname, pg_get_userbyid(c.relowner) as owner from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace where c.relname = 'pipeline_probe'",
        )
        assert {(row["nspname"], row["owner"]) for row in probes} == {(s, PIPELINE_ROLE) for s in WAREHOUSE_SCHEMAS}
        # Default privileges: a new mart table is readable at once; a new core/ops table is not.
        can_run(analyst, "select * from mart.pipeline_probe")
        can_run(reporter, "select * from mart.pipeline_probe")
        assert_denied(analyst, "select * from core.pipeline_probe")
        assert_denied(reporter, "select * from ops.pipeline_probe")
        with session(pipeline) as connection:
            for schema in WAREHOUSE_SCHEMAS:
                connection.exec_driver_sql(f"drop table {schema}.pipeline_probe")
            connection.commit()

        # A whole run as the pipeline member (DDL, ingest, core, marts) keeps the analyst's access.
        monkeypatch.setenv("PARKOPS_WAREHOUSE_URL", pipeline)
        run_pipeline("roles-pipeline", START, END)
        assert mart_content(analyst, mart_tables) == mart_before
        for table in granted_core:
            can_run(analyst, f"select * from {table} limit 1")
        assert rows(postgres_url, PRIVILEGES_QUERY) == first, "the pipeline run changed owners or grants"
