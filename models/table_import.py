"""Reading import tables from .xlsx or .csv as offices keep them: one row each, Chinese column
names in a header row.

Shared by every import (`python -m bot import KIND FILE` and the web console). Row numbers are
as Excel shows them, and each bad row becomes one line `第 N 行：…` for the operator.

What offices do to their sheets and how it is read:
- a title row or two above the header ("2026年党员花名册"): the header is the first of the
  first HEADER_SCAN rows holding every required column;
- header cells written "姓 名", "*手机", "单位（必填）": spaces, stars and notes are dropped;
- several sheets: the one named (`sheet=`), else the first sheet holding the header; the
  report says which sheet was read when the book has more than one;
- merged cells (one 联盟 cell spanning its units' rows): every row of the range reads the value;
- full-width digits, letters and spaces (１３９ ０１２３ ４５６７): folded (NFKC) in every cell;
- `.xls`, a password-protected book, a renamed or corrupt file: one sentence, never a traceback.
"""

from __future__ import annotations

import csv
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

NO_FILE = "找不到文件：{path}"
BAD_TYPE = "只支持 .xlsx 和 .csv 文件：{path}"
OLD_EXCEL = (
    "{name} 是旧版 Excel（.xls）或设置了密码的表格，无法直接读取："
    "请在 Excel 中“另存为” .xlsx（不设密码）后再导入。"
)
BAD_FILE = (
    "无法读取文件 {name}：它不是完好的 .xlsx 或 .csv 表格（{error}），"
    "请用 Excel 打开后另存为 .xlsx 再试。"
)
EMPTY_FILE = "文件是空的：第 1 行应为表头（{columns}）。"
MISSING_COLUMNS = "第 {row} 行表头缺少列：{columns}。"
NO_SUCH_SHEET = "文件中没有名为“{sheet}”的工作表，现有：{names}。"
SHEET_READ = "读取了工作表“{sheet}”（共 {count} 个工作表）。"
READ_AS_XLSX = "{name} 实际是 .xlsx 表格，已按 .xlsx 读取。"
READ_AS_CSV = "{name} 实际是 .csv 文本，已按 .csv 读取。"
ROW = "第 {row} 行：{problems}"

HEADER_SCAN = 10
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and .xlsx saved with a password
HEADER_NOISE_RE = re.compile(r"[\s*＊※]+|[(（][^)）]*[)）]$")


class ImportFileError(Exception):
    """The file as a whole cannot be read; the message is a sentence for the operator."""


@dataclass
class ImportReport:
    imported: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: int = 0
    notes: list[str] = field(default_factory=list)  # which sheet was read, how the file was read


@dataclass
class Table:
    """The rows of one sheet: (row number, {column: text}), and notes for the operator."""

    rows: list[tuple[int, dict[str, str]]]
    notes: list[str] = field(default_factory=list)
    sheet: str = ""
    header_row: int = 1


def row_error(number: int, problems: Iterable[str]) -> str:
    """One operator line for a bad row: 第 N 行：problem；problem."""
    return ROW.format(row=number, problems="；".join(problems))


def read_rows(
    path: Path, *, columns: Iterable[str], required: Iterable[str], sheet: str | None = None
) -> list[tuple[int, dict[str, str]]]:
    """(row number, {column: text}) for each non-empty data row; raises ImportFileError."""
    return read_table(path, columns=columns, required=required, sheet=sheet).rows


def read_table(
    path: Path, *, columns: Iterable[str], required: Iterable[str], sheet: str | None = None
) -> Table:
    """The data rows under the header of the chosen sheet; raises ImportFileError."""
    columns, required = list(columns), list(required)
    sheets, notes = _read_file(path)
    if sheet:
        wanted = sheet.strip()
        if wanted not in dict(sheets):
            names = "、".join(f"“{n}”" for n, _ in sheets)
            raise ImportFileError(NO_SUCH_SHEET.format(sheet=wanted, names=names))
        count = len(sheets)
        sheets = [(n, t) for n, t in sheets if n == wanted]
    else:
        count = len(sheets)
    found: tuple[str, list[list[Any]], int] | None = None
    best: tuple[int, int, list[str], str] | None = None  # (known, row, missing, sheet)
    for name, table in sheets:
        header_at, missing, known = _find_header(table, columns, required)
        if not missing:
            found = (name, table, header_at)
            break
        if best is None or known > best[0]:
            best = (known, header_at, missing, name)
    if found is None:
        if not any(any(_text(c) for c in row) for _, t in sheets for row in t):
            raise ImportFileError(EMPTY_FILE.format(columns="、".join(columns)))
        assert best is not None
        missing = MISSING_COLUMNS.format(row=best[1], columns="、".join(best[2]))
        where = f"工作表“{best[3]}”" if count > 1 else ""
        raise ImportFileError(where + missing)
    name, table, header_at = found
    if count > 1:
        notes.append(SHEET_READ.format(sheet=name, count=count))
    header = [header_name(h) for h in table[header_at - 1]]
    rows = []
    for number, cells in enumerate(table[header_at:], start=header_at + 1):
        values: dict[str, str] = {}
        for i, h in enumerate(header):
            if h and h not in values:
                values[h] = _text(cells[i]) if i < len(cells) else ""
        if any(values.values()):
            rows.append((number, values))
    return Table(rows, notes, name, header_at)


