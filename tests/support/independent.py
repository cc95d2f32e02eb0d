"""An independent reading of the registrations contract (sources.md section 1, kpis.md).

Nothing here imports the pipeline (``parkops``): files are decoded, parsed and judged by a
deliberately small implementation of the contract, written apart from ``parkops.ingest``,
``parkops.uscc`` and the Great Expectations suite, so that a test comparing the two catches a
mistake in either. It serves two suites:

* ``tests/unit/test_generator.py``: the generator's defect ledger must match :func:`classify`.
* ``tests/integration``: :func:`expected_landing` recounts, from the landing files alone, what a
  correct pipeline must produce: per file its status and row accounting, per row which rules it
  breaks, and per (event date, park) the figures of ``mart.daily_new_tech_enterprises``.

Row numbers are spreadsheet row numbers: the header is row 1, blank rows are skipped but keep
their number (CSV: one record = one row; XLSX: the sheet's own row numbers).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple
from xml.etree import ElementTree

import openpyxl

REPO = Path(__file__).resolve().parents[2]
SEEDS_DIR = REPO / "seeds"
FEED_FOLDER = "registrations"

# --- the contract as data ---------------------------------------------------------------------

#: Chinese header -> canonical name, in the order of sources.md.
HEADERS = {
    "统一社会信用代码": "uscc",
    "企业名称": "enterprise_name",
    "事件类型": "event_type",
    "事件日期": "event_date",
    "成立日期": "established_date",
    "企业类型": "enterprise_type",
    "注册资本（万元）": "registered_capital_10k",
    "币种": "currency",
    "行业代码": "industry_code",
    "所属园区": "park_name",
    "注册地址": "address",
    "法定代表人": "legal_representative",
    "联系电话": "contact_phone",
    "资质标签": "qualification_tags",
    "参保人数": "insured_employees",
}
LABELS = {name: header for header, name in HEADERS.items()}
#: sources.md: 行业代码 and 所属园区 are required too (every KPI is per park; tech reads the class).
REQUIRED_HEADERS = ("统一社会信用代码", "企业名称", "事件类型", "事件日期", "成立日期", "行业代码", "所属园区")
EVENT_TYPES = ("设立", "变更", "注销", "吊销", "迁入", "迁出")
NEW_ENTERPRISE_EVENTS = ("设立", "迁入")
CURRENCIES = ("人民币", "美元", "欧元", "港元", "日元")
DEFAULT_CURRENCY = "人民币"
TAG_SEPARATORS = re.compile("[;；,、]")
SUFFIXES = (".csv", ".xlsx")

#: Row-level problem kinds (named like the generator's defect kinds) -> (pipeline rule id, column).
KIND_RULES: dict[str, tuple[str, str]] = {
    "uscc_bad_final_check": ("uscc_invalid", "uscc"),
    "uscc_bad_org_check": ("uscc_invalid", "uscc"),
    "uscc_bad_authority_type": ("uscc_invalid", "uscc"),
    "uscc_bad_division": ("uscc_invalid", "uscc"),
    "uscc_bad_length": ("uscc_invalid", "uscc"),
    "uscc_forbidden_char": ("uscc_invalid", "uscc"),
    "missing_uscc": ("uscc_missing", "uscc"),
    "missing_enterprise_name": ("enterprise_name_missing", "enterprise_name"),
    "missing_event_type": ("event_type_missing", "event_type"),
    "missing_event_date": ("event_date_missing", "event_date"),
    "missing_established_date": ("established_date_missing", "established_date"),
    "unknown_event_type": ("event_type_unknown", "event_type"),
    "unparseable_event_date": ("event_date_format", "event_date"),
    "unparseable_established_date": ("established_date_format", "established_date"),
    "event_after_delivery": ("event_date_after_delivery", "event_date"),
    "established_after_event": ("established_date_after_event", "established_date"),
    "negative_capital": ("registered_capital_invalid", "registered_capital_10k"),
    "non_numeric_capital": ("registered_capital_invalid", "registered_capital_10k"),
    "unknown_currency": ("currency_unknown", "currency"),
    "missing_industry_code": ("industry_code_missing", "industry_code"),
    "unknown_industry_code": ("industry_code_unknown", "industry_code"),
    "missing_park": ("park_name_missing", "park_name"),
    "unknown_park": ("park_name_unknown", "park_name"),
    "unknown_tag": ("qualification_tags_unknown", "qualification_tags"),
    "negative_employees": ("insured_employees_invalid", "insured_employees"),
    "non_integer_employees": ("insured_employees_invalid", "insured_employees"),
}
#: Rule id of a row whose number of fields differs from the header's.
ROW_SHAPE_RULE = "row_field_count"

# --- GB 32100-2015 (统一社会信用代码), written from the standard ------------------------------

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
#: Table 1 of GB 32100: registration authority -> the entity-type characters it may issue.
USCC_AUTHORITY_TYPES = {
    "1": "1239",
    "2": "19",
    "3": "123459",
    "4": "19",
    "5": "1239",
    "6": "129",
    "7": "129",
    "8": "19",
    "9": "123",
    "A": "19",
    "N": "1239",
    "Y": "1",
}
#: GB 11714 organisation code: weights of the 8 body characters; digits count as themselves,
#: letters A..Z as 10..35.
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
#: GB 32100 position 18: weight of position i is 3**i mod 31.
FINAL_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def org_check(body: str) -> str:
    remainder = 11 - sum(int(ch, 36) * weight for ch, weight in zip(body, ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def final_check(first17: str) -> str:
    total = sum(USCC_CHARSET.index(ch) * weight for ch, weight in zip(first17, FINAL_WEIGHTS, strict=True))
    return USCC_CHARSET[-total % 31]


def uscc_problem(code: str) -> str | None:
    """The first GB 32100 rule a (normalised, non-empty) code breaks, as a problem kind; None if valid."""
    if len(code) != 18:
        return "uscc_bad_length"
    if any(ch not in USCC_CHARSET for ch in code):
        return "uscc_forbidden_char"
    if code[1] not in USCC_AUTHORITY_TYPES.get(code[0], ""):
        return "uscc_bad_authority_type"
    if not code[2:8].isdigit():
        return "uscc_bad_division"
    if code[16] != org_check(code[8:16]):
        return "uscc_bad_org_check"
    if code[17] != final_check(code[:17]):
        return "uscc_bad_final_check"
    return None


def build_uscc(first16: str) -> str:
    """Complete 16 characters (authority, type, division, organisation body) with both checks."""
    first17 = first16 + org_check(first16[8:16])
    return first17 + final_check(first17)


# --- reference data, straight from the seed CSVs ------------------------------------------------


@dataclass(frozen=True)
class Reference:
    class_section: dict[str, str]  # class code -> section letter
    tech_classes: frozenset[str]
    park_codes: dict[str, str]  # park name -> park code
    park_names: dict[str, str]  # park code -> park name
    tags: frozenset[str]
    tech_tags: frozenset[str]


def read_seed_csv(name: str, seeds_dir: Path | None = None) -> list[dict[str, str]]:
    with (seeds_dir or SEEDS_DIR).joinpath(f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return [{key: value.strip() for key, value in row.items()} for row in csv.DictReader(handle)]


_reference_cache: dict[Path, tuple[tuple[int, ...], Reference]] = {}


def load_reference(seeds_dir: Path | None = None) -> Reference:
    directory = (seeds_dir or SEEDS_DIR).resolve()
    names = ("industry_classes", "parks", "qualification_tags")
    stamp = tuple((directory / f"{name}.csv").stat().st_mtime_ns for name in names)
    cached = _reference_cache.get(directory)
    if cached and cached[0] == stamp:
        return cached[1]
    classes = read_seed_csv("industry_classes", directory)
    parks = read_seed_csv("parks", directory)
    tags = read_seed_csv("qualification_tags", directory)
    reference = Reference(
        class_section={row["class_code"]: row["section_code"] for row in classes},
        tech_classes=frozenset(row["class_code"] for row in classes if row["is_tech"] == "true"),
        park_codes={row["park_name"]: row["park_code"] for row in parks},
        park_names={row["park_code"]: row["park_name"] for row in parks},
        tags=frozenset(row["tag"] for row in tags),
        tech_tags=frozenset(row["tag"] for row in tags if row["makes_tech_enterprise"] == "true"),
    )
    _reference_cache[directory] = (stamp, reference)
    return reference


# --- value rules ---------------------------------------------------------------------------------


def fold(value: object) -> str:
    """Cell as trimmed text with full-width forms folded (NFKC); '' for an empty cell."""
    if value is None:
        return ""
    return unicodedata.normalize("NFKC", str(value)).strip()


def code_text(value: object) -> str:
    """Codes: folded, inner whitespace removed, upper case; integers from XLSX cells as digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return re.sub(r"\s+", "", fold(value)).upper()


