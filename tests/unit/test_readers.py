import datetime as dt

import openpyxl
import pytest

from parkops.feeds import feed
from parkops.ingest.readers import FileRejected, decode_text, read_table
from parkops.ingest.tabular import map_headers, prepare_table

REGISTRATION_COLUMNS = feed("registrations").contract("registrations").columns
HEADER = "统一社会信用代码,企业名称,事件类型,事件日期,成立日期"
ROW = "91310115MA1K3BTP2B,上海测试科技有限公司,设立,2025/3/5,20250305"


def test_decode_utf8_with_and_without_bom():
    text = f"{HEADER}\n{ROW}\n"
    assert decode_text(text.encode("utf-8")) == (text, "utf-8")
    assert decode_text(b"\xef\xbb\xbf" + text.encode("utf-8")) == (text, "utf-8-sig")


def test_decode_gb18030():
    text = f"{HEADER}\n{ROW}\n"
    assert decode_text(text.encode("gb18030")) == (text, "gb18030")


@pytest.mark.parametrize(
    "data",
    [
        "统一社会信用代码".encode() + b"\xff\xfe\xff",
        "统一社会信用代码,企业名称".encode("utf-16"),
    ],
)
def test_undecodable_bytes_are_rejected(data):
    with pytest.raises(FileRejected) as rejected:
        decode_text(data)
    assert rejected.value.rule == "file_undecodable"
    assert "UTF-8" in rejected.value.reason
    assert "GB18030" in rejected.value.reason


def test_csv_row_numbers_follow_the_spreadsheet(tmp_path):
    path = tmp_path / "reg.csv"
    path.write_text(
        f'{HEADER}\n{ROW}\n\n"9131,x","多行\n名称",设立,2025-03-05,2025-03-05\n{ROW},extra\n', encoding="utf-8"
    )
    table = read_table(path)
    assert table.headers == HEADER.split(",")
    assert [number for number, _ in table.rows] == [2, 4]
    assert table.rows[1][1][1] == "多行\n名称"
    assert [(row.row_number, row.reason) for row in table.malformed_rows] == [
        (5, "row has 6 fields but the header has 5")
    ]
    assert table.malformed_rows[0].cells[-1] == "extra"


def test_xlsx_cells_become_text(tmp_path):
    path = tmp_path / "reg.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([*HEADER.split(","), "参保人数"])
    sheet.append(
        ["91310115MA1K3BTP2B", "上海测试科技有限公司", "设立", dt.datetime(2025, 3, 5), dt.date(2025, 3, 5), 12.0]
    )
    sheet.append([None] * 6)
    sheet.append(["91310112087994932F", "上海二号公司", "变更", "2025年3月5日", "2020/1/2", "#N/A"])
    workbook.save(path)
    table = read_table(path)
    assert table.rows[0] == (
        2,
        ["91310115MA1K3BTP2B", "上海测试科技有限公司", "设立", "2025-03-05", "2025-03-05", "12"],
    )
    assert table.rows[1][0] == 4
    assert table.rows[1][1][-1] == "#N/A"


def test_broken_xlsx_is_rejected(tmp_path):
    path = tmp_path / "reg.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(FileRejected) as rejected:
        read_table(path)
    assert rejected.value.rule == "file_unparseable"


def test_unsupported_type_is_rejected(tmp_path):
    path = tmp_path / "reg.txt"
    path.write_text("x")
    with pytest.raises(FileRejected) as rejected:
        read_table(path)
    assert rejected.value.rule == "file_unsupported_type"


def test_missing_required_column_names_the_column():
    with pytest.raises(FileRejected) as rejected:
        map_headers(REGISTRATION_COLUMNS, ["统一社会信用代码", "企业名称", "事件类型", "成立日期"])
    assert rejected.value.rule == "missing_required_column"
    assert "事件日期" in rejected.value.reason


def test_duplicate_column_is_rejected():
    with pytest.raises(FileRejected) as rejected:
        map_headers(REGISTRATION_COLUMNS, [*HEADER.split(","), "企业名称"])
    assert rejected.value.rule == "duplicate_column"


def test_headers_any_order_ascii_parentheses_and_unknown_columns(tmp_path):
    path = tmp_path / "reg.csv"
    path.write_text(
        "备注,成立日期,事件日期,事件类型,企业名称,统一社会信用代码,注册资本(万元),币种,所属园区,行业代码\n"
        '说明,2025/3/5,2025年3月5日,设立,上海测试科技有限公司,９１３１０１１５MA1K3BTP2B, "1,000",,张江核心园,6520\n',
        encoding="utf-8",
    )
    prepared = prepare_table(REGISTRATION_COLUMNS, read_table(path), "2025-03-06", {"65": "I"})
    row = prepared.normalised.loc[2]
    assert row["uscc"] == "91310115MA1K3BTP2B"
    assert row["event_date"] == row["established_date"] == "2025-03-05"
    assert row["registered_capital_10k"] == "1000"
    assert row["currency"] == "人民币"
    assert row["delivery_date"] == "2025-03-06"
    assert prepared.unknown_columns == ["备注"]
    assert prepared.raw.loc[2, "extra_columns"] == '{"备注": "说明"}'
    assert prepared.raw.loc[2, "registered_capital_10k"] == "1,000"


def test_calamine_and_openpyxl_read_the_same_text(tmp_path, monkeypatch):
    """The fast reader (calamine) must give exactly what openpyxl gives, cell for cell."""
    from parkops.ingest import readers

    path = tmp_path / "reg.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([*HEADER.split(","), "注册资本（万元）", "行业代码", "参保人数"])
    sheet.append(
        ["91310115MA1K3BTP2B", "上海测试", "设立", dt.datetime(2025, 3, 5), dt.date(2025, 3, 5), 1.25, 6520, 12.0]
    )
    sheet.append([])
    sheet.append(["91310112087994932F", " 名称 ", "变更", "2025年3月5日", "2020/1/2", "40,642.59", "I6520", None])
    workbook.save(path)
    fast = readers.read_xlsx(path)
    monkeypatch.setattr(readers, "_xlsx_sheets_calamine", readers._xlsx_sheets_openpyxl)
    assert readers.read_xlsx(path) == fast
    assert fast[1][0] == (
        2,
        ["91310115MA1K3BTP2B", "上海测试", "设立", "2025-03-05", "2025-03-05", "1.25", "6520", "12"],
    )


def test_error_cells_keep_their_error_text(tmp_path):
    path = tmp_path / "reg.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([*HEADER.split(","), "参保人数"])
    sheet.append(["91310115MA1K3BTP2B", "上海测试", "设立", "2025-03-05", "2025-03-05", "#DIV/0!"])
    workbook.save(path)
    assert read_table(path).rows[0][1][-1] == "#DIV/0!"
