"""Deliberate errors: every kind of row and file problem that sources.md says must be rejected.

The pipeline's quarantine logic is only trustworthy if every rejection path is exercised, so
each kind appears regularly (kinds are dealt from a shuffled deck, not drawn at random, so a
short range still covers all of them). Rows carrying a defect never change the generator's
notion of enterprise state: the pipeline quarantines them, so neither side sees them as facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from random import Random

from parkops.uscc import ALPHABET, final_check_char
from parkops_tools.generator.refdata import ReferenceData

#: Row-level defect kinds, named after the rule they break (also the keys of the run summary).
ROW_DEFECT_KINDS = (
    "uscc_bad_final_check",
    "uscc_bad_org_check",
    "uscc_bad_authority_type",
    "uscc_bad_length",
    "uscc_forbidden_char",
    "missing_uscc",
    "missing_enterprise_name",
    "missing_event_type",
    "missing_event_date",
    "missing_established_date",
    "unknown_event_type",
    "unparseable_event_date",
    "unparseable_established_date",
    "event_after_delivery",
    "established_after_event",
    "negative_capital",
    "non_numeric_capital",
    "unknown_currency",
    "unknown_industry_code",
    "unknown_park",
    "unknown_tag",
    "negative_employees",
    "non_integer_employees",
)

#: File-level defects: the first two make the pipeline reject the whole file.
FILE_MISSING_COLUMN = "missing_column"
FILE_UNDECODABLE = "undecodable"
FILE_REDELIVERY = "redelivery"
REJECTED_FILE_DEFECTS = frozenset({FILE_MISSING_COLUMN, FILE_UNDECODABLE})
#: The column dropped from the missing-column file.
MISSING_COLUMN_FIELD = "event_date"

UNKNOWN_EVENT_TYPES = ("合并", "分立", "歇业", "停业")
UNKNOWN_CURRENCIES = ("卢布", "英镑", "韩元", "瑞士法郎")
NON_NUMERIC_CAPITALS = ("十万", "五十万元", "待定", "壹佰万")
UNKNOWN_INDUSTRY_CODES = ("9999", "X1234", "0000", "I9999", "65201")
UNKNOWN_PARK_NAMES = ("张江西园", "浦江园", "张江科学城", "外高桥园")
UNKNOWN_TAGS = ("瞪羚企业", "雏鹰企业", "上市企业")
NON_INTEGER_EMPLOYEES = ("约50", "50人", "十二")


@dataclass(frozen=True, slots=True)
class Raw:
    """A literal cell text that bypasses value rendering (always a text cell in XLSX)."""

    text: str


class DefectDealer:
    """Deals defect kinds at an exact rate, cycling through a freshly shuffled deck of all kinds.

    An accumulator (not a coin flip) keeps the count at ``floor(rows * rate)`` give or take one,
    so the summary and the pipeline's quarantine counts are easy to reconcile.
    """

    def __init__(self, seed: int, rate: float) -> None:
        self.seed = seed
        self.rate = rate
        self._accumulator = 0.5 if rate > 0 else 0.0
        self._deck: list[str] = []
        self._decks_dealt = 0

    def next(self) -> str | None:
        if self.rate <= 0:
            return None
        self._accumulator += self.rate
        if self._accumulator < 1.0:
            return None
        self._accumulator -= 1.0
        if not self._deck:
            self._deck = list(ROW_DEFECT_KINDS)
            Random(f"{self.seed}|defect-deck|{self._decks_dealt}").shuffle(self._deck)
            self._decks_dealt += 1
        return self._deck.pop()


def _bad_date_text(rng: Random, day: date) -> str:
    return rng.choice(
        (
            f"{day.year}-02-30",
            f"{day.year}/2/31",
            f"{day.month:02d}/{day.day:02d}/{day.year}",
            "昨天",
            f"{day.year}.{day.month}.{day.day}",
            f"{day.year}-13-{day.day:02d}",
        )
    )


def _other_char(rng: Random, current: str, pool: str) -> str:
    return rng.choice([ch for ch in pool if ch != current])


def corrupt_uscc(kind: str, code: str, rng: Random) -> str:
    """Break exactly one GB 32100 rule of a valid code."""
    if kind == "uscc_bad_final_check":
        return code[:17] + _other_char(rng, code[17], ALPHABET)
    if kind == "uscc_bad_org_check":
        first17 = code[:16] + _other_char(rng, code[16], "0123456789X")
        return first17 + final_check_char(first17)
    if kind == "uscc_bad_authority_type":
        first17 = rng.choice(("95", "94", "97", "Y9")) + code[2:17]
        return first17 + final_check_char(first17)
    if kind == "uscc_bad_length":
        return code[:17] if rng.random() < 0.5 else code + rng.choice(ALPHABET)
    if kind == "uscc_forbidden_char":
        position = rng.randrange(8, 16)
        return code[:position] + rng.choice("IOZSV") + code[position + 1 :]
    raise ValueError(f"not a USCC defect: {kind}")


def apply_row_defect(kind: str, values: dict[str, object], delivery: date, rng: Random, ref: ReferenceData) -> None:
    """Overwrite one field of a typed row so that it breaks exactly the rule ``kind`` names."""
    event_date = values["event_date"]
    assert isinstance(event_date, date)
    if kind.startswith("uscc_"):
        values["uscc"] = Raw(corrupt_uscc(kind, str(values["uscc"]), rng))
    elif kind.startswith("missing_"):
        field = kind.removeprefix("missing_")
        values[field] = Raw(rng.choice(("", "", " "))) if rng.random() < 0.3 else None
    elif kind == "unknown_event_type":
        values["event_type"] = Raw(rng.choice(UNKNOWN_EVENT_TYPES))
    elif kind == "unparseable_event_date":
        values["event_date"] = Raw(_bad_date_text(rng, event_date))
    elif kind == "unparseable_established_date":
        established = values["established_date"]
        assert isinstance(established, date)
        values["established_date"] = Raw(_bad_date_text(rng, established))
    elif kind == "event_after_delivery":
        values["event_date"] = delivery + timedelta(days=rng.randint(1, 10))
    elif kind == "established_after_event":
        values["established_date"] = event_date + timedelta(days=rng.randint(1, 60))
    elif kind == "negative_capital":
        capital = values["registered_capital_10k"]
        assert isinstance(capital, float)
        values["registered_capital_10k"] = -abs(capital)
    elif kind == "non_numeric_capital":
        values["registered_capital_10k"] = Raw(rng.choice(NON_NUMERIC_CAPITALS))
    elif kind == "unknown_currency":
        values["currency"] = Raw(rng.choice(UNKNOWN_CURRENCIES))
    elif kind == "unknown_industry_code":
        codes = [c for c in UNKNOWN_INDUSTRY_CODES if c.lstrip("ABCDEFGHIJKLMNOPQRST") not in ref.classes]
        values["industry_code"] = Raw(rng.choice(codes))
    elif kind == "unknown_park":
        known = {park.name for park in ref.parks}
        values["park_name"] = Raw(rng.choice([name for name in UNKNOWN_PARK_NAMES if name not in known]))
    elif kind == "unknown_tag":
        tags = values["qualification_tags"]
        assert isinstance(tags, tuple)
        unknown = rng.choice([tag for tag in UNKNOWN_TAGS if tag not in ref.tags])
        values["qualification_tags"] = (*tags, unknown) if rng.random() < 0.6 else (unknown,)
    elif kind == "negative_employees":
        values["insured_employees"] = -rng.randint(1, 20)
    elif kind == "non_integer_employees":
        if rng.random() < 0.5:
            values["insured_employees"] = rng.randint(1, 200) + 0.5
        else:
            values["insured_employees"] = Raw(rng.choice(NON_INTEGER_EMPLOYEES))
    else:
        raise ValueError(f"unknown defect kind: {kind}")


def corrupt_encoding(data: bytes, rng: Random) -> bytes:
    """UTF-8 bytes with 0xFF/0xFE injected: invalid as UTF-8 and as GB18030 (both never use 0xFF
    as a lead byte; 0xFE needs a valid trail byte). Verified, because a file that decodes by
    accident would defeat the purpose."""
    lines = data.split(b"\n")
    for index in sorted({1, max(1, len(lines) // 2), max(1, len(lines) - 2)}):
        if index < len(lines):
            line = lines[index]
            cut = rng.randrange(len(line) + 1)
            lines[index] = line[:cut] + rng.choice((b"\xff", b"\xff\xfe", b"\xfe\xff")) + line[cut:]
    corrupted = b"\n".join(lines)
    for encoding in ("utf-8", "utf-8-sig", "gb18030"):
        try:
            corrupted.decode(encoding)
        except UnicodeDecodeError:
            continue
        raise RuntimeError(f"corrupted file still decodes as {encoding}")
    return corrupted