_DATE_FORMATS = (
    re.compile(r"(\d{4})-(\d{2})-(\d{2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日"),
)


def parse_date(value: object) -> date | None:
    """An Excel date cell or one of the four textual formats; None when it is not a real date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else fold(value)
    for pattern in _DATE_FORMATS:
        match = pattern.fullmatch(text)
        if match:
            year, month, day = (int(part) for part in match.groups())
            try:
                return date(year, month, day)
            except ValueError:
                return None
    return None


_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_GROUPED_NUMBER = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d+)?")


def parse_number(value: object) -> Decimal | None:
    """A number cell, or text with optional thousands separators / full-width digits; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(repr(value))
    text = fold(value)
    if _PLAIN_NUMBER.fullmatch(text) or _GROUPED_NUMBER.fullmatch(text):
        return Decimal(text.replace(",", ""))
    return None


def split_tags(value: object) -> list[str]:
    return [part.strip() for part in TAG_SEPARATORS.split(fold(value)) if part.strip()]


def industry_class(value: object, reference: Reference) -> str | None:
    """The 4-digit class of a code (optionally prefixed by its own section letter), None if unknown."""
    text = code_text(value)
    match = re.fullmatch(r"([A-T]?)(\d{4})", text)
    if not match or match.group(2) not in reference.class_section:
        return None
    letter, digits = match.groups()
    if letter and reference.class_section[digits] != letter:
        return None
    return digits


