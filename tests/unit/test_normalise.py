import datetime as dt

import pytest

from parkops.ingest import normalise


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2025-03-05", "2025-03-05"),
        ("2025/3/5", "2025-03-05"),
        ("20250305", "2025-03-05"),
        ("2025年3月5日", "2025-03-05"),
        (" 2025-3-5 ", "2025-03-05"),
        ("２０２５－０３－０５", "2025-03-05"),  # full-width digits and hyphen
        ("2025-03-05 00:00:00", "2025-03-05"),
        ("2025-02-30", "2025-02-30"),  # impossible date: left for the suite to reject
        ("03/05/2025", "03/05/2025"),
        ("昨天", "昨天"),
        ("", None),
        (None, None),
    ],
)
def test_normalise_date(given, expected):
    assert normalise.normalise_date(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("40,642.59", "40642.59"),
        (" 100 ", "100"),
        ("１２３", "123"),
        ("1.50", "1.5"),
        ("-5", "-5"),
        ("0.0", "0"),
        ("1e5", "1e5"),  # not a plain decimal: kept for the suite to reject
        ("十万", "十万"),
        ("", None),
    ],
)
def test_normalise_number(given, expected):
    assert normalise.normalise_number(given) == expected


def test_number_and_date_cells():
    assert normalise.number_cell_to_text(100.0) == "100"
    assert normalise.number_cell_to_text(1.25) == "1.25"
    assert normalise.number_cell_to_text(7) == "7"
    assert normalise.date_cell_to_text(dt.datetime(2025, 3, 5)) == "2025-03-05"
    assert normalise.date_cell_to_text(dt.datetime(2025, 3, 5, 14, 30)) == "2025-03-05 14:30:00"


def test_normalise_code_folds_full_width_and_case():
    assert normalise.normalise_code("９１３１０１１５ma1k3btp2b") == "91310115MA1K3BTP2B"
    assert normalise.normalise_code(" 9131 0115 MA1K3BTP2B ") == "91310115MA1K3BTP2B"
    assert normalise.normalise_code("\u200b") is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("高新技术企业;专精特新", "高新技术企业;专精特新"),
        ("高新技术企业；专精特新", "高新技术企业;专精特新"),
        ("高新技术企业,专精特新、小巨人", "高新技术企业;专精特新;小巨人"),
        ("高新技术企业， 高新技术企业", "高新技术企业"),
        (" ; ", None),
    ],
)
def test_normalise_tags(given, expected):
    assert normalise.normalise_tags(given) == expected


def test_normalise_industry_code():
    sections = {"65": "I", "27": "C"}
    assert normalise.normalise_industry_code("6520", sections) == "6520"
    assert normalise.normalise_industry_code("I6520", sections) == "6520"
    assert normalise.normalise_industry_code("ｉ６５２０", sections) == "6520"
    assert normalise.normalise_industry_code("C6520", sections) == "C6520"  # contradicting section kept
    assert normalise.normalise_industry_code("X1234", sections) == "X1234"
