"""The registrations pipeline end to end, on DuckDB and PostgreSQL, against an independent recount.

Landing files come from the sample generator (12 delivery days, ~2 % row defects, one
undecodable file, one file missing a required column, one byte-identical redelivery). The
expectation is computed from those files alone by ``support.independent`` (its own reader,
USCC check and seed reading), never from the pipeline's code.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from support.independent import (
    LABELS,
    DailyCounts,
    Expectation,
    ExpectedFile,
    decode,
    expected_landing,
    load_reference,
    read_seed_csv,
    sha256_file,
)
from support.pipeline import dims_versus_seeds, rows, run_pipeline, scalar, snapshot, snapshot_diff

import parkops.reference
from parkops_tools.generator import RegistrationSettings, write_registrations

START = date(2025, 3, 3)
END = date(2025, 3, 14)  # 12 delivery days: enough for every file-level defect
SEED = 20250303


@pytest.fixture(scope="module")
def generated_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    landing = tmp_path_factory.mktemp("generated")
    write_registrations(
        RegistrationSettings(
            landing=landing,
            start=START,
            end=END,
            seed=SEED,
            defect_rate=0.02,
            events_per_day=150,
            population_size=3000,
        )
    )
    return landing


@pytest.fixture
def landing(generated_landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the generated files (tests rewrite some), set as PARKOPS_LANDING_DIR."""
    copy = tmp_path / "landing"
    shutil.copytree(generated_landing, copy)
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(copy))
    return copy


# --- checks shared by the tests -----------------------------------------------------------------


def mart_counts(url: str) -> dict[tuple[date, str], DailyCounts]:
    reference = load_reference()
    counts = {}
    for row in rows(url, "select * from mart.daily_new_tech_enterprises"):
        key = (row["date"], row["park_code"])
        assert key not in counts, f"mart.daily_new_tech_enterprises has {key} twice"
        assert row["park_name"] == reference.park_names.get(row["park_code"]), row
        counts[key] = DailyCounts(
            row["new_tech_enterprises"], row["new_tech_established"], row["new_tech_moved_in"], row["new_enterprises"]
        )
    return counts


def assert_mart_matches(url: str, expected: Expectation) -> None:
    actual = mart_counts(url)
    assert expected.daily, "the recount found no new enterprises: the test data is wrong"
    missing = sorted(set(expected.daily) - set(actual))[:10]
    extra = sorted(set(actual) - set(expected.daily))[:10]
    assert not missing, f"(date, park) cells missing from the mart: {missing}"
    assert not extra, f"unexpected (date, park) cells in the mart: {extra}"
    wrong = {key: (actual[key], expected.daily[key]) for key in expected.daily if actual[key] != expected.daily[key]}
    assert not wrong, f"{len(wrong)} (date, park) cells differ (actual, expected): {dict(list(wrong.items())[:10])}"


def current_audit(url: str) -> dict[str, dict]:
    """ops.file_audit rows that are not superseded, by source file."""
    audit: dict[str, dict] = {}
    for row in rows(url, "select * from ops.file_audit where status <> 'superseded'"):
        assert row["source_file"] not in audit, f"two current audit rows for {row['source_file']}"
        audit[row["source_file"]] = row
    return audit


def assert_file_accounting(url: str, expected: Expectation) -> None:
    every = rows(url, "select * from ops.file_audit")
    for row in every:
        assert row["rows_received"] == row["rows_loaded"] + row["rows_quarantined"], row
    audit = current_audit(url)
    assert set(audit) == set(expected.files)
    for name, file in expected.files.items():
        row = audit[name]
        assert row["source_sha256"] == file.sha256 == sha256_file(file.path), name
        assert row["delivery_date"] == file.delivery_date, name
        assert row["status"] == file.status, (name, row["reason"])
        assert (row["rows_received"], row["rows_loaded"], row["rows_quarantined"]) == (
            file.rows_received,
            file.rows_loaded,
            file.rows_quarantined,
        ), name
        if file.status == "loaded":
            assert row["encoding"] == file.encoding, name
            assert json.loads(row["unknown_columns"] or "[]") == file.unknown_columns, name
            assert row["reason"] is None, name
        elif file.status == "rejected":
            assert file.reject_detail is not None
            assert row["reason"], name
            if file.reject_rule == "missing_required_column":
                assert file.reject_detail in row["reason"], row["reason"]
            if file.reject_rule == "file_undecodable":
                assert "UTF-8" in row["reason"], row["reason"]
                assert "GB18030" in row["reason"], row["reason"]
        else:
            assert row["duplicate_of"] == file.duplicate_of, name
            assert file.duplicate_of in (row["reason"] or ""), row["reason"]


