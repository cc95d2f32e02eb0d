"""The sample generator for visits, incubator reports and manual statistics.

Files are re-read with ``json`` / ``openpyxl`` / ``csv`` and judged here against sources.md and
measures.md, not by the generator's own code: each line or row is classified independently and
the classification must match the generator's defect ledger exactly (valid rows break no rule,
each defective one breaks exactly its rule), and the calibration figures the pipeline will
measure (visits per 片长 and week, needs per day, the planted recurring need, resolution times,
high-quality incubators, cumulative graduates) are recomputed from the files.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import statistics
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from support import independent
from support.independent import FileRejection, code_text, fold, parse_date, parse_number, uscc_problem
from support.independent_feeds import INCUBATOR_HEADERS as REPORT_HEADERS

from parkops_tools.generator.__main__ import main
from parkops_tools.generator.incubators import IncubatorSettings, IncubatorSummary, write_incubator_reports
from parkops_tools.generator.manual_statistics import ManualStatisticsSettings, write_manual_statistics
from parkops_tools.generator.registrations import RegistrationSettings, RegistrationSummary, write_registrations
from parkops_tools.generator.shared import FeedSummary, KnownFirmHistory
from parkops_tools.generator.visits import ROW_DEFECT_KINDS as VISIT_DEFECT_KINDS
from parkops_tools.generator.visits import VisitSettings, VisitSummary, write_visits
from parkops_tools.generator.workdays import is_workday

START = date(2025, 1, 2)
END = date(2025, 3, 31)
SEED = 20250101

VISIT_KEYS = {
    "visit_id",
    "visit_date",
    "visitor_id",
    "visitor_name",
    "visitor_role",
    "area",
    "park_name",
    "uscc",
    "enterprise_name",
    "channel",
    "is_key_enterprise",
    "needs",
}
OPTIONAL_EXTRA_KEYS = {"remark"}
NEED_KEYS = {"need_id", "category", "description", "status", "raised_date", "resolved_date", "satisfaction"}
ROLES = {"楼长", "片长", "服务总监", "首席代办员"}
CHANNELS = {"上门走访", "电话", "线上"}
CATEGORIES = {"人才", "资金", "空间", "审批", "政策", "供应链", "知识产权", "其他"}
STATUS_ORDER = {"待处理": 0, "处理中": 1, "已办结": 2}
RESOLVED = "已办结"

COUNTS = {
    "incubatees",
    "new_incubatees",
    "graduated",
    "graduated_cumulative",
    "funded_incubatees",
    "ip_granted",
    "incubatee_employees",
}
AMOUNTS = {"incubation_area_m2", "funding_10k", "incubatee_revenue_10k"}
INCUBATOR_REJECTIONS = {"missing_required_column", "no_report_sheet", "corrupt_xlsx"}


def parks() -> set[str]:
    return set(independent.load_reference().park_codes)


def sha256_tree(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@dataclass
class Sample:
    landing: Path
    registrations: RegistrationSummary
    visits: VisitSummary
    incubators: IncubatorSummary
    manual: FeedSummary


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    """All feeds for the demo range with the default seed, as ``all`` writes them."""
    landing = tmp_path_factory.mktemp("feeds")
    registration_settings = RegistrationSettings(landing=landing, start=START, end=END, seed=SEED)
    registrations = write_registrations(registration_settings)
    history = KnownFirmHistory.replay(registration_settings)
    visits = write_visits(VisitSettings(landing=landing, start=START, end=END, seed=SEED), history)
    incubators = write_incubator_reports(IncubatorSettings(landing=landing, start=START, end=END, seed=SEED), history)
    manual = write_manual_statistics(ManualStatisticsSettings(landing=landing, start=START, end=END, seed=SEED))
    return Sample(landing, registrations, visits, incubators, manual)


# --- an independent reading of feed 2 -------------------------------------------------------------


@dataclass
class VisitLine:
    path: Path
    delivery: date
    number: int
    record: dict | None
    kinds: list[str]


def decoded(data: bytes) -> str | None:
    try:
        return independent.decode(data)[0]
    except FileRejection:
        return None


def is_redelivered(path: Path) -> bool:
    """A file delivered again under another day's folder (its name carries the original day)."""
    return path.name[7:15] != path.parent.name.replace("-", "")


