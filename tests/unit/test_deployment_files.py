"""The compose deployment cannot be started here (no Docker engine): check it refers to real things."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((PROJECT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_has_the_airflow_topology():
    services = compose()["services"]
    assert {
        "postgres",
        "redis",
        "airflow-init",
        "api-server",
        "scheduler",
        "dag-processor",
        "triggerer",
        "worker",
        "mailpit",
    } <= set(services)
    for name in ("api-server", "scheduler", "dag-processor", "triggerer", "worker"):
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def test_compose_commands_and_mounts_exist():
    services = compose()["services"]
    init_command = " ".join(services["airflow-init"]["command"])
    for module in re.findall(r"python -m ([\w.]+)", init_command):
        assert importlib.util.find_spec(module) is not None, f"compose runs missing module {module}"
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (PROJECT / source).exists(), f"compose mounts missing {source}"
    assert (PROJECT / "Dockerfile").is_file()
    environment = services["scheduler"]["environment"]
    assert "AIRFLOW_CONN_PARKOPS_WAREHOUSE" in environment
    assert environment["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


def test_dockerfile_installs_from_the_lock_and_points_at_the_project_folders():
    dockerfile = (PROJECT / "Dockerfile").read_text(encoding="utf-8")
    assert "uv sync --frozen" in dockerfile
    for folder in ("dags", "plugins"):
        assert f"/opt/parkops/{folder}" in dockerfile
        assert (PROJECT / folder).is_dir()


def test_no_credentials_in_tracked_files():
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT, capture_output=True, text=True, check=True).stdout
    pattern = re.compile(r"""(password|passwd|secret|api_key|token)\s*[:=]\s*["'][^"'{$<]{6,}""", re.IGNORECASE)
    url_with_password = re.compile(r"://[^:/\s]+:(?![<$])[^@\s]{3,}@")
    offenders = []
    for name in tracked.splitlines():
        path = PROJECT / name
        if name.endswith(".lock") or path == Path(__file__) or not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        for line_number, line in enumerate(text.splitlines(), start=1):
            if pattern.search(line) or url_with_password.search(line):
                offenders.append(f"{name}:{line_number}")
    assert offenders == []


def test_every_compose_variable_has_a_placeholder_in_env_example():
    text = (PROJECT / "docker-compose.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{(\w+)\}", text))
    example = (PROJECT / ".env.example").read_text(encoding="utf-8")
    defined = set(re.findall(r"^(\w+)=", example, re.MULTILINE))
    assert used <= defined, f"set in .env.example: {sorted(used - defined)}"
    assert "<" in example  # placeholders, never real values


def test_compose_init_prepares_the_warehouse_and_its_roles():
    services = compose()["services"]
    init_command = " ".join(services["airflow-init"]["command"])
    assert "parkops.deploy init-warehouse" in init_command
    assert "parkops.deploy grant-roles" in init_command
    # The init script itself runs on a real cluster in tests/integration/test_compose_init.py.
