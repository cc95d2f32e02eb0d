"""Integrity of the versioned reference seeds in ``seeds/`` (see seeds/README.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from parkops.reference import SEED_NAMES, read_seed, seed_path

# GB/T 4754-2017 sections by division range (domain-facts.md).
SECTION_RANGES = {
    "A": (1, 5),
    "B": (6, 12),
    "C": (13, 43),
    "D": (44, 46),
    "E": (47, 50),
    "F": (51, 52),
    "G": (53, 60),
    "H": (61, 62),
    "I": (63, 65),
    "J": (66, 69),
    "K": (70, 70),
    "L": (71, 72),
    "M": (73, 75),
    "N": (76, 79),
    "O": (80, 82),
    "P": (83, 83),
    "Q": (84, 85),
    "R": (86, 90),
    "S": (91, 96),
    "T": (97, 97),
}


def _span(first: int, last: int) -> set[str]:
    return {f"{code:04d}" for code in range(first, last + 1)}


# 国家统计局 高技术产业（制造业）分类 2017, as listed in domain-facts.md. The pharma range 2710-2780
# holds only the classes that exist (27x0 plus 2761/2762), so it is checked by division below.
HIGH_TECH = {
    "航空航天器及设备制造": _span(3741, 3744) | {"3749", "4343"},
    "电子及通信设备制造": {
        "3562",
        "3563",
        "3569",
        "3832",
        "3833",
        "3841",
        "3921",
        "3922",
    }
    | _span(3931, 3934)
    | {"3939", "3940"}
    | _span(3951, 3953)
    | _span(3961, 3963)
    | {"3969"}
    | _span(3971, 3976)
    | {"3979"}
    | _span(3981, 3985)
    | {"3989", "3990"},
    "计算机及办公设备制造": _span(3911, 3915) | {"3919", "3474", "3475"},
    "医疗仪器设备及仪器仪表制造": _span(3581, 3586)
    | {"3589"}
    | _span(4011, 4016)
    | {"4019"}
    | _span(4021, 4029)
    | {"4040", "4090"},
    "信息化学品制造": {"2664", "2665"},
}
PHARMA_CLASSES = {
    "2710",
    "2720",
    "2730",
    "2740",
    "2750",
    "2761",
    "2762",
    "2770",
    "2780",
}
TECH_DIVISIONS = {"63", "64", "65", "73", "74", "75"}
LEADING_INDUSTRIES = {"集成电路", "生物医药", "人工智能"}
SHANGHAI_DISTRICT_CODES = {
    "310101",
    "310104",
    "310105",
    "310106",
    "310107",
    "310109",
    "310110",
    "310112",
    "310113",
    "310114",
    "310115",
    "310116",
    "310117",
    "310118",
    "310120",
    "310151",
}
CONFIRMED_PARKS = {
    "张江核心园",
    "金桥园",
    "陆家嘴园",
    "临港园",
    "世博园",
    "青浦园",
    "嘉定园",
    "杨浦园",
    "徐汇园",
    "虹口园",
    "闵行园",
    "松江园",
    "奉贤园",
    "金山园",
    "崇明园",
    "宝山园",
}
UNCONFIRMED_PARKS = {"漕河泾园", "紫竹园", "长宁园", "普陀园", "静安园", "黄浦园"}
COLUMNS = {
    "parks": [
        "park_code",
        "park_name",
        "district",
        "division_code",
        "leading_industries",
        "publicly_confirmed",
    ],
    "industry_classes": [
        "class_code",
        "class_name",
        "division_code",
        "division_name",
        "section_code",
        "section_name",
        "high_tech_category",
        "is_tech",
        "leading_industry",
    ],
    "qualification_tags": [
        "tag",
        "makes_tech_enterprise",
        "counts_for_unicorn_champions",
        "description",
    ],
    "kpi_targets": [
        "kpi_code",
        "kpi_name",
        "category",
        "target_value",
        "target_upper",
        "unit",
        "direction",
        "due_date",
        "source",
        "definition",
        "window_days",
        "qualifying_value",
    ],
    "park_evaluation_weights": ["component", "weight", "raw_value", "score_rule"],
    "park_evaluation_rules": ["rule_code", "rule_value", "unit", "description"],
}
BOOLEANS = {"true", "false"}


@pytest.fixture(scope="module")
def classes() -> dict[str, dict[str, str]]:
    return {row["class_code"]: row for row in read_seed("industry_classes")}


@pytest.fixture(scope="module")
def kpis() -> dict[str, dict[str, str]]:
    return {row["kpi_code"]: row for row in read_seed("kpi_targets")}


# --- all seeds ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", SEED_NAMES)
def test_header_is_exactly_the_documented_columns(name: str) -> None:
    header = seed_path(name).read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") == COLUMNS[name]


@pytest.mark.parametrize("name", SEED_NAMES)
def test_file_is_utf8_without_bom_with_lf_endings(name: str) -> None:
    raw = seed_path(name).read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert b"\r" not in raw
    assert raw.endswith(b"\n")
    raw.decode("utf-8")


@pytest.mark.parametrize("name", SEED_NAMES)
def test_rows_have_no_missing_or_extra_cells(name: str) -> None:
    for row in read_seed(name):
        assert None not in row, f"{name}: extra cells in {row}"
        assert list(row) == COLUMNS[name]


# --- parks ---------------------------------------------------------------------------------


def test_parks_are_the_22_parks_with_unique_codes_and_names() -> None:
    parks = read_seed("parks")
    assert len(parks) == 22
    codes = [p["park_code"] for p in parks]
    names = [p["park_name"] for p in parks]
    assert len(set(codes)) == 22
    assert len(set(names)) == 22
    assert set(names) == CONFIRMED_PARKS | UNCONFIRMED_PARKS
    for code in codes:
        assert code.isascii()
        assert code == code.lower()
        assert code.replace("_", "").isalnum(), code


def test_parks_have_shanghai_district_division_codes() -> None:
    for park in read_seed("parks"):
        code = park["division_code"]
        assert len(code) == 6 and code.isdigit() and code.startswith("310"), park
        assert code in SHANGHAI_DISTRICT_CODES, park
        assert park["district"].endswith("区"), park


def test_parks_district_matches_division_code() -> None:
    by_district: dict[str, set[str]] = {}
    for park in read_seed("parks"):
        by_district.setdefault(park["district"], set()).add(park["division_code"])
    assert all(len(codes) == 1 for codes in by_district.values()), by_district
    assert by_district["浦东新区"] == {"310115"}
    assert by_district["徐汇区"] == {"310104"}


def test_parks_have_one_to_three_leading_industries() -> None:
    for park in read_seed("parks"):
        industries = park["leading_industries"].split(";")
        assert 1 <= len(industries) <= 3, park
        assert all(i.strip() == i and i for i in industries), park
        assert len(set(industries)) == len(industries), park


def test_sixteen_parks_are_publicly_confirmed() -> None:
    parks = read_seed("parks")
    assert {p["publicly_confirmed"] for p in parks} <= BOOLEANS
    confirmed = {p["park_name"] for p in parks if p["publicly_confirmed"] == "true"}
    assert confirmed == CONFIRMED_PARKS


def test_zhangjiang_core_park() -> None:
    park = next(p for p in read_seed("parks") if p["park_code"] == "zhangjiang_core")
    assert park["park_name"] == "张江核心园"
    assert park["division_code"] == "310115"
    assert park["leading_industries"].split(";") == ["集成电路", "生物医药", "人工智能"]


# --- industry classes ----------------------------------------------------------------------


def test_class_codes_are_unique_four_digit_strings(
    classes: dict[str, dict[str, str]],
) -> None:
    rows = read_seed("industry_classes")
    assert len(rows) == len(classes), "duplicate class codes"
    for code, row in classes.items():
        assert len(code) == 4 and code.isdigit(), code
        assert code[:2] == row["division_code"], row
        assert row["class_name"] and row["division_name"] and row["section_name"], row
    assert "0111" in classes  # leading zero kept


def test_sections_match_division_ranges(classes: dict[str, dict[str, str]]) -> None:
    for row in classes.values():
        first, last = SECTION_RANGES[row["section_code"]]
        assert first <= int(row["division_code"]) <= last, row


def test_names_are_consistent_within_division_and_section(
    classes: dict[str, dict[str, str]],
) -> None:
    divisions = {(r["division_code"], r["division_name"]) for r in classes.values()}
    sections = {(r["section_code"], r["section_name"]) for r in classes.values()}
    assert len(divisions) == len({d for d, _ in divisions}) == 97
    assert len(sections) == len({s for s, _ in sections}) == 20


def test_all_97_divisions_present_and_table_is_complete(
    classes: dict[str, dict[str, str]],
) -> None:
    assert {r["division_code"] for r in classes.values()} == {f"{d:02d}" for d in range(1, 98)}
    assert len(classes) >= 1300


def test_every_high_tech_class_is_present_and_flagged(
    classes: dict[str, dict[str, str]],
) -> None:
    for category, codes in HIGH_TECH.items():
        for code in codes:
            assert code in classes, f"{code} ({category}) missing"
            assert classes[code]["high_tech_category"] == category, classes[code]
    pharma = {c for c, r in classes.items() if r["division_code"] == "27"}
    assert pharma == PHARMA_CLASSES
    assert all(classes[c]["high_tech_category"] == "医药制造" for c in pharma)
    flagged = {c for c, r in classes.items() if r["high_tech_category"]}
    assert flagged == set().union(*HIGH_TECH.values()) | PHARMA_CLASSES


def test_is_tech_follows_the_industry_rule(classes: dict[str, dict[str, str]]) -> None:
    for row in classes.values():
        expected = bool(row["high_tech_category"]) or row["division_code"] in TECH_DIVISIONS
        assert row["is_tech"] == ("true" if expected else "false"), row


def test_leading_industry_values_are_allowed(
    classes: dict[str, dict[str, str]],
) -> None:
    values = {r["leading_industry"] for r in classes.values()}
    assert values <= LEADING_INDUSTRIES | {""}
    assert values >= LEADING_INDUSTRIES


@pytest.mark.parametrize(
    ("code", "name", "high_tech", "is_tech", "leading"),
    [
        ("6520", "集成电路设计", "", "true", "集成电路"),
        ("3973", "集成电路制造", "电子及通信设备制造", "true", "集成电路"),
        ("2761", "生物药品制造", "医药制造", "true", "生物医药"),
        ("7340", "医学研究和试验发展", "", "true", "生物医药"),
        ("6511", "基础软件开发", "", "true", "人工智能"),
        ("3964", "服务消费机器人制造", "", "false", ""),
        ("7010", "房地产开发经营", "", "false", ""),
    ],
)
def test_key_classes(
    classes: dict[str, dict[str, str]],
    code: str,
    name: str,
    high_tech: str,
    is_tech: str,
    leading: str,
) -> None:
    row = classes[code]
    assert (
        row["class_name"],
        row["high_tech_category"],
        row["is_tech"],
        row["leading_industry"],
    ) == (
        name,
        high_tech,
        is_tech,
        leading,
    )


def test_leading_industry_classes_are_tech(classes: dict[str, dict[str, str]]) -> None:
    for row in classes.values():
        if row["leading_industry"]:
            assert row["is_tech"] == "true", row


# --- qualification tags ----------------------------------------------------------------------


def test_qualification_tags() -> None:
    tags = {t["tag"]: t for t in read_seed("qualification_tags")}
    assert set(tags) == {
        "科技型中小企业",
        "高新技术企业",
        "专精特新",
        "小巨人",
        "独角兽",
        "隐形冠军",
    }
    makes_tech = {t for t, r in tags.items() if r["makes_tech_enterprise"] == "true"}
    counts = {t for t, r in tags.items() if r["counts_for_unicorn_champions"] == "true"}
    assert makes_tech == {"科技型中小企业", "高新技术企业"}
    assert counts == {"独角兽", "隐形冠军"}
    for row in tags.values():
        assert row["makes_tech_enterprise"] in BOOLEANS
        assert row["counts_for_unicorn_champions"] in BOOLEANS
        assert row["description"]
        assert "\n" not in row["description"]


# --- KPI targets -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "value", "upper", "direction", "source"),
    [
        ("new_tech_per_day", "200", "", "at_least", "registrations"),
        ("hq_incubators", "20", "", "at_least", "incubator_reports"),
        ("unicorn_champions", "100", "", "more_than", "registrations"),
        ("leading_industry_talent", "800000", "", "at_least", "registrations"),
        ("leading_industry_share", "85", "", "at_least", "manual_statistics"),
        ("trillion_parks", "3", "5", "between", "manual_statistics"),
    ],
)
def test_policy_targets(
    kpis: dict[str, dict[str, str]],
    code: str,
    value: str,
    upper: str,
    direction: str,
    source: str,
) -> None:
    row = kpis[code]
    assert (
        row["category"],
        row["target_value"],
        row["target_upper"],
        row["direction"],
        row["source"],
    ) == (
        "policy",
        value,
        upper,
        direction,
        source,
    )
    assert row["due_date"] == "2025-12-31"


def test_kpi_codes_and_categories(kpis: dict[str, dict[str, str]]) -> None:
    assert len(kpis) == len(read_seed("kpi_targets"))
    assert {c for c, r in kpis.items() if r["category"] == "service"} == {
        "visits_per_staff_week",
        "key_coverage_quarter",
        "needs_resolution",
        "recurring_needs",
        "agent_services",
    }
    assert {r["category"] for r in kpis.values()} == {"policy", "service"}


def test_kpi_rows_are_well_formed(kpis: dict[str, dict[str, str]]) -> None:
    for row in kpis.values():
        assert row["direction"] in {
            "at_least",
            "more_than",
            "between",
            "threshold",
            "none",
        }, row
        assert row["kpi_name"] and row["unit"] and row["source"] and row["definition"], row
        assert bool(row["target_upper"]) == (row["direction"] == "between"), row
        assert (row["target_value"] == "") == (row["direction"] == "none"), row
        for cell in ("target_value", "target_upper"):
            if row[cell]:
                assert float(row[cell]) >= 0, row
        if row["direction"] == "between":
            assert float(row["target_value"]) <= float(row["target_upper"]), row
        if row["category"] == "policy":
            assert row["due_date"] == "2025-12-31", row
        else:
            assert row["due_date"] == "", row


def test_service_targets(kpis: dict[str, dict[str, str]]) -> None:
    assert (
        kpis["visits_per_staff_week"]["target_value"],
        kpis["visits_per_staff_week"]["direction"],
    ) == (
        "3",
        "at_least",
    )
    assert "片长" in kpis["visits_per_staff_week"]["definition"]
    assert (
        kpis["key_coverage_quarter"]["target_value"],
        kpis["key_coverage_quarter"]["unit"],
    ) == ("100", "%")
    assert (
        kpis["recurring_needs"]["target_value"],
        kpis["recurring_needs"]["direction"],
    ) == ("5", "threshold")
    assert kpis["needs_resolution"]["target_value"] == ""
    assert kpis["agent_services"]["target_value"] == ""


def test_kpi_windows_and_qualifying_values(kpis: dict[str, dict[str, str]]) -> None:
    """Only the rules that need them carry a window or a qualifying value (seeds/README.md)."""
    assert {code for code, row in kpis.items() if row["window_days"]} == {"recurring_needs"}
    assert kpis["recurring_needs"]["window_days"] == "7"
    assert {code for code, row in kpis.items() if row["qualifying_value"]} == {"trillion_parks"}
    assert kpis["trillion_parks"]["qualifying_value"] == "10000"  # 亿元: 1 万亿


# --- park evaluation -------------------------------------------------------------------------


def test_park_evaluation_weights() -> None:
    rows = {row["component"]: row for row in read_seed("park_evaluation_weights")}
    assert set(rows) == {"new_tech", "incubator_quality", "needs_resolution", "key_coverage"}
    weights = [Decimal(row["weight"]) for row in rows.values()]
    assert all(weight > 0 for weight in weights)
    assert sum(weights) == 1
    assert all(row["raw_value"] and row["score_rule"] for row in rows.values())


def test_park_evaluation_rules() -> None:
    rows = {row["rule_code"]: row for row in read_seed("park_evaluation_rules")}
    assert set(rows) == {"failing_score_below", "max_leading_industries"}
    assert Decimal(rows["failing_score_below"]["rule_value"]) == 60
    assert Decimal(rows["max_leading_industries"]["rule_value"]) == 3  # 主导产业不超过3个
    assert all(row["unit"] and row["description"] for row in rows.values())