def classify_visit(text: str, delivery: date, loaded_ids: set[str]) -> tuple[dict | None, list[str]]:
    """Every rule of sources.md section 2 (and measures.md's duplicate rule) the line breaks."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        return None, ["invalid_json"]
    kinds = []
    visit_id = record.get("visit_id")
    if not isinstance(visit_id, str) or not visit_id.strip():
        kinds.append("missing_visit_id")
    elif visit_id in loaded_ids:
        kinds.append("duplicate_visit_id")
    visit_date = parse_date(record.get("visit_date"))
    if visit_date is None:
        kinds.append("unparseable_visit_date")
    elif visit_date > delivery:
        kinds.append("visit_date_after_delivery")
    if record.get("visitor_role") not in ROLES:
        kinds.append("unknown_visitor_role")
    if record.get("channel") not in CHANNELS:
        kinds.append("unknown_channel")
    if fold(record.get("park_name")) not in parks():
        kinds.append("unknown_park")
    code = code_text(record.get("uscc"))
    if not code or uscc_problem(code):
        kinds.append("invalid_uscc")
    if not isinstance(record.get("is_key_enterprise"), bool):
        kinds.append("is_key_not_boolean")
    needs = record.get("needs")
    if not isinstance(needs, list):
        kinds.append("needs_not_list")
        return record, kinds
    for need in needs:
        status = need.get("status")
        if need.get("category") not in CATEGORIES:
            kinds.append("unknown_need_category")
        if status not in STATUS_ORDER:
            kinds.append("unknown_need_status")
        raised = parse_date(need.get("raised_date"))
        resolved_text = need.get("resolved_date")
        resolved = parse_date(resolved_text) if resolved_text not in (None, "") else None
        if raised is not None and visit_date is not None and raised > visit_date:
            kinds.append("raised_after_visit")
        if status == RESOLVED and resolved is None:
            kinds.append("resolved_without_date")
        if resolved is not None and raised is not None and resolved < raised:
            kinds.append("resolved_before_raised")
        satisfaction = need.get("satisfaction")
        if satisfaction is not None:
            if status != RESOLVED:
                kinds.append("satisfaction_not_resolved")
            elif not (isinstance(satisfaction, int) and 1 <= satisfaction <= 5):
                kinds.append("satisfaction_out_of_range")
    return record, kinds


def read_visit_lines(landing: Path) -> list[VisitLine]:
    """Lines of every first delivery, in load order (day, file name, line); redeliveries and
    undecodable files are left out (the pipeline loads the former once, rejects the latter)."""
    lines: list[VisitLine] = []
    loaded_ids: set[str] = set()
    for folder in sorted((landing / "visits").iterdir()):
        delivery = date.fromisoformat(folder.name)
        for path in sorted(folder.iterdir()):
            if is_redelivered(path):
                continue
            text = decoded(path.read_bytes())
            if text is None:
                continue
            for number, line in enumerate(text.splitlines(), start=1):
                record, kinds = classify_visit(line, delivery, loaded_ids)
                assert len(kinds) <= 1, (path, number, line, kinds)
                if not kinds:
                    loaded_ids.add(record["visit_id"])
                lines.append(VisitLine(path, delivery, number, record, kinds))
    return lines


@pytest.fixture(scope="module")
def visit_lines(sample: Sample) -> list[VisitLine]:
    return read_visit_lines(sample.landing)


@pytest.fixture(scope="module")
def valid_visits(visit_lines: list[VisitLine]) -> list[VisitLine]:
    return [line for line in visit_lines if not line.kinds]


@dataclass
class NeedHistory:
    records: list[tuple[tuple, dict, dict]]  # (order, need, visit)

    @property
    def latest(self) -> dict:
        return self.records[-1][1]

    @property
    def raised(self) -> date:
        return parse_date(self.latest["raised_date"])


@pytest.fixture(scope="module")
def need_histories(valid_visits: list[VisitLine]) -> dict[str, NeedHistory]:
    """measures.md: records ordered by visit_date, delivery_date, source_file, row, position."""
    histories: dict[str, NeedHistory] = defaultdict(lambda: NeedHistory([]))
    for line in valid_visits:
        visit = line.record
        for position, need in enumerate(visit["needs"]):
            order = (parse_date(visit["visit_date"]), line.delivery, line.path.name, line.number, position)
            histories[need["need_id"]].records.append((order, need, visit))
    for history in histories.values():
        history.records.sort(key=lambda item: item[0])
    return dict(histories)


# --- visits: format, defects, files -----------------------------------------------------------------


def test_visit_lines_follow_the_contract_and_match_the_defect_ledger(sample: Sample, visit_lines, valid_visits):
    found = Counter(kind for line in visit_lines for kind in line.kinds)
    assert found == sample.visits.row_defects
    assert set(found) == set(VISIT_DEFECT_KINDS), "every line defect kind within three months"
    assert len(valid_visits) == sample.visits.loadable_visits
    key_orders = set()
    for line in valid_visits:
        record = line.record
        assert VISIT_KEYS <= set(record) <= VISIT_KEYS | OPTIONAL_EXTRA_KEYS, record
        assert re.fullmatch(r"V\d{13}", record["visit_id"])
        assert re.fullmatch(r"S\d{4}", record["visitor_id"])
        assert record["visitor_name"] and record["enterprise_name"] and record["area"]
        assert parse_date(record["visit_date"]) < line.delivery, "visits arrive the day after at the earliest"
        for need in record["needs"]:
            assert set(need) <= NEED_KEYS and {"need_id", "category", "status", "raised_date"} <= set(need)
            assert re.fullmatch(r"N\d{11}", need["need_id"])
            assert need["description"]
        key_orders.add(tuple(record))
    assert len(key_orders) > 3, "key order varies between exports"


def test_visit_values_vary_within_the_contract(sample: Sample, valid_visits):
    raw = [path.read_bytes() for path in sorted((sample.landing / "visits").rglob("*.jsonl"))]
    assert any(data.startswith(b"\xef\xbb\xbf") for data in raw), "UTF-8 with BOM"
    assert any(decoded(data) is not None and not _is_utf8(data) for data in raw), "GB18030"
    dates = [line.record["visit_date"] for line in valid_visits]
    for pattern in (r"\d{4}-\d{2}-\d{2}", r"\d{4}/\d{1,2}/\d{1,2}", r"\d{8}", r"\d{4}年\d{1,2}月\d{1,2}日"):
        assert any(re.fullmatch(pattern, text) for text in dates), pattern
    codes = [line.record["uscc"] for line in valid_visits]
    assert any(re.search(r"[０-９]", code) for code in codes), "full-width USCC"
    assert any(code != code.strip() for code in codes), "USCC with spaces"
    assert any("remark" in line.record for line in valid_visits), "an unknown extra key"
    assert {line.record["is_key_enterprise"] for line in valid_visits} == {True, False}


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_visit_file_defects(sample: Sample):
    defects = sample.visits.file_defects()
    assert set(defects) == {"undecodable", "redelivery", "corrected_redelivery"}
    landing = sample.landing
    undecodable = (landing / defects["undecodable"][0]).read_bytes()
    for encoding in ("utf-8", "gb18030"):
        with pytest.raises(UnicodeDecodeError):
            undecodable.decode(encoding)

    copy = landing / defects["redelivery"][0]
    originals = [p for p in (landing / "visits").rglob(copy.name) if p != copy]
    assert len(originals) == 1 and originals[0].parent.name < copy.parent.name
    assert originals[0].read_bytes() == copy.read_bytes()

    corrected = landing / defects["corrected_redelivery"][0]
    originals = [p for p in (landing / "visits").rglob(corrected.name) if p != corrected]
    assert len(originals) == 1 and originals[0].parent.name < corrected.parent.name
    before = decoded(originals[0].read_bytes()).splitlines()
    after = decoded(corrected.read_bytes()).splitlines()
    assert len(before) == len(after)
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(changed) == 1
    old, new = (json.loads(text) for text in changed[0])
    assert old["visit_id"] == new["visit_id"] and old["channel"] != new["channel"]

    folders = sorted(p.name for p in (landing / "visits").iterdir())
    assert folders == [(START + timedelta(days=i)).isoformat() for i in range((END - START).days + 1)]
    for folder in (landing / "visits").iterdir():
        own = [p for p in folder.iterdir() if not is_redelivered(p)]
        assert 1 <= len(own) <= 3 and all(re.fullmatch(r"visits_\d{8}_\d{2}\.jsonl", p.name) for p in own)


# --- visits: calibration ---------------------------------------------------------------------------


def test_area_heads_mostly_visit_three_or_four_firms_a_week(valid_visits):
    weekly: Counter[tuple[date, str]] = Counter()
    roles: dict[str, str] = {}
    for line in valid_visits:
        visit_date = parse_date(line.record["visit_date"])
        monday = visit_date - timedelta(days=visit_date.weekday())
        weekly[(monday, line.record["visitor_id"])] += 1
        roles[line.record["visitor_id"]] = line.record["visitor_role"]
    full_weeks = {
        monday
        for monday, _ in weekly
        if monday >= START
        and monday + timedelta(days=6) < END
        and sum(is_workday(monday + timedelta(days=i)) for i in range(7)) >= 5
    }
    assert len(full_weeks) >= 8
    by_role: dict[str, list[int]] = defaultdict(list)
    for (monday, visitor), count in weekly.items():
        if monday in full_weeks:
            by_role[roles[visitor]].append(count)
    area_heads = by_role["片长"]
    in_band = sum(3 <= count <= 4 for count in area_heads) / len(area_heads)
    meeting = sum(count >= 3 for count in area_heads) / len(area_heads)
    assert in_band >= 0.6, in_band
    assert 0.65 <= meeting <= 0.92, "most meet the target of 3, about one in five does not"
    assert 4.0 <= statistics.mean(by_role["楼长"]) <= 6.5
    assert 1.5 <= statistics.mean(by_role["服务总监"]) <= 3.0
    assert 3.0 <= statistics.mean(by_role["首席代办员"]) <= 5.0
    assert set(by_role) == ROLES


def test_about_a_hundred_visits_per_working_day(valid_visits):
    per_day = Counter(parse_date(line.record["visit_date"]) for line in valid_visits)
    working = [START + timedelta(days=i) for i in range((END - START).days) if is_workday(START + timedelta(days=i))]
    mean = sum(per_day[day] for day in working) / len(working)
    assert 85 <= mean <= 125, mean
    off = [day for day in per_day if not is_workday(day)]
    assert off and sum(per_day[day] for day in off) < 0.05 * sum(per_day.values()), "few visits on off days"


def _episodes(needs: list[tuple[str, date, str]], threshold: int = 5) -> list[tuple[str, date, date, int]]:
    """measures.md 共性诉求: hot day = >= 5 distinct firms raised the category within [D-6, D]."""
    by_category: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for category, raised, uscc in needs:
        by_category[category].append((raised, uscc))
    episodes = []
    for category, items in sorted(by_category.items()):
        day, last = min(r for r, _ in items), max(r for r, _ in items)
        current = None
        while day <= last:
            firms = {u for r, u in items if day - timedelta(days=6) <= r <= day}
            if len(firms) >= threshold:
                if current and current[2] == day - timedelta(days=1):
                    current = (category, current[1], day, max(current[3], len(firms)))
                    episodes[-1] = current
                else:
                    current = (category, day, day, len(firms))
                    episodes.append(current)
            day += timedelta(days=1)
    return episodes


def test_needs_per_day_and_the_planted_burst(sample: Sample, need_histories):
    settings = sample.visits.settings
    needs = [
        (h.latest["category"], h.raised, code_text(h.records[-1][2]["uscc"]), h.latest.get("description"))
        for h in need_histories.values()
    ]
    episodes = _episodes([(c, r, u) for c, r, u, _ in needs])
    burst = [e for e in episodes if e[0] == "供应链" and e[3] >= 15]
    assert len(burst) == 1, episodes
    _, first_hot, last_hot, peak = burst[0]
    assert 15 <= peak <= 25
    burst_needs = [n for n in needs if n[3] == "液氮储备不足" and first_hot - timedelta(days=6) <= n[1] <= last_hot]
    burst_firms = {n[2] for n in burst_needs}
    assert len(burst_firms) >= 15
    monday = sample.visits.burst_week
    assert first_hot - timedelta(days=6) <= monday <= last_hot
    in_week = {n[2] for n in burst_needs if monday <= n[1] <= monday + timedelta(days=6)}
    assert sample.visits.burst_firms == len(in_week) >= 15
    # Baseline: about needs_per_day new needs per calendar day, and random episodes are rare.
    baseline = len(needs) - len(burst_firms)
    per_day = baseline / ((END - START).days + 1)
    assert 0.75 * settings.needs_per_day <= per_day <= 1.25 * settings.needs_per_day, per_day
    assert len(episodes) - 1 <= 3, episodes
    categories = Counter(n[0] for n in needs if n[3] != "液氮储备不足")
    assert set(categories) == CATEGORIES and max(categories.values()) < 3 * min(categories.values())


def test_burst_firms_are_mostly_in_the_core_and_lingang(need_histories):
    parks_of = Counter(
        h.records[0][2]["park_name"].strip()
        for h in need_histories.values()
        if h.latest.get("description") == "液氮储备不足" and h.records[0][2]["channel"] == "上门走访"
    )
    assert (parks_of["张江核心园"] + parks_of["临港园"]) / sum(parks_of.values()) >= 0.6


def test_need_status_flow_and_resolution_times(need_histories):
    days_to_resolve = []
    open_needs = 0
    resolved_at_once = 0
    for need_id, history in need_histories.items():
        first_order, first_need, first_visit = history.records[0]
        raised = parse_date(first_need["raised_date"])
        assert need_id[1:9] == f"{raised:%Y%m%d}"
        previous_status = -1
        for order, need, visit in history.records:
            assert parse_date(need["raised_date"]) == raised, "raised_date stays the original"
            status = STATUS_ORDER[need["status"]]
            assert status > previous_status, (need_id, [r[1]["status"] for r in history.records])
            previous_status = status
            if order is not first_order:
                assert visit["channel"] in {"电话", "线上"}, "status changes come by phone or online"
                assert visit["visitor_id"] == first_visit["visitor_id"]
                assert code_text(visit["uscc"]) == code_text(first_visit["uscc"])
                assert parse_date(visit["visit_date"]) > raised and is_workday(parse_date(visit["visit_date"]))
        latest = history.latest
        if latest["status"] == RESOLVED:
            resolved = parse_date(latest["resolved_date"])
            assert resolved == parse_date(history.records[-1][2]["visit_date"])
            days_to_resolve.append((resolved - raised).days)
            resolved_at_once += len(history.records) == 1
        else:
            assert latest.get("satisfaction") is None
            open_needs += 1
    median = statistics.median(days_to_resolve)
    assert 2 <= median <= 8, median
    assert max(days_to_resolve) >= 20, "a tail of weeks"
    assert max(days_to_resolve) <= 62
    open_share = open_needs / len(need_histories)
    assert 0.05 <= open_share <= 0.25, open_share
    assert resolved_at_once >= 5, "some needs are settled on the spot"


def test_key_enterprises_mostly_visited_each_quarter(sample: Sample, valid_visits):
    coverage = sample.visits.key_coverage
    assert coverage and coverage[0].key_firms >= 200
    assert 80.0 <= coverage[0].percent <= 97.0, coverage
    flagged = {code_text(line.record["uscc"]) for line in valid_visits if line.record["is_key_enterprise"]}
    assert len(flagged) >= 0.8 * coverage[0].key_firms


def _registered_since(landing: Path) -> dict[str, date]:
    """USCC -> first delivery day of a valid registration row (what the pipeline links to)."""
    expectation = independent.expected_landing(landing, START, END)
    first: dict[str, date] = {}
    for expected in expectation.by_status("loaded"):
        for row in expected.valid_rows.values():
            if row.uscc not in first or expected.delivery_date < first[row.uscc]:
                first[row.uscc] = expected.delivery_date
    return first


@pytest.fixture(scope="module")
def registered_since(sample: Sample) -> dict[str, date]:
    return _registered_since(sample.landing)


def test_visits_link_to_firms_the_registrations_delivered_before(valid_visits, registered_since):
    linked = unknown = 0
    for line in valid_visits:
        code = code_text(line.record["uscc"])
        since = registered_since.get(code)
        if since is None:
            unknown += 1
        elif since < line.delivery and since <= parse_date(line.record["visit_date"]):
            linked += 1
    assert linked / len(valid_visits) >= 0.98
    assert 0.003 <= unknown / len(valid_visits) <= 0.02, "about 1% of visits go to firms registered elsewhere"
    for line in valid_visits:
        assert uscc_problem(code_text(line.record["uscc"])) is None


# --- incubator reports -------------------------------------------------------------------------------


@dataclass
class Workbook:
    path: Path
    folder: date
    rejection: str | None
    values: dict[str, object]
    tenants: list[object] | None  # USCC cells of 在孵企业名单, None without the sheet


def read_workbook(path: Path) -> Workbook:
    folder = date.fromisoformat(path.parent.name + "-01")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except zipfile.BadZipFile:
        return Workbook(path, folder, "corrupt_xlsx", {}, None)
    try:
        if "月报" not in book.sheetnames:
            return Workbook(path, folder, "no_report_sheet", {}, None)
        rows = [row for row in book["月报"].iter_rows(values_only=True) if any(v is not None for v in row)]
        assert len(rows) == 2, path
        headers = ["" if h is None else str(h).strip() for h in rows[0]]
        if "孵化器编号" not in headers:
            return Workbook(path, folder, "missing_required_column", {}, None)
        assert set(REPORT_HEADERS) <= set(headers), path
        values = {REPORT_HEADERS.get(h, h): v for h, v in zip(headers, rows[1], strict=False)}
        tenants = None
        if "在孵企业名单" in book.sheetnames:
            tenant_rows = list(book["在孵企业名单"].iter_rows(values_only=True))
            column = [str(h).strip() for h in tenant_rows[0]].index("统一社会信用代码")
            tenants = [row[column] for row in tenant_rows[1:]]
        return Workbook(path, folder, None, values, tenants)
    finally:
        book.close()


def report_month(value: object) -> date | None:
    text = fold(value)
    for pattern in (r"(\d{4})-(\d{2})", r"(\d{4})(\d{2})", r"(\d{4})年(\d{1,2})月"):
        match = re.fullmatch(pattern, text)
        if match and 1 <= int(match.group(2)) <= 12:
            return date(int(match.group(1)), int(match.group(2)), 1)
    return None


def classify_report(book: Workbook, previous_cumulative: int | None) -> list[str]:
    values = book.values
    kinds = []
    if values["level"] not in ("国家级", "市级", "区级"):
        kinds.append("bad_level")
    if values["is_high_quality"] not in ("是", "否"):
        kinds.append("bad_yes_no")
    if fold(values["park_name"]) not in parks():
        kinds.append("unknown_park")
    month = report_month(values["report_month"])
    if month is None:
        kinds.append("bad_report_month")
    elif month >= book.folder:
        kinds.append("report_month_not_before_delivery")
    numbers = {}
    for name in COUNTS | AMOUNTS:
        number = parse_number(values[name])
        if number is None or (name in COUNTS and number != int(number)):
            kinds.append("non_integer_count")
        elif number < 0:
            kinds.append("negative_amount")
        else:
            numbers[name] = number
    if (
        "funded_incubatees" in numbers
        and "incubatees" in numbers
        and numbers["funded_incubatees"] > numbers["incubatees"]
    ):
        kinds.append("funded_exceeds_incubatees")
    cumulative = numbers.get("graduated_cumulative")
    if previous_cumulative is not None and cumulative is not None and cumulative < previous_cumulative:
        kinds.append("graduated_cumulative_decrease")
    return kinds


def classify_tenants(tenants: list[object]) -> list[str]:
    kinds = []
    seen = set()
    for cell in tenants:
        code = code_text(cell)
        if uscc_problem(code):
            kinds.append("tenant_invalid_uscc")
        elif code in seen:
            kinds.append("tenant_duplicate_uscc")
        seen.add(code)
    return kinds


@dataclass
class LoadedReport:
    book: Workbook
    month: date
    cumulative: int


@pytest.fixture(scope="module")
def incubator_reading(sample: Sample) -> tuple[Counter[str], list[LoadedReport], list[Workbook]]:
    """Every workbook in delivery order (folder, name); a valid report becomes the current version
    of its (incubator, month); the cumulative check compares with the previous month's current one."""
    kinds: Counter[str] = Counter()
    loaded: list[LoadedReport] = []
    books = []
    current: dict[tuple[str, date], int] = {}
    for path in sorted((sample.landing / "incubator_reports").rglob("*.xlsx"), key=lambda p: (p.parent.name, p.name)):
        book = read_workbook(path)
        books.append(book)
        if book.rejection:
            kinds[book.rejection] += 1
            continue
        month = report_month(book.values["report_month"])
        incubator = book.values["incubator_id"]
        previous = current.get((incubator, _previous_month(month))) if month else None
        row_kinds = classify_report(book, previous)
        assert len(row_kinds) <= 1, (path, row_kinds, book.values)
        kinds.update(row_kinds)
        if book.tenants is not None:
            tenant_kinds = classify_tenants(book.tenants)
            assert len(tenant_kinds) <= 1, path
            kinds.update(tenant_kinds)
        if not row_kinds:
            cumulative = int(parse_number(book.values["graduated_cumulative"]))
            current[(incubator, month)] = cumulative
            loaded.append(LoadedReport(book, month, cumulative))
    return kinds, loaded, books


