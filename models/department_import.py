"""Importing the departments that tickets are routed to: one row per department.

The code ties a department to the routing table (models/routing.py), so only the codes that
table uses are accepted; an existing code keeps its row and takes the name given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.org import Department
from models.routing import ROUTING
from models.table_import import ImportReport, read_table, row_error

COLUMNS = ("代码", "名称")
CODES = sorted({rule.department for rule in ROUTING.values() if rule.department})
PROBLEMS = {
    "code": "代码“{value}”不在分派表中，可用：" + "、".join(CODES),
    "name": "名称为空",
    "long": "名称超过 100 字",
    "duplicate": "代码“{value}”与第 {row} 行重复",
}


@dataclass
class DepartmentReport(ImportReport):
    added: int = 0
    renamed: int = 0


async def import_departments(
    *, session: AsyncSession, path: Path, skip_bad_rows: bool = False, sheet: str | None = None
) -> DepartmentReport:
    """Check every row, then add new departments and rename existing ones."""
    table = read_table(path, columns=COLUMNS, required=COLUMNS, sheet=sheet)
    stored = {d.code: d for d in await session.scalars(select(Department))}
    report = DepartmentReport(notes=table.notes)
    good: dict[str, str] = {}
    seen: dict[str, int] = {}
    for number, values in table.rows:
        code, name = values.get("代码", "").strip(), values.get("名称", "").strip()
        problems = []
        if code not in CODES:
            problems.append(PROBLEMS["code"].format(value=code))
        if not name:
            problems.append(PROBLEMS["name"])
        elif len(name) > 100:
            problems.append(PROBLEMS["long"])
        if code in seen:
            problems.append(PROBLEMS["duplicate"].format(value=code, row=seen[code]))
        seen.setdefault(code, number)
        if problems:
            report.errors.append(row_error(number, problems))
        else:
            good[code] = name
    if report.errors and not skip_bad_rows:
        return report
    for code, name in good.items():
        if code not in stored:
            session.add(Department(code=code, name=name))
            report.added += 1
        elif stored[code].name != name:
            stored[code].name = name
            report.renamed += 1
    await session.flush()
    report.imported = report.added + report.renamed
    report.skipped = len(report.errors)
    return report
