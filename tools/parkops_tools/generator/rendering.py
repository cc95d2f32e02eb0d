"""Turn typed registration rows into the messy cells real exports contain.

Each file gets a ``FileStyle`` (header order, date format, separators, which values are
Excel-typed...) and each row a little extra noise on top, always within what sources.md says
the reader must accept: only defects (``defects.Raw`` and deliberately bad typed values) break
a rule. Keeping this apart from the simulation means the same row renders identically however
the simulation evolves, and a future change to variety cannot alter enterprise state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from random import Random

from parkops_tools.generator import vocab
from parkops_tools.generator.defects import Raw
from parkops_tools.generator.refdata import IndustryClass

#: Canonical field -> contract header (sources.md section 1), in the registry's own order.
FIELD_HEADERS = {
    "uscc": "统一社会信用代码",
    "enterprise_name": "企业名称",
    "event_type": "事件类型",
    "event_date": "事件日期",
    "established_date": "成立日期",
    "enterprise_type": "企业类型",
    "registered_capital_10k": "注册资本（万元）",
    "currency": "币种",
    "industry_code": "行业代码",
    "park_name": "所属园区",
    "address": "注册地址",
    "legal_representative": "法定代表人",
    "contact_phone": "联系电话",
    "qualification_tags": "资质标签",
    "insured_employees": "参保人数",
}
FIELDS = tuple(FIELD_HEADERS)

FORMAT_CSV_UTF8_BOM = "csv-utf8-bom"
FORMAT_CSV_UTF8 = "csv-utf8"
FORMAT_CSV_GB18030 = "csv-gb18030"
FORMAT_XLSX = "xlsx"
FILE_FORMATS = (FORMAT_CSV_UTF8_BOM, FORMAT_CSV_GB18030, FORMAT_XLSX, FORMAT_CSV_UTF8)
FILE_FORMAT_WEIGHTS = (36.0, 26.0, 30.0, 8.0)

TAG_SEPARATORS = (";", "；", ",", "、")
_FULL_WIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})
_FULL_WIDTH_DIGITS = str.maketrans({str(d): chr(ord("０") + d) for d in range(10)})


def date_text(value: date, style: int) -> str:
    """The four textual date formats of the contract: 2025-03-05, 2025/3/5, 20250305, 2025年3月5日."""
    if style == 0:
        return value.isoformat()
    if style == 1:
        return f"{value.year}/{value.month}/{value.day}"
    if style == 2:
        return value.strftime("%Y%m%d")
    return f"{value.year}年{value.month}月{value.day}日"


def full_width(text: str) -> str:
    return text.translate(_FULL_WIDTH)


@dataclass(frozen=True, slots=True)
class FileStyle:
    """How one delivered file looks; drawn once per file from its own random stream."""

    file_format: str
    fields: tuple[str, ...]  # output order of the contract fields
    extra_column: str | None  # unknown column and where it goes
    extra_position: int
    date_style: int
    mixed_date_share: float
    excel_date_fields: frozenset[str]
    numeric_cells: bool
    numeric_phone: bool
    tag_separator: str
    section_letter_share: float
    empty_rmb_share: float
    thousands_share: float
    line_terminator: str
    sheet_title: str
    notes_sheet: bool

    @property
    def is_xlsx(self) -> bool:
        return self.file_format == FORMAT_XLSX

    def headers(self, drop_field: str | None = None) -> list[str]:
        headers = [FIELD_HEADERS[f] for f in self.fields if f != drop_field]
        if self.extra_column:
            headers.insert(min(self.extra_position, len(headers)), self.extra_column)
        return headers


def draw_style(rng: Random, file_format: str) -> FileStyle:
    fields = list(FIELDS)
    if rng.random() < 0.55:
        rng.shuffle(fields)
    elif rng.random() < 0.5:  # a partial reorder: two columns swapped, as after a report-template edit
        i, j = rng.sample(range(len(fields)), 2)
        fields[i], fields[j] = fields[j], fields[i]
    extra = rng.choice(tuple(vocab.EXTRA_COLUMNS)) if rng.random() < 0.3 else None
    extra_position = 0 if extra == "序号" else rng.randint(0, len(fields))
    is_xlsx = file_format == FORMAT_XLSX
    excel_dates: frozenset[str] = frozenset()
    if is_xlsx:
        roll = rng.random()
        if roll < 0.5:
            excel_dates = frozenset({"event_date", "established_date"})
        elif roll < 0.75:
            excel_dates = frozenset({rng.choice(("event_date", "established_date"))})
    return FileStyle(
        file_format=file_format,
        fields=tuple(fields),
        extra_column=extra,
        extra_position=extra_position,
        date_style=rng.randrange(4),
        mixed_date_share=rng.choice((0.0, 0.05, 0.15)),
        excel_date_fields=excel_dates,
        numeric_cells=is_xlsx and rng.random() < 0.8,
        numeric_phone=is_xlsx and rng.random() < 0.2,
        tag_separator=rng.choice(TAG_SEPARATORS),
        section_letter_share=rng.choice((0.0, 0.3, 1.0)),
        empty_rmb_share=rng.choice((0.0, 0.5, 1.0)),
        thousands_share=rng.choice((0.0, 0.5, 1.0)),
        line_terminator=rng.choice(("\r\n", "\n")),
        sheet_title=rng.choice(("Sheet1", "企业登记信息", "导出数据", "sheet0")),
        notes_sheet=is_xlsx and rng.random() < 0.2,
    )


class RowRenderer:
    """Renders typed rows for one file: text for CSV, typed cells (numbers, dates) for XLSX."""

    def __init__(self, style: FileStyle, rng: Random, drop_field: str | None = None) -> None:
        self.style = style
        self.rng = rng
        self.drop_field = drop_field
        self._row_number = 0

    def render(self, values: dict[str, object]) -> list[object]:
        self._row_number += 1
        cells = [self._cell(field, values[field]) for field in self.style.fields if field != self.drop_field]
        if self.style.extra_column:
            cells.insert(min(self.style.extra_position, len(cells)), self._extra_value())
        return cells

    def _extra_value(self) -> object:
        column = self.style.extra_column
        if column == "序号":
            return self._row_number if self.style.is_xlsx else str(self._row_number)
        return self.rng.choice(vocab.EXTRA_COLUMNS[column])

    def _cell(self, field: str, value: object) -> object:
        if isinstance(value, Raw):
            return value.text
        if value is None:
            return None if self.style.is_xlsx else ""
        rng = self.rng
        if field in ("event_date", "established_date"):
            assert isinstance(value, date)
            if field in self.style.excel_date_fields and rng.random() < 0.95:
                return value
            date_style = self.style.date_style
            if rng.random() < self.style.mixed_date_share:
                date_style = rng.randrange(4)
            return date_text(value, date_style)
        if field == "registered_capital_10k":
            assert isinstance(value, float)
            return self._number(value, decimals=2)
        if field == "insured_employees":
            assert isinstance(value, int | float)
            return self._number(value, decimals=1 if isinstance(value, float) else 0)
        if field == "industry_code":
            return self._industry(value)
        if field == "qualification_tags":
            assert isinstance(value, tuple)
            return self._tags(value)
        if field == "currency":
            if value == "人民币" and rng.random() < self.style.empty_rmb_share:
                return None if self.style.is_xlsx else ""
            return value
        if field == "uscc":
            text = str(value)
            roll = rng.random()
            if roll < 0.005:
                return full_width(text)
            if roll < 0.015:
                return f" {text} " if roll < 0.01 else f"\t{text}"
            return text
        if field == "contact_phone" and self.style.numeric_phone and self.style.numeric_cells:
            return int(str(value))
        text = str(value)
        if field in ("enterprise_name", "park_name", "address") and rng.random() < 0.01:
            text = f" {text} "
        return text

    def _number(self, value: float, decimals: int) -> object:
        rng = self.rng
        if self.style.numeric_cells and rng.random() < 0.95:
            return int(value) if float(value).is_integer() else value
        if float(value).is_integer():
            integral = int(value)
            text = (
                f"{integral:,}"
                if abs(integral) >= 1000 and rng.random() < self.style.thousands_share
                else str(integral)
            )
        elif abs(value) >= 1000 and rng.random() < self.style.thousands_share:
            text = f"{value:,.{decimals}f}"
        else:
            text = f"{value:.{decimals}f}"
        roll = rng.random()
        if roll < 0.03:
            text = text.translate(_FULL_WIDTH_DIGITS)
        elif roll < 0.07:
            text = f" {text} " if roll < 0.05 else f"{text} "
        return text

    def _industry(self, value: object) -> object:
        assert isinstance(value, IndustryClass)
        if self.rng.random() < self.style.section_letter_share:
            return value.section + value.code
        if self.style.numeric_cells and not value.code.startswith("0") and self.rng.random() < 0.8:
            return int(value.code)
        return value.code

    def _tags(self, tags: tuple[str, ...]) -> object:
        if not tags:
            return None if self.style.is_xlsx else ""
        rng = self.rng
        separator = self.style.tag_separator if rng.random() >= 0.1 else rng.choice(TAG_SEPARATORS)
        if rng.random() < 0.05:
            separator += " "
        return separator.join(tags)
