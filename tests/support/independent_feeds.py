"""An independent reading of feeds 2 (visits) and 3 (incubator reports) and of the manual statistics.

Like :mod:`support.independent` (feed 1), nothing here imports the pipeline (``parkops``): files are
decoded, parsed and judged by a small implementation written from ``shared/contracts/sources.md``
and ``docs/measures.md`` alone, and the measures are recomputed straight from the landed files. A
test comparing the warehouse's marts with these figures therefore catches a mistake in either.
The few generic helpers shared with feed 1 (USCC check, folding, date and number parsing, seed
reading) come from :mod:`support.independent`, which is itself parkops-free.

Public entry points
-------------------
* :func:`read_visits` -> :class:`VisitsTruth`; measures :func:`current_needs`,
  :func:`need_status_changes`, :func:`needs_resolution`, :func:`recurring_episodes`,
  :func:`visits_per_staff_week`, :func:`key_coverage`, :func:`agent_services` and the KPI actuals
  ``*_kpi``.
* :func:`read_incubator_reports` -> :class:`IncubatorTruth`; measures :func:`incubator_monthly`,
  :func:`high_quality_count`, :func:`high_quality_by_park`, :func:`hq_incubators_kpi`.
* :func:`read_manual_statistics` -> :class:`ManualTruth`; :func:`leading_industry_share`,
  :func:`trillion_parks`.
* :func:`read_enterprise_history` (from the registrations recount of :mod:`support.independent`):
  the 独角兽/隐形冠军 part of the key enterprises and the "known USCC" set.

Every file seen gets a :class:`FileAccount` (status, rows received / loaded / quarantined, the
rules each quarantined row broke), to compare with ``ops.file_audit`` and ``ops.quarantine``.

File versions (all feeds), processed one by one in delivery order (folder, then file name)
-------------------------------------------------------------------------------------------
* A file is identified by its **name** within the feed; a version by its path and SHA-256.
* A version whose name was seen before with **other bytes** supersedes every earlier version of
  that name still standing (loaded, rejected or duplicate): those become ``superseded`` (their
  row counts are kept, ``previous_status`` says what they were) and whatever they contributed is
  withdrawn *before* the new version is judged (so a corrected visits file may repeat its own
  visit_ids). This happens whatever becomes of the new version, **including when the new version
  is itself a duplicate** of another loaded file (choice: the newer content of that name replaces
  the older, and is not loaded twice).
* A version whose bytes equal those of a version currently ``loaded`` (under another path) is a
  ``duplicate``: not read, 0 rows. A duplicate stays a duplicate even if the version it
  duplicated is superseded later (nothing is re-read).
* Files of an unsupported type are ``rejected`` (``file_unsupported_type``), 1 row (nothing in them
  can be counted, and a rejected file must never pass unnoticed); hidden files
  (``.*``) and Office lock files (``~$*``) are not files of the feed.
* Sequential state: a visit_id counts as "already accepted" and a report as the incubator's
  "current report" only while the file that brought it is loaded and not superseded, judged at the
  moment the later file is processed (like a pipeline loading the files one after another).

Text decoding (JSONL, CSV): strict UTF-8 (a leading BOM is dropped), else strict GB18030 whose
text must not contain control characters other than TAB/CR/LF, private-use, unassigned or
surrogate code points (categories Cc, Co, Cn, Cs); otherwise the file is ``rejected``
(``file_undecodable``); its non-blank lines (less a CSV header) are received and quarantined.

Month keys are ``datetime.date`` objects on the first of the month (``date(2025, 3, 1)``, i.e. the
mart's ``YYYY-MM-01``); quarters are keyed by their first day, ISO weeks by their Monday. Park
totals use ``park_code = 'all'``, category totals ``category = '全部'``. Rates are percent floats,
not rounded.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import statistics
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache, cached_property
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from support.independent import (
    check_headers,
    code_text,
    expected_landing,
    fold,
    held_deliveries,
    parse_date,
    parse_file,
    parse_number,
    read_seed_csv,
    split_tags,
    text_rows,
    uscc_problem,
    workbook_rows,
)

REPO = Path(__file__).resolve().parents[2]
SEEDS_DIR = REPO / "seeds"

ALL_PARKS = "all"
ALL_CATEGORIES = "全部"

# --- the contract as data ---------------------------------------------------------------------------

VISITOR_ROLES = ("楼长", "片长", "服务总监", "首席代办员")
TARGET_ROLE = "片长"  # the visits_per_staff_week target applies to this role only
AGENT_ROLE = "首席代办员"
CHANNELS = ("上门走访", "电话", "线上")
NEED_CATEGORIES = ("人才", "资金", "空间", "审批", "政策", "供应链", "知识产权", "其他")
NEED_STATUSES = ("待处理", "处理中", "已办结")
RESOLVED = "已办结"
#: Accepted spellings of is_key_enterprise besides JSON true/false (compared after NFKC, trim, lower case).
KEY_FLAG_TEXTS = {"true": True, "false": False, "是": True, "否": False}

INCUBATOR_HEADERS = {
    "孵化器编号": "incubator_id",
    "孵化器名称": "incubator_name",
    "级别": "level",
    "高质量孵化器": "is_high_quality",
    "所属园区": "park_name",
    "报告期": "report_month",
    "孵化场地面积（平方米）": "incubation_area_m2",
    "在孵企业数": "incubatees",
    "当期新增在孵企业数": "new_incubatees",
    "当期毕业企业数": "graduated",
    "累计毕业企业数": "graduated_cumulative",
    "当期获投融资企业数": "funded_incubatees",
    "当期融资金额（万元）": "funding_10k",
    "知识产权授权数": "ip_granted",
    "在孵企业从业人员数": "incubatee_employees",
    "在孵企业营业收入（万元）": "incubatee_revenue_10k",
}
REPORT_SHEET = "月报"
TENANT_SHEET = "在孵企业名单"
TENANT_HEADER = "统一社会信用代码"
LEVELS = ("国家级", "市级", "区级")
YES_NO = {"是": True, "否": False}
INCUBATOR_COUNTS = (
    "incubatees",
    "new_incubatees",
    "graduated",
    "graduated_cumulative",
    "funded_incubatees",
    "ip_granted",
    "incubatee_employees",
)
INCUBATOR_AMOUNTS = ("incubation_area_m2", "funding_10k", "incubatee_revenue_10k")

MANUAL_HEADERS = {
    "指标代码": "kpi_code",
    "期间": "period",
    "园区": "park_name",
    "数值": "value",
    "来源": "source",
    "备注": "note",
}
MANUAL_REQUIRED = ("指标代码", "期间", "数值", "来源")
PARK_KPI = "trillion_parks"  # the manual statistic reported per park
SHARE_KPI = "leading_industry_share"
DEFAULT_QUALIFYING_VALUE = Decimal(10000)  # 亿元 = 1 万亿 (measures.md), used when the seeds lack it

# --- reference data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedReference:
    park_codes: dict[str, str]  # park name -> park code
    targets: dict[str, dict[str, str]]  # kpi_code -> row of kpi_targets.csv
    champion_tags: frozenset[str]  # tags counting for 独角兽/隐形冠军

    def target_value(self, kpi_code: str) -> Decimal | None:
        text = self.targets.get(kpi_code, {}).get("target_value", "")
        return Decimal(text) if text else None

    @property
    def manual_kpis(self) -> dict[str, str]:
        """kpi_code -> unit, for the targets measured from manual statistics."""
        return {code: row["unit"] for code, row in self.targets.items() if row["source"] == "manual_statistics"}


@cache
def _load_reference(directory: Path, stamp: tuple[int, ...]) -> FeedReference:
    parks = read_seed_csv("parks", directory)
    targets = read_seed_csv("kpi_targets", directory)
    tags = read_seed_csv("qualification_tags", directory)
    return FeedReference(
        park_codes={row["park_name"]: row["park_code"] for row in parks},
        targets={row["kpi_code"]: row for row in targets},
        champion_tags=frozenset(row["tag"] for row in tags if row["counts_for_unicorn_champions"] == "true"),
    )


def load_feed_reference(seeds_dir: Path | None = None) -> FeedReference:
    """Seeds parks, kpi_targets and qualification_tags (re-read when one of them changes)."""
    directory = (seeds_dir or SEEDS_DIR).resolve()
    names = ("parks", "kpi_targets", "qualification_tags")
    return _load_reference(directory, tuple(directory.joinpath(f"{name}.csv").stat().st_mtime_ns for name in names))


# --- small parsing helpers ------------------------------------------------------------------------------


class Rejected(Exception):
    """The whole file is refused; ``rule`` is a stable id, ``detail`` says what is wrong.

    ``rows``: what the file holds when it could not be read into rows (its lines, a workbook's
    sheet rows, 1 when nothing can be counted); None when the rows read so far are its rows.
    """

    def __init__(self, rule: str, detail: str, rows: int | None = None):
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail
        self.rows = rows


def unsupported_type(path: Path) -> Rejected:
    """A file of a type the feed does not take: nothing in it can be counted, so it holds one row."""
    return Rejected("file_unsupported_type", path.suffix or "(no extension)", rows=1)


_SUSPICIOUS = frozenset(("Cc", "Co", "Cn", "Cs"))


def decode_text(data: bytes) -> tuple[str, str]:
    """Strict UTF-8 (BOM dropped), else GB18030 text without control/private-use/unassigned chars."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return (text[1:], "utf-8-sig") if text.startswith("\ufeff") else (text, "utf-8")
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as error:
        raise Rejected("file_undecodable", "neither UTF-8 nor GB18030") from error
    for char in text:
        if char not in "\t\r\n" and unicodedata.category(char) in _SUSPICIOUS:
            raise Rejected("file_undecodable", f"GB18030 decoding gives U+{ord(char):04X}")
    return text, "gb18030"


