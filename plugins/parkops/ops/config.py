"""``config/operations.yaml`` (or the file ``PARKOPS_OPERATIONS_CONFIG`` names), read at run time."""

from __future__ import annotations

import os
from pathlib import Path

from parkops.config import PROJECT_DIR

DEFAULT_CONFIG = PROJECT_DIR / "config" / "operations.yaml"


class OperationsConfigError(ValueError):
    """The operations configuration is invalid: the message names the file and the key."""


def config_path() -> Path:
    return Path(os.environ.get("PARKOPS_OPERATIONS_CONFIG") or DEFAULT_CONFIG)


def load_section(name: str) -> tuple[Path, dict]:
    """(file, the mapping under ``name``); a missing file or section is an error naming both."""
    import yaml

    path = config_path()
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OperationsConfigError(f"{path}: operations configuration not found (PARKOPS_OPERATIONS_CONFIG)") from None
    except yaml.YAMLError as error:
        raise OperationsConfigError(f"{path}: not valid YAML: {error}") from None
    section = document.get(name) if isinstance(document, dict) else None
    if not isinstance(section, dict):
        raise OperationsConfigError(f"{path}: section {name!r} is missing or not a mapping")
    return path, section
