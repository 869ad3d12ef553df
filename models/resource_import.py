"""Importing resources from .xlsx or .csv: a header row of Chinese column names, one row each.

Every bad row is reported with its row number (the header is row 1, as in Excel); nothing is
imported from a file with a bad row unless the caller asks to skip bad rows.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import local_datetime
from models.member import Member
from models.org import Alliance, Unit
from models.resource import KIND_WORDS, Resource, add_resource

COLUMNS = {
    "类别": "kind",
    "标题": "title",
    "描述": "description",
    "提供单位": "provider",
    "联系人": "contact_name",
    "联系方式": "contact_phone",
    "标签": "tags",
    "可见联盟": "alliances",
    "有效期至": "valid_until",
}
REQUIRED = ("类别", "标题", "提供单位")
ALL_WORDS = frozenset({"", "全部", "所有", "全部联盟", "所有联盟"})
SPLIT_RE = re.compile(r"[、,，;；/|\s]+")
DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
TITLE_MAX = 100

NO_FILE = "找不到文件：{path}"
BAD_TYPE = "只支持 .xlsx 和 .csv 文件：{path}"
BAD_FILE = "无法读取文件：{error}"
EMPTY_FILE = "文件是空的：第 1 行应为表头（{columns}）。"
MISSING_COLUMNS = "第 1 行表头缺少列：{columns}。"
ROW = "第 {row} 行：{problems}"
PROBLEMS = {
    "kind": "类别“{value}”不对，应为 伙伴、管家、千里马 或 蓝海",
    "title": "标题为空",
    "title_long": "标题超过 100 字",
    "provider": "提供单位为空",
    "alliance": "可见联盟“{value}”不存在",
    "date": "有效期至“{value}”不是日期（例如 2027-06-30）",
    "expired": "有效期至 {value} 已过",
    "duplicate": "与第 {value} 行重复（同类别、标题、提供单位）",
    "exists": "已有同类别、标题、提供单位的资源",
}


class ImportFileError(Exception):
    """The file as a whole cannot be read; the message is a sentence for the operator."""


@dataclass
class ImportReport:
    imported: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: int = 0


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
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
        raise ImportFileError(EMPTY_FILE.format(columns="、".join(COLUMNS)))
    header = [_text(h) for h in table[0]]
    missing = [c for c in REQUIRED if c not in header]
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


def parse_date(text: str) -> datetime | None:
    """The end of a local day given as 2027-06-30 (also / . 年月日): valid through that day."""
    m = DATE_RE.match(text.strip())
    if not m:
        return None
    try:
        day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    return local_datetime(day.year, day.month, day.day) + timedelta(days=1)


async def import_resources(
    *, session: AsyncSession, path: Path, now: datetime, skip_bad_rows: bool = False
) -> ImportReport:
    """Check every row, then add the good ones (all or nothing unless skip_bad_rows)."""
    rows = read_rows(path)
    alliances = {a.name: a.id for a in await session.scalars(select(Alliance))}
    units = {u.name: u.id for u in await session.scalars(select(Unit))}
    phones: dict[str, list[int]] = {}
    for member_id, phone in (await session.execute(select(Member.id, Member.phone))).all():
        if phone:
            phones.setdefault(phone, []).append(member_id)
    existing = set(
        (await session.execute(select(Resource.kind, Resource.title, Resource.provider))).all()
    )
    report = ImportReport()
    drafts: list[dict[str, Any]] = []
    seen: dict[tuple[str, str, str], int] = {}
    for number, values in rows:
        problems, draft = _check(values, alliances, now)
        key = (str(draft.get("kind", "")), draft.get("title", ""), draft.get("provider", ""))
        if not problems and key in seen:
            problems.append(PROBLEMS["duplicate"].format(value=seen[key]))
        elif not problems and key in existing:
            problems.append(PROBLEMS["exists"])
        seen.setdefault(key, number)
        if problems:
            report.errors.append(ROW.format(row=number, problems="；".join(problems)))
            continue
        draft["provider_unit_id"] = units.get(draft["provider"])
        matches = phones.get(values.get("联系方式", ""), [])
        draft["contact_member_id"] = matches[0] if len(matches) == 1 else None
        drafts.append(draft)
    if report.errors and not skip_bad_rows:
        return report
    for draft in drafts:
        await add_resource(session=session, now=now, **draft)
    report.imported = len(drafts)
    report.skipped = len(report.errors)
    return report


def _check(
    values: dict[str, str], alliances: dict[str, int], now: datetime
) -> tuple[list[str], dict[str, Any]]:
    problems: list[str] = []
    draft: dict[str, Any] = {}
    kind = KIND_WORDS.get(values.get("类别", "").strip())
    if kind is None:
        problems.append(PROBLEMS["kind"].format(value=values.get("类别", "")))
    draft["kind"] = kind
    title = values.get("标题", "")
    if not title:
        problems.append(PROBLEMS["title"])
    elif len(title) > TITLE_MAX:
        problems.append(PROBLEMS["title_long"])
    draft["title"] = title
    draft["provider"] = values.get("提供单位", "")
    if not draft["provider"]:
        problems.append(PROBLEMS["provider"])
    names = values.get("可见联盟", "")
    if names.strip() in ALL_WORDS:
        draft["alliance_ids"] = None
    else:
        parts = [p for p in SPLIT_RE.split(names) if p]
        problems += [PROBLEMS["alliance"].format(value=p) for p in parts if p not in alliances]
        draft["alliance_ids"] = [alliances[p] for p in parts if p in alliances]
    until_text = values.get("有效期至", "")
    draft["valid_until"] = None
    if until_text:
        until = parse_date(until_text)
        if until is None:
            problems.append(PROBLEMS["date"].format(value=until_text))
        elif until <= now:
            problems.append(PROBLEMS["expired"].format(value=until_text))
        draft["valid_until"] = until
    contact = " ".join(p for p in (values.get("联系人", ""), values.get("联系方式", "")) if p)
    draft.update(
        description=values.get("描述", ""), contact=contact[:100], tags=values.get("标签", "")
    )
    return problems, draft