def header_key(header: object) -> str:
    """Headers compare after NFKC (full-width brackets = ASCII ones) with all whitespace removed."""
    return re.sub(r"\s+", "", fold(header))


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def quarter_end(start: date) -> date:
    return next_month(next_month(next_month(start))) - timedelta(days=1)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def as_month(value: date | str) -> date:
    """A month given as a date (any day) or as 'YYYY-MM'."""
    if isinstance(value, date):
        return month_start(value)
    year, month = value.split("-")[:2]
    return date(int(year), int(month), 1)


def _percent(part: int, whole: int) -> float | None:
    return part / whole * 100 if whole else None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# --- file accounting and the version walk -----------------------------------------------------------------


@dataclass
class FileAccount:
    """One landed file version: what a correct ``ops.file_audit`` row says about it.

    For workbooks ``rows_*`` count the data rows of sheet 月报 and ``tenant_rows_*`` those of
    在孵企业名单; ``failures``/``tenant_failures`` map a row (line) number to the rules it broke.
    A rejected file counts the rows it holds as received and quarantined: those it could read;
    for a text file that does not decode its non-blank lines (less a CSV header); for a workbook
    that does not open its sheets' data rows from the XML; 1 when nothing can be counted.
    """

    feed: str
    source_file: str  # relative to the landing root, '/'-separated
    file_name: str
    path: Path
    delivery_date: date  # the folder's day (incubator reports: first day of the folder's month)
    sha256: str
    status: str = "loaded"  # loaded | rejected | duplicate | superseded
    previous_status: str | None = None  # for superseded versions: the status they had
    encoding: str | None = None
    rows_received: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reject_rule: str | None = None
    reject_detail: str | None = None
    duplicate_of: str | None = None
    superseded_by: str | None = None
    unknown_columns: list[str] = field(default_factory=list)
    failures: dict[int, set[str]] = field(default_factory=dict)
    tenant_rows_received: int = 0
    tenant_rows_loaded: int = 0
    tenant_rows_quarantined: int = 0
    tenant_failures: dict[int, set[str]] = field(default_factory=dict)

    def reject(self, rejection: Rejected) -> None:
        self.status, self.reject_rule, self.reject_detail = "rejected", rejection.rule, rejection.detail
        if rejection.rows is not None:
            self.rows_received, self.tenant_rows_received = rejection.rows, 0
        self.rows_loaded = self.tenant_rows_loaded = 0
        self.rows_quarantined = self.rows_received
        self.tenant_rows_quarantined = self.tenant_rows_received


def _feed_files(landing: Path, folders: Iterable[tuple[date, Path]]) -> Iterable[tuple[date, Path]]:
    for delivery, folder in folders:
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.is_file() and not path.name.startswith((".", "~$")):
                    yield delivery, path


def _walk(
    feed: str,
    landing: Path,
    folders: Iterable[tuple[date, Path]],
    judge: Callable[[FileAccount], None],
    forget: Callable[[str], None],
) -> dict[str, FileAccount]:
    """Apply the file-version rules (module docstring) in delivery order.

    ``judge`` reads a new version and sets its status (loaded/rejected) and rows; ``forget``
    withdraws everything a loaded version contributed when it is superseded.
    """
    accounts: dict[str, FileAccount] = {}
    versions_by_name: dict[str, list[str]] = defaultdict(list)
    loaded_by_sha: dict[str, str] = {}
    for delivery, path in _feed_files(landing, folders):
        relative = path.relative_to(landing).as_posix()
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        account = FileAccount(feed, relative, path.name, path, delivery, sha)
        for older in versions_by_name[path.name]:
            old = accounts[older]
            if old.status == "superseded" or old.sha256 == sha:
                continue
            old.previous_status, old.status, old.superseded_by = old.status, "superseded", relative
            if loaded_by_sha.get(old.sha256) == older:
                del loaded_by_sha[old.sha256]
            if old.previous_status == "loaded":
                forget(older)
        versions_by_name[path.name].append(relative)
        if sha in loaded_by_sha:
            account.status, account.duplicate_of = "duplicate", loaded_by_sha[sha]
        else:
            judge(account)
            if account.status == "loaded":
                loaded_by_sha[sha] = relative
        accounts[relative] = account
    return accounts


def _day_folders(landing: Path, feed_folder: str, first: date, last: date) -> list[tuple[date, Path]]:
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    return [(day, landing / feed_folder / day.isoformat()) for day in days]


# =========================================================================================================
# Feed 2: visits
# =========================================================================================================


@dataclass(frozen=True)
class Need:
    position: int  # 1 = first element of the needs array
    need_id: str
    category: str
    status: str
    description: str
    raised_date: date
    resolved_date: date | None
    satisfaction: int | None


@dataclass(frozen=True)
class Visit:
    source_file: str
    delivery_date: date
    line_number: int  # first line of the file = 1
    visit_id: str
    visit_date: date
    visitor_id: str
    visitor_role: str
    park_name: str
    park_code: str
    uscc: str  # normalised
    channel: str
    is_key_enterprise: bool
    needs: tuple[Need, ...]

    @property
    def order(self) -> tuple[date, date, str, int]:
        """Order of visit records (and, with the need position, of need records)."""
        return (self.visit_date, self.delivery_date, self.source_file, self.line_number)


@dataclass(frozen=True)
class NeedRecord:
    """One need as carried by one accepted visit line (staging.visit_needs + the visit's context)."""

    need: Need
    visit: Visit

    @property
    def need_id(self) -> str:
        return self.need.need_id

    @property
    def order(self) -> tuple[date, date, str, int, int]:
        return (*self.visit.order, self.need.position)


@dataclass
class VisitsTruth:
    files: dict[str, FileAccount]  # source_file -> account, every version seen
    visits: list[Visit]  # accepted lines of versions still loaded, of published deliveries, in delivery order
    reference: FeedReference
    #: Deliveries the quality gate must hold (README, "Quality gate"), unless released: their
    #: lines are in staging, not in core, so no measure counts them.
    held: set[date] = field(default_factory=set)

    def by_status(self, status: str) -> list[FileAccount]:
        return [account for account in self.files.values() if account.status == status]

    @cached_property
    def need_records(self) -> list[NeedRecord]:
        """Every need record of the accepted visits, in record order (computed once)."""
        records = [NeedRecord(need, visit) for visit in self.visits for need in visit.needs]
        return sorted(records, key=lambda record: record.order)


def _text_field(record: dict, key: str, rule: str, rules: set[str], *, required: bool) -> str:
    """A JSON text field: a string (folded) or null/absent; any other JSON type is ``<rule>_invalid``."""
    value = record.get(key)
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = fold(value)
    else:
        rules.add(f"{rule}_invalid")
        return ""
    if required and not text:
        rules.add(f"{rule}_missing")
    return text