def assert_quarantine(url: str, expected: Expectation) -> None:
    found: dict[str, dict[int, set[tuple[str, str | None]]]] = {}
    for row in rows(url, "select * from ops.quarantine"):
        file = expected.files.get(row["source_file"])
        assert file is not None, f"quarantine row of an unknown or superseded file: {row}"
        assert row["source_sha256"] == file.sha256, row
        assert row["rule"], row
        assert (row["reason"] or "").strip(), row
        assert row["run_id"], row
        if row["row_number"] is None:  # a file-level entry: only for a rejected file
            assert file.status == "rejected", row
            continue
        assert row["record_json"], f"the quarantined row's content is lost: {row}"
        assert isinstance(json.loads(row["record_json"]), dict), row
        if row["column_name"] is not None:
            label = LABELS[row["column_name"]]
            assert label in row["reason"], f"the reason does not name the column {label}: {row['reason']}"
        found.setdefault(row["source_file"], {}).setdefault(row["row_number"], set()).add(
            (row["rule"], row["column_name"])
        )
    for name, file in expected.files.items():
        if file.status == "loaded":
            assert found.get(name, {}) == file.failures, name
        elif file.status == "rejected":
            by_row = found.get(name, {})
            assert set(by_row) == file.received_rows, name
            assert all(rules == {(file.reject_rule, None)} for rules in by_row.values()), (name, by_row)
        else:
            assert name not in found, f"a duplicate file has quarantine rows: {name}"


def assert_loaded_rows(url: str, expected: Expectation, run_ids: dict[str, str] | None = None) -> None:
    """raw and staging hold exactly the valid rows, each traceable to its file, row and run."""
    loaded_total = scalar(url, "select coalesce(sum(rows_loaded), 0) from ops.file_audit where status = 'loaded'")
    assert loaded_total == expected.valid_row_count
    for layer in ("raw", "staging"):
        table = rows(
            url,
            f"select source_file, source_sha256, source_row_number, delivery_date, run_id, uscc, enterprise_name "
            f"from {layer}.registrations",
        )
        assert len(table) == loaded_total, layer
        keys = [(row["source_file"], row["source_row_number"]) for row in table]
        assert len(set(keys)) == len(keys), f"{layer}: a source row is loaded twice"
        expected_keys = {
            (file.source_file, number) for file in expected.by_status("loaded") for number in file.valid_rows
        }
        assert set(keys) == expected_keys, layer
        for row in table:
            file = expected.files[row["source_file"]]
            valid = file.valid_rows[row["source_row_number"]]
            assert row["source_sha256"] == file.sha256, (layer, row)
            assert row["delivery_date"] == file.delivery_date, (layer, row)
            assert row["run_id"], (layer, row)
            if run_ids is not None:
                assert row["run_id"] == run_ids[row["source_file"]], (layer, row)
            assert row["uscc"] == (valid.raw_uscc if layer == "raw" else valid.uscc), (layer, row, valid)
            assert row["enterprise_name"] == valid.enterprise_name, (layer, row, valid)


def assert_core_consistent(url: str, expected: Expectation) -> None:
    # Core holds the published deliveries only: the quality gate keeps held ones in staging.
    published = sum(len(file.valid_rows) for file in expected.published())
    assert scalar(url, "select count(*) from core.fct_registration_events") == published
    new_tech = scalar(url, "select count(*) from core.fct_registration_events where is_new_tech_enterprise")
    recount = sum(
        1
        for file in expected.published()
        for row in file.valid_rows.values()
        if row.is_tech and row.event_type in ("设立", "迁入")
    )
    assert new_tech == recount
    # Current state: the latest valid event by (event_date, delivery day, file, row) of each enterprise.
    latest: dict[str, tuple] = {}
    for file in expected.published():
        for row in file.valid_rows.values():
            order = (row.event_date, file.delivery_date, file.source_file, row.row_number)
            if row.uscc not in latest or order > latest[row.uscc][0]:
                latest[row.uscc] = (order, row.event_type)
    current = {
        row["uscc"]: row["last_event_type"]
        for row in rows(url, "select uscc, last_event_type from core.dim_enterprise where is_current")
    }
    assert current == {uscc: event_type for uscc, (_, event_type) in latest.items()}


# --- tests ----------------------------------------------------------------------------------------


