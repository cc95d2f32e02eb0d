"""Custom Great Expectations 1.x expectations used by the parkops suites (pandas engine only).

Importing this module imports great_expectations and registers the expectations below with GX's
expectation registry, so that suite JSON can name them by their snake-case type. Only the
validation path (``parkops.quality.validation``, at task execution time) imports it: DAG files
must never pay the multi-second GX import.

Why each one exists rather than a built-in:

* ``expect_column_values_to_be_valid_uscc`` -- the GB 32100-2015 rules (charset, authority/type
  table, embedded GB 11714 check character, final MOD 31 character) live in ``parkops.uscc``;
  no built-in expectation can express them.
* ``expect_column_values_to_be_iso_dates`` -- the built-in strftime expectation uses
  ``datetime.strptime("%Y-%m-%d")``, which also accepts ``2025-3-5`` and ``2025-03- 5``. The
  readers turn every accepted date format into zero-padded ISO text, so anything else is text
  they could not parse and must fail; downstream loaders rely on strict ``YYYY-MM-DD``.
* ``expect_column_pair_values_a_to_be_not_after_b`` -- the built-in pair comparison compares
  the raw strings, so invalid text such as ``3/5/2025`` would also be reported as "after the
  delivery day". Here rows where either side is not a valid ISO date are left to the format
  expectation and only real dates are compared.
* ``expect_column_values_to_have_tags_in_set`` -- a cell holds several ``;``-joined tags, each
  of which must belong to a reference set passed at run time (``$PARAMETER``).

Nulls: column map expectations skip missing values (GX filters them before the metric runs);
required columns have their own not-null expectations.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from datetime import date
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
from great_expectations.core.suite_parameters import SuiteParameterDict
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation, ColumnPairMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    ColumnPairMapMetricProvider,
    column_condition_partial,
    column_pair_condition_partial,
)
from great_expectations.expectations.model_field_types import ValueSetField

from parkops.uscc import is_valid_uscc

_ISO_DATE_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

#: Separator the readers use when re-joining qualification tags.
TAG_DELIMITER = ";"


def parse_iso_date(value: object) -> date | None:
    """The calendar date of strict ``YYYY-MM-DD`` text, or None (wrong shape, or no such day)."""
    if not isinstance(value, str) or not _ISO_DATE_SHAPE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:  # e.g. 2025-02-30: right shape, not a real day
        return None


def unknown_tags(value: object, allowed: Collection[str], delimiter: str = TAG_DELIMITER) -> list[str]:
    """Tags of a joined cell that are not in ``allowed``, in cell order (empty segments count as unknown)."""
    if not isinstance(value, str):
        return []
    allowed_set = frozenset(allowed)
    return [tag for tag in value.split(delimiter) if tag not in allowed_set]


def _boolean_series(column: pd.Series, predicate: Callable[[object], bool]) -> pd.Series:
    """Apply a per-value predicate once per *distinct* value; return a ``bool`` Series on the column's index.

    Source columns repeat a lot (a few distinct dates, parks and tags per file; an enterprise's
    code in many events), so evaluating distinct values only is much cheaper than per row.
    The dtype is forced to ``bool`` because GX inverts the result with ``~``, which on an
    object-dtype series of Python bools would be bitwise (``~True == -2``).
    """
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    verdicts = np.fromiter((bool(predicate(value)) for value in uniques), dtype=bool, count=len(uniques))
    return pd.Series(verdicts[codes], index=column.index, dtype=bool)


def _iso_day_numbers(column: pd.Series) -> np.ndarray:
    """Per row, the ISO date as ``datetime64[D]``, NaT where the value is missing or not a strict ISO date."""
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    days = np.array([parse_iso_date(value) or "NaT" for value in uniques], dtype="datetime64[D]")
    return days[codes]


class ColumnValuesValidUscc(ColumnMapMetricProvider):
    """Metric: the value is a valid Unified Social Credit Code (``parkops.uscc``)."""

    condition_metric_name = "column_values.parkops_valid_uscc"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: object) -> pd.Series:
        return _boolean_series(column, is_valid_uscc)


class ExpectColumnValuesToBeValidUscc(ColumnMapExpectation):
    """Expect each non-null value to be a valid 统一社会信用代码 (GB 32100-2015).

    Checks the charset, the registration authority / entity type table, the embedded GB 11714
    check character (position 17) and the final MOD 31 check character (position 18). Which
    rule failed for a value is given by ``parkops.uscc.check_uscc(value).reason``.
    """

    map_metric: ClassVar[str] = "column_values.parkops_valid_uscc"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


class ColumnValuesIsoDate(ColumnMapMetricProvider):
    """Metric: the value is strict ``YYYY-MM-DD`` text naming a real calendar day."""

    condition_metric_name = "column_values.parkops_iso_date"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: object) -> pd.Series:
        return _boolean_series(column, lambda value: parse_iso_date(value) is not None)


class ExpectColumnValuesToBeIsoDates(ColumnMapExpectation):
    """Expect each non-null value to be a real date written exactly as ``YYYY-MM-DD``."""

    map_metric: ClassVar[str] = "column_values.parkops_iso_date"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


class ColumnPairValuesANotAfterB(ColumnPairMapMetricProvider):
    """Metric: the ISO date in column A is on or before the ISO date in column B.

    A row where either side is not a valid ISO date passes: the date-format expectation
    reports it, and reporting it twice (once as "after") would be misleading.
    """

    condition_metric_name = "column_pair_values.parkops_iso_date_a_not_after_b"

    # noinspection PyPep8Naming
    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_A: pd.Series, column_B: pd.Series, **kwargs: object) -> pd.Series:
        days_a, days_b = _iso_day_numbers(column_A), _iso_day_numbers(column_B)
        comparable = ~(np.isnat(days_a) | np.isnat(days_b))
        not_after = np.ones(len(days_a), dtype=bool)
        not_after[comparable] = days_a[comparable] <= days_b[comparable]
        return pd.Series(not_after, index=column_A.index, dtype=bool)


class ExpectColumnPairValuesAToBeNotAfterB(ColumnPairMapExpectation):
    """Expect the ISO date in ``column_A`` to be on or before the ISO date in ``column_B``.

    ``column_A`` is the column the rule is about (e.g. event_date), ``column_B`` the bound
    (e.g. delivery_date). Rows with a missing side are skipped per ``ignore_row_if``.
    """

    ignore_row_if: Literal["both_values_are_missing", "either_value_is_missing", "neither"] | SuiteParameterDict = (
        "either_value_is_missing"
    )

    map_metric: ClassVar[str] = "column_pair_values.parkops_iso_date_a_not_after_b"
    success_keys: ClassVar[tuple[str, ...]] = ("column_A", "column_B", "ignore_row_if", "mostly")
    args_keys: ClassVar[tuple[str, ...]] = ("column_A", "column_B")


class ColumnValuesTagsInSet(ColumnMapMetricProvider):
    """Metric: every ``delimiter``-separated tag of the value belongs to ``value_set``."""

    condition_metric_name = "column_values.parkops_tags_in_set"
    condition_value_keys = ("value_set", "delimiter")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, value_set: Collection[str], delimiter: str, **kwargs: object) -> pd.Series:
        allowed = frozenset(value_set)
        return _boolean_series(column, lambda value: not unknown_tags(value, allowed, delimiter))


class ExpectColumnValuesToHaveTagsInSet(ColumnMapExpectation):
    """Expect each tag of a ``;``-joined multi-tag value to belong to ``value_set``."""

    value_set: ValueSetField
    delimiter: str = TAG_DELIMITER

    map_metric: ClassVar[str] = "column_values.parkops_tags_in_set"
    success_keys: ClassVar[tuple[str, ...]] = ("value_set", "delimiter", "mostly")
    args_keys: ClassVar[tuple[str, ...]] = ("column", "value_set", "delimiter")


class ColumnPairValuesANotBeforeB(ColumnPairMapMetricProvider):
    """Metric: the ISO date in column A is on or after the ISO date in column B (dates only)."""

    condition_metric_name = "column_pair_values.parkops_iso_date_a_not_before_b"

    # noinspection PyPep8Naming
    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_A: pd.Series, column_B: pd.Series, **kwargs: object) -> pd.Series:
        days_a, days_b = _iso_day_numbers(column_A), _iso_day_numbers(column_B)
        comparable = ~(np.isnat(days_a) | np.isnat(days_b))
        not_before = np.ones(len(days_a), dtype=bool)
        not_before[comparable] = days_a[comparable] >= days_b[comparable]
        return pd.Series(not_before, index=column_A.index, dtype=bool)


class ExpectColumnPairValuesAToBeNotBeforeB(ColumnPairMapExpectation):
    """Expect the ISO date in ``column_A`` to be on or after the one in ``column_B``.

    ``column_A`` is the column the rule is about (e.g. resolved_date), ``column_B`` the bound
    (raised_date). The built-in pair comparison would compare text, and report invalid dates
    a second time; here only real dates are compared.
    """

    ignore_row_if: Literal["both_values_are_missing", "either_value_is_missing", "neither"] | SuiteParameterDict = (
        "either_value_is_missing"
    )

    map_metric: ClassVar[str] = "column_pair_values.parkops_iso_date_a_not_before_b"
    success_keys: ClassVar[tuple[str, ...]] = ("column_A", "column_B", "ignore_row_if", "mostly")
    args_keys: ClassVar[tuple[str, ...]] = ("column_A", "column_B")


def _numbers(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


class ColumnPairValuesAAtMostB(ColumnPairMapMetricProvider):
    """Metric: the number in column A is at most the number in column B (non-numbers pass)."""

    condition_metric_name = "column_pair_values.parkops_number_a_at_most_b"

    # noinspection PyPep8Naming
    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_A: pd.Series, column_B: pd.Series, **kwargs: object) -> pd.Series:
        numbers_a, numbers_b = _numbers(column_A), _numbers(column_B)
        comparable = ~(np.isnan(numbers_a) | np.isnan(numbers_b))
        at_most = np.ones(len(numbers_a), dtype=bool)
        at_most[comparable] = numbers_a[comparable] <= numbers_b[comparable]
        return pd.Series(at_most, index=column_A.index, dtype=bool)


class ExpectColumnPairValuesAToBeAtMostB(ColumnPairMapExpectation):
    """Expect the number in ``column_A`` to be at most the one in ``column_B`` (e.g. funded <= incubatees).

    Values that are not numbers are left to the number-format expectations, which report them.
    """

    ignore_row_if: Literal["both_values_are_missing", "either_value_is_missing", "neither"] | SuiteParameterDict = (
        "either_value_is_missing"
    )

    map_metric: ClassVar[str] = "column_pair_values.parkops_number_a_at_most_b"
    success_keys: ClassVar[tuple[str, ...]] = ("column_A", "column_B", "ignore_row_if", "mostly")
    args_keys: ClassVar[tuple[str, ...]] = ("column_A", "column_B")