def _previous_month(month: date) -> date:
    return (month - timedelta(days=1)).replace(day=1)


def test_incubator_workbooks_follow_the_contract_and_match_the_defects(sample: Sample, incubator_reading):
    kinds, loaded, books = incubator_reading
    ledger = Counter(sample.incubators.row_defects)
    ledger.update({kind: len(paths) for kind, paths in sample.incubators.file_defects().items()})
    assert kinds == ledger
    assert set(kinds) == set(sample.incubators.row_defect_kinds) | INCUBATOR_REJECTIONS
    folders = sorted(p.name for p in (sample.landing / "incubator_reports").iterdir())
    assert folders == ["2025-01", "2025-02", "2025-03"]
    names = Counter(re.fullmatch(r"FH\d{4}_(\d{6})(_更正)?\.xlsx", b.path.name) is not None for b in books)
    assert names == {True: len(books)}
    for report in loaded:
        assert report.month < report.book.folder
        assert isinstance(report.book.values["report_month"], str)
    months_text = {fold(r.book.values["report_month"]) for r in loaded}
    assert any(re.fullmatch(r"\d{4}-\d{2}", t) for t in months_text)
    assert any(re.fullmatch(r"\d{6}", t) for t in months_text)
    assert any(re.fullmatch(r"\d{4}年\d{1,2}月", t) for t in months_text)
    cells = [v for r in loaded for k, v in r.book.values.items() if k in COUNTS | AMOUNTS]
    assert sum(isinstance(v, int | float) for v in cells) > 0.8 * len(cells), "numbers are mostly numeric cells"
    assert any(isinstance(v, str) and "," in v for v in cells), "thousands separators"
    assert any(isinstance(v, str) and re.search(r"[０-９]", v) for v in cells), "full-width digits"