def cell(row: dict[str, object], header: str) -> object:
    return row.get(header)


def classify(row: dict[str, object], delivery: date, reference: Reference | None = None) -> list[str]:
    """Every rule of sources.md section 1 the row breaks (problem kinds, see :data:`KIND_RULES`).

    ``row`` maps contract headers to cell values (absent optional columns may be missing).
    """
    reference = reference or load_reference()
    kinds: list[str] = []

    code = code_text(cell(row, "统一社会信用代码"))
    problem = uscc_problem(code) if code else "missing_uscc"
    if problem:
        kinds.append(problem)
    if not fold(cell(row, "企业名称")):
        kinds.append("missing_enterprise_name")
    event_type = fold(cell(row, "事件类型"))
    if not event_type:
        kinds.append("missing_event_type")
    elif event_type not in EVENT_TYPES:
        kinds.append("unknown_event_type")

    event_date = established = None
    if not fold(cell(row, "事件日期")):
        kinds.append("missing_event_date")
    elif (event_date := parse_date(cell(row, "事件日期"))) is None:
        kinds.append("unparseable_event_date")
    elif event_date > delivery:
        kinds.append("event_after_delivery")
    if not fold(cell(row, "成立日期")):
        kinds.append("missing_established_date")
    elif (established := parse_date(cell(row, "成立日期"))) is None:
        kinds.append("unparseable_established_date")
    elif event_date is not None and established > event_date:
        kinds.append("established_after_event")

    capital = cell(row, "注册资本（万元）")
    if fold(capital):
        amount = parse_number(capital)
        if amount is None:
            kinds.append("non_numeric_capital")
        elif amount < 0:
            kinds.append("negative_capital")
    currency = fold(cell(row, "币种"))
    if currency and currency not in CURRENCIES:
        kinds.append("unknown_currency")
    if not code_text(cell(row, "行业代码")):
        kinds.append("missing_industry_code")
    elif industry_class(cell(row, "行业代码"), reference) is None:
        kinds.append("unknown_industry_code")
    park = fold(cell(row, "所属园区"))
    if not park:
        kinds.append("missing_park")
    elif park not in reference.park_codes:
        kinds.append("unknown_park")
    if any(tag not in reference.tags for tag in split_tags(cell(row, "资质标签"))):
        kinds.append("unknown_tag")
    employees = cell(row, "参保人数")
    if fold(employees):
        count = parse_number(employees)
        if count is not None and count < 0:
            kinds.append("negative_employees")
        elif count is None or count != count.to_integral_value():
            kinds.append("non_integer_employees")
    return kinds


