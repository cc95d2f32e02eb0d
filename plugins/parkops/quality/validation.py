"""Validate a normalised source DataFrame against a Great Expectations suite, row by row.

This is the API the pipeline calls at task execution time:

* :func:`load_suite` builds a GX ``ExpectationSuite`` from ``expectations/<name>.json``.
* :func:`validate_frame` runs a suite on a pandas DataFrame and returns a :class:`ValidationReport`
  whose ``row_failures`` say, per source row, which rule failed and why (one line per failed
  expectation, so a row may appear several times).

Design constraints that shape this module:

* Importing it must stay cheap: DAG files import the pipeline, and ``import great_expectations``
  takes several seconds. GX (and pandas) are imported inside the functions, on first use.
* GX on DuckDB through SQLAlchemy is broken upstream, so only pandas DataFrames are validated.
* One ephemeral GX context and one pandas batch definition are built per process, and a suite
  is parsed once per process (again only if its JSON file changes), so validating many files
  in one task does not rebuild them.
* Reference sets (industry codes, park names, tags) are GX suite parameters
  (``{"$PARAMETER": "industry_codes"}`` in the JSON), supplied per call in ``suite_parameters``.
* The frame's index is the spreadsheet row number of each row; GX's ``unexpected_index_list``
  (result format COMPLETE) returns index labels, which become ``row_number`` unchanged.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parkops.config import expectations_dir
from parkops.quality.personal_data import PERSONAL_COLUMN_NAMES
from parkops.uscc import check_uscc

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.core import ExpectationSuite
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult

#: Columns of :attr:`ValidationReport.row_failures`, in order.
ROW_FAILURE_COLUMNS = ("row_number", "column", "value", "expectation", "rule", "reason")

#: Every meta key the suites must carry per expectation (ops views and tests key on them).
REQUIRED_META_KEYS = ("rule", "reason")

#: COMPLETE is the only result format whose ``unexpected_index_list`` is not truncated to
#: ``partial_unexpected_count`` rows; the index query string is not needed.
_RESULT_FORMAT: dict[str, Any] = {"result_format": "COMPLETE", "return_unexpected_index_query": False}

_GX_LOGGER_NAME = "great_expectations"


class SuiteExecutionError(RuntimeError):
    """An expectation could not be evaluated at all (as opposed to finding bad rows).

    GX catches such errors per expectation and reports them as an unsuccessful result; carrying
    on would quarantine or load rows on the strength of a check that never ran.
    """


@dataclass
class ValidationReport:
    """Outcome of validating one frame against one suite.

    ``row_failures`` has the columns of :data:`ROW_FAILURE_COLUMNS`: ``row_number`` (the frame's
    index label, i.e. the source row number), ``column`` (canonical column the rule is about;
    column A for pair rules), ``value`` (the frame's value of that column, None when missing),
    ``expectation`` (GX expectation type), ``rule`` (the suite's stable rule id) and ``reason``.
    ``expectation_results`` holds one JSON-serialisable dict per expectation for the ops history.
    """

    suite_name: str
    success: bool
    row_failures: pd.DataFrame
    expectation_results: list[dict[str, Any]]

    @property
    def failed_row_numbers(self) -> list[int]:
        """Distinct source row numbers with at least one failure, ascending."""
        return sorted({int(number) for number in self.row_failures["row_number"]})


@contextmanager
def _quiet_gx() -> Iterator[None]:
    """Keep GX from changing the process's logging while our GX calls run.

    * GX logs hundreds of INFO lines on import and context creation (docs decorators, store
      set-up) that would bury the task log: its own ``great_expectations`` logger is raised to
      WARNING for the duration of the call, then restored.
    * Several GX modules call ``logging.captureWarnings(True)`` when imported, which reroutes
      every Python warning of the process into logging; that is undone on exit unless warnings
      were already captured before.
    """
    gx_logger = logging.getLogger(_GX_LOGGER_NAME)
    previous_level = gx_logger.level
    previous_showwarning = warnings.showwarning
    if gx_logger.getEffectiveLevel() < logging.WARNING:
        gx_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        gx_logger.setLevel(previous_level)
        if warnings.showwarning is not previous_showwarning:
            logging.captureWarnings(False)
            warnings.showwarning = previous_showwarning


@cache
def _import_gx() -> Any:
    """Import great_expectations and register the parkops custom expectations, once per process."""
    # No usage statistics from pipeline workers; the context config below also says so.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    with _quiet_gx():
        import great_expectations

        # Imported for its side effect: registers the custom expectation types the suites name.
        import parkops.quality.uscc_expectation  # noqa: F401
    return great_expectations


@cache
def _batch_definition() -> BatchDefinition:
    """The per-process ephemeral context's whole-DataFrame batch definition.

    In-memory stores and no data-docs site (the default ephemeral config creates a temporary
    docs directory), progress bars off, analytics off.
    """
    gx = _import_gx()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    with _quiet_gx():
        context = gx.get_context(mode="ephemeral", project_config=config)
        asset = context.data_sources.add_pandas("parkops_frames").add_dataframe_asset("frame")
        return asset.add_batch_definition_whole_dataframe("whole_frame")


def suite_path(name: str) -> Path:
    """Where the suite JSON for ``name`` lives (``expectations/<name>.json``)."""
    return expectations_dir() / f"{name}.json"


def suite_column_labels(name: str) -> dict[str, str]:
    """Column -> its Chinese header (``meta.column_labels`` of suite ``name``), without building the suite."""
    document = json.loads(suite_path(name).read_text(encoding="utf-8"))
    return dict((document.get("meta") or {}).get("column_labels") or {})


def load_suite(name: str) -> ExpectationSuite:
    """Build the GX suite ``name`` from ``expectations/<name>.json``, failing loudly on any defect.

    Each expectation is built individually because ``ExpectationSuite(expectations=[...])`` only
    logs and *drops* an expectation whose type is unknown or whose kwargs are invalid; a silently
    shorter suite would let bad rows through.
    """
    path = suite_path(name)
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("name") != name:
        raise ValueError(f"{path}: suite name is {document.get('name')!r}, expected {name!r}")
    specs = document.get("expectations") or []
    if not specs:
        raise ValueError(f"{path}: suite has no expectations")
    rules = [_check_meta(path, position, spec) for position, spec in enumerate(specs, start=1)]
    duplicates = sorted({rule for rule in rules if rules.count(rule) > 1})
    if duplicates:
        raise ValueError(f"{path}: duplicate rule ids {', '.join(duplicates)}")

    _import_gx()
    from great_expectations.core import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    with _quiet_gx():
        expectations = [ExpectationConfiguration(**spec).to_domain_obj() for spec in specs]
        return ExpectationSuite(name=name, expectations=expectations, meta=document.get("meta") or {})


def _check_meta(path: Path, position: int, spec: Mapping[str, Any]) -> str:
    """Return the expectation's rule id after checking it carries every required meta key."""
    meta = spec.get("meta") or {}
    missing = [key for key in REQUIRED_META_KEYS if not meta.get(key)]
    if missing:
        raise ValueError(f"{path}: expectation #{position} ({spec.get('type')}) lacks meta {', '.join(missing)}")
    return str(meta["rule"])


_suite_cache: dict[str, tuple[int, ExpectationSuite]] = {}


def _cached_suite(name: str) -> ExpectationSuite:
    """The suite for ``name``, parsed once per process and again only when its file changes."""
    modified = suite_path(name).stat().st_mtime_ns
    cached = _suite_cache.get(name)
    if cached is None or cached[0] != modified:
        cached = (modified, load_suite(name))
        _suite_cache[name] = cached
    return cached[1]


def validate_frame(frame: pd.DataFrame, suite_name: str, suite_parameters: Mapping[str, object]) -> ValidationReport:
    """Validate ``frame`` (index = source row numbers) against suite ``suite_name``.

    ``suite_parameters`` supplies every ``$PARAMETER`` the suite uses, e.g.
    ``{"industry_codes": [...], "park_names": [...], "qualification_tags": [...]}``; sets and
    tuples are accepted. Extra keys are ignored so one parameter dict can serve several suites.

    Raises ValueError for a frame or parameters the suite cannot be run on (duplicate index,
    missing column, missing or empty parameter) and :class:`SuiteExecutionError` when GX could
    not evaluate an expectation; bad *values* never raise, they become ``row_failures``.
    """
    suite = _cached_suite(suite_name)
    parameters = _expectation_parameters(suite, suite_parameters)
    _check_frame(frame, suite)
    # GX reports unexpected rows as {index_name: label, column: value} dicts instead of plain
    # labels when the index is named; the labels themselves are what we need.
    frame = frame.rename_axis(None)

    with _quiet_gx():
        batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
        suite_result = batch.validate(suite, result_format=dict(_RESULT_FORMAT), expectation_parameters=parameters)

    column_labels: Mapping[str, str] = (suite.meta or {}).get("column_labels", {})
    failures: list[dict[str, Any]] = []
    summaries: list[dict[str, Any]] = []
    for outcome in suite_result.results:
        _raise_if_not_evaluated(suite_name, outcome)
        summary, outcome_failures = _interpret(frame, outcome, column_labels)
        summaries.append(summary)
        failures.extend(outcome_failures)

    return ValidationReport(
        suite_name=suite_name,
        success=bool(suite_result.success),
        row_failures=_failures_frame(failures),
        expectation_results=summaries,
    )


def _expectation_parameters(suite: ExpectationSuite, supplied: Mapping[str, object]) -> dict[str, object]:
    """The parameters GX needs, as lists; a missing or empty reference set is a caller error.

    An empty reference set (e.g. a seed that failed to load) would fail every non-null value
    and quarantine whole files for the wrong reason, so it is refused up front.
    """
    needed = set(suite.suite_parameter_options)
    missing = sorted(needed - set(supplied))
    if missing:
        raise ValueError(f"suite {suite.name!r} needs suite parameters: {', '.join(missing)}")
    parameters: dict[str, object] = {}
    for key in sorted(needed):
        value = supplied[key]
        if isinstance(value, set | frozenset | tuple | list):
            value = sorted(value) if isinstance(value, set | frozenset) else list(value)
            if not value:
                raise ValueError(f"suite {suite.name!r}: suite parameter {key!r} is empty")
        parameters[key] = value
    return parameters


def _expectation_columns(kwargs: Mapping[str, Any]) -> list[str]:
    """Columns an expectation reads, the one it is about first."""
    return [kwargs[key] for key in ("column", "column_A", "column_B") if kwargs.get(key)]


def _check_frame(frame: pd.DataFrame, suite: ExpectationSuite) -> None:
    """Refuse frames whose row numbers are ambiguous or that lack a column the suite reads."""
    if not frame.index.is_unique:
        raise ValueError("frame index must be unique source row numbers; found duplicates")
    needed = {
        column
        for expectation in suite.expectations
        for column in _expectation_columns(expectation.configuration.kwargs)
    }
    missing = sorted(needed - set(frame.columns))
    if missing:
        raise ValueError(f"suite {suite.name!r} needs columns missing from the frame: {', '.join(missing)}")


def _raise_if_not_evaluated(suite_name: str, outcome: ExpectationValidationResult) -> None:
    """Raise when GX caught an exception while computing the expectation's metrics.

    ``exception_info`` is either flat (``raised_exception``...) or, in 1.x, keyed by metric id
    with one such dict per failed metric.
    """
    info = outcome.exception_info or {}
    errors = [info] if "raised_exception" in info else [item for item in info.values() if isinstance(item, dict)]
    messages = [str(error.get("exception_message")) for error in errors if error.get("raised_exception")]
    if messages:
        config = outcome.expectation_config
        rule = (config.meta or {}).get("rule")
        raise SuiteExecutionError(f"suite {suite_name!r}: {config.type} ({rule}) could not run: {messages[0]}")


def _interpret(
    frame: pd.DataFrame, outcome: ExpectationValidationResult, column_labels: Mapping[str, str]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Turn one GX result into its history summary and its row failures."""
    import pandas as pd

    config = outcome.expectation_config
    kwargs, meta = config.kwargs, config.meta or {}
    column = _expectation_columns(kwargs)[0]
    result = outcome.result or {}
    summary = {
        "expectation_type": config.type,
        "rule": meta["rule"],
        "column": column,
        "success": bool(outcome.success),
        "element_count": int(result.get("element_count") or 0),
        "unexpected_count": int(result.get("unexpected_count") or 0),
        "reason": meta["reason"],
    }
    row_numbers = list(result.get("unexpected_index_list") or [])
    if summary["unexpected_count"] != len(row_numbers):
        raise SuiteExecutionError(
            f"{config.type} ({meta['rule']}): {summary['unexpected_count']} unexpected values "
            f"but {len(row_numbers)} row numbers returned"
        )
    values = frame.loc[row_numbers, column].tolist() if row_numbers else []
    explain = _VALUE_REASONS.get(config.type)
    label = f"{column_labels[column]} ({column})" if column in column_labels else column
    failures = []
    for row_number, value in zip(row_numbers, values, strict=True):
        original = None if pd.isna(value) else value
        # A value-dependent reason quotes the value: never for a personal column (named, not quoted).
        detail = explain(original, kwargs) if explain and column not in PERSONAL_COLUMN_NAMES else None
        failures.append(
            {
                "row_number": int(row_number),
                "column": column,
                "value": original,
                "expectation": config.type,
                "rule": meta["rule"],
                "reason": f"{label}: {detail}" if detail else meta["reason"],
            }
        )
    return summary, failures


def _uscc_detail(value: object, kwargs: Mapping[str, Any]) -> str | None:
    """Which GB 32100 rule the code breaks, e.g. the position-18 check character."""
    return check_uscc(value).reason


def _tags_detail(value: object, kwargs: Mapping[str, Any]) -> str | None:
    """Name the tags that are not in the reference set, and list the accepted ones."""
    from parkops.quality.uscc_expectation import TAG_DELIMITER, unknown_tags

    accepted = list(kwargs.get("value_set") or [])
    unknown = unknown_tags(value, accepted, kwargs.get("delimiter", TAG_DELIMITER))
    if not unknown:
        return None
    names = ", ".join(f"'{tag}'" if tag else "(empty tag)" for tag in unknown)
    return f"unknown qualification tag {names}; accepted: {', '.join(accepted)}"


#: Expectation types whose reason depends on the failing value (else the suite's meta.reason).
_VALUE_REASONS: dict[str, Callable[[object, Mapping[str, Any]], str | None]] = {
    "expect_column_values_to_be_valid_uscc": _uscc_detail,
    "expect_column_values_to_have_tags_in_set": _tags_detail,
}


def _failures_frame(failures: list[dict[str, Any]]) -> pd.DataFrame:
    """Row failures sorted by row number (suite order within a row); ``value`` keeps None."""
    import pandas as pd

    data = {
        "row_number": pd.Series([item["row_number"] for item in failures], dtype="int64"),
        **{
            name: pd.Series([item[name] for item in failures], dtype=object)
            for name in ROW_FAILURE_COLUMNS
            if name != "row_number"
        },
    }
    frame = pd.DataFrame(data, columns=list(ROW_FAILURE_COLUMNS))
    return frame.sort_values("row_number", kind="stable").reset_index(drop=True)
