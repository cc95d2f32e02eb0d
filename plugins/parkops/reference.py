"""Reference data shipped as versioned CSV seeds in ``seeds/`` (UTF-8, header row).

Plain ``csv`` so that light callers (the sample generator, the USCC rules) need no pandas.
The pipeline loads the same files into the warehouse (``core.dim_*``, see
``parkops.pipeline.reference.SEED_TABLES``, with pandas) on every run, so an edited seed takes
effect on the next run.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

from parkops.config import seeds_dir

SEED_NAMES = (
    "parks",
    "industry_classes",
    "qualification_tags",
    "kpi_targets",
    "park_evaluation_weights",
    "park_evaluation_rules",
)


def seed_path(name: str) -> Path:
    if name not in SEED_NAMES:
        raise KeyError(f"unknown seed {name!r}; known: {', '.join(SEED_NAMES)}")
    return seeds_dir() / f"{name}.csv"


def read_seed(name: str) -> list[dict[str, str]]:
    """Rows of a seed as dicts of stripped strings (empty string for an empty cell)."""
    path = seed_path(name)
    with path.open(encoding="utf-8", newline="") as handle:
        return [{key: (value or "").strip() for key, value in row.items()} for row in csv.DictReader(handle)]


@cache
def cached_seed(name: str) -> tuple[dict[str, str], ...]:
    """Immutable cached copy for hot loops (the sample generator)."""
    return tuple(read_seed(name))
