import pytest

from parkops.uscc import ALPHABET, AUTHORITY_TYPES, check_uscc, is_valid_uscc, make_uscc, organisation_check_char

PUBLIC_VALID = [
    "91310115MA1K3BTP2B",
    "91310112087994932F",
    "91310116052958608G",
    "913101203509708598",
    "91110000600037341L",
]


@pytest.mark.parametrize("code", PUBLIC_VALID)
def test_public_valid_vectors(code):
    assert check_uscc(code).reason is None


def test_public_invalid_vector_names_position_18():
    check = check_uscc("91110000600037341N")
    assert not check.valid
    assert check.reason == "final check character (position 18) is 'N', expected 'L'"


@pytest.mark.parametrize(
    ("code", "reason_part"),
    [
        ("", "missing"),
        ("91310115MA1K3BTP2", "length 17"),
        ("91310115MA1K3BTO2B", "outside the GB 32100 alphabet: O"),
        ("91310115MA1K3BTI2B", "outside the GB 32100 alphabet: I"),
        ("Z1310115MA1K3BTP2B", "outside the GB 32100 alphabet: Z"),
        ("B1310115MA1K3BTP2B", "unknown registration authority 'B'"),
        ("95310115MA1K3BTP2B", "entity type '5' not allowed for authority '9'"),
        ("9131011AMA1K3BTP2B", "positions 3-8"),
        ("91310115MA1K3BTQ2B", "position 17"),
    ],
)
def test_each_rule_has_its_reason(code, reason_part):
    assert reason_part in check_uscc(code).reason


def test_codes_of_every_authority_and_type_can_be_valid():
    """python-stdnum rejects codes not starting with 8 digits; ours accepts A, N and Y authorities."""
    for authority, types in AUTHORITY_TYPES.items():
        for entity_type in types:
            code = make_uscc(authority, entity_type, "310115", "MA1K3BTP")
            assert is_valid_uscc(code), code


def test_organisation_check_character_examples():
    # GB 11714: C = 11 - (sum mod 11), 10 -> X, 11 -> 0.
    assert organisation_check_char("MA1K3BTP") == "2"
    assert organisation_check_char("08799493") == "2"
    assert organisation_check_char("60003734") == "1"


def test_every_single_character_change_is_caught():
    code = PUBLIC_VALID[0]
    for position in range(18):
        for replacement in ALPHABET:
            if replacement == code[position]:
                continue
            altered = code[:position] + replacement + code[position + 1 :]
            assert not is_valid_uscc(altered), altered