def test_incubator_calibration(sample: Sample, incubator_reading):
    _, loaded, books = incubator_reading
    incubators = {r.book.values["incubator_id"] for r in loaded}
    assert 115 <= len(incubators) <= 120
    latest: dict[str, LoadedReport] = {}
    for report in loaded:  # delivery order: a later version of the same month replaces the earlier
        current = latest.get(report.book.values["incubator_id"])
        if current is None or report.month >= current.month:
            latest[report.book.values["incubator_id"]] = report
    high_quality = sum(r.book.values["is_high_quality"] == "是" for r in latest.values())
    assert 15 <= high_quality <= 20
    counts = sample.incubators.high_quality_by_month
    on_time = [month for month in counts if month >= date(2024, 12, 1)]
    assert counts[on_time[-1]] > counts[on_time[0]], "designations during the range move the count"
    levels = Counter(r.book.values["level"] for r in latest.values())
    assert 0.1 <= levels["国家级"] / len(latest) <= 0.2 and 0.25 <= levels["市级"] / len(latest) <= 0.45
    # Cumulative graduates never fall, month to month, in the versions that load.
    series: dict[str, dict[date, int]] = defaultdict(dict)
    for report in loaded:
        series[report.book.values["incubator_id"]][report.month] = report.cumulative
    for incubator, by_month in series.items():
        values = [by_month[m] for m in sorted(by_month)]
        assert values == sorted(values), incubator
    for report in loaded:
        values = report.book.values
        assert 10 <= int(parse_number(values["incubatees"])) <= 300
        assert 1000 <= float(parse_number(values["incubation_area_m2"])) <= 60000
    late = [b for b in books if _months_between(b) >= 2 and "_更正" not in b.path.name]
    renamed = [b for b in books if "_更正" in b.path.name]
    same_name_again = Counter(b.path.name for b in books if "_更正" not in b.path.name)
    assert late and renamed and any(count > 1 for count in same_name_again.values())
    with_tenants = sum(b.tenants is not None for b in books if not b.rejection)
    assert 0.45 <= with_tenants / sum(not b.rejection for b in books) <= 0.7