def test_pipeline_matches_the_independent_recount(use_warehouse: str, landing: Path):
    summary = run_pipeline("run-1", START, END)
    expected = expected_landing(landing, START, END)

    # The generated range exercises every file-level case.
    rejected = {file.reject_rule for file in expected.by_status("rejected")}
    assert rejected == {"file_undecodable", "missing_required_column"}
    assert len(expected.by_status("duplicate")) == 1
    assert sum(len(file.failures) for file in expected.by_status("loaded")) >= 20

    assert summary["files"] == len(expected.files)
    for status in ("loaded", "rejected", "duplicate"):
        assert summary[f"files_{status}"] == len(expected.by_status(status)), status
    assert summary["rows_loaded"] == expected.valid_row_count

    assert_mart_matches(use_warehouse, expected)
    assert_file_accounting(use_warehouse, expected)
    assert_quarantine(use_warehouse, expected)
    assert_loaded_rows(use_warehouse, expected, {name: "run-1" for name in expected.files})
    assert_core_consistent(use_warehouse, expected)
    assert dims_versus_seeds(use_warehouse) == []
    personal = {"legal_representative", "contact_phone", "address", "法定代表人", "联系电话", "注册地址"}
    mart_columns = rows(use_warehouse, "select column_name from information_schema.columns where table_schema = 'mart'")
    assert not personal & {row["column_name"] for row in mart_columns}


def test_reruns_change_nothing(use_warehouse: str, landing: Path):
    run_pipeline("run-1", START, END)
    before = snapshot(use_warehouse)
    assert before["staging.registrations"]
    assert before["mart.daily_new_tech_enterprises"]

    summary = run_pipeline("run-2-whole-range", START, END)
    assert summary["files_unchanged"] == summary["files"] > 0
    assert summary["rows_received"] == 0
    assert snapshot_diff(before, snapshot(use_warehouse)) == []

    summary = run_pipeline("run-3-overlap", START + timedelta(days=3), START + timedelta(days=8))
    assert summary["files_unchanged"] == summary["files"] > 0
    assert snapshot_diff(before, snapshot(use_warehouse)) == []


def _loaded_csv_to_correct(expected: Expectation) -> ExpectedFile:
    """A loaded CSV that no duplicate points at, with a new tech enterprise among its valid rows."""
    sources = {file.duplicate_of for file in expected.by_status("duplicate")}
    for file in expected.by_status("loaded"):
        suitable = file.path.suffix == ".csv" and file.source_file not in sources and len(file.valid_rows) >= 5
        if suitable and any(row.is_tech and row.event_type == "设立" for row in file.valid_rows.values()):
            return file
    raise AssertionError("no suitable CSV in the generated data")


def rewrite_csv(file: ExpectedFile, rename_row: int, drop_row: int, suffix: str = "（更正）") -> None:
    """Same name, new bytes: one row's enterprise name changed, another row removed; encoding kept."""
    data = file.path.read_bytes()
    text, encoding = decode(data)
    terminator = "\r\n" if "\r\n" in text else "\n"
    records = list(csv.reader(io.StringIO(text, newline="")))
    name_position = [cell.strip() for cell in records[0]].index("企业名称")
    records[rename_row - 1][name_position] = records[rename_row - 1][name_position].strip() + suffix
    del records[drop_row - 1]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=terminator).writerows(records)
    file.path.write_bytes(buffer.getvalue().encode("utf-8-sig" if encoding == "utf-8-sig" else encoding))