def header_name(value: Any) -> str:
    """A header cell as its column name: 姓 名 → 姓名, *手机 → 手机, 单位（必填） → 单位."""
    return HEADER_NOISE_RE.sub("", _text(value))


def _find_header(
    table: list[list[Any]], columns: list[str], required: list[str]
) -> tuple[int, list[str], int]:
    """(row number, required columns missing, known columns) of the best header candidate."""
    best = (1, list(required), -1)
    for number, row in enumerate(table[:HEADER_SCAN], start=1):
        names = {header_name(c) for c in row}
        missing = [c for c in required if c not in names]
        known = len(names & set(columns))
        if not missing:
            return number, [], known
        if known > best[2]:
            best = (number, missing, known)
    return best


def _read_file(path: Path) -> tuple[list[tuple[str, list[list[Any]]]], list[str]]:
    """Every sheet of the file as (name, rows of cells), and how the file was read."""
    if not path.exists():
        raise ImportFileError(NO_FILE.format(path=path))
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".xlsm", ".csv", ".xls"):
        raise ImportFileError(BAD_TYPE.format(path=path))
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as error:
        raise ImportFileError(BAD_FILE.format(name=path.name, error=error)) from error
    notes: list[str] = []
    if head.startswith(OLE_MAGIC):
        raise ImportFileError(OLD_EXCEL.format(name=path.name))
    is_zip = head.startswith(ZIP_MAGIC)
    if suffix == ".xls" and not is_zip:
        raise ImportFileError(OLD_EXCEL.format(name=path.name))
    as_xlsx = is_zip
    if as_xlsx and suffix == ".csv":
        notes.append(READ_AS_XLSX.format(name=path.name))
    if not as_xlsx and suffix in (".xlsx", ".xlsm"):
        if not _looks_like_text(path):
            raise ImportFileError(BAD_FILE.format(name=path.name, error="文件已损坏"))
        notes.append(READ_AS_CSV.format(name=path.name))
    try:
        sheets = _read_xlsx(path) if as_xlsx else [("", _read_csv(path))]
    except ImportFileError:
        raise
    except Exception as error:  # openpyxl and zipfile raise many kinds on a damaged book
        raise ImportFileError(BAD_FILE.format(name=path.name, error=_reason(error))) from error
    return sheets, notes


def _reason(error: Exception) -> str:
    if isinstance(error, zipfile.BadZipFile):
        return "压缩包已损坏"
    if isinstance(error, UnicodeDecodeError):
        return "文字编码无法识别"
    if isinstance(error, csv.Error):
        return "文本中有无法识别的字符"
    return type(error).__name__


def _looks_like_text(path: Path) -> bool:
    sample = path.read_bytes()[:4096]
    return b"\x00" not in sample and bool(sample.strip())


def _read_csv(path: Path) -> list[list[Any]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")  # Excel on Chinese Windows saves CSV in GBK
    if "\x00" in text:
        raise ImportFileError(BAD_FILE.format(name=path.name, error="不是文本表格"))
    return [row for row in csv.reader(text.splitlines())]


def _read_xlsx(path: Path) -> list[tuple[str, list[list[Any]]]]:
    """Every worksheet; a merged range reads its top-left value in each of its cells."""
    import warnings

    from openpyxl import load_workbook

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no default style", data validation, ...
        with path.open("rb") as handle:  # a file object: openpyxl does not judge by the name
            book = load_workbook(handle, data_only=True)
    try:
        sheets = []
        for sheet in book.worksheets:
            rows = [list(row) for row in sheet.iter_rows(values_only=True)]
            for merged in sheet.merged_cells.ranges:
                top = rows[merged.min_row - 1][merged.min_col - 1] if rows else None
                for r in range(merged.min_row - 1, min(merged.max_row, len(rows))):
                    for c in range(merged.min_col - 1, merged.max_col):
                        if c < len(rows[r]):
                            rows[r][c] = top
            sheets.append((sheet.title, rows))
        return sheets
    finally:
        book.close()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return fold_cell(str(value))


def fold_cell(text: str) -> str:
    """Full-width digits, letters and spaces folded (NFKC); ends trimmed."""
    return unicodedata.normalize("NFKC", text).strip()


YES = frozenset({"是", "有", "y", "yes", "1", "√", "✓"})
NO = frozenset({"否", "无", "没有", "n", "no", "0", "×"})


def yes_no(text: str) -> bool | None:
    """是 → True, 否 → False (also 有/无, Y/N, 1/0, √/×); anything else → None."""
    word = text.strip().lower()
    return True if word in YES else False if word in NO else None


def row_ranges(numbers: Iterable[int]) -> str:
    """Row numbers for a sentence, runs shortened: 2–4、7."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return "、".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)
