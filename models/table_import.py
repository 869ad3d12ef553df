"""Reading import tables from .xlsx or .csv: a header row of Chinese column names, one row each.

Shared by every `python -m bot import KIND FILE`: row numbers are as Excel shows them (the
header is row 1), and each bad row becomes one line `第 N 行：…` for the operator.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

NO_FILE = "找不到文件：{path}"
BAD_TYPE = "只支持 .xlsx 和 .csv 文件：{path}"
BAD_FILE = "无法读取文件：{error}"
EMPTY_FILE = "文件是空的：第 1 行应为表头（{columns}）。"
MISSING_COLUMNS = "第 1 行表头缺少列：{columns}。"
ROW = "第 {row} 行：{problems}"


class ImportFileError(Exception):
    """The file as a whole cannot be read; the message is a sentence for the operator."""


@dataclass
class ImportReport:
    imported: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: int = 0


def row_error(number: int, problems: Iterable[str]) -> str:
    """One operator line for a bad row: 第 N 行：problem；problem."""
    return ROW.format(row=number, problems="；".join(problems))


def read_rows(
    path: Path, *, columns: Iterable[str], required: Iterable[str]
) -> list[tuple[int, dict[str, str]]]:
    """(row number, {column: text}) for each non-empty data row; raises ImportFileError."""
    if not path.exists():
        raise ImportFileError(NO_FILE.format(path=path))
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise ImportFileError(BAD_TYPE.format(path=path))
    try:
        table = _read_xlsx(path) if suffix == ".xlsx" else _read_csv(path)
    except (OSError, ValueError, KeyError, csv.Error) as error:
        raise ImportFileError(BAD_FILE.format(error=error)) from error
    if not table:
        raise ImportFileError(EMPTY_FILE.format(columns="、".join(columns)))
    header = [_text(h) for h in table[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise ImportFileError(MISSING_COLUMNS.format(columns="、".join(missing)))
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        values = {h: _text(cells[i]) if i < len(cells) else "" for i, h in enumerate(header)}
        if any(values.values()):
            rows.append((number, values))
    return rows


def _read_csv(path: Path) -> list[list[Any]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")  # Excel on Chinese Windows saves CSV in GBK
    return [row for row in csv.reader(text.splitlines())]


def _read_xlsx(path: Path) -> list[list[Any]]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
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
    return str(value).strip()


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
