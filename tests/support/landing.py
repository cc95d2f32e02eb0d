"""Generated landing data for tests, through the generator's CLI as the Makefile uses it."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path


def generate_registrations(
    root: Path, first: dt.date, last: dt.date, *, seed: int = 7, defect_rate: float = 0.02
) -> Path:
    """Write registration files for delivery days first..last under ``root``; returns ``root``."""
    command = [sys.executable, "-m", "parkops.generator", "registrations", "--landing", str(root)]
    command += ["--from", first.isoformat(), "--to", last.isoformat()]
    command += ["--seed", str(seed), "--defect-rate", str(defect_rate)]
    subprocess.run(command, check=True, capture_output=True)
    return root
