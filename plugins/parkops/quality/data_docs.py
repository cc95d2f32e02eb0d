"""Great Expectations Data Docs of the project's suites, as a static site (``make data-docs``).

One page per suite in ``expectations/`` (what each source table is checked against, rule by
rule), written to ``PARKOPS_DATA_DOCS_DIR`` (default ``data/data_docs``) and served in the
Airflow UI by the parkops plugin (``/parkops/data-docs/``). GX builds the site inside a file
data context; it is built in a scratch folder and swapped in whole, so the served site is never
half written. Per-run validation results are in ``ops.validation_results`` /
``ops.validation_history`` and the plugin's quarantine pages.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from parkops.config import expectations_dir, home_dir


def data_docs_dir() -> Path:
    configured = os.environ.get("PARKOPS_DATA_DOCS_DIR")
    return Path(configured).expanduser() if configured else home_dir() / "data" / "data_docs"


def build_data_docs(target: Path | None = None) -> Path:
    """Build the site from every suite in ``expectations/``; returns the folder holding index.html."""
    from parkops.quality.validation import _import_gx, _quiet_gx, load_suite

    target = target or data_docs_dir()
    gx = _import_gx()
    names = sorted(path.stem for path in expectations_dir().glob("*.json"))
    with tempfile.TemporaryDirectory(prefix="parkops-gx-") as scratch, _quiet_gx():
        context = gx.get_context(mode="file", project_root_dir=scratch)
        for name in names:
            context.suites.add(load_suite(name))
        context.build_data_docs()
        site = Path(scratch) / "gx" / "uncommitted" / "data_docs" / "local_site"
        if not (site / "index.html").is_file():
            raise RuntimeError(f"Great Expectations built no Data Docs site in {site}")
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=".data_docs-", dir=target.parent))
        shutil.copytree(site, staged, dirs_exist_ok=True)
    retired = target.with_name(f".{target.name}-old")
    shutil.rmtree(retired, ignore_errors=True)
    if target.exists():
        target.rename(retired)
    staged.rename(target)
    shutil.rmtree(retired, ignore_errors=True)
    return target


if __name__ == "__main__":
    print(f"Data Docs: {build_data_docs() / 'index.html'}")