def _date_field(record: dict, key: str, rule: str, rules: set[str], *, required: bool) -> date | None:
    text = _text_field(record, key, rule, rules, required=required)
    if not text:
        return None
    parsed = parse_date(text)
    if parsed is None:
        rules.add(f"{rule}_format")
    return parsed


def _key_flag(value: object, rules: set[str]) -> bool | None:
    if isinstance(value, bool):
        return value
    if value is None or (isinstance(value, str) and not fold(value)):
        rules.add("is_key_enterprise_missing")
        return None
    flag = KEY_FLAG_TEXTS.get(fold(value).lower()) if isinstance(value, str) else None
    if flag is None:
        rules.add("is_key_enterprise_invalid")
    return flag


def _satisfaction(value: object) -> int | str | None:
    """None when absent, the integer when valid (1..5), 'invalid' otherwise."""
    if value is None or (isinstance(value, str) and not fold(value)):
        return None
    if isinstance(value, bool):
        return "invalid"
    if isinstance(value, int | float):  # NaN/Infinity never get here: they are not JSON
        number = Decimal(repr(value))
    elif isinstance(value, str):
        number = parse_number(value)
    else:
        number = None
    if number is None or number != number.to_integral_value() or not 1 <= number <= 5:
        return "invalid"
    return int(number)


def _judge_need(raw: object, position: int, visit_date: date | None, rules: set[str]) -> Need | None:
    if not isinstance(raw, dict):
        rules.add("needs_invalid")
        return None
    before = len(rules)
    need_id = _text_field(raw, "need_id", "need_id", rules, required=True)
    category = _text_field(raw, "category", "need_category", rules, required=True)
    if category and category not in NEED_CATEGORIES:
        rules.add("need_category_unknown")
    status = _text_field(raw, "status", "need_status", rules, required=True)
    if status and status not in NEED_STATUSES:
        rules.add("need_status_unknown")
    description = _text_field(raw, "description", "need_description", rules, required=False)
    raised = _date_field(raw, "raised_date", "need_raised_date", rules, required=True)
    if raised and visit_date and raised > visit_date:
        rules.add("need_raised_after_visit")
    resolved = _date_field(raw, "resolved_date", "need_resolved_date", rules, required=status == RESOLVED)
    has_resolved = bool(_text_field(raw, "resolved_date", "need_resolved_date", set(), required=False))
    if status == RESOLVED and resolved and raised and resolved < raised:
        rules.add("need_resolved_before_raised")
    if status in NEED_STATUSES and status != RESOLVED and has_resolved:
        rules.add("need_resolved_date_unexpected")
    satisfaction = _satisfaction(raw.get("satisfaction"))
    if satisfaction == "invalid":
        rules.add("need_satisfaction_invalid")
    elif satisfaction is not None and status in NEED_STATUSES and status != RESOLVED:
        rules.add("need_satisfaction_unexpected")
    if len(rules) != before:
        return None
    assert raised is not None and isinstance(satisfaction, int | None)
    return Need(position, need_id, category, status, description, raised, resolved, satisfaction)


def judge_visit_line(
    line: str, delivery: date, reference: FeedReference
) -> tuple[str, dict[str, object] | None, set[str]]:
    """(visit_id, parsed fields, rules broken) of one JSON line, judged on its own.

    Rule ids: ``json_invalid`` (not JSON, NaN/Infinity, or not an object); ``<field>_missing``;
    ``<field>_invalid`` (wrong JSON type, or is_key_enterprise/uscc/satisfaction not acceptable);
    ``<date>_format``; ``visit_date_after_delivery``; ``visitor_role_unknown``,
    ``channel_unknown``, ``park_name_unknown``; ``needs_invalid`` (not a list of objects);
    ``need_id_missing``/``need_id_repeated``, ``need_category_*``, ``need_status_*``,
    ``need_raised_date_*``, ``need_raised_after_visit``, ``need_resolved_date_missing``/``_format``/
    ``_unexpected``, ``need_resolved_before_raised``, ``need_satisfaction_invalid``/``_unexpected``.
    ``visit_id_duplicate`` depends on the files before and is added by :func:`read_visits`.
    """
    rules: set[str] = set()
    try:
        record = json.loads(line, parse_constant=_reject_constant)
    except ValueError:
        return "", None, {"json_invalid"}
    if not isinstance(record, dict):
        return "", None, {"json_invalid"}
    visit_id = _text_field(record, "visit_id", "visit_id", rules, required=True)
    visit_date = _date_field(record, "visit_date", "visit_date", rules, required=True)
    if visit_date and visit_date > delivery:
        rules.add("visit_date_after_delivery")
    visitor_id = _text_field(record, "visitor_id", "visitor_id", rules, required=True)
    role = _text_field(record, "visitor_role", "visitor_role", rules, required=True)
    if role and role not in VISITOR_ROLES:
        rules.add("visitor_role_unknown")
    park = _text_field(record, "park_name", "park_name", rules, required=True)
    if park and park not in reference.park_codes:
        rules.add("park_name_unknown")
    raw_uscc = record.get("uscc")
    uscc = ""
    if raw_uscc is not None and not isinstance(raw_uscc, str):
        rules.add("uscc_invalid")
    else:
        uscc = code_text(raw_uscc)
        if not uscc:
            rules.add("uscc_missing")
        elif uscc_problem(uscc):
            rules.add("uscc_invalid")
    channel = _text_field(record, "channel", "channel", rules, required=True)
    if channel and channel not in CHANNELS:
        rules.add("channel_unknown")
    is_key = _key_flag(record.get("is_key_enterprise"), rules)
    for optional in ("visitor_name", "area", "enterprise_name"):
        _text_field(record, optional, optional, rules, required=False)

    raw_needs = record.get("needs")
    if raw_needs is None or (isinstance(raw_needs, str) and not raw_needs.strip()):
        raw_needs = []
    needs: list[Need] = []
    if not isinstance(raw_needs, list):
        rules.add("needs_invalid")
    else:
        seen: set[str] = set()
        for position, raw in enumerate(raw_needs, start=1):
            need = _judge_need(raw, position, visit_date, rules)
            need_id = fold(raw.get("need_id")) if isinstance(raw, dict) and isinstance(raw.get("need_id"), str) else ""
            if need_id and need_id in seen:
                rules.add("need_id_repeated")
            seen.add(need_id)
            if need is not None:
                needs.append(need)
    if rules:
        return visit_id, None, rules
    fields: dict[str, object] = {
        "visit_id": visit_id,
        "visit_date": visit_date,
        "visitor_id": visitor_id,
        "visitor_role": role,
        "park_name": park,
        "park_code": reference.park_codes[park],
        "uscc": uscc,
        "channel": channel,
        "is_key_enterprise": is_key,
        "needs": tuple(needs),
    }
    return visit_id, fields, rules


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def read_visits(
    landing: Path, first: date, last: date, seeds_dir: Path | None = None, *, release_held: bool = False
) -> VisitsTruth:
    """Feed 2 for delivery days first..last of ``landing``: file accounts and accepted visits.

    Lines: the text is split on LF only (a trailing CR is dropped; U+2028 and friends may occur
    inside JSON strings). Whitespace-only lines are skipped and not counted; every other line is
    received, numbered from 1 by its physical position. A line breaking any rule is quarantined
    whole, needs included. Choices, all to be mirrored by the pipeline:

    * Text fields must be JSON strings (or null/absent/"" = missing); numbers, booleans, arrays
      or objects there are ``<field>_invalid`` (also for the optional visitor_name, area,
      enterprise_name, description). IDs are compared after NFKC + trim (no case folding);
      the USCC is normalised like feed 1 (NFKC, all whitespace removed, upper case).
    * is_key_enterprise: JSON true/false, or the strings true/false (any case), 是/否 after NFKC +
      trim. Anything else (1/0, "yes", null, "") is an error (missing or invalid).
    * needs: absent, null or "" = []; otherwise a JSON array whose elements are all objects.
    * satisfaction: absent/null/"" = none; else a JSON integer (or integral float such as 5.0)
      or a string holding one (full-width digits, spaces allowed), 1..5; booleans are invalid.
    * resolved_date is checked against raised_date only for 已办结; a non-empty resolved_date or
      a satisfaction on a need that is 待处理/处理中 is an error. resolved_date is not compared with
      visit_date or the delivery day (the contract does not ask for it).
    * A JSON object with a repeated key keeps the last value (Python's json); unknown keys are ignored.
    * visit_id_duplicate: the visit_id equals that of a line accepted earlier in this walk (from a
      version still loaded); reported in addition to any other rule the line breaks.
    """
    reference = load_feed_reference(seeds_dir)
    accepted_ids: dict[str, str] = {}
    visits_by_file: dict[str, list[Visit]] = {}

    def judge(account: FileAccount) -> None:
        if account.path.suffix.lower() != ".jsonl":
            account.reject(unsupported_type(account.path))
            return
        data = account.path.read_bytes()
        try:
            text, account.encoding = decode_text(data)
        except Rejected as rejection:
            rejection.rows = text_rows(data, header=False)
            account.reject(rejection)
            return
        visits: list[Visit] = []
        for number, line in enumerate(text.split("\n"), start=1):
            line = line.removesuffix("\r")
            if not line.strip():
                continue
            account.rows_received += 1
            visit_id, fields, rules = judge_visit_line(line, account.delivery_date, reference)
            if visit_id and visit_id in accepted_ids:
                rules.add("visit_id_duplicate")
            if rules:
                account.failures[number] = rules
                continue
            assert fields is not None
            visit = Visit(account.source_file, account.delivery_date, number, **fields)  # type: ignore[arg-type]
            accepted_ids[visit.visit_id] = account.source_file
            visits.append(visit)
        account.rows_loaded = len(visits)
        account.rows_quarantined = len(account.failures)
        visits_by_file[account.source_file] = visits

    def forget(source_file: str) -> None:
        for visit in visits_by_file.pop(source_file, []):
            del accepted_ids[visit.visit_id]

    files = _walk("visits", landing, _day_folders(landing, "visits", first, last), judge, forget)
    # With ``release_held`` every held delivery has been released (as ``support.pipeline.load_feeds`` does).
    held = set() if release_held else held_deliveries(list(files.values()))
    visits = [visit for visits in visits_by_file.values() for visit in visits if visit.delivery_date not in held]
    return VisitsTruth(files, visits, reference, held)