def is_tech(row: dict[str, object], reference: Reference | None = None) -> bool:
    """kpis.md: a tech industry class, or a tag that makes a tech enterprise."""
    reference = reference or load_reference()
    code = industry_class(cell(row, "行业代码"), reference)
    return code in reference.tech_classes or bool(set(split_tags(cell(row, "资质标签"))) & reference.tech_tags)


# --- reading files -----------------------------------------------------------------------------


class FileRejection(Exception):
    """The contract rejects the whole file; ``detail`` names what is wrong (column, encoding...).

    ``rows`` is what the file holds, all received and quarantined (sources.md: every received
    row ends up loaded or quarantined), ``row_numbers`` their numbers when known: the rows read
    when the file could be parsed, else :func:`text_line_numbers` / :func:`workbook_row_numbers`;
    a file that cannot be counted at all holds one row (without a number).
    """

    def __init__(self, rule: str, detail: str, rows: int = 1, row_numbers: set[int] | None = None):
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail
        self.rows = rows
        self.row_numbers = row_numbers or set()

    def counted(self, numbers: list[int] | None) -> FileRejection:
        """The rows the file holds, as found by a counting function (None: uncountable, one row)."""
        self.rows, self.row_numbers = (1, set()) if numbers is None else (len(numbers), set(numbers))
        return self


def text_line_numbers(data: bytes, *, header: bool) -> list[int]:
    """Rows of a text file that cannot be decoded: its non-blank lines, less the header line.

    LF never occurs inside a UTF-8 or GB18030 character, so the lines are there even when the text
    is not; a line is decoded on its own only to tell whether it is blank (BOM and NUL ignored).
    """
    numbers = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            text = line.decode("gb18030", errors="replace")
        if text.replace("\ufeff", "").replace("\x00", "").strip():
            numbers.append(number)
    return numbers[1:] if header else numbers


def text_rows(data: bytes, *, header: bool) -> int:
    return len(text_line_numbers(data, header=header))


_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def workbook_row_numbers(path: Path, sheet_names: set[str] | None = None) -> list[int] | None:
    """Rows of a workbook openpyxl cannot read: the data rows (a non-empty row less the header row)
    of the first sheet, or of the named sheets, read from the archive's XML; None when there is no
    archive or no sheet XML to read (an upload cut short)."""
    try:
        with zipfile.ZipFile(path) as archive:
            book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
            target_of = {rel.get("Id"): rel.get("Target", "") for rel in rels}
            sheets = list(book.iter(f"{_SHEET_NS}sheet"))
            if sheet_names is None:
                sheets = sheets[:1]
            else:
                sheets = [sheet for sheet in sheets if (sheet.get("name") or "").strip() in sheet_names]
            numbers: list[int] = []
            for sheet in sheets:
                rid = next(value for key, value in sheet.attrib.items() if key.endswith("}id"))
                target = target_of[rid]
                member = target[1:] if target.startswith("/") else "xl/" + target
                root = ElementTree.fromstring(archive.read(member))
                filled = [
                    int(row.get("r", 0))
                    for row in root.iter(f"{_SHEET_NS}row")
                    if any((node.text or "").strip() for tag in ("v", "t") for node in row.iter(_SHEET_NS + tag))
                ]
                numbers += filled[1:]
            return numbers
    except (zipfile.BadZipFile, KeyError, StopIteration, ElementTree.ParseError, OSError):
        return None


def workbook_rows(path: Path, sheet_names: set[str] | None = None) -> int:
    numbers = workbook_row_numbers(path, sheet_names)
    return 1 if numbers is None else len(numbers)


