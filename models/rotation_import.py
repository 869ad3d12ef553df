"""Importing rotation plans: one row per host unit (INTERFACES.md, "Rotation sheet").

联盟, 单位, 轮办顺序, 周期 and 起始日期 are required; 主席顺序 and 主席任期 describe the chair
rotation. 周期, 起始日期 and 主席任期 are the same on every row of one alliance (a row that
differs from the alliance's first row is bad). Each alliance in the file gets its plan saved
(models.rotation_setup.save_plan: periods already started keep their host).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.org import Alliance, Membership, Unit
from models.rotation import PERIOD_ZH, Period
from models.rotation_setup import CHAIR_TERMS, PERIOD_WORDS, PlanDraft, save_plan
from models.scope import Scope
from models.table_import import ImportReport, read_table, row_error

COLUMNS = ("联盟", "单位", "轮办顺序", "周期", "起始日期", "主席顺序", "主席任期")
REQUIRED = ("联盟", "单位", "轮办顺序", "周期", "起始日期")
DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
ORDER_RE = re.compile(r"^第?\s*(\d{1,3})\s*[位号]?$")

PROBLEMS = {
    "alliance": "联盟为空",
    "alliance_unknown": "联盟“{value}”不存在（请先 import orgs 导入）",
    "alliance_scope": "联盟“{value}”不在您管理的范围内",
    "unit": "单位为空",
    "unit_unknown": "单位“{value}”不存在",
    "unit_not_member": "单位“{value}”不是“{alliance}”的成员单位",
    "unit_duplicate": "单位“{value}”在本联盟中与第 {row} 行重复",
    "order": "轮办顺序“{value}”应为 1、2、3 这样的数字",
    "order_duplicate": "轮办顺序 {value} 与第 {row} 行重复",
    "period": "周期“{value}”不对，应为 周、月 或 季度",
    "start": "起始日期“{value}”不是日期（例如 2027-01-01）",
    "chair_order": "主席顺序“{value}”应为数字或留空",
    "chair_duplicate": "主席顺序 {value} 与第 {row} 行重复",
    "chair_term": "主席任期“{value}”不对，应为 月、季度、半年 或 年",
    "chair_term_missing": "有主席顺序时须填主席任期（月、季度、半年 或 年）",
    "differs": "{column}“{value}”与第 {row} 行的“{first}”不一致（同一联盟应相同）",
}


@dataclass
class RotationReport(ImportReport):
    created: list[str] = field(default_factory=list)  # alliance names
    replaced: list[str] = field(default_factory=list)


@dataclass
class _Row:
    number: int
    unit_id: int
    order: int
    period: Period
    starts_on: date
    chair: int | None
    term: int | None
    values: dict[str, str]


def parse_day(text: str) -> date | None:
    """2027-01-01 (also / . 年月日) as a date, else None."""
    m = DATE_RE.match(text.strip())
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _order(text: str) -> int | None:
    m = ORDER_RE.match(text.strip())
    return int(m.group(1)) if m and int(m.group(1)) > 0 else None


async def import_rotation(
    *,
    session: AsyncSession,
    path: Path,
    now: datetime,
    skip_bad_rows: bool = False,
    sheet: str | None = None,
    scope: Scope = Scope.COUNTY,
    by_id: int | None = None,
) -> RotationReport:
    """Check every row, then save one plan per alliance from its good rows."""
    table = read_table(path, columns=COLUMNS, required=REQUIRED, sheet=sheet)
    alliances = {a.name: a.id for a in await session.scalars(select(Alliance))}
    units = {u.name: u.id for u in await session.scalars(select(Unit))}
    members = set(
        (await session.execute(select(Membership.alliance_id, Membership.unit_id))).all()
    )
    report = RotationReport(notes=table.notes)
    by_alliance: dict[int, list[_Row]] = {}
    names: dict[int, str] = {}
    for number, values in table.rows:
        problems, row, alliance_id = _check(values, number, alliances, units, members, scope)
        if row is not None and alliance_id is not None:
            problems += _against_alliance(row, by_alliance.get(alliance_id, []))
        if problems:
            report.errors.append(row_error(number, problems))
            continue
        assert row is not None and alliance_id is not None
        by_alliance.setdefault(alliance_id, []).append(row)
        names[alliance_id] = values["联盟"]
    if report.errors and not skip_bad_rows:
        return report
    for alliance_id, rows in by_alliance.items():
        first = rows[0]
        chairs = sorted((r for r in rows if r.chair is not None), key=lambda r: r.chair or 0)
        draft = PlanDraft(
            alliance_id=alliance_id,
            period=first.period,
            starts_on=first.starts_on,
            unit_ids=[r.unit_id for r in sorted(rows, key=lambda r: r.order)],
            chair_unit_ids=[r.unit_id for r in chairs],
            chair_term_months=next((r.term for r in rows if r.term), 12),
        )
        _, replaced = await save_plan(session=session, draft=draft, now=now, by_id=by_id)
        (report.replaced if replaced else report.created).append(names[alliance_id])
    report.imported = sum(len(rows) for rows in by_alliance.values())
    report.skipped = len(report.errors)
    return report


def _check(
    values: dict[str, str],
    number: int,
    alliances: dict[str, int],
    units: dict[str, int],
    members: set[tuple[int, int]],
    scope: Scope,
) -> tuple[list[str], _Row | None, int | None]:
    problems: list[str] = []
    alliance, unit = values.get("联盟", ""), values.get("单位", "")
    alliance_id = alliances.get(alliance)
    if not alliance:
        problems.append(PROBLEMS["alliance"])
    elif alliance_id is None:
        problems.append(PROBLEMS["alliance_unknown"].format(value=alliance))
    elif not scope.covers(alliance_id):
        problems.append(PROBLEMS["alliance_scope"].format(value=alliance))
        alliance_id = None
    unit_id = units.get(unit)
    if not unit:
        problems.append(PROBLEMS["unit"])
    elif unit_id is None:
        problems.append(PROBLEMS["unit_unknown"].format(value=unit))
    elif alliance_id is not None and (alliance_id, unit_id) not in members:
        problems.append(PROBLEMS["unit_not_member"].format(value=unit, alliance=alliance))
    order = _order(values.get("轮办顺序", ""))
    if order is None:
        problems.append(PROBLEMS["order"].format(value=values.get("轮办顺序", "")))
    period = PERIOD_WORDS.get(values.get("周期", "").strip())
    if period is None:
        problems.append(PROBLEMS["period"].format(value=values.get("周期", "")))
    starts_on = parse_day(values.get("起始日期", ""))
    if starts_on is None:
        problems.append(PROBLEMS["start"].format(value=values.get("起始日期", "")))
    chair_text, term_text = values.get("主席顺序", ""), values.get("主席任期", "")
    chair = _order(chair_text) if chair_text else None
    if chair_text and chair is None:
        problems.append(PROBLEMS["chair_order"].format(value=chair_text))
    term = CHAIR_TERMS.get(term_text.strip()) if term_text else None
    if term_text and term is None:
        problems.append(PROBLEMS["chair_term"].format(value=term_text))
    elif chair is not None and term is None:
        problems.append(PROBLEMS["chair_term_missing"])
    if problems or unit_id is None or order is None or period is None or starts_on is None:
        return problems, None, alliance_id
    row = _Row(number, unit_id, order, period, starts_on, chair, term, values)
    return problems, row, alliance_id


def _against_alliance(row: _Row, earlier: list[_Row]) -> list[str]:
    """What contradicts the alliance's earlier good rows: duplicates, differing settings."""
    problems = []
    for other in earlier:
        if other.unit_id == row.unit_id:
            unit = row.values["单位"]
            problems.append(PROBLEMS["unit_duplicate"].format(value=unit, row=other.number))
        if other.order == row.order:
            problems.append(PROBLEMS["order_duplicate"].format(value=row.order, row=other.number))
        if row.chair is not None and other.chair == row.chair:
            problems.append(PROBLEMS["chair_duplicate"].format(value=row.chair, row=other.number))
    if earlier:
        first = earlier[0]
        same = (
            ("周期", row.period, first.period, PERIOD_ZH[first.period]),
            ("起始日期", row.starts_on, first.starts_on, first.starts_on.isoformat()),
        )
        for column, mine, theirs, shown in same:
            if mine != theirs:
                problems.append(
                    PROBLEMS["differs"].format(
                        column=column, value=row.values[column], row=first.number, first=shown
                    )
                )
        term = next((r for r in earlier if r.term is not None), None)
        if row.term is not None and term is not None and term.term != row.term:
            problems.append(
                PROBLEMS["differs"].format(
                    column="主席任期",
                    value=row.values["主席任期"],
                    row=term.number,
                    first=term.values["主席任期"],
                )
            )
    return problems
