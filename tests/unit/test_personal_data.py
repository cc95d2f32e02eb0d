"""Personal data: quarantine reasons name the column, never its value; alerts mask personal values."""

from __future__ import annotations

import json

import pytest

from parkops.feeds import FEED_NAMES, feed
from parkops.feeds.visits import NEEDS_KEY
from parkops.feeds.visits.reading import NEED_FIELDS, VISIT_FIELDS, parse_visit_line
from parkops.quality.personal_data import MASK, PERSONAL_COLUMNS, is_personal, mask, masked_row_value

NAME, MOBILE, ID_NUMBER = "李秀英", "13912345678", "31011519850302123X"


def test_the_personal_columns_are_columns_of_the_feed_contracts():
    assert set(PERSONAL_COLUMNS) == set(FEED_NAMES)
    contract = {
        "registrations": {
            column.name: column.header for column in feed("registrations").contract("registrations").columns
        },
        "visits": {*VISIT_FIELDS, *NEED_FIELDS, NEEDS_KEY},
    }
    assert PERSONAL_COLUMNS["registrations"] == {
        name: header for name, header in contract["registrations"].items() if header in ("法定代表人", "联系电话")
    }
    assert set(PERSONAL_COLUMNS["visits"]) == {"visitor_name", "needs", "description"} <= contract["visits"]


@pytest.mark.parametrize(
    "needs",
    [
        f"{NAME}反映用工难，电话{MOBILE}，身份证{ID_NUMBER}",
        {"description": f"{NAME} {MOBILE}"},
        12345678901,
        True,
    ],
)
def test_a_needs_value_that_is_not_a_list_is_named_not_quoted_in_the_reason(needs):
    line = json.dumps({"visit_id": "V1", "visitor_name": NAME, "needs": needs}, ensure_ascii=False)
    record, rule, reason = parse_visit_line(line)
    assert rule == "needs_not_a_list" and record is not None
    assert reason.startswith("needs (诉求): must be a list of objects, got ")
    as_text = needs if isinstance(needs, str) else json.dumps(needs, ensure_ascii=False)
    for fragment in (NAME, MOBILE, ID_NUMBER, str(as_text)):
        assert fragment not in reason, reason


@pytest.mark.parametrize(
    "text",
    [
        f"电话{MOBILE}",
        "+86 139-1234-5678",
        "8613912345678",
        f"身份证：{ID_NUMBER}",
        "310115198503021234",
        f"{MOBILE}/{ID_NUMBER.lower()}",
    ],
)
def test_mask_hides_mobile_and_id_numbers_in_any_text(text):
    masked = mask(text)
    assert MASK in masked
    assert not any(digits in masked for digits in ("1391234", "5678", "19850302"))


@pytest.mark.parametrize(
    "text",
    [
        "1234567890",  # 10 digits
        "139123456789",  # 12 digits: not a mobile number
        "1739000000000",  # a millisecond timestamp
        "3101151985030212345",  # 19 digits: not an ID number
        "91310115MA1K4TGD8X",  # a unified social credit code
        "registrations/2025-03-01/reg_20250301_01.csv 第 12 行",
        "12345678901",  # 11 digits not starting 13-19
    ],
)
def test_mask_keeps_other_numbers(text):
    assert mask(text) == text


def test_personal_column_values_are_masked_whole_and_hidden_in_the_reason():
    shown, hidden = masked_row_value("registrations", "legal_representative", NAME)
    assert shown == MASK and hidden == [NAME]
    assert (
        mask(f"法定代表人 (legal_representative): {NAME} is odd", hidden)
        == f"法定代表人 (legal_representative): {MASK} is odd"
    )
    assert masked_row_value("registrations", "uscc", ID_NUMBER) == (MASK, [])  # an ID typed as a USCC
    assert masked_row_value("registrations", "uscc", "91310115MA1K4TGD8X") == ("91310115MA1K4TGD8X", [])
    assert masked_row_value("visits", "needs", None) == (None, [])
    assert is_personal(None, "contact_phone") and not is_personal("registrations", "visitor_name")
