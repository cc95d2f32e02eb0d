"""Great Expectations Data Docs of the suites and of each run's validation results (``make data-docs``).

The site, written to ``PARKOPS_DATA_DOCS_DIR`` (default ``data/data_docs``; relative: to
``PARKOPS_HOME``) and served in the Airflow UI by the parkops plugin (``/parkops/data-docs/``):

* one page per suite in ``expectations/`` (what each source table is checked against, rule by rule);
* one page per ingest run, feed and suite, for the latest ``latest_runs`` runs of each feed
  (default 30): GX's own validation-result page, built from ``ops.validation_results``
  aggregated over the file versions the run validated (per expectation: rows checked and rows
  unexpected summed over the files; an expectation succeeded when no row broke it), with the
  run id, feed, number of files and delivery range (``Show more info...`` on the page; the feed
  is the page's data asset). The index lists them newest first, with success or failure.

Retention: only the latest ``latest_runs`` runs per feed are in the site; ``ops.validation_results``
keeps every run (``ops.validation_history`` shows the same sums per run and expectation).

No row values reach the site: the results carry counts only, never GX's ``unexpected_list`` or
``partial_unexpected_list``. The quarantined rows may hold personal data and every Airflow user
can read these pages; the rows are in the plugin's quarantine pages, behind their own permission.

Offline: GX's pages load Bootstrap, jQuery, Font Awesome and friends from CDNs, and its logo from
S3 (with the data context id in the URL). The files are vendored in ``data_docs_assets/`` (see its
README), copied into the site as ``static/vendor/`` and the pages rewritten to load them by
relative paths, which work from the file system and under ``/parkops/data-docs/`` alike.

The warehouse is read once, read-only, before GX runs: on DuckDB it must not be held by a writer
(the read-only open fails while a writer process has the file). A warehouse that does not exist
yet, or has no ops tables yet, gives the suites alone. GX builds the site in a file data context
in a scratch folder; it is then swapped in whole, so the served site is never half written.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parkops.config import expectations_dir, home_dir

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult
    from great_expectations.data_context.types.resource_identifiers import ValidationResultIdentifier

log = logging.getLogger(__name__)

#: Vendored copies of the files GX 1.24's page templates load from CDNs, by the URL they use.
#: Two stand-ins: the same package's ``.min.css`` for an unminified ``.css`` (see the README).
ASSETS_DIR = Path(__file__).with_name("data_docs_assets")
CDN_ASSETS: dict[str, str] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap-4.3.1/css/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap-4.3.1/js/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "bootstrap-table-1.19.1/bootstrap-table.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "bootstrap-table-1.19.1/bootstrap-table.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        "bootstrap-table-1.19.1/extensions/filter-control/bootstrap-table-filter-control.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        "bootstrap-table-1.19.0/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        "bootstrap-table-1.19.0/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js-1.12.9/umd/popper.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "fontawesome-free-6.6.0/css/all.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "bootstrap-datepicker-1.9.0/css/bootstrap-datepicker.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "bootstrap-datepicker-1.9.0/js/bootstrap-datepicker.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        "bootstrap-dark-1.1.0/css/bootstrap-prefers-dark.min.css"
    ),
}
#: Where the vendored files go in the site (GX's own static files are under ``static/`` too).
VENDOR_DIR = "static/vendor"

#: Vega draws GX's charts (profiling, distributions); every page loads it, none of ours draws one
#: (the results carry counts only), so its script tags are dropped rather than ~1 MB vendored.
_VEGA_SCRIPT = re.compile(r'<script src="https://cdn\.jsdelivr\.net/npm/vega(?:-lite|-embed)?@\d+"></script>\s*')
_SCRIPT_TAG = re.compile(r'<script\b[^>]*\bsrc="(?P<url>https?://[^"]+)"[^>]*>')
_LINK_TAG = re.compile(r'<link\b[^>]*\bhref="(?P<url>https?://[^"]+)"[^>]*>')
#: SRI and CORS attributes of the CDN tags: a browser refuses ``crossorigin`` loads from file://.
_CDN_ATTRIBUTES = re.compile(r'\s+(?:integrity|crossorigin)="[^"]*"')
#: GX's logo on S3, with a ``?d=...&dataContextId=...`` query on the img; the site has its own copy.
_GX_WEB_ASSET = re.compile(
    r"https://great-expectations-web-assets\.s3\.us-east-2\.amazonaws\.com/[\w.-]+(?:\?[^\"')\s]*)?"
)
_LOCAL_LOGO = "static/images/logo-long.png"
#: GX 1.24 points validation pages one level short of the site's favicon (3 "../" for 4 levels).
_FAVICON = re.compile(r'href="(?:\./|(?:\.\./)*)static/images/favicon\.ico"')
#: Anything a page or stylesheet would still load from elsewhere (links to GX's docs are fine).
_EXTERNAL_RESOURCE = re.compile(
    r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)=[\"']?(?P<tag>(?:https?:)?//[^\"'\s>]+)"
    r"|url\(\s*[\"']?(?P<css>(?:https?:)?//[^\"')\s]+)",
    re.IGNORECASE,
)

#: The ops tables the results are read from.
_OPS_TABLES = ("validation_results", "file_audit")

#: Per run, feed and suite: how many file versions the run validated, their deliveries, when the
#: run processed its last one. Joined to the audit row the run wrote in the same transaction
#: (a file version read again by a later run has one audit row per run).
_RUN_SUITES_QUERY = """
with files as (
    select distinct feed, run_id, suite_name, source_file, source_sha256
    from ops.validation_results
), audit as (
    select feed, run_id, source_file, source_sha256,
        min(delivery_date) as delivery_date, max(processed_at) as processed_at
    from ops.file_audit
    group by feed, run_id, source_file, source_sha256
)
select files.feed, files.run_id, files.suite_name, count(*) as files_validated,
    min(audit.delivery_date) as first_delivery, max(audit.delivery_date) as last_delivery,
    max(audit.processed_at) as finished_at
