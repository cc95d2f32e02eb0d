"""The compose PostgreSQL initialisation, run natively as compose runs it (no Docker engine here).

A throwaway cluster stands in for the ``postgres`` container: its superuser is ``POSTGRES_USER``
with ``POSTGRES_PASSWORD``, local socket connections are trusted and TCP ones need a password (as
in the official image), and the database ``POSTGRES_DB`` exists. Then, with the variables compose
passes from an env file made from ``.env.example`` (placeholders filled in):
``deploy/postgres-init.sh`` runs as the image's entrypoint runs it, ``airflow-init``'s warehouse
steps run as compose runs them, and every login role of the deployment logs in over TCP with its
password.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from conftest import IN_CI, PROJECT_DIR
from support.topology import free_port

pytestmark = pytest.mark.postgres

GROUP_ROLES = ("parkops_pipeline", "parkops_analyst", "parkops_reporting")


def _postgres_bin_dir() -> Path | None:
    """The directory of initdb / pg_ctl / postgres: on PATH, else Debian's versioned directory."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return candidates[-1].parent if candidates else None


def _as_cluster_owner(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the ``postgres`` system user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def env_file_from_example(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """``.env.example`` with each ``<placeholder>`` replaced by a fresh value, parsed as compose does."""
    values: dict[str, str] = {}
    for line in (PROJECT_DIR / ".env.example").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, value = line.partition("=")
        if value.startswith("<"):
            value = "x" + secrets.token_hex(12)
        values[name.strip()] = value.strip()
    values.update(overrides or {})
    return values


def compose_environment(service_environment: dict[str, str], env_file: dict[str, str]) -> dict[str, str]:
    """A service's ``environment:`` with ``${VAR}`` interpolated from the env file, as compose does."""

    def interpolate(text: str) -> str:
        return re.sub(r"\$\{(\w+)\}", lambda match: env_file[match.group(1)], str(text))

    return {name: interpolate(value) for name, value in service_environment.items()}


@dataclass
class Cluster:
    """A running throwaway cluster standing in for the compose ``postgres`` service."""

    bin_dir: Path
    data_dir: Path
    socket_dir: Path
    port: int

    def psql_environment(self) -> dict[str, str]:
        # In the container psql reaches the server on its default socket; here, on ours.
        return {"PGHOST": str(self.socket_dir), "PGPORT": str(self.port)}

    def tcp_url(self, user: str, password: str, database: str) -> str:
        return sa.engine.URL.create(
            "postgresql+psycopg", username=user, password=password, host="127.0.0.1", port=self.port, database=database
        ).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def compose_postgres() -> Iterator[tuple[Cluster, dict[str, str]]]:
    bin_dir = _postgres_bin_dir()
    if bin_dir is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        message = "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: PostgreSQL is mandatory)")
        pytest.skip(f"!!! SKIPPED: {message}")
    compose = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text(encoding="utf-8"))
    env_file = env_file_from_example()
    postgres_env = compose_environment(compose["services"]["postgres"]["environment"], env_file)
    # Not under pytest's temporary root: that is private to root, and the cluster runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="parkops-compose-postgres-"))
    cluster = Cluster(bin_dir, root / "data", root / "socket", free_port())
    cluster.socket_dir.mkdir()
    password_file = root / "superuser-password"
    password_file.write_text(postgres_env["POSTGRES_PASSWORD"], encoding="utf-8")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(cluster.socket_dir, "postgres")
        shutil.chown(password_file, "postgres")
    run = dict(check=True, capture_output=True, text=True, timeout=120)
    subprocess.run(
        _as_cluster_owner(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(cluster.data_dir),
                "--username",
                postgres_env["POSTGRES_USER"],
                "--pwfile",
                str(password_file),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-sync",
            ]
        ),
        **run,
    )
    options = f"-p {cluster.port} -k {cluster.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(cluster.data_dir)]
    subprocess.run(_as_cluster_owner([*pg_ctl, "-o", options, "-l", str(root / "log"), "-w", "start"]), **run)
    try:
        subprocess.run(
            ["psql", "-v", "ON_ERROR_STOP=1", "--username", postgres_env["POSTGRES_USER"], "--dbname", "postgres",
             "-c", f'create database "{postgres_env["POSTGRES_DB"]}"'],
            env={**os.environ, **cluster.psql_environment()},
            **run,
        )  # fmt: skip
        yield cluster, env_file
    finally:
        subprocess.run(
            _as_cluster_owner([*pg_ctl, "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


def run_init_script(cluster: Cluster, env_file: dict[str, str]) -> subprocess.CompletedProcess:
    """``deploy/postgres-init.sh`` as the image runs it: the service's environment, as its superuser."""
    compose = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text(encoding="utf-8"))
    postgres_env = compose_environment(compose["services"]["postgres"]["environment"], env_file)
    # The compose mount ./sql/security -> /parkops/sql/security, pointed at the checkout.
    mounts = {"PARKOPS_SECURITY_SQL_DIR": str(PROJECT_DIR / "sql" / "security")}
    return subprocess.run(
        ["bash", str(PROJECT_DIR / "deploy" / "postgres-init.sh")],
        env={**os.environ, **postgres_env, **cluster.psql_environment(), **mounts},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_compose_mounts_the_security_scripts_where_the_init_script_reads_them() -> None:
    compose = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text(encoding="utf-8"))
    script = (PROJECT_DIR / "deploy" / "postgres-init.sh").read_text(encoding="utf-8")
    default_dir = re.search(r"PARKOPS_SECURITY_SQL_DIR:-(/\S+?)\}", script).group(1)
    assert f"./sql/security:{default_dir}:ro" in compose["services"]["postgres"]["volumes"]


def test_every_login_role_of_the_compose_deployment_logs_in(compose_postgres: tuple[Cluster, dict[str, str]]) -> None:
    cluster, env_file = compose_postgres
    init = run_init_script(cluster, env_file)
    assert init.returncode == 0, init.stderr

    compose = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text(encoding="utf-8"))
    parkops_env = compose_environment(compose["x-parkops"]["environment"], env_file)
    in_container_host = "@postgres:5432/"
    warehouse_url = parkops_env["PARKOPS_WAREHOUSE_URL"].replace(in_container_host, f"@127.0.0.1:{cluster.port}/")
    # airflow-init's warehouse steps, as the pipeline's login role (compose: python -m parkops.deploy ...).
    for step in ("init-warehouse", "grant-roles"):
        result = subprocess.run(
            [sys.executable, "-m", "parkops.deploy", step],
            env={**os.environ, "PARKOPS_WAREHOUSE_URL": warehouse_url},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"{step}: {result.stderr[-2000:]}"

    airflow_url = parkops_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace(
        in_container_host, f"@127.0.0.1:{cluster.port}/"
    )
    logins = {"airflow metadata": airflow_url, "warehouse pipeline": warehouse_url}
    for login, url in logins.items():
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as connection:
                session_user, current_user = connection.execute(sa.text("select session_user, current_user")).one()
                if login == "warehouse pipeline":
                    assert session_user == env_file["WAREHOUSE_USER"]
                    # Runs as the group, so what it creates belongs to parkops_pipeline.
                    assert current_user == "parkops_pipeline"
                    assert connection.execute(sa.text("select count(*) from core.dim_park")).scalar_one() > 0
                else:
                    assert session_user == env_file["AIRFLOW_DB_USER"]
        finally:
            engine.dispose()


def test_init_refuses_a_group_role_as_the_login_role(compose_postgres: tuple[Cluster, dict[str, str]]) -> None:
    cluster, env_file = compose_postgres
    for group_role in GROUP_ROLES:
        init = run_init_script(cluster, {**env_file, "WAREHOUSE_USER": group_role})
        assert init.returncode != 0, f"init accepted WAREHOUSE_USER={group_role}"
        assert f"WAREHOUSE_USER={group_role}" in init.stderr
        assert "group role" in init.stderr