# --- needs -------------------------------------------------------------------------------------------------


def current_needs(truth: VisitsTruth) -> dict[str, NeedRecord]:
    """need_id -> its latest record (core.need_current): order visit_date, delivery_date,
    source_file, line number, position in the needs array."""
    current: dict[str, NeedRecord] = {}
    for record in truth.need_records:
        current[record.need_id] = record
    return current


def need_status_changes(truth: VisitsTruth) -> list[NeedRecord]:
    """core.fct_need_status_changes: each record whose status differs from the previous record of
    the same need (the first record always counts), in record order."""
    last_status: dict[str, str] = {}
    changes = []
    for record in truth.need_records:
        if last_status.get(record.need_id) != record.need.status:
            changes.append(record)
        last_status[record.need_id] = record.need.status
    return changes


@dataclass(frozen=True)
class Resolution:
    needs_raised: int
    needs_resolved: int
    resolution_rate: float  # percent
    median_days_to_resolve: float | None  # None when nothing resolved


def _resolution(needs: list[NeedRecord]) -> Resolution:
    days = [(r.need.resolved_date - r.need.raised_date).days for r in needs if r.need.status == RESOLVED]  # type: ignore[operator]
    return Resolution(
        needs_raised=len(needs),
        needs_resolved=len(days),
        resolution_rate=len(days) / len(needs) * 100,
        median_days_to_resolve=statistics.median(days) if days else None,
    )


def needs_resolution(truth: VisitsTruth) -> dict[tuple[date, str, str], Resolution]:
    """mart.needs_resolution: (raised month, park_code | 'all', category | '全部') -> figures.

    Current records only; month, park and category of the current record (park of the visit that
    carried it). The four grouping sets are all present for every month with needs.
    """
    groups: dict[tuple[date, str, str], list[NeedRecord]] = defaultdict(list)
    for record in current_needs(truth).values():
        month = month_start(record.need.raised_date)
        for park in (record.visit.park_code, ALL_PARKS):
            for category in (record.need.category, ALL_CATEGORIES):
                groups[(month, park, category)].append(record)
    return {key: _resolution(records) for key, records in groups.items()}


def needs_resolution_kpi(truth: VisitsTruth, as_of: date) -> float | None:
    """Resolution rate (%) of needs raised from 1 January of the year of ``as_of`` to ``as_of``."""
    needs = [r for r in current_needs(truth).values() if date(as_of.year, 1, 1) <= r.need.raised_date <= as_of]
    return _resolution(needs).resolution_rate if needs else None


@dataclass(frozen=True)
class Episode:
    category: str
    episode_start: date  # first hot day - (window_days - 1)
    first_hot_day: date
    last_hot_day: date
    enterprises: int  # distinct USCCs raising the category within the span
    needs: int  # needs of the category raised within the span
    peak_enterprises_7d: int  # max over the hot days of the window count
    parks: str  # distinct park codes of those needs, sorted, ';'-joined


def recurring_parameters(reference: FeedReference) -> tuple[int, int]:
    """(threshold, window_days) of recurring_needs in kpi_targets.csv (target_value, window_days);
    5 and 7 when the seed leaves them empty."""
    row = reference.targets.get("recurring_needs", {})
    threshold = Decimal(row["target_value"]) if row.get("target_value") else Decimal(5)
    window = Decimal(row["window_days"]) if row.get("window_days") else Decimal(7)
    return int(threshold), int(window)


def recurring_episodes(
    truth: VisitsTruth, threshold: int | None = None, window_days: int | None = None
) -> list[Episode]:
    """mart.recurring_needs, from the current need records, ordered by category then first hot day.

    Day D is hot for category C when >= ``threshold`` distinct USCCs (of the visit carrying the
    current record) have a need of C with raised_date in [D - window_days + 1, D]. Both default
    to the seeds (:func:`recurring_parameters`).
    """
    seeded_threshold, seeded_window = recurring_parameters(truth.reference)
    threshold = seeded_threshold if threshold is None else threshold
    window_days = seeded_window if window_days is None else window_days
    by_category: dict[str, list[NeedRecord]] = defaultdict(list)
    for record in current_needs(truth).values():
        by_category[record.need.category].append(record)
    span = timedelta(days=window_days - 1)
    episodes: list[Episode] = []
    for category in sorted(by_category):
        records = by_category[category]
        firms_by_day: dict[date, set[str]] = defaultdict(set)
        for record in records:
            firms_by_day[record.need.raised_date].add(record.visit.uscc)
        first, last = min(firms_by_day), max(firms_by_day) + span
        hot: dict[date, int] = {}
        day = first
        while day <= last:
            window: set[str] = set()
            for offset in range(window_days):
                window |= firms_by_day.get(day - timedelta(days=offset), set())
            if len(window) >= threshold:
                hot[day] = len(window)
            day += timedelta(days=1)
        runs: list[list[date]] = []
        for day in sorted(hot):
            if runs and runs[-1][-1] == day - timedelta(days=1):
                runs[-1].append(day)
            else:
                runs.append([day])
        for run in runs:
            start, end = run[0] - span, run[-1]
            inside = [r for r in records if start <= r.need.raised_date <= end]
            episodes.append(
                Episode(
                    category=category,
                    episode_start=start,
                    first_hot_day=run[0],
                    last_hot_day=end,
                    enterprises=len({r.visit.uscc for r in inside}),
                    needs=len(inside),
                    peak_enterprises_7d=max(hot[day] for day in run),
                    parks=";".join(sorted({r.visit.park_code for r in inside})),
                )
            )
    return episodes


def recurring_need_ids(truth: VisitsTruth, episodes: list[Episode] | None = None) -> set[str]:
    """need_ids flagged is_recurring: category and raised_date (current record) in an episode's span."""
    episodes = recurring_episodes(truth) if episodes is None else episodes
    return {
        need_id
        for need_id, record in current_needs(truth).items()
        if any(
            e.category == record.need.category and e.episode_start <= record.need.raised_date <= e.last_hot_day
            for e in episodes
        )
    }


def recurring_kpi(episodes: list[Episode], as_of: date) -> int:
    """Episodes whose last hot day falls in the 30 days ending on ``as_of``."""
    return sum(1 for e in episodes if as_of - timedelta(days=29) <= e.last_hot_day <= as_of)


# --- visits per staff week ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffWeek:
    iso_year: int
    iso_week: int
    visitors: int
    visits: int
    visits_per_visitor: float
    visitors_meeting_target: int | None  # 片长 only; None for the other roles


