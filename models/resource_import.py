"""Importing resources from .xlsx or .csv: a header row of Chinese column names, one row each.

Every bad row is reported with its row number (the header is row 1, as in Excel); nothing is
imported from a file with a bad row unless the caller asks to skip bad rows.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import local_datetime
from models import table_import
from models.member import Member
from models.org import Alliance, Unit
from models.resource import KIND_WORDS, Resource, add_resource
from models.table_import import ImportFileError, ImportReport, row_error

__all__ = ["ImportFileError", "ImportReport", "import_resources", "read_rows"]

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


def read_rows(path: Path, sheet: str | None = None) -> list[tuple[int, dict[str, str]]]:
    """(row number, {column: text}) for each non-empty data row; raises ImportFileError."""
    return table_import.read_rows(path, columns=COLUMNS, required=REQUIRED, sheet=sheet)


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
    *,
    session: AsyncSession,
    path: Path,
    now: datetime,
    skip_bad_rows: bool = False,
    sheet: str | None = None,
) -> ImportReport:
    """Check every row, then add the good ones (all or nothing unless skip_bad_rows)."""
    table = table_import.read_table(path, columns=COLUMNS, required=REQUIRED, sheet=sheet)
    alliances = {a.name: a.id for a in await session.scalars(select(Alliance))}
    units = {u.name: u.id for u in await session.scalars(select(Unit))}
    phones: dict[str, list[int]] = {}
    for member_id, phone in (await session.execute(select(Member.id, Member.phone))).all():
        if phone:
            phones.setdefault(phone, []).append(member_id)
    existing = set(
        (await session.execute(select(Resource.kind, Resource.title, Resource.provider))).all()
    )
    report = ImportReport(notes=table.notes)
    drafts: list[dict[str, Any]] = []
    seen: dict[tuple[str, str, str], int] = {}
    for number, values in table.rows:
        problems, draft = _check(values, alliances, now)
        key = (str(draft.get("kind", "")), draft.get("title", ""), draft.get("provider", ""))
        if not problems and key in seen:
            problems.append(PROBLEMS["duplicate"].format(value=seen[key]))
        elif not problems and key in existing:
            problems.append(PROBLEMS["exists"])
        seen.setdefault(key, number)
        if problems:
            report.errors.append(row_error(number, problems))
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
