"""Sheets as offices keep them: title rows, several sheets, merged cells, full-width digits,
.xls and renamed or damaged files (models/table_import.py)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from models.member import clean_phone
from models.table_import import ImportFileError, read_table

COLUMNS = ("姓名", "手机", "单位", "党员")
REQUIRED = ("姓名", "手机", "单位")


def _read(path: Path, sheet: str | None = None):  # type: ignore[no-untyped-def]
    return read_table(path, columns=COLUMNS, required=REQUIRED, sheet=sheet)


def test_title_rows_above_the_header_and_header_cells_as_typed(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["2026年食品产业链联盟党员花名册"])
    sheet.append(["制表：县两新组织工委", None, "2026-12-01"])
    sheet.append(["姓 名", "*手机", "单位（必填）", "党员"])
    sheet.append(["张三", "１３９ ００００ ０００１", "甲公司", "是"])
    sheet.merge_cells("A1:D1")
    path = tmp_path / "roster.xlsx"
    book.save(path)
    table = _read(path)
    assert table.header_row == 3
    assert table.rows == [
        (4, {"姓名": "张三", "手机": "139 0000 0001", "单位": "甲公司", "党员": "是"})
    ]
    assert clean_phone(table.rows[0][1]["手机"]) == "13900000001"
    assert table.notes == []


def test_phone_numbers_however_typed() -> None:
    assert clean_phone("１３９－００００－０００１") == "13900000001"
    assert clean_phone("+86 139 0000 0001") == "13900000001"
    assert clean_phone("139\u30000000\u30000001") == "13900000001"
    assert clean_phone("1390000000") is None
    assert clean_phone("1.39E+10") is None


def test_merged_cells_read_in_every_row_of_the_range(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["单位", "姓名", "手机"])
    sheet.append(["甲公司", "张三", "13900000001"])
    sheet.append([None, "李四", "13900000002"])
    sheet.append([None, "王五", "13900000003"])
    sheet.merge_cells("A2:A4")
    path = tmp_path / "merged.xlsx"
    book.save(path)
    assert [v["单位"] for _, v in _read(path).rows] == ["甲公司", "甲公司", "甲公司"]


def test_several_sheets_by_name_or_the_first_with_the_header(tmp_path: Path) -> None:
    book = Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "说明"
    cover.append(["本表由各支部填写后汇总"])
    roster = book.create_sheet("党员")
    roster.append(["姓名", "手机", "单位"])
    roster.append(["张三", "13900000001", "甲公司"])
    other = book.create_sheet("流动党员")
    other.append(["姓名", "手机", "单位"])
    other.append(["李四", "13900000002", "乙公司"])
    path = tmp_path / "book.xlsx"
    book.save(path)
    table = _read(path)
    assert table.sheet == "党员" and table.rows[0][1]["姓名"] == "张三"
    assert table.notes == ["读取了工作表“党员”（共 3 个工作表）。"]
    assert _read(path, sheet="流动党员").rows[0][1]["姓名"] == "李四"
    with pytest.raises(
        ImportFileError,
        match="文件中没有名为“党员名单”的工作表，现有：“说明”、“党员”、“流动党员”。",
    ):
        _read(path, sheet="党员名单")
    with pytest.raises(ImportFileError, match="工作表“说明”第 1 行表头缺少列：姓名、手机、单位。"):
        _read(path, sheet="说明")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "roster.xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504,
            "roster.xls 是旧版 Excel（.xls）或设置了密码的表格，无法直接读取："
            "请在 Excel 中“另存为” .xlsx（不设密码）后再导入。",
        ),
        (
            "secret.xlsx",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504,
            "secret.xlsx 是旧版 Excel（.xls）或设置了密码的表格",
        ),
        ("broken.xlsx", b"PK\x03\x04" + b"\x00" * 40, "无法读取文件 broken.xlsx：它不是完好的"),
        ("binary.xlsx", b"\x00\x01\x02\x03" * 20, "无法读取文件 binary.xlsx"),
        ("empty.csv", b"", "文件是空的：第 1 行应为表头（姓名、手机、单位、党员）。"),
        ("nul.csv", b"\xff\xfe\x00\x00\x00", "无法读取文件 nul.csv"),
        ("notes.txt", b"x", "只支持 .xlsx 和 .csv 文件"),
    ],
)
def test_files_that_cannot_be_read_get_one_sentence(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFileError) as caught:
        _read(path)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_damaged_book_inside_a_good_zip(tmp_path: Path) -> None:
    path = tmp_path / "half.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    with pytest.raises(ImportFileError, match=r"无法读取文件 half\.xlsx：它不是完好的"):
        _read(path)


def test_renamed_files_are_read_as_what_they_are(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "手机", "单位"])
    sheet.append(["张三", 13900000001, "甲公司"])
    really_xlsx = tmp_path / "roster.csv"
    book.save(really_xlsx)
    table = _read(really_xlsx)
    assert table.rows[0][1]["手机"] == "13900000001"
    assert table.notes == ["roster.csv 实际是 .xlsx 表格，已按 .xlsx 读取。"]
    really_csv = tmp_path / "roster.xlsx"
    really_csv.write_text("姓名,手机,单位\n李四,13900000002,乙公司\n", encoding="utf-8")
    table = _read(really_csv)
    assert table.rows[0][1]["姓名"] == "李四"
    assert table.notes == ["roster.xlsx 实际是 .csv 文本，已按 .csv 读取。"]