def visits_per_staff_week(truth: VisitsTruth) -> dict[tuple[date, str], StaffWeek]:
    """(Monday of the ISO week of visit_date, role) -> figures; every channel counts."""
    target = truth.reference.target_value("visits_per_staff_week")
    counts: dict[tuple[date, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for visit in truth.visits:
        counts[(week_start(visit.visit_date), visit.visitor_role)][visit.visitor_id] += 1
    result = {}
    for (monday, role), per_visitor in counts.items():
        iso = monday.isocalendar()
        visits = sum(per_visitor.values())
        meeting = None
        if role == TARGET_ROLE and target is not None:
            meeting = sum(1 for count in per_visitor.values() if count >= target)
        result[(monday, role)] = StaffWeek(iso[0], iso[1], len(per_visitor), visits, visits / len(per_visitor), meeting)
    return result


def visits_per_staff_kpi(truth: VisitsTruth, as_of: date) -> float | None:
    """visits_per_visitor of 片长 in the latest complete ISO week ending on or before ``as_of``."""
    sunday = as_of - timedelta(days=(as_of.weekday() + 1) % 7)
    week = visits_per_staff_week(truth).get((sunday - timedelta(days=6), TARGET_ROLE))
    return week.visits_per_visitor if week else None


# --- key enterprise coverage -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    key_enterprises: int
    visited: int
    coverage: float  # percent


def _coverage_counts(
    truth: VisitsTruth, known_by: date, visited_from: date, visited_to: date, enterprises: EnterpriseHistory | None
) -> dict[str, tuple[set[str], set[str]]]:
    """park_code | 'all' -> (key firms, visited key firms)."""
    ordered = sorted(truth.visits, key=lambda visit: visit.order)
    flagged = {v.uscc for v in ordered if v.is_key_enterprise and v.visit_date <= known_by}
    park_of: dict[str, str | None] = {}
    if enterprises is not None:
        for uscc, park in enterprises.champions_as_of(known_by).items():
            flagged.add(uscc)
            park_of[uscc] = park
    for visit in ordered:  # the latest visit up to known_by decides the park
        if visit.visit_date <= known_by:
            park_of[visit.uscc] = visit.park_code
    visited = {v.uscc for v in ordered if visited_from <= v.visit_date <= visited_to}
    groups: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for uscc in flagged:
        for park in (park_of.get(uscc), ALL_PARKS):
            if park is None:
                continue
            groups[park][0].add(uscc)
            if uscc in visited:
                groups[park][1].add(uscc)
    return groups


def key_coverage(
    truth: VisitsTruth, enterprises: EnterpriseHistory | None = None, quarters: Iterable[date] | None = None
) -> dict[tuple[date, str], Coverage]:
    """mart key coverage: (quarter start, park_code | 'all') -> figures, for parks with key firms.

    Key firms of Q: flagged is_key_enterprise in any visit dated <= end of Q, united with the
    active 独角兽/隐形冠军 firms as of the end of Q **only when** ``enterprises`` (see
    :func:`read_enterprise_history`) is given; without it only the visit flags count. Park: the
    latest visit's park up to the end of Q, else the firm's registered park then (a firm with
    neither counts zone-wide only). Quarters: those given, else every quarter from the earliest
    to the latest visit_date.
    """
    if quarters is None:
        if not truth.visits:
            return {}
        quarters, day = [], quarter_start(min(v.visit_date for v in truth.visits))
        while day <= max(v.visit_date for v in truth.visits):
            quarters.append(day)
            day = next_month(next_month(next_month(day)))
    result = {}
    for start in quarters:
        end = quarter_end(start)
        for park, (key, visited) in _coverage_counts(truth, end, start, end, enterprises).items():
            result[(start, park)] = Coverage(len(key), len(visited), len(visited) / len(key) * 100)
    return result


def key_coverage_to_date(
    truth: VisitsTruth, as_of: date, enterprises: EnterpriseHistory | None = None
) -> dict[str, Coverage]:
    """park_code | 'all' -> coverage of the quarter containing ``as_of`` from the data dated up to it
    (key firms known by then, visits from the quarter's start to it); nothing before a visit is dated
    in that quarter (the mart's quarters run to the latest visit)."""
    start = quarter_start(as_of)
    if not any(start <= v.visit_date <= as_of for v in truth.visits):
        return {}
    counts = _coverage_counts(truth, as_of, start, as_of, enterprises)
    return {
        park: Coverage(len(key), len(visited), len(visited) / len(key) * 100) for park, (key, visited) in counts.items()
    }


def key_coverage_kpi(truth: VisitsTruth, as_of: date, enterprises: EnterpriseHistory | None = None) -> float | None:
    """Zone-wide coverage of the quarter containing ``as_of``, quarter to date (key firms known by then)."""
    counts = _coverage_counts(truth, as_of, quarter_start(as_of), as_of, enterprises).get(ALL_PARKS)
    return _percent(len(counts[1]), len(counts[0])) if counts else None


# --- agent services ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentMonth:
    services: int  # visits by 首席代办员
    agents: int  # distinct visitor_id
    enterprises: int  # distinct USCC
    needs: int  # need records reported in those visits


def agent_services(truth: VisitsTruth) -> dict[tuple[date, str], AgentMonth]:
    """mart.agent_services: (month of visit_date, park_code) -> figures (no total rows)."""
    groups: dict[tuple[date, str], list[Visit]] = defaultdict(list)
    for visit in truth.visits:
        if visit.visitor_role == AGENT_ROLE:
            groups[(month_start(visit.visit_date), visit.park_code)].append(visit)
    return {
        key: AgentMonth(
            services=len(visits),
            agents=len({v.visitor_id for v in visits}),
            enterprises=len({v.uscc for v in visits}),
            needs=sum(len(v.needs) for v in visits),
        )
        for key, visits in groups.items()
    }


def agent_services_kpi(truth: VisitsTruth, as_of: date) -> int:
    """Services in the year of ``as_of`` up to ``as_of``."""
    return sum(
        1 for v in truth.visits if v.visitor_role == AGENT_ROLE and date(as_of.year, 1, 1) <= v.visit_date <= as_of
    )


# --- registered enterprises (from the feed-1 recount) ------------------------------------------------------

ENDING_EVENTS = ("注销", "吊销", "迁出")


@dataclass(frozen=True)
class EnterpriseEvent:
    uscc: str
    event_date: date
    event_type: str
    park_code: str | None
    tags: frozenset[str]
    order: tuple[date, date, str, int]  # event_date, delivery_date, source_file, row number


@dataclass
class EnterpriseHistory:
    """Valid registration events per USCC, in (event_date, delivery order) order."""

    events: dict[str, list[EnterpriseEvent]]
    champion_tags: frozenset[str]

    def as_of(self, day: date) -> dict[str, EnterpriseEvent]:
        """uscc -> its latest event dated on or before ``day``."""
        state = {}
        for uscc, events in self.events.items():
            dated = [event for event in events if event.event_date <= day]
            if dated:
                state[uscc] = dated[-1]
        return state

    def champions_as_of(self, day: date) -> dict[str, str | None]:
        """Active firms tagged 独角兽/隐形冠军 as of ``day`` -> their park code then."""
        return {
            uscc: event.park_code
            for uscc, event in self.as_of(day).items()
            if event.event_type not in ENDING_EVENTS and event.tags & self.champion_tags
        }

    def known(self) -> set[str]:
        """Every USCC with a valid event (core.dim_enterprise_current holds them all)."""
        return set(self.events)


def read_enterprise_history(landing: Path, first: date, last: date, seeds_dir: Path | None = None) -> EnterpriseHistory:
    """Registration events of delivery days first..last, as :func:`support.independent.expected_landing`
    judges them (its file-version rules: duplicates only, no superseding), with their tags."""
    expectation = expected_landing(landing, first, last, seeds_dir)
    events: dict[str, list[EnterpriseEvent]] = defaultdict(list)
    for expected in expectation.by_status("loaded"):
        parsed = parse_file(expected.path)
        positions, _ = check_headers(parsed.headers)
        cells_by_number = dict(parsed.rows)
        for number, row in expected.valid_rows.items():
            cells = cells_by_number[number]
            tags_cell = next((cells[p] for p, header in positions.items() if header == "资质标签"), None)
            events[row.uscc].append(
                EnterpriseEvent(
                    uscc=row.uscc,
                    event_date=row.event_date,
                    event_type=row.event_type,
                    park_code=row.park_code,
                    tags=frozenset(split_tags(tags_cell)),
                    order=(row.event_date, expected.delivery_date, expected.source_file, number),
                )
            )
    for history in events.values():
        history.sort(key=lambda event: event.order)
    return EnterpriseHistory(dict(events), load_feed_reference(seeds_dir).champion_tags)


# =========================================================================================================
# Feed 3: incubator monthly reports
# =========================================================================================================


@dataclass(frozen=True)
class IncubatorReport:
    source_file: str
    delivery_month: date
    incubator_id: str
    incubator_name: str
    level: str
    is_high_quality: bool
    park_name: str
    park_code: str
    report_month: date
    incubation_area_m2: Decimal
    incubatees: int
    new_incubatees: int
    graduated: int
    graduated_cumulative: int
    funded_incubatees: int
    funding_10k: Decimal
    ip_granted: int
    incubatee_employees: int
    incubatee_revenue_10k: Decimal
    has_tenant_list: bool
    tenants: tuple[str, ...]  # accepted USCCs of 在孵企业名单, first occurrence order

    @property
    def is_late(self) -> bool:
        """Delivered after the month following the report month."""
        return self.delivery_month > next_month(self.report_month)


@dataclass
class IncubatorTruth:
    files: dict[str, FileAccount]
    #: (incubator_id, report_month) -> accepted versions of loaded files, in delivery order.
    versions: dict[tuple[str, date], list[IncubatorReport]]
    reference: FeedReference

    @property
    def reports(self) -> dict[tuple[str, date], IncubatorReport]:
        """The current report per (incubator_id, report_month): the last accepted version."""
        return {key: versions[-1] for key, versions in self.versions.items() if versions}

    def version_count(self, key: tuple[str, date]) -> int:
        """Accepted versions of files still loaded (superseded files' versions are withdrawn)."""
        return len(self.versions.get(key, []))

    def by_status(self, status: str) -> list[FileAccount]:
        return [account for account in self.files.values() if account.status == status]


_MONTH_FORMATS = (
    re.compile(r"(\d{4})-(\d{2})"),
    re.compile(r"(\d{4})(\d{2})"),
    re.compile(r"(\d{4})年(\d{1,2})月"),
)


def parse_report_month(value: object) -> date | None:
    """`2025-03`, `202503`, `2025年3月` (also an integer cell 202503, or an Excel date cell on the
    1st of a month at midnight, which is what Excel stores when one types 2025-03)."""
    if isinstance(value, datetime):
        return value.date() if value.day == 1 and value.time() == datetime.min.time() else None
    if isinstance(value, date):
        return value if value.day == 1 else None
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else fold(value)
    for pattern in _MONTH_FORMATS:
        match = pattern.fullmatch(text)
        if match:
            year, month = (int(part) for part in match.groups())
            return date(year, month, 1) if 1 <= month <= 12 else None
    return None


def _sheet_rows(sheet: object) -> list[tuple[int, list[object]]]:
    """Non-blank rows with their sheet row numbers."""
    sheet.reset_dimensions()  # type: ignore[attr-defined]  # trust the cells, not the stored dimension
    rows = enumerate(sheet.iter_rows(values_only=True), start=1)  # type: ignore[attr-defined]
    return [(number, list(values)) for number, values in rows if not all(_blank(value) for value in values)]


def _table(
    rows: list[tuple[int, list[object]]], contract: dict[str, str], required: Iterable[str]
) -> tuple[dict[int, str], list[str], list[tuple[int, dict[str, object], bool]]]:
    """Header positions (-> canonical name), unknown headers and data rows (number, record, well-shaped).

    Raises :class:`Rejected` for a duplicate or missing required column. A row with a non-empty
    cell beyond the last header is not well-shaped (rule ``row_field_count``).
    """
    keys = {header_key(header): name for header, name in contract.items()}
    headers = rows[0][1] if rows else []
    positions: dict[int, str] = {}
    unknown: list[str] = []
    seen: set[str] = set()
    for position, header in enumerate(headers):
        key = header_key(header)
        if not key:
            continue
        if key in seen:
            raise Rejected("duplicate_column", str(header))
        seen.add(key)
        if key in keys:
            positions[position] = keys[key]
        else:
            unknown.append(fold(header))
    missing = [header for header in required if contract[header] not in positions.values()]
    if missing:
        raise Rejected("missing_required_column", ", ".join(missing))
    width = max((position for position, header in enumerate(headers) if header_key(header)), default=-1) + 1
    data = []
    for number, cells in rows[1:]:
        record = {name: cells[position] if position < len(cells) else None for position, name in positions.items()}
        data.append((number, record, all(_blank(value) for value in cells[width:])))
    return positions, unknown, data


def _judge_report(
    record: dict[str, object], delivery_month: date, reference: FeedReference
) -> tuple[dict[str, object], set[str]]:
    """Typed fields and the rules the 月报 row breaks on its own (everything but the cumulative check).

    Rule ids: ``<field>_missing``; ``level_unknown``; ``is_high_quality_invalid`` (not 是/否);
    ``park_name_unknown``; ``report_month_format``; ``report_month_not_before_delivery``;
    ``<number>_invalid`` (not a number, or a count that is not an integer); ``<number>_negative``;
    ``funded_incubatees_exceeds_incubatees``.
    """
    rules: set[str] = set()
    fields: dict[str, object] = {}
    for name in INCUBATOR_HEADERS.values():
        if not fold(record.get(name)):
            rules.add(f"{name}_missing")
    for name in ("incubator_id", "incubator_name"):
        fields[name] = fold(record.get(name))
    level = fold(record.get("level"))
    if level and level not in LEVELS:
        rules.add("level_unknown")
    fields["level"] = level
    quality = fold(record.get("is_high_quality"))
    if quality and quality not in YES_NO:
        rules.add("is_high_quality_invalid")
    fields["is_high_quality"] = YES_NO.get(quality)
    park = fold(record.get("park_name"))
    if park and park not in reference.park_codes:
        rules.add("park_name_unknown")
    fields["park_name"], fields["park_code"] = park, reference.park_codes.get(park)
    raw_month = record.get("report_month")
    month = None if _blank(raw_month) else parse_report_month(raw_month)
    if not _blank(raw_month) and month is None:
        rules.add("report_month_format")
    elif month is not None and month >= delivery_month:
        rules.add("report_month_not_before_delivery")
    fields["report_month"] = month
    for name in (*INCUBATOR_AMOUNTS, *INCUBATOR_COUNTS):
        value = record.get(name)
        if not fold(value):
            continue
        number = parse_number(value)
        if number is None or (name in INCUBATOR_COUNTS and number != number.to_integral_value()):
            rules.add(f"{name}_invalid")
        elif number < 0:
            rules.add(f"{name}_negative")
        else:
            fields[name] = int(number) if name in INCUBATOR_COUNTS else number
    funded, incubatees = fields.get("funded_incubatees"), fields.get("incubatees")
    if isinstance(funded, int) and isinstance(incubatees, int) and funded > incubatees:
        rules.add("funded_incubatees_exceeds_incubatees")
    return fields, rules


def read_incubator_reports(
    landing: Path, first_month: date | str, last_month: date | str, seeds_dir: Path | None = None
) -> IncubatorTruth:
    """Feed 3 for delivery months first..last (folders ``YYYY-MM``): file accounts and reports.

    A workbook is rejected whole when: not ``.xlsx`` (``file_unsupported_type``); unreadable
    (``file_unreadable``); no sheet 月报 (``sheet_missing``; sheet names compared after NFKC + trim);
    a duplicate header (``duplicate_column``); a missing column (``missing_required_column``:
    all 16 columns of sources.md are required, as every staging column is NOT NULL; an empty
    sheet misses them all); not exactly one non-blank data row (``report_row_count``); a sheet
    在孵企业名单 with rows but no column 统一社会信用代码 (``missing_required_column``).

    The 月报 row (all 16 values required) is then judged (:func:`_judge_report`) and, when it passes,
    against the incubator's current report of the latest earlier month (strictly before its own)
    still loaded at that moment: a lower graduated_cumulative is ``graduated_cumulative_decreased``.
    A quarantined 月报 row quarantines every tenant row too (``report_quarantined``).

    Tenant rows: the normalised USCC must be valid (``tenant_uscc_missing`` /
    ``tenant_uscc_invalid``); a USCC already accepted earlier in the same sheet is quarantined
    (``tenant_uscc_duplicate``, counted as quarantined, not silently dropped). An empty sheet
    在孵企业名单 means a list with no tenants (``has_tenant_list`` true).

    Resubmissions: every accepted version is kept per (incubator_id, report_month); the current
    one is the last in delivery order (delivery month, then file name), see :attr:`IncubatorTruth.reports`.
    """
    reference = load_feed_reference(seeds_dir)
    first, last = as_month(first_month), as_month(last_month)
    versions: dict[tuple[str, date], list[IncubatorReport]] = defaultdict(list)

    def judge(account: FileAccount) -> None:
        if account.path.suffix.lower() != ".xlsx":
            account.reject(unsupported_type(account.path))
            return
        workbook = None
        try:
            workbook = openpyxl.load_workbook(account.path, read_only=True, data_only=True)
            sheets = {fold(name): workbook[name] for name in workbook.sheetnames}
            report_rows = _sheet_rows(sheets[REPORT_SHEET]) if REPORT_SHEET in sheets else None
            tenant_rows = _sheet_rows(sheets[TENANT_SHEET]) if TENANT_SHEET in sheets else None
        except (
            InvalidFileException,
            zipfile.BadZipFile,
            KeyError,
            OSError,
            ValueError,
            TypeError,
            ElementTree.ParseError,
        ) as error:
            rows = workbook_rows(account.path, {REPORT_SHEET, TENANT_SHEET})
            account.reject(Rejected("file_unreadable", f"{type(error).__name__}: {error}", rows))
            return
        finally:
            if workbook is not None:
                workbook.close()
        try:
            _judge_workbook(account, report_rows, tenant_rows, reference, versions)
        except Rejected as rejection:
            account.reject(rejection)

    def forget(source_file: str) -> None:
        for key in list(versions):
            versions[key] = [report for report in versions[key] if report.source_file != source_file]
            if not versions[key]:
                del versions[key]

    folders = []
    month = first
    while month <= last:
        folders.append((month, landing / "incubator_reports" / f"{month:%Y-%m}"))
        month = next_month(month)
    files = _walk("incubator_reports", landing, folders, judge, forget)
    return IncubatorTruth(files, dict(versions), reference)


def _judge_workbook(
    account: FileAccount,
    report_rows: list[tuple[int, list[object]]] | None,
    tenant_rows: list[tuple[int, list[object]]] | None,
    reference: FeedReference,
    versions: dict[tuple[str, date], list[IncubatorReport]],
) -> None:
    if report_rows is None:
        raise Rejected("sheet_missing", REPORT_SHEET)
    account.rows_received = max(len(report_rows) - 1, 0)
    account.tenant_rows_received = max(len(tenant_rows) - 1, 0) if tenant_rows else 0
    _, account.unknown_columns, data = _table(report_rows, INCUBATOR_HEADERS, INCUBATOR_HEADERS)
    tenants_data: list[tuple[int, dict[str, object], bool]] = []
    if tenant_rows:
        _, _, tenants_data = _table(tenant_rows, {TENANT_HEADER: "uscc"}, (TENANT_HEADER,))
    if len(data) != 1:
        raise Rejected("report_row_count", f"{len(data)} data rows in {REPORT_SHEET}, expected 1")
    number, record, well_shaped = data[0]
    fields, rules = _judge_report(record, account.delivery_date, reference)
    if not well_shaped:  # like feed 1: a malformed row is quarantined for its shape only
        rules = {"row_field_count"}
    if not rules:
        earlier = [key for key in versions if key[0] == fields["incubator_id"] and key[1] < fields["report_month"]]
        if earlier:
            previous = versions[max(earlier, key=lambda key: key[1])][-1]
            if fields["graduated_cumulative"] < previous.graduated_cumulative:  # type: ignore[operator]
                rules.add("graduated_cumulative_decreased")

    tenants: list[str] = []
    for tenant_number, tenant, tenant_shaped in tenants_data:
        uscc = code_text(tenant["uscc"])
        tenant_rules = set()
        if not tenant_shaped:
            tenant_rules.add("row_field_count")
        elif not uscc:
            tenant_rules.add("tenant_uscc_missing")
        elif uscc_problem(uscc):
            tenant_rules.add("tenant_uscc_invalid")
        elif uscc in tenants:
            tenant_rules.add("tenant_uscc_duplicate")
        if rules:
            tenant_rules.add("report_quarantined")
        if tenant_rules:
            account.tenant_failures[tenant_number] = tenant_rules
        else:
            tenants.append(uscc)
    account.tenant_rows_loaded = len(tenants)
    account.tenant_rows_quarantined = len(account.tenant_failures)
    if rules:
        account.failures[number] = rules
        account.rows_quarantined = 1
        return
    account.rows_loaded = 1
    report = IncubatorReport(
        source_file=account.source_file,
        delivery_month=account.delivery_date,
        has_tenant_list=tenant_rows is not None,
        tenants=tuple(tenants),
        **fields,  # type: ignore[arg-type]
    )
    versions[(report.incubator_id, report.report_month)].append(report)


@dataclass(frozen=True)
class IncubatorMonth:
    incubator_name: str
    level: str
    park_code: str
    is_high_quality: bool
    incubatees: int
    new_incubatees: int
    graduated: int
    graduated_cumulative: int
    funded_incubatees: int
    funded_share: float | None  # percent; None when no incubatees
    funding_10k: Decimal
    incubation_area_m2: Decimal
    incubatee_revenue_10k: Decimal
    revenue_per_m2_10k: float | None  # None when the area is 0
    ip_granted: int
    incubatee_employees: int
    is_late: bool
    version_count: int
    has_tenant_list: bool
    tenants_listed: int  # accepted distinct tenant USCCs (0 without a list)
    tenants_known: int | None  # of those, in ``known_usccs``; None when not given


def incubator_monthly(
    truth: IncubatorTruth, known_usccs: set[str] | None = None
) -> dict[tuple[date, str], IncubatorMonth]:
    """mart.incubator_monthly: (report month, incubator_id) -> figures of the current report."""
    result = {}
    for key, report in truth.reports.items():
        result[(key[1], key[0])] = IncubatorMonth(
            incubator_name=report.incubator_name,
            level=report.level,
            park_code=report.park_code,
            is_high_quality=report.is_high_quality,
            incubatees=report.incubatees,
            new_incubatees=report.new_incubatees,
            graduated=report.graduated,
            graduated_cumulative=report.graduated_cumulative,
            funded_incubatees=report.funded_incubatees,
            funded_share=_percent(report.funded_incubatees, report.incubatees),
            funding_10k=report.funding_10k,
            incubation_area_m2=report.incubation_area_m2,
            incubatee_revenue_10k=report.incubatee_revenue_10k,
            revenue_per_m2_10k=float(report.incubatee_revenue_10k / report.incubation_area_m2)
            if report.incubation_area_m2
            else None,
            ip_granted=report.ip_granted,
            incubatee_employees=report.incubatee_employees,
            is_late=report.is_late,
            version_count=truth.version_count(key),
            has_tenant_list=report.has_tenant_list,
            tenants_listed=len(report.tenants),
            tenants_known=None if known_usccs is None else sum(1 for uscc in report.tenants if uscc in known_usccs),
        )
    return result


def _latest_reports(truth: IncubatorTruth, as_of_month: date | str) -> dict[str, IncubatorReport]:
    month = as_month(as_of_month)
    latest: dict[str, IncubatorReport] = {}
    for (incubator_id, report_month), report in sorted(truth.reports.items(), key=lambda item: item[0][1]):
        if report_month <= month:
            latest[incubator_id] = report
    return latest


def high_quality_count(truth: IncubatorTruth, as_of_month: date | str) -> int:
    """Incubators whose latest current report with report_month <= the month says 是."""
    return sum(1 for report in _latest_reports(truth, as_of_month).values() if report.is_high_quality)


def high_quality_by_park(truth: IncubatorTruth, as_of_month: date | str) -> dict[str, int]:
    """park_code | 'all' -> high-quality incubators as of the month (park of that latest report);
    every park with an incubator reported by then is present, possibly with 0."""
    counts: dict[str, int] = defaultdict(int)
    for report in _latest_reports(truth, as_of_month).values():
        for park in (report.park_code, ALL_PARKS):
            counts[park] += int(report.is_high_quality)
    return dict(counts)


def hq_incubators_kpi(truth: IncubatorTruth, as_of: date) -> int:
    """The count as of the month before the month of ``as_of``."""
    return high_quality_count(truth, month_start(month_start(as_of) - timedelta(days=1)))


# =========================================================================================================
# Manual statistics
# =========================================================================================================


@dataclass(frozen=True)
class ManualRecord:
    source_file: str
    delivery_date: date
    row_number: int
    kpi_code: str
    period_start: date
    period_end: date
    period_label: str  # '2024', '2025Q1' or '2025-03'
    park_name: str | None
    value: Decimal
    source: str
    note: str

    @property
    def key(self) -> tuple[str, date, date, str | None]:
        return (self.kpi_code, self.period_start, self.period_end, self.park_name)


@dataclass
class ManualTruth:
    files: dict[str, FileAccount]
    records: list[ManualRecord]  # accepted rows of files still loaded, in delivery order
    reference: FeedReference

    @property
    def current(self) -> dict[tuple[str, date, date, str | None], ManualRecord]:
        """The latest delivery per (kpi_code, period, park): last in delivery order (day, file, row)."""
        return {record.key: record for record in self.records}


def parse_period(value: object) -> tuple[date, date, str] | None:
    """(start, end, label) of `2024`, `2024年`, `2025Q1` (q too), `2025年第1季度`, `2025-03`,
    `202503`, `2025年3月`; None otherwise. Same period written differently = same key."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else fold(value)
    if match := re.fullmatch(r"(\d{4})年?", text):
        year = int(match.group(1))
        return date(year, 1, 1), date(year, 12, 31), f"{year}"
    if match := re.fullmatch(r"(\d{4})[Qq]([1-4])", text) or re.fullmatch(r"(\d{4})年第([1-4])季度", text):
        year, quarter = int(match.group(1)), int(match.group(2))
        start = date(year, 3 * quarter - 2, 1)
        return start, quarter_end(start), f"{year}Q{quarter}"
    month = parse_report_month(text)
    if month is not None:
        return month, next_month(month) - timedelta(days=1), f"{month:%Y-%m}"
    return None


def _judge_manual(record: dict[str, object], reference: FeedReference) -> tuple[dict[str, object], set[str]]:
    """Rule ids: ``<field>_missing``; ``kpi_code_unknown`` (not a target sourced from manual_statistics);
    ``period_format``; ``value_invalid``; ``value_negative``; ``value_above_100`` (unit %);
    ``park_name_missing``/``park_name_unknown`` (trillion_parks: required, a park of the seeds);
    ``park_name_unexpected`` (other KPIs: must be empty)."""
    rules: set[str] = set()
    kpi = fold(record.get("kpi_code"))
    units = reference.manual_kpis
    if not kpi:
        rules.add("kpi_code_missing")
    elif kpi not in units:
        rules.add("kpi_code_unknown")
    period_text = fold(record.get("period"))
    period = parse_period(period_text) if period_text else None
    if not period_text:
        rules.add("period_missing")
    elif period is None:
        rules.add("period_format")
    value = None
    if not fold(record.get("value")):
        rules.add("value_missing")
    elif (value := parse_number(record.get("value"))) is None:
        rules.add("value_invalid")
    elif value < 0:
        rules.add("value_negative")
    elif units.get(kpi) == "%" and value > 100:
        rules.add("value_above_100")
    source = fold(record.get("source"))
    if not source:
        rules.add("source_missing")
    park = fold(record.get("park_name"))
    if kpi == PARK_KPI and not park:
        rules.add("park_name_missing")
    elif kpi == PARK_KPI and park not in reference.park_codes:
        rules.add("park_name_unknown")
    elif kpi in units and kpi != PARK_KPI and park:
        rules.add("park_name_unexpected")
    fields: dict[str, object] = {"kpi_code": kpi, "park_name": park or None, "value": value, "source": source}
    fields["note"] = fold(record.get("note"))
    if period is not None:
        fields["period_start"], fields["period_end"], fields["period_label"] = period
    return fields, rules


def read_manual_statistics(landing: Path, first: date, last: date, seeds_dir: Path | None = None) -> ManualTruth:
    """Manual statistics CSVs of delivery days first..last (file-version rules as for the feeds).

    Rows as in feed 1: blank records skipped, the header is row 1, a record with another number
    of fields than the header is quarantined (``row_field_count``; trailing empty fields are
    tolerated). Headers 指标代码, 期间, 数值, 来源 are required (``missing_required_column``),
    园区 and 备注 optional. A file without a header is rejected (``file_empty``). The 园区 of a
    trillion_parks row is a park name of the seeds (the key then uses that name).
    """
    reference = load_feed_reference(seeds_dir)
    records_by_file: dict[str, list[ManualRecord]] = {}

    def judge(account: FileAccount) -> None:
        if account.path.suffix.lower() != ".csv":
            account.reject(unsupported_type(account.path))
            return
        data = account.path.read_bytes()
        try:
            try:
                text, account.encoding = decode_text(data)
            except Rejected as rejection:
                rejection.rows = text_rows(data, header=True)
                raise
            rows = [
                (number, cells)
                for number, cells in enumerate(csv.reader(io.StringIO(text, newline="")), start=1)
                if not all(_blank(cell) for cell in cells)
            ]
            if not rows:
                raise Rejected("file_empty", "no header row")
            header_number = rows[0][0]
            rows = [(number - header_number + 1, cells) for number, cells in rows]
            account.rows_received = len(rows) - 1
            _, account.unknown_columns, data = _table(rows, MANUAL_HEADERS, MANUAL_REQUIRED)
        except Rejected as rejection:
            account.reject(rejection)
            return
        width = len(rows[0][1])
        cells_by_number = dict(rows)
        accepted = []
        for number, record, _ in data:
            cells = cells_by_number[number]
            if len(cells) == width or (len(cells) > width and all(_blank(cell) for cell in cells[width:])):
                fields, rules = _judge_manual(record, reference)
            else:  # like feed 1: a malformed record is quarantined for its shape only
                fields, rules = {}, {"row_field_count"}
            if rules:
                account.failures[number] = rules
                continue
            accepted.append(ManualRecord(account.source_file, account.delivery_date, number, **fields))  # type: ignore[arg-type]
        account.rows_loaded = len(accepted)
        account.rows_quarantined = len(account.failures)
        records_by_file[account.source_file] = accepted

    def forget(source_file: str) -> None:
        records_by_file.pop(source_file, None)

    files = _walk("manual_statistics", landing, _day_folders(landing, "manual_statistics", first, last), judge, forget)
    records = [record for records in records_by_file.values() for record in records]
    return ManualTruth(files, records, reference)


def leading_industry_share(truth: ManualTruth, as_of: date) -> Decimal | None:
    """The value of the latest period ending on or before ``as_of``.

    Choice: periods ending on the same day (2024, 2024Q4, 2024-12) are ordered by their start, so
    the shortest (latest-starting) one wins.
    """
    candidates = [r for r in truth.current.values() if r.kpi_code == SHARE_KPI and r.period_end <= as_of]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (r.period_end, r.period_start)).value


def qualifying_value(reference: FeedReference) -> Decimal:
    """``qualifying_value`` of trillion_parks in kpi_targets.csv when the column exists, else 10,000."""
    text = reference.targets.get(PARK_KPI, {}).get("qualifying_value", "")
    return Decimal(text) if text else DEFAULT_QUALIFYING_VALUE


def trillion_parks(truth: ManualTruth, as_of: date, threshold: Decimal | None = None) -> int | None:
    """Parks with 产业规模 >= the qualifying value in the latest **year** period ending on or before
    ``as_of`` that has trillion_parks data; None without such a year. Quarter or month periods of
    trillion_parks load but are ignored here (choice: the statistic is yearly)."""
    threshold = qualifying_value(truth.reference) if threshold is None else threshold
    yearly = [
        r
        for r in truth.current.values()
        if r.kpi_code == PARK_KPI and r.period_label.isdigit() and r.period_end <= as_of
    ]
    if not yearly:
        return None
    year = max(r.period_end for r in yearly)
    return sum(1 for r in yearly if r.period_end == year and r.value >= threshold)
