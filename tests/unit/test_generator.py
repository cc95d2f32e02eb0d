"""The sample generator: reproducible bytes, contract-conformant rows, and every defect on purpose.

The files are re-read here with a deliberately small, independent reader (not the pipeline's),
and each row is classified against the rules of sources.md. The classification must match
the generator's own defect ledger exactly: that proves non-defective rows are valid and that
each defective row breaks exactly the one rule it claims to.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections import Counter
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from support import independent
from support.independent import classify, fold, is_tech, uscc_problem

from parkops_tools.generator.__main__ import main
from parkops_tools.generator.defects import ROW_DEFECT_KINDS
from parkops_tools.generator.registrations import RegistrationSettings, RegistrationSummary, write_registrations
from parkops_tools.generator.workdays import is_workday

START = date(2025, 1, 2)
END = date(2025, 1, 21)  # 20 delivery days
SEED = 20250101
MAX_LAG = 7


def sha256_tree(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RegistrationSummary]:
    landing = tmp_path_factory.mktemp("landing")
    settings = RegistrationSettings(landing=landing, start=START, end=END, seed=SEED, defect_rate=0.02)
    return landing, write_registrations(settings)


# --- the independent reader and classifier live in tests/support/independent.py ----------------


@cache
def read_file(path: Path) -> tuple[list[str], list[dict[str, object]]]:
    return independent.read_file(path)


def delivery_of(path: Path) -> date:
    return date.fromisoformat(path.parent.name)


def is_redelivered(path: Path) -> bool:
    return path.name[4:12] != path.parent.name.replace("-", "")


# --- tests ---------------------------------------------------------------------------------


def test_same_arguments_give_byte_identical_files(generated, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    landing, _ = generated
    exit_code = main(
        [
            "registrations",
            "--landing",
            str(tmp_path),
            "--from",
            str(START),
            "--to",
            str(END),
            "--seed",
            str(SEED),
            "--defect-rate",
            "0.02",
        ]
    )
    assert exit_code == 0
    output = capsys.readouterr().out
    assert "rows" in output
    assert "uscc_bad_final_check" in output
    first, second = sha256_tree(landing), sha256_tree(tmp_path)
    assert first
    assert first == second
    # Every delivery day of the range has its folder, and only generator files are there.
    folders = sorted(p.name for p in (landing / "registrations").iterdir())
    assert folders == [(START + timedelta(days=i)).isoformat() for i in range((END - START).days + 1)]
    assert all(re.fullmatch(r"registrations/[\d-]{10}/reg_\d{8}_\d{2}\.(csv|xlsx)", name) for name in first)


def test_xlsx_timestamps_are_fixed(generated):
    landing, _ = generated
    workbook = next((landing / "registrations").rglob("*.xlsx"))
    with zipfile.ZipFile(workbook) as archive:
        assert {info.date_time for info in archive.infolist()} == {(*_ymd(workbook), 6, 30, 0)}
        core = archive.read("docProps/core.xml").decode()
    stamp = f"{workbook.parent.name}T06:30:00Z"
    assert f">{stamp}</dcterms:created>" in core
    assert f">{stamp}</dcterms:modified>" in core


def _ymd(path: Path) -> tuple[int, int, int]:
    day = delivery_of(path)
    return day.year, day.month, day.day


def test_every_file_arrived_long_ago_redeliveries_included(generated):
    """A sample delivery arrived in full: each file's modification time is its delivery's export
    time (06:30 Shanghai), so the pipeline's settle check takes it at once, with no wait."""
    import time
    from zoneinfo import ZoneInfo

    landing, summary = generated
    assert any(is_redelivered(landing / report.path) for report in summary.files)
    hour_ago = time.time() - 3600
    for report in summary.files:
        path = landing / report.path
        exported = datetime.combine(delivery_of(path), datetime.min.time().replace(hour=6, minute=30))
        arrived = exported.replace(tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
        assert path.stat().st_mtime == pytest.approx(min(arrived, hour_ago), abs=5), report.path


def test_rerun_overwrites_without_leftovers(tmp_path: Path):
    def run(seed: int) -> RegistrationSummary:
        settings = RegistrationSettings(
            landing=tmp_path,
            start=START,
            end=START + timedelta(days=3),
            seed=seed,
            events_per_day=60,
            population_size=2000,
        )
        return write_registrations(settings)

    run(1)
    first = sha256_tree(tmp_path)
    run(2)
    assert sha256_tree(tmp_path) != first
    run(1)
    assert sha256_tree(tmp_path) == first


def test_rows_match_the_defect_ledger_exactly(generated):
    """Valid rows break no rule; each defective row breaks exactly its one rule; all kinds occur."""
    landing, summary = generated
    rejected = {f.path for f in summary.files if f.file_defect in {"missing_column", "undecodable"}}
    found: Counter[str] = Counter()
    for path in sorted((landing / "registrations").rglob("reg_*")):
        relative = str(path.relative_to(landing))
        if relative in rejected or is_redelivered(path):
            continue
        _, rows = read_file(path)
        for row in rows:
            kinds = classify(row, delivery_of(path))
            assert len(kinds) <= 1, (relative, row, kinds)
            found.update(kinds)
    assert found == summary.row_defects
    assert set(found) == set(ROW_DEFECT_KINDS)


def test_file_level_defects(generated):
    landing, summary = generated
    defects = summary.file_defects()
    assert set(defects) == {"missing_column", "undecodable", "redelivery"}
    days = {kind: delivery_of(landing / path) for kind, path in defects.items()}
    assert START not in days.values()
    assert len(set(days.values())) == 3

    undecodable = (landing / defects["undecodable"]).read_bytes()
    for encoding in ("utf-8", "gb18030"):
        with pytest.raises(UnicodeDecodeError):
            undecodable.decode(encoding)

    headers, _ = read_file(landing / defects["missing_column"])
    assert "事件日期" not in headers
    assert "统一社会信用代码" in headers

    redelivered = landing / defects["redelivery"]
    original = landing / "registrations" / date(*_name_date(redelivered)).isoformat() / redelivered.name
    assert original != redelivered
    assert original.read_bytes() == redelivered.read_bytes()


def _name_date(path: Path) -> tuple[int, int, int]:
    stamp = path.name[4:12]
    return int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8])