from files
inner join audit
    on audit.feed = files.feed and audit.run_id = files.run_id
    and audit.source_file = files.source_file and audit.source_sha256 = files.source_sha256
group by files.feed, files.run_id, files.suite_name
"""

#: Per run, feed, suite and expectation: the sums the page shows (as ops.validation_history).
_RULE_TOTALS_QUERY = """
select feed, run_id, suite_name, rule, expectation_type,
    coalesce(sum(element_count), 0) as element_count,
    coalesce(sum(unexpected_count), 0) as unexpected_count
from ops.validation_results
where run_id in :run_ids
group by feed, run_id, suite_name, rule, expectation_type
"""


def data_docs_dir() -> Path:
    """``PARKOPS_DATA_DOCS_DIR`` (relative: to ``PARKOPS_HOME``), default ``<PARKOPS_HOME>/data/data_docs``.

    Resolved as the UI plugin resolves it, so the site is built where the plugin serves it from.
    """
    configured = os.environ.get("PARKOPS_DATA_DOCS_DIR")
    if not configured:
        return home_dir() / "data" / "data_docs"
    path = Path(configured).expanduser()
    return path if path.is_absolute() else home_dir() / path


@dataclass(frozen=True)
class RuleTotal:
    """One expectation's figures in one run, summed over the run's file versions."""

    rule: str | None
    expectation_type: str
    element_count: int
    unexpected_count: int


@dataclass
class RunSuiteResult:
    """What one ingest run of one feed validated against one suite."""

    feed: str
    run_id: str
    suite_name: str
    files_validated: int
    first_delivery: dt.date
    last_delivery: dt.date
    finished_at: dt.datetime
    rules: list[RuleTotal] = field(default_factory=list)


def read_run_results(warehouse_url: str | None = None, latest_runs: int = 30) -> list[RunSuiteResult]:
    """The latest ``latest_runs`` runs of each feed from ``ops.validation_results``, per suite.

    A run's time is when it processed the last file version it validated (ops.file_audit); runs
    are newest first within a feed. Empty when the warehouse or its ops tables do not exist yet.
    """
    import sqlalchemy as sa

    from parkops.config import warehouse_url as configured_url
    from parkops.warehouse import create_warehouse_engine

    if latest_runs < 0:
        raise ValueError(f"latest_runs must be 0 or more, not {latest_runs}")
    url = warehouse_url or configured_url()
    if latest_runs == 0 or not _warehouse_exists(url):
        return []
    engine = create_warehouse_engine(url, read_only=True)
    try:
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            if not all(inspector.has_table(table, schema="ops") for table in _OPS_TABLES):
                return []
            runs = _latest_runs(
                [RunSuiteResult(**row._asdict()) for row in connection.execute(sa.text(_RUN_SUITES_QUERY))],
                latest_runs,
            )
            if not runs:
                return []
            totals = sa.text(_RULE_TOTALS_QUERY).bindparams(sa.bindparam("run_ids", expanding=True))
            by_key = {(run.feed, run.run_id, run.suite_name): run for run in runs}
            for row in connection.execute(totals, {"run_ids": sorted({run.run_id for run in runs})}):
                run = by_key.get((row.feed, row.run_id, row.suite_name))
                # The same run id in another feed (Airflow names scheduled runs by their date) is not this run.
                if run is not None:
                    run.rules.append(
                        RuleTotal(row.rule, row.expectation_type, int(row.element_count), int(row.unexpected_count))
                    )
    finally:
        engine.dispose()
    return runs


def _warehouse_exists(url: str) -> bool:
    """False for a DuckDB file not created yet (a read-only open cannot create it) or in memory."""
    import sqlalchemy as sa

    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "duckdb":
        return True
    database = parsed.database
    return bool(database) and database != ":memory:" and Path(database).is_file()


def _latest_runs(run_suites: list[RunSuiteResult], latest_runs: int) -> list[RunSuiteResult]:
    """The (run, suite) results of each feed's ``latest_runs`` newest runs, newest first."""
    finished: dict[tuple[str, str], dt.datetime] = {}
    for item in run_suites:
        key = (item.feed, item.run_id)
        finished[key] = max(finished.get(key, item.finished_at), item.finished_at)
    by_feed: dict[str, list[tuple[dt.datetime, str]]] = defaultdict(list)
    for (feed, run_id), at in finished.items():
        by_feed[feed].append((at, run_id))
    kept = {(feed, run_id) for feed, runs in by_feed.items() for _, run_id in sorted(runs, reverse=True)[:latest_runs]}
    selected = [item for item in run_suites if (item.feed, item.run_id) in kept]
    return sorted(selected, key=lambda item: (item.feed, finished[(item.feed, item.run_id)], item.suite_name))