@dataclass
class ParsedFile:
    headers: list[str]
    rows: list[tuple[int, list[object]]]  # (row number, cells) with exactly len(headers) cells
    malformed: list[tuple[int, list[object]]]  # rows whose number of fields differs from the header's
    encoding: str | None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def decode(data: bytes) -> tuple[str, str]:
    """Strict UTF-8 (BOM optional), else strict GB18030, else the file is rejected."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return (text[1:], "utf-8-sig") if text.startswith("\ufeff") else (text, "utf-8")
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as error:
        raise FileRejection("file_undecodable", "neither UTF-8 nor GB18030") from error


def _shape(headers: list[object], records: list[tuple[int, list[object]]], encoding: str | None) -> ParsedFile:
    is_xlsx = encoding is None
    width = len(headers)
    while is_xlsx and width and _blank(headers[width - 1]):  # a sheet's trailing empty header cells
        width -= 1
    rows: list[tuple[int, list[object]]] = []
    malformed: list[tuple[int, list[object]]] = []
    for number, cells in records:
        cells = list(cells)
        if len(cells) > width and all(_blank(value) for value in cells[width:]):
            cells = cells[:width]
        if len(cells) < width and is_xlsx:  # XLSX rows may end at their last non-empty cell
            cells += [None] * (width - len(cells))
        (rows if len(cells) == width else malformed).append((number, cells))
    names = ["" if header is None else str(header).strip() for header in headers[:width]]
    return ParsedFile(names, rows, malformed, encoding)


def parse_file(path: Path) -> ParsedFile:
    """Decode and split a landed file into header and rows; only encoding/type problems reject here."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        try:
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, ElementTree.ParseError) as error:
            raise FileRejection("file_unparseable", str(error)).counted(workbook_row_numbers(path)) from error
        try:
            numbered = list(enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1))
        finally:
            workbook.close()
        encoding = None
    elif suffix == ".csv":
        data = path.read_bytes()
        try:
            text, encoding = decode(data)
        except FileRejection as rejection:
            raise rejection.counted(text_line_numbers(data, header=True)) from None
        numbered = list(enumerate(csv.reader(io.StringIO(text, newline="")), start=1))
    else:
        raise FileRejection("file_unsupported_type", suffix or "(no extension)")
    records = [(number, list(values)) for number, values in numbered if not all(_blank(v) for v in values)]
    if not records:
        raise FileRejection("file_empty", "no header row").counted([])
    (header_number, headers), data = records[0], records[1:]
    # The header is row 1 whatever blank lines precede it.
    data = [(number - header_number + 1, values) for number, values in data]
    return _shape(headers, data, encoding)


def _header_key(header: str) -> str:
    return fold(header).replace(" ", "")


def check_headers(headers: list[str]) -> tuple[dict[int, str], list[str]]:
    """Positions of contract columns (-> Chinese header) and the unknown headers; rejects bad headers."""
    contract = {_header_key(header): header for header in HEADERS}
    positions: dict[int, str] = {}
    unknown: list[str] = []
    seen: set[str] = set()
    for position, header in enumerate(headers):
        key = _header_key(header)
        if not key:
            continue
        if key in seen:
            raise FileRejection("duplicate_column", header)
        seen.add(key)
        if key in contract:
            positions[position] = contract[key]
        else:
            unknown.append(header)
    missing = [header for header in REQUIRED_HEADERS if header not in positions.values()]
    if missing:
        raise FileRejection("missing_required_column", ", ".join(missing))
    return positions, unknown


def read_file(path: Path) -> tuple[list[str], list[dict[str, object]]]:
    """Header and rows (dicts keyed by the file's own headers) of a decodable file, no judgement."""
    parsed = parse_file(path)
    return parsed.headers, [dict(zip(parsed.headers, cells, strict=True)) for _, cells in parsed.rows]


# --- what a correct pipeline must produce ----------------------------------------------------------


class DailyCounts(NamedTuple):
    new_tech_enterprises: int
    new_tech_established: int
    new_tech_moved_in: int
    new_enterprises: int


@dataclass(frozen=True)
class ExpectedRow:
    row_number: int
    raw_uscc: str  # the cell text, trimmed
    uscc: str  # normalised
    enterprise_name: str
    event_type: str
    event_date: date
    park_code: str | None
    industry_code: str | None  # 4-digit class
    is_tech: bool


