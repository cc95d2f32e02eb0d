"""Unified Social Credit Code (统一社会信用代码, GB 32100-2015) validation and construction.

Why our own code and not ``stdnum.cn.uscc``: python-stdnum 2.2 requires the first eight
characters to be digits, so it rejects valid codes issued by authorities ``A``, ``N`` and
``Y``, and it never verifies position 17, the embedded GB 11714 organisation-code check
character. The contract (sources.md) requires both, plus the authority/type table, so the
full algorithm lives here. It is pure Python with no imports beyond the standard library so
that the Great Expectations expectation, the readers and the sample generator share it.
"""

from __future__ import annotations

from dataclasses import dataclass

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}

#: Position 1 (registration authority) -> allowed position 2 (entity type) characters.
AUTHORITY_TYPES: dict[str, str] = {
    "1": "1239",  # 机构编制
    "2": "19",  # 外交
    "3": "123459",  # 司法行政
    "4": "19",  # 文化
    "5": "1239",  # 民政
    "6": "129",  # 旅游
    "7": "129",  # 宗教
    "8": "19",  # 工会
    "9": "123",  # 工商 (market supervision): 1 企业, 2 个体工商户, 3 农民专业合作社
    "A": "19",  # 中央军委改革和编制办公室
    "N": "1239",  # 农业
    "Y": "1",  # 其他
}

_FINAL_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


def _org_char_value(ch: str) -> int:
    """GB 11714 values: digits are themselves, letters A=10 ... Z=35."""
    if ch.isdigit():
        return int(ch)
    return ord(ch) - ord("A") + 10


def organisation_check_char(body: str) -> str:
    """GB 11714 check character for the 8-character organisation-code body."""
    total = sum(_org_char_value(ch) * w for ch, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 10:
        return "X"
    if check == 11:
        return "0"
    return str(check)


def final_check_char(first17: str) -> str:
    """GB 32100 position-18 check character (MOD 31) for the first 17 characters."""
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, _FINAL_WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


@dataclass(frozen=True)
class UsccCheck:
    """Outcome of a check: ``reason`` is None when the code is valid."""

    code: str
    reason: str | None

    @property
    def valid(self) -> bool:
        return self.reason is None


def check_uscc(code: object) -> UsccCheck:
    """Check a code against every rule of GB 32100-2015; the reason says which rule failed.

    The input is expected to be normalised already (trimmed, full-width folded, upper case):
    normalisation is the readers' job, validation is this function's.
    """
    if not isinstance(code, str) or code == "":
        return UsccCheck(str(code), "missing")
    if len(code) != 18:
        return UsccCheck(code, f"length {len(code)}, expected 18")
    bad = sorted({ch for ch in code if ch not in _VALUE})
    if bad:
        return UsccCheck(code, f"characters outside the GB 32100 alphabet: {''.join(bad)}")
    authority, entity_type = code[0], code[1]
    if authority not in AUTHORITY_TYPES:
        return UsccCheck(code, f"unknown registration authority '{authority}'")
    if entity_type not in AUTHORITY_TYPES[authority]:
        return UsccCheck(code, f"entity type '{entity_type}' not allowed for authority '{authority}'")
    if not code[2:8].isdigit():
        return UsccCheck(code, "positions 3-8 (administrative division) must be digits")
    body = code[8:16]
    if any(ch not in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" for ch in body):
        return UsccCheck(code, "organisation code body has invalid characters")
    expected_org = organisation_check_char(body)
    if code[16] != expected_org:
        return UsccCheck(
            code, f"organisation code check character (position 17) is '{code[16]}', expected '{expected_org}'"
        )
    expected_final = final_check_char(code[:17])
    if code[17] != expected_final:
        return UsccCheck(code, f"final check character (position 18) is '{code[17]}', expected '{expected_final}'")
    return UsccCheck(code, None)


def is_valid_uscc(code: object) -> bool:
    return check_uscc(code).valid


def make_uscc(authority: str, entity_type: str, division: str, org_body: str) -> str:
    """Build a valid code from its parts (used by the sample generator and tests).

    ``org_body`` is the 8-character organisation-code body; both check characters are computed.
    The body must use characters that are in the USCC alphabet too (no I, O, S, V, Z).
    """
    if len(division) != 6 or not division.isdigit():
        raise ValueError(f"division must be 6 digits, got {division!r}")
    if len(org_body) != 8 or any(ch not in _VALUE for ch in org_body):
        raise ValueError(f"organisation body must be 8 characters of the USCC alphabet, got {org_body!r}")
    if entity_type not in AUTHORITY_TYPES.get(authority, ""):
        raise ValueError(f"entity type {entity_type!r} not allowed for authority {authority!r}")
    first16 = authority + entity_type + division + org_body
    first17 = first16 + organisation_check_char(org_body)
    return first17 + final_check_char(first17)