def validation_result(
    run: RunSuiteResult, suite: ExpectationSuite
) -> tuple[ValidationResultIdentifier, ExpectationSuiteValidationResult]:
    """GX's result for ``run`` against ``suite``, and the store key its page is built from.

    Each stored rule is matched to the suite's expectation carrying it in ``meta.rule`` (as
    :func:`parkops.quality.validation.load_suite` builds them), so GX renders the expectation
    with its real kwargs. A rule the suite no longer has (or now checks with another
    expectation type) still counts towards the run's success and is named in the page's info.
    """
    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    expectations = {(expectation.meta or {}).get("rule"): expectation for expectation in suite.expectations}
    totals = {(total.rule, total.expectation_type): total for total in run.rules}
    results = []
    for rule, expectation in expectations.items():
        total = totals.pop((rule, expectation.expectation_type), None)
        if total is None:  # not evaluated in this run (a rule added to the suite since)
            continue
        results.append(
            ExpectationValidationResult(
                success=total.unexpected_count == 0,
                expectation_config=expectation.configuration,
                result=_counts(total),
            )
        )
    unmatched = sorted(totals.values(), key=lambda total: (total.rule or "", total.expectation_type))
    successful = sum(1 for result in results if result.success)
    batch_spec: dict[str, Any] = {
        "data_asset_name": run.feed,
        "ingest run": run.run_id,
        "files validated": run.files_validated,
        "deliveries": _delivery_range(run.first_delivery, run.last_delivery),
        "last file processed at (UTC)": run.finished_at.isoformat(sep=" ", timespec="seconds"),
    }
    if unmatched:
        batch_spec["rules no longer in the suite"] = "; ".join(
            f"{total.rule} ({total.expectation_type}): {total.unexpected_count} of {total.element_count} unexpected"
            for total in unmatched
        )
    # ops.file_audit.processed_at is UTC without a zone (a naive datetime from both engines).
    finished = run.finished_at if run.finished_at.tzinfo else run.finished_at.replace(tzinfo=dt.UTC)
    run_identifier = RunIdentifier(run_name=run.run_id, run_time=finished)
    result = ExpectationSuiteValidationResult(
        success=successful == len(results) and all(total.unexpected_count == 0 for total in unmatched),
        results=results,
        suite_name=suite.name,
        statistics={
            "evaluated_expectations": len(results),
            "successful_expectations": successful,
            "unsuccessful_expectations": len(results) - successful,
            "success_percent": 100.0 * successful / len(results) if results else None,
        },
        meta={"run_id": run_identifier, "great_expectations_version": gx.__version__, "batch_spec": batch_spec},
    )
    # GX stores and renders a result under <suite>/<run name>/<run time>/<batch id>: a "/" in an
    # Airflow run id (user-chosen for manual runs) would add a level and break the key's parsing.
    key_run = RunIdentifier(run_name=run.run_id.replace("/", "_"), run_time=run_identifier.run_time)
    # The index's "Batch ID" column (and the page's file name): the feed and its deliveries.
    batch = "_".join(dict.fromkeys([run.feed, run.first_delivery.isoformat(), run.last_delivery.isoformat()]))
    return ValidationResultIdentifier(ExpectationSuiteIdentifier(name=suite.name), key_run, batch), result