def _months_between(book: Workbook) -> int:
    month = date(int(book.path.name[7:11]), int(book.path.name[11:13]), 1)
    return (book.folder.year - month.year) * 12 + book.folder.month - month.month


def test_tenants_link_to_known_tech_firms(incubator_reading, registered_since):
    _, loaded, _ = incubator_reading
    known = unknown = total = 0
    for report in loaded:
        if report.book.tenants is None:
            continue
        compiled = report.book.folder + timedelta(days=9)  # lists are compiled from the 10th
        for cell in report.book.tenants:
            code = code_text(cell)
            if uscc_problem(code):
                continue
            total += 1
            since = registered_since.get(code)
            if since is None:
                unknown += 1
            elif since < compiled:
                known += 1
    assert total >= 3000
    assert known / total >= 0.98
    assert 0.003 <= unknown / total <= 0.02


# --- manual statistics -------------------------------------------------------------------------------


def test_manual_statistics_files(sample: Sample):
    files = sorted((sample.landing / "manual_statistics").rglob("*.csv"))
    assert [p.parent.name for p in files] == ["2025-01-02", "2025-02-24"]
    rows_by_file = []
    for path in files:
        data = path.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")
        assert path.name == f"manual_statistics_{path.parent.name.replace('-', '')}.csv"
        reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
        headers = next(reader)
        assert headers == ["指标代码", "期间", "园区", "数值", "来源", "备注"]
        rows_by_file.append([dict(zip(headers, row, strict=True)) for row in reader])
    first, correction = rows_by_file
    shares = [r for r in first if r["指标代码"] == "leading_industry_share"]
    assert {r["期间"].rstrip("年") for r in shares} == {"2023", "2024"}
    assert all(r["园区"] == "" and 0 < float(r["数值"]) <= 100 and r["来源"] for r in shares)
    trillion = {r["园区"]: float(r["数值"].replace(",", "")) for r in first if r["指标代码"] == "trillion_parks"}
    assert set(trillion) == parks()
    assert 2 <= sum(value >= 10000 for value in trillion.values()) <= 4
    unknown = [r for r in first if r["指标代码"] not in {"leading_industry_share", "trillion_parks"}]
    assert len(unknown) == 1 and sample.manual.row_defects == {"unknown_kpi_code": 1}
    assert len(correction) == 1
    corrected = correction[0]
    assert corrected["指标代码"] == "trillion_parks" and trillion[corrected["园区"]] != float(corrected["数值"])
    assert 2 <= sum(v >= 10000 for v in {**trillion, corrected["园区"]: float(corrected["数值"])}.values()) <= 4