@dataclass
class ExpectedFile:
    source_file: str  # relative to the landing root, '/'-separated
    path: Path
    delivery_date: date
    sha256: str
    status: str  # loaded | rejected | duplicate
    rows_received: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    encoding: str | None = None
    unknown_columns: list[str] = field(default_factory=list)
    reject_rule: str | None = None
    reject_detail: str | None = None
    duplicate_of: str | None = None
    #: row number -> {(rule id, column or None)} for every quarantined row of a loaded file.
    failures: dict[int, set[tuple[str, str | None]]] = field(default_factory=dict)
    valid_rows: dict[int, ExpectedRow] = field(default_factory=dict)
    #: row numbers of every received row (valid, failing or malformed).
    received_rows: set[int] = field(default_factory=set)


@dataclass
class Expectation:
    files: dict[str, ExpectedFile]
    #: The mart's daily counts: rows of deliveries the quality gate holds are not in it.
    daily: dict[tuple[date, str], DailyCounts]
    #: Deliveries the quality gate must hold (README, "Quality gate"), those released excepted.
    held: set[date] = field(default_factory=set)

    def by_status(self, status: str) -> list[ExpectedFile]:
        return [expected for expected in self.files.values() if expected.status == status]

    @property
    def valid_row_count(self) -> int:
        return sum(len(expected.valid_rows) for expected in self.by_status("loaded"))

    def published(self) -> list[ExpectedFile]:
        """Loaded files of deliveries the quality gate publishes: what core holds."""
        return [expected for expected in self.by_status("loaded") if expected.delivery_date not in self.held]


#: The quality gate as the README states it: a delivery is held when more than 5 % of the rows its
#: loaded and rejected files delivered were quarantined, and at least 5 of them.
GATE_MAX_SHARE = 0.05
GATE_MIN_ROWS = 5


def held_deliveries(files: list[ExpectedFile]) -> set[date]:
    received: dict[date, int] = defaultdict(int)
    quarantined: dict[date, int] = defaultdict(int)
    for expected in files:
        if expected.status in ("loaded", "rejected"):
            received[expected.delivery_date] += expected.rows_received
            quarantined[expected.delivery_date] += expected.rows_quarantined
    return {
        day
        for day, count in received.items()
        if count and quarantined[day] >= GATE_MIN_ROWS and quarantined[day] / count > GATE_MAX_SHARE
    }


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _as_contract_row(positions: dict[int, str], cells: list[object]) -> dict[str, object]:
    return {header: cells[position] for position, header in positions.items()}


def expect_file(path: Path, landing: Path, reference: Reference | None = None) -> ExpectedFile:
    """Status, accounting and row verdicts of one landed file, judged on its own (no duplicates)."""
    reference = reference or load_reference()
    delivery = date.fromisoformat(path.parent.name)
    expected = ExpectedFile(
        source_file=path.relative_to(landing).as_posix(),
        path=path,
        delivery_date=delivery,
        sha256=sha256_file(path),
        status="loaded",
    )
    try:
        parsed = parse_file(path)
    except FileRejection as rejection:
        expected.status, expected.reject_rule, expected.reject_detail = "rejected", rejection.rule, rejection.detail
        expected.rows_received = expected.rows_quarantined = rejection.rows
        expected.received_rows = rejection.row_numbers
        return expected
    expected.encoding = parsed.encoding
    expected.received_rows = {number for number, _ in parsed.rows} | {number for number, _ in parsed.malformed}
    expected.rows_received = len(expected.received_rows)
    try:
        positions, expected.unknown_columns = check_headers(parsed.headers)
    except FileRejection as rejection:
        expected.status, expected.reject_rule, expected.reject_detail = "rejected", rejection.rule, rejection.detail
        expected.rows_quarantined = expected.rows_received
        return expected
    for number, _ in parsed.malformed:
        expected.failures[number] = {(ROW_SHAPE_RULE, None)}
    for number, cells in parsed.rows:
        row = _as_contract_row(positions, cells)
        kinds = classify(row, delivery, reference)
        if kinds:
            expected.failures[number] = {KIND_RULES[kind] for kind in kinds}
            continue
        park = fold(row.get("所属园区"))
        expected.valid_rows[number] = ExpectedRow(
            row_number=number,
            raw_uscc=str(row["统一社会信用代码"]).strip(),
            uscc=code_text(row["统一社会信用代码"]),
            enterprise_name=str(row["企业名称"]).strip(),
            event_type=fold(row["事件类型"]),
            event_date=parse_date(row["事件日期"]),  # type: ignore[arg-type]  # valid rows have one
            park_code=reference.park_codes.get(park) if park else None,
            industry_code=industry_class(row.get("行业代码"), reference),
            is_tech=is_tech(row, reference),
        )
    expected.rows_loaded = len(expected.valid_rows)
    expected.rows_quarantined = len(expected.failures)
    return expected