def _counts(total: RuleTotal) -> dict[str, Any]:
    """The counts GX's renderers read; no unexpected values, on purpose (see the module docstring)."""
    percent = 100.0 * total.unexpected_count / total.element_count if total.element_count else 0.0
    return {
        "element_count": total.element_count,
        "unexpected_count": total.unexpected_count,
        "unexpected_percent": percent,
        "unexpected_percent_total": percent,
    }


def _delivery_range(first: dt.date, last: dt.date) -> str:
    return first.isoformat() if first == last else f"{first.isoformat()} .. {last.isoformat()}"


def _with_rule_labels(suite: ExpectationSuite) -> ExpectationSuite:
    """Each expectation's notes give its rule's Chinese label and id (GX shows notes under the expectation)."""
    from parkops.quality.rule_labels import rule_label

    for expectation in suite.expectations:
        rule = (expectation.meta or {})["rule"]
        expectation.notes = f"规则：{rule_label(rule)}（{rule}）"
    return suite


def build_data_docs(target: Path | None = None, *, warehouse_url: str | None = None, latest_runs: int = 30) -> Path:
    """Build the site (suites, and the latest ``latest_runs`` runs of each feed); returns its folder.

    ``warehouse_url`` defaults to ``PARKOPS_WAREHOUSE_URL``. Opens the warehouse read-only (on
    DuckDB: not while a writer holds the file), before GX starts.
    """
    from parkops.quality.validation import _import_gx, _quiet_gx, load_suite

    target = target or data_docs_dir()
    runs = read_run_results(warehouse_url, latest_runs)
    gx = _import_gx()
    names = sorted(path.stem for path in expectations_dir().glob("*.json"))
    target.parent.mkdir(parents=True, exist_ok=True)
    # Built beside the target (same file system) so the finished site is renamed into place, not copied.
    with tempfile.TemporaryDirectory(prefix=f".{target.name}-build-", dir=target.parent) as scratch, _quiet_gx():
        context = gx.get_context(mode="file", project_root_dir=scratch)
        suites = {name: context.suites.add(_with_rule_labels(load_suite(name))) for name in names}
        stored = 0
        for run in runs:
            suite = suites.get(run.suite_name)
            if suite is None:
                log.warning(
                    "Data Docs: no suite %r any more; run %s of %s left out", run.suite_name, run.run_id, run.feed
                )
                continue
            context.validation_results_store.set(*validation_result(run, suite))
            stored += 1
        context.build_data_docs()
        site = Path(scratch) / "gx" / "uncommitted" / "data_docs" / "local_site"
        _check_built(site, names, stored)
        localise_assets(site)
        _swap_in(site, target, retired=Path(scratch) / "retired")
    return target