def test_contract_variety_is_present(generated):
    landing, _ = generated
    files = sorted((landing / "registrations").rglob("reg_*"))
    suffixes = Counter(p.suffix for p in files)
    assert suffixes[".csv"]
    assert suffixes[".xlsx"]
    raw = [p.read_bytes() for p in files if p.suffix == ".csv"]
    assert any(b.startswith(b"\xef\xbb\xbf") for b in raw)
    assert any(_decodes_only_as_gb18030(b) for b in raw)
    orders = set()
    texts = []
    excel_date_cells = 0
    for path in files:
        if is_redelivered(path) or (path.name.endswith(".csv") and not _decodes(path.read_bytes())):
            continue
        headers, rows = read_file(path)
        orders.add(tuple(headers))
        texts.extend(str(v) for row in rows for v in row.values() if v is not None)
        excel_date_cells += sum(isinstance(v, datetime) for row in rows for v in row.values())
    assert len(orders) > 3
    assert excel_date_cells, "real Excel date cells"
    assert any(set(h) - set(_contract_headers()) for h in orders), "some file carries an unknown column"
    joined = "\n".join(texts)
    for pattern in (r"\d{4}-\d{2}-\d{2}", r"\d{4}/\d{1,2}/\d{1,2}", r"\b20\d{6}\b", r"\d{4}年\d{1,2}月\d{1,2}日"):
        assert re.search(pattern, joined), pattern
    assert re.search(r"\d,\d{3}", joined), "thousands separators"
    assert re.search(r"[０-９]", joined), "full-width digits"
    assert re.search(r"\b[A-T]\d{4}\b", joined), "industry code with section letter"
    assert any(sep in joined for sep in ("；", "、")), "Chinese tag separators"


def _contract_headers() -> list[str]:
    from parkops_tools.generator.rendering import FIELD_HEADERS

    return list(FIELD_HEADERS.values())


def _decodes(data: bytes) -> bool:
    for encoding in ("utf-8", "gb18030"):
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return True
    return False


def _decodes_only_as_gb18030(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return _decodes(data)
    return False


def test_volume_rhythm_and_enterprise_state(generated):
    """New tech firms per working day in range, weekends far lower, and state discipline:
    no valid event after a firm has ended, at most one valid event per firm and date, and
    firms created by quarantined or rejected rows never appear again."""
    landing, summary = generated
    rejected = {f.path for f in summary.files if f.file_defect in {"missing_column", "undecodable"}}
    new_tech: Counter[date] = Counter()
    valid_events: list[tuple[date, str, str]] = []
    phantom_usccs: set[str] = set()
    for path in sorted((landing / "registrations").rglob("reg_*")):
        relative = str(path.relative_to(landing))
        if is_redelivered(path) or (relative in rejected and path.suffix == ".csv" and not _decodes(path.read_bytes())):
            continue
        _, rows = read_file(path)
        for row in rows:
            code = independent.code_text(row["统一社会信用代码"])
            event_type = fold(row["事件类型"])
            if relative in rejected or classify(row, delivery_of(path)):
                if event_type in {"设立", "迁入"} and uscc_problem(code) is None:
                    phantom_usccs.add(code)
                continue
            event_date = independent.parse_date(row["事件日期"])
            assert event_date is not None
            assert event_date <= delivery_of(path)
            valid_events.append((event_date, code, event_type))
            if event_type in {"设立", "迁入"} and is_tech(row):
                new_tech[event_date] += 1

    full_days = [START + timedelta(days=i) for i in range((END - START).days - MAX_LAG + 1)]
    workdays = [d for d in full_days if is_workday(d)]
    off_days = [d for d in full_days if not is_workday(d)]
    assert workdays
    assert off_days
    for day in workdays:
        assert 120 <= new_tech[day] <= 280, (day, new_tech[day])
    mean_workday = sum(new_tech[d] for d in workdays) / len(workdays)
    for day in off_days:
        assert new_tech[day] < 0.25 * mean_workday, (day, new_tech[day])

    ended: dict[str, date] = {}
    seen: set[tuple[str, date]] = set()
    valid_usccs = set()
    for event_date, code, event_type in sorted(valid_events):
        assert code not in ended, f"{code} has a {event_type} on {event_date} after ending on {ended.get(code)}"
        assert (code, event_date) not in seen, f"two valid events for {code} on {event_date}"
        seen.add((code, event_date))
        valid_usccs.add(code)
        if event_type in {"注销", "吊销", "迁出"}:
            ended[code] = event_date
    assert not phantom_usccs & valid_usccs