def landed_paths(landing: Path, first: date, last: date) -> list[Path]:
    """Files of the delivery folders first..last, in delivery order (day, then name)."""
    paths: list[Path] = []
    day = first
    while day <= last:
        folder = landing / FEED_FOLDER / day.isoformat()
        if folder.is_dir():
            paths.extend(
                path for path in sorted(folder.iterdir()) if path.is_file() and not path.name.startswith((".", "~$"))
            )
        day += timedelta(days=1)
    return paths


def daily_counts(files: list[ExpectedFile], reference: Reference) -> dict[tuple[date, str], DailyCounts]:
    """mart.daily_new_tech_enterprises as kpis.md defines it, dense over days x parks.

    New on day D: a 设立 or 迁入 event dated D (distinct USCC per day and park); tech as of that
    event. The grid spans the first to the last date of such an event, stretched to the days the
    loaded files' deliveries cover (the day before each delivery: an empty delivery still has its
    day, with zeros), for every park.
    """
    sets: dict[tuple[date, str], tuple[set[str], set[str], set[str], set[str]]] = defaultdict(
        lambda: (set(), set(), set(), set())
    )
    event_dates: list[date] = []
    for expected in files:
        if expected.status != "loaded":
            continue
        for row in expected.valid_rows.values():
            if row.event_type not in NEW_ENTERPRISE_EVENTS:
                continue
            event_dates.append(row.event_date)
            if row.park_code is None:
                continue
            tech, established, moved_in, every = sets[(row.event_date, row.park_code)]
            every.add(row.uscc)
            if row.is_tech:
                tech.add(row.uscc)
                (established if row.event_type == "设立" else moved_in).add(row.uscc)
    covered_days = [expected.delivery_date - timedelta(days=1) for expected in files if expected.status == "loaded"]
    if not event_dates and not covered_days:
        return {}
    grid: dict[tuple[date, str], DailyCounts] = {}
    day, last = min(event_dates + covered_days), max(event_dates + covered_days)
    while day <= last:
        for park_code in reference.park_names:
            tech, established, moved_in, every = sets.get((day, park_code), (set(), set(), set(), set()))
            grid[(day, park_code)] = DailyCounts(len(tech), len(established), len(moved_in), len(every))
        day += timedelta(days=1)
    return grid


def expected_landing(
    landing: Path, first: date, last: date, seeds_dir: Path | None = None, *, released: set[date] = frozenset()
) -> Expectation:
    """What a correct pipeline must hold after loading delivery days first..last of ``landing``.

    Same bytes already loaded from another file -> ``duplicate`` (nothing read, 0 rows). The daily
    counts leave out the deliveries the quality gate holds, except those ``released``.
    """
    reference = load_reference(seeds_dir)
    files: dict[str, ExpectedFile] = {}
    loaded_by_sha: dict[str, str] = {}
    for path in landed_paths(landing, first, last):
        sha = sha256_file(path)
        relative = path.relative_to(landing).as_posix()
        if sha in loaded_by_sha:
            files[relative] = ExpectedFile(
                relative, path, date.fromisoformat(path.parent.name), sha, "duplicate", duplicate_of=loaded_by_sha[sha]
            )
            continue
        expected = expect_file(path, landing, reference)
        files[relative] = expected
        if expected.status == "loaded":
            loaded_by_sha[sha] = relative
    held = held_deliveries(list(files.values())) - set(released)
    published = [expected for expected in files.values() if expected.delivery_date not in held]
    return Expectation(files, daily_counts(published, reference), held)
