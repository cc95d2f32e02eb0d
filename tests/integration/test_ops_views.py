"""The on-call views over the ingestion's records (sql/ddl/70_ops_audit_views.sql) add up to the
records themselves, on both engines."""

from __future__ import annotations

from support.pipeline import rows, scalar


def test_load_runs_add_up_to_the_file_audit(five_week_warehouse):
    url = five_week_warehouse
    runs = rows(url, "select * from ops.load_runs")
    assert {run["feed"] for run in runs} == {"registrations", "visits", "incubator_reports", "manual_statistics"}
    for column in ("rows_received", "rows_loaded", "rows_quarantined"):
        assert sum(run[column] for run in runs) == scalar(url, f"select sum({column}) from ops.file_audit")
    assert sum(run["files_rejected"] for run in runs) == scalar(
        url, "select count(*) from ops.file_audit where status = 'rejected'"
    )
    assert all(run["rows_received"] == run["rows_loaded"] + run["rows_quarantined"] for run in runs)


def test_quarantine_by_rule_counts_every_quarantined_row_once(five_week_warehouse):
    url = five_week_warehouse
    by_rule = rows(url, "select * from ops.quarantine_by_rule")
    assert sum(row["rows_quarantined"] for row in by_rule) == scalar(url, "select count(*) from ops.quarantine") > 0
    sample = by_rule[0]
    assert (
        scalar(
            url,
            "select count(*) from ops.quarantine where feed = :feed and delivery_date = :day and rule = :rule "
            "and source_file = :file and row_number = :row",
            {
                "feed": sample["feed"],
                "day": sample["delivery_date"],
                "rule": sample["rule"],
                "file": sample["sample_file"],
                "row": sample["sample_row_number"],
            },
        )
        >= 1
    )


def test_validation_history_keeps_every_expectation_of_every_run(five_week_warehouse):
    url = five_week_warehouse
    history = rows(url, "select * from ops.validation_history")
    assert sum(row["file_versions"] for row in history) == scalar(url, "select count(*) from ops.validation_results")
    failing = [row for row in history if row["file_versions_failed"]]
    assert failing and all(row["unexpected"] > 0 for row in failing)
    assert {row["suite_name"] for row in history} >= {"registrations", "visits", "visit_needs", "incubator_reports"}
