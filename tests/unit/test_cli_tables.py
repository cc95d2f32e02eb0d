"""The CLI's text tables (``parkops.cli files``, ``progress``, ``health``)."""

from __future__ import annotations

from parkops.cli import format_table


def test_table_lines_end_without_padding() -> None:
    table = format_table(["文件", "原因"], [["a.csv", "拒收：编码无法识别"], ["bb.csv", ""]], set())
    lines = table.splitlines()
    assert lines[0] == "文件    原因" and lines[2] == "a.csv   拒收：编码无法识别" and lines[3] == "bb.csv"
    assert all(line == line.rstrip() for line in lines), lines