# --- the command line: determinism, equivalence of `all`, re-runs -------------------------------------

SHORT = ("--from", "2025-01-02", "--to", "2025-01-16", "--seed", "7")
SMALL = ("--population", "3000", "--events-per-day", "120")


def test_all_is_deterministic_and_equals_the_single_feeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    first, second, single = tmp_path / "first", tmp_path / "second", tmp_path / "single"
    options = (*SHORT, *SMALL, "--staff-scale", "0.5", "--incubators", "20")
    assert main(["all", "--landing", str(first), *options]) == 0
    output = capsys.readouterr().out
    for headline in ("registrations ", "visits ", "incubator_reports ", "manual_statistics "):
        assert sum(line.startswith(headline) for line in output.splitlines()) == 1, headline
    assert "row defects by kind" in output
    assert main(["all", "--landing", str(second), *options]) == 0
    tree = sha256_tree(first)
    assert tree == sha256_tree(second)
    assert any(name.endswith(".xlsx") and name.startswith("incubator_reports/") for name in tree)

    main(["visits", "--landing", str(single), *SHORT, *SMALL, "--staff-scale", "0.5"])
    main(["incubators", "--landing", str(single), *SHORT, *SMALL, "--incubators", "20"])
    main(["manual-statistics", "--landing", str(single), *SHORT])
    capsys.readouterr()
    single_tree = sha256_tree(single)
    assert single_tree == {name: sha for name, sha in tree.items() if not name.startswith("registrations/")}