def test_corrected_redelivery_replaces_the_old_version(use_warehouse: str, landing: Path):
    run_pipeline("run-1", START, END)
    before = expected_landing(landing, START, END)
    target = _loaded_csv_to_correct(before)
    old_sha = target.sha256
    dropped = next(row for row in target.valid_rows.values() if row.is_tech and row.event_type == "设立")
    renamed = next(number for number in sorted(target.valid_rows) if number > dropped.row_number)

    rewrite_csv(target, renamed, dropped.row_number)
    summary = run_pipeline("run-2", START, END)
    after = expected_landing(landing, START, END)
    corrected = after.files[target.source_file]
    assert corrected.sha256 != old_sha
    assert summary["files_loaded"] == 1
    assert summary["files_unchanged"] == summary["files"] - 1

    versions = {
        row["source_sha256"]: row["status"]
        for row in rows(use_warehouse, "select * from ops.file_audit where source_file = :f", {"f": target.source_file})
    }
    assert versions == {old_sha: "superseded", corrected.sha256: "loaded"}
    for table in ("raw.registrations", "staging.registrations", "ops.quarantine"):
        left = scalar(use_warehouse, f"select count(*) from {table} where source_sha256 = :sha", {"sha": old_sha})
        assert left == 0, f"{table} still holds {left} rows of the superseded version"
    # The validation results are history: both versions' stay, each under the run that judged it.
    judged = rows(
        use_warehouse,
        "select distinct source_sha256, run_id from ops.validation_results where source_file = :f",
        {"f": target.source_file},
    )
    assert {(row["source_sha256"], row["run_id"]) for row in judged} == {
        (old_sha, "run-1"),
        (corrected.sha256, "run-2"),
    }
    staged = rows(
        use_warehouse,
        "select source_row_number, enterprise_name, run_id from staging.registrations where source_file = :f",
        {"f": target.source_file},
    )
    assert sorted(row["source_row_number"] for row in staged) == sorted(corrected.valid_rows)
    assert {row["run_id"] for row in staged} == {"run-2"}
    renamed_now = renamed - 1  # every row after the dropped one moved up by one
    assert corrected.valid_rows[renamed_now].enterprise_name.endswith("（更正）")
    assert {row["enterprise_name"] for row in staged if row["source_row_number"] == renamed_now} == {
        corrected.valid_rows[renamed_now].enterprise_name
    }
    fct_names = rows(
        use_warehouse,
        "select enterprise_name from core.fct_registration_events where source_file = :f and source_row_number = :n",
        {"f": target.source_file, "n": renamed_now},
    )
    assert [row["enterprise_name"] for row in fct_names] == [corrected.valid_rows[renamed_now].enterprise_name]

    assert after.daily != before.daily, "the correction should change the mart"
    assert_mart_matches(use_warehouse, after)
    assert_file_accounting(use_warehouse, after)
    assert_quarantine(use_warehouse, after)
    assert_loaded_rows(use_warehouse, after)
    assert_core_consistent(use_warehouse, after)

    settled = snapshot(use_warehouse)
    summary = run_pipeline("run-3", START, END)
    assert summary["files_unchanged"] == summary["files"]
    assert snapshot_diff(settled, snapshot(use_warehouse)) == []


def test_seed_edit_takes_effect_on_the_next_run(
    use_warehouse: str, landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Edit a copy of the seeds (the pipeline reads seeds from the repo: pointed at the copy by
    patching ``parkops.reference.seeds_dir``): a non-tech class becomes tech."""
    run_pipeline("run-1", START, END)
    original = expected_landing(landing, START, END)
    assert_mart_matches(use_warehouse, original)

    new_non_tech: dict[str, int] = {}
    for file in original.by_status("loaded"):
        for row in file.valid_rows.values():
            if row.event_type in ("设立", "迁入") and not row.is_tech and row.industry_code:
                new_non_tech[row.industry_code] = new_non_tech.get(row.industry_code, 0) + 1
    flipped = max(new_non_tech, key=lambda code: new_non_tech[code])

    seeds = tmp_path / "seeds"
    shutil.copytree(Path(parkops.reference.seed_path("parks")).parent, seeds)
    classes = read_seed_csv("industry_classes", seeds)
    for row in classes:
        if row["class_code"] == flipped:
            row["is_tech"] = "true"
    with (seeds / "industry_classes.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(classes[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(classes)
    monkeypatch.setattr(parkops.reference, "seeds_dir", lambda: seeds)

    run_pipeline("run-2", START, END)
    edited = expected_landing(landing, START, END, seeds_dir=seeds)
    assert edited.daily != original.daily
    assert dims_versus_seeds(use_warehouse, seeds) == []
    assert_mart_matches(use_warehouse, edited)
    assert_core_consistent(use_warehouse, edited)


def test_original_bytes_delivered_again_after_a_correction_replace_it(use_warehouse: str, landing: Path):
    """A -> B -> A under one name: the file now holds A again, so the warehouse must hold A's rows."""
    everything = expected_landing(landing, START, END)
    target = _loaded_csv_to_correct(everything)
    day = target.delivery_date
    original_bytes = target.path.read_bytes()
    run_pipeline("run-a", day, day)
    dropped = next(iter(sorted(target.valid_rows)))
    renamed = next(number for number in sorted(target.valid_rows) if number > dropped)
    rewrite_csv(target, renamed, dropped)
    run_pipeline("run-b", day, day)
    target.path.write_bytes(original_bytes)
    run_pipeline("run-a-again", day, day)

    expected = expected_landing(landing, day, day)
    assert expected.files[target.source_file].sha256 == target.sha256
    assert current_audit(use_warehouse)[target.source_file]["source_sha256"] == target.sha256
    assert_loaded_rows(use_warehouse, expected)
    assert_mart_matches(use_warehouse, expected)