def _swap_in(site: Path, target: Path, *, retired: Path) -> None:
    """Replace ``target`` by ``site`` (same file system): two renames, the old site to ``retired``.

    Builds may finish together (one per ingest DAG): the swap holds an exclusive lock on the
    parent folder, so one build's renames never interleave with another's.
    """
    parent = os.open(target.parent, os.O_RDONLY)
    try:
        fcntl.flock(parent, fcntl.LOCK_EX)
        if target.exists():
            target.rename(retired)
        site.rename(target)
    finally:
        os.close(parent)  # releases the lock


def _check_built(site: Path, suite_names: list[str], validation_pages: int) -> None:
    """GX logs a page it failed to render and carries on: a missing page must fail the build instead."""
    if not (site / "index.html").is_file():
        raise RuntimeError(f"Great Expectations built no Data Docs site in {site}")
    missing = [name for name in suite_names if not (site / "expectations" / f"{name}.html").is_file()]
    built = sum(1 for _ in (site / "validations").rglob("*.html")) if (site / "validations").is_dir() else 0
    if missing or built != validation_pages:
        raise RuntimeError(
            f"Great Expectations rendered {built} of {validation_pages} validation pages"
            f"{' and no page for suites ' + ', '.join(missing) if missing else ''} (see its error log above)"
        )


def localise_assets(site: Path) -> None:
    """Copy the vendored files into ``site`` and point every page and stylesheet at them.

    Raises when a page would still load anything from another host (a GX upgrade that adds a
    CDN file): the site must work on a closed network, and an unstyled site would go unnoticed.
    """
    shutil.copytree(ASSETS_DIR, site / VENDOR_DIR, dirs_exist_ok=True)
    for path in sorted([*site.rglob("*.html"), *site.glob("static/styles/*.css")]):
        to_root = "../" * (len(path.relative_to(site).parts) - 1)
        text = path.read_text(encoding="utf-8")
        rewritten = _localise(text, to_root, draws_charts="vegaEmbed(" in text)
        external = sorted({match["tag"] or match["css"] for match in _EXTERNAL_RESOURCE.finditer(rewritten)})
        if external:
            raise RuntimeError(f"{path.relative_to(site)} would load {', '.join(external)}: vendor it in {ASSETS_DIR}")
        if rewritten != text:
            path.write_text(rewritten, encoding="utf-8")


def _localise(text: str, to_root: str, *, draws_charts: bool) -> str:
    if not draws_charts:
        text = _VEGA_SCRIPT.sub("", text)

    def vendored(match: re.Match[str]) -> str:
        url = match["url"]
        if url not in CDN_ASSETS:
            return match[0]  # reported by the caller's check
        return _CDN_ATTRIBUTES.sub("", match[0]).replace(url, f"{to_root}{VENDOR_DIR}/{CDN_ASSETS[url]}")

    text = _SCRIPT_TAG.sub(vendored, text)
    text = _LINK_TAG.sub(vendored, text)
    text = _FAVICON.sub(f'href="{to_root}static/images/favicon.ico"', text)
    return _GX_WEB_ASSET.sub(f"{to_root}{_LOCAL_LOGO}", text)


def vendored_paths() -> Mapping[str, Path]:
    """Each CDN URL's vendored file (for checks: every one must exist)."""
    return {url: ASSETS_DIR / relative for url, relative in CDN_ASSETS.items()}


if __name__ == "__main__":
    print(f"Data Docs: {build_data_docs() / 'index.html'}")
