"""Data quality: Great Expectations suites run on normalised pandas frames.

This package is imported by code that DAG files import, so importing it must stay light: it
never imports great_expectations (4-9 s) or pandas. ``validation`` imports them inside its
functions at task execution time, and ``uscc_expectation`` (which does import GX, to define
the custom expectations) is only imported from there.
"""

from parkops.quality.validation import (
    ROW_FAILURE_COLUMNS,
    SuiteExecutionError,
    ValidationReport,
    load_suite,
    validate_frame,
)

__all__ = ["ROW_FAILURE_COLUMNS", "SuiteExecutionError", "ValidationReport", "load_suite", "validate_frame"]