def test_xlsx_entries_carry_the_submission_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    main(["incubators", "--landing", str(tmp_path), *SHORT, *SMALL, "--incubators", "5"])
    capsys.readouterr()
    for path in sorted((tmp_path / "incubator_reports").rglob("*.xlsx")):
        with zipfile.ZipFile(path) as archive:
            stamps = {info.date_time for info in archive.infolist()}
            core = archive.read("docProps/core.xml").decode()
        assert len(stamps) == 1
        (year, month, day, hour, minute, second) = stamps.pop()
        assert (year, month) == (2025, 1) and 10 <= day <= 20
        stamp = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z"
        assert f">{stamp}</dcterms:modified>" in core


def test_reruns_remove_stale_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    def run(seed: int, incubators: int, end: str) -> dict[str, str]:
        options = ["--from", "2025-01-02", "--to", end, "--seed", str(seed), *SMALL]
        main(["visits", "--landing", str(tmp_path), *options, "--staff-scale", "0.3"])
        main(["incubators", "--landing", str(tmp_path), *options, "--incubators", str(incubators)])
        main(["manual-statistics", "--landing", str(tmp_path), "--from", "2025-01-02", "--to", end, "--seed", "1"])
        capsys.readouterr()
        return sha256_tree(tmp_path)

    first = run(1, 12, "2025-01-20")
    second = run(2, 6, "2025-01-20")
    assert second != first
    assert not any(re.search(r"FH00(0[7-9]|1\d)_", name) for name in second), "no reports of dropped incubators"
    assert run(1, 12, "2025-01-20") == first
    shorter = run(1, 12, "2025-01-10")
    # Folders within the new range hold only this run's files: the correction moved to the 7th.
    within = sorted(n for n in shorter if n.startswith("manual_statistics/") and n < "manual_statistics/2025-01-11")
    assert within == [
        "manual_statistics/2025-01-02/manual_statistics_20250102.csv",
        "manual_statistics/2025-01-07/manual_statistics_20250107.csv",
    ]
