"""The projects sheet: one format for `export projects` and `import projects`.

One row per milestone (a project without milestones has one row with the milestone cells
empty); the project's cells repeat on each of its rows. Import reads 联盟, 年度, 项目, 简介,
完成时限, 牵头单位, 里程碑, 权重 and 里程碑截止; the other columns (参与单位, 状态, 进度, 健康,
里程碑状态, 完成日期, 满意度) are computed and ignored, so an exported file imports again without
change. Import finds a project by alliance, year and name, creates it when new, sets its lead
when it has none, and adds the milestones it does not have yet (a 督办事项 of the lead unit each).
Bad rows are reported by number; with any bad row nothing is written unless skip_bad_rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import to_local
from models.export import DATE, Column, _save
from models.followup import Status, create_item, today_of
from models.org import Alliance, Membership, Unit
from models.project import (
    SOURCE,
    Milestone,
    Project,
    ProjectState,
    done_late,
    figures_of,
    milestones,
    partner_ids,
    projects_in,
)
from models.scope import Scope
from models.table_import import ImportReport, read_table, row_error

COLUMNS = (
    Column("联盟", 24),
    Column("年度", 8),
    Column("项目", 26),
    Column("简介", 30, wrap=True),
    Column("完成时限", 12, DATE),
    Column("牵头单位", 24),
    Column("参与单位", 24),
    Column("状态", 8),
    Column("进度", 8),
    Column("健康", 8),
    Column("里程碑", 24),
    Column("权重", 8),
    Column("里程碑截止", 12, DATE),
    Column("里程碑状态", 10),
    Column("完成日期", 12, DATE),
    Column("满意度", 8),
)
READ = ("联盟", "年度", "项目", "简介", "完成时限", "牵头单位", "里程碑", "权重", "里程碑截止")
REQUIRED = ("联盟", "年度", "项目", "完成时限")
STATE_ZH = {
    ProjectState.LISTED: "待认领",
    ProjectState.CLAIMED: "推进中",
    ProjectState.ACCEPTED: "已验收",
}
HEALTH_ZH = {"on_track": "正常", "at_risk": "有风险", "late": "已逾期", "none": ""}
DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s.*)?$")
PROBLEMS = {
    "alliance": "联盟“{value}”不存在",
    "year": "年度“{value}”应为 4 位年份",
    "title": "项目名称为空或太短",
    "due": "完成时限“{value}”不是日期（例如 2026-12-31）",
    "unit": "牵头单位“{value}”不存在",
    "unit_not_member": "牵头单位“{value}”不是该联盟的成员单位",
    "lead_taken": "项目已由“{value}”牵头",
    "has_one": "“{value}”今年已牵头另一个项目",
    "weight": "权重“{value}”应为 1–100 的数字",
    "milestone_due": "里程碑截止“{value}”不是日期",
    "no_lead": "有里程碑的项目须有牵头单位",
    "milestone_half": "里程碑、权重和里程碑截止要一起填",
}


def _day(text: str) -> date | None:
    match = DATE_RE.match(text.strip())
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


async def export_projects(
    *, session: AsyncSession, path: Path, now: datetime, scope: Scope = Scope.COUNTY
) -> int:
    """This year's projects in scope (and last year's), one row per milestone."""
    year = to_local(now).year
    rows: list[list[object]] = []
    for project in [
        *await projects_in(session, scope, year - 1),
        *await projects_in(session, scope, year),
    ]:
        alliance = await session.get(Alliance, project.alliance_id)
        lead = await session.get(Unit, project.lead_unit_id) if project.lead_unit_id else None
        partners = [await session.get(Unit, u) for u in await partner_ids(session, project.id)]
        found = await milestones(session, project.id)
        figures = figures_of(project, found, today_of(now))
        head = [
            alliance.name if alliance else "",
            project.year,
            project.title,
            project.description,
            project.due_on,
            lead.name if lead else "",
            "、".join(u.name for u in partners if u),
            STATE_ZH[project.state],
            f"{figures.progress}%",
            HEALTH_ZH[figures.health.value],
        ]
        rating = project.rating or ""
        if not found:
            rows.append([*head, "", "", "", "", "", rating])
        for milestone, item in found:
            status = ""
            if item is not None:
                status = {"done": "已完成", "cancelled": "已撤销"}.get(item.status, "进行中")
                if done_late(item):
                    status = "逾期完成"
                elif item.status != Status.DONE and item.overdue_days(today_of(now)):
                    status = "已逾期"
            rows.append(
                [
                    *head,
                    milestone.title,
                    milestone.weight,
                    item.due_on if item else "",
                    status,
                    to_local(item.done_at).date() if item and item.done_at else "",
                    rating,
                ]
            )
    return _save(path, "商圈党建项目", COLUMNS, rows)


@dataclass
class ProjectReport(ImportReport):
    projects: int = 0
    milestones: int = 0


@dataclass
class _Row:
    number: int
    alliance_id: int
    year: int
    title: str
    description: str
    due_on: date
    lead_unit_id: int | None
    milestone: str
    weight: int
    milestone_due: date | None


async def _check(
    session: AsyncSession, number: int, v: dict[str, str], leads: dict[tuple[int, int], str]
) -> tuple[_Row | None, list[str]]:
    problems: list[str] = []
    alliance = await session.scalar(select(Alliance).where(Alliance.name == v.get("联盟", "")))
    if alliance is None:
        problems.append(PROBLEMS["alliance"].format(value=v.get("联盟", "")))
    year_text = v.get("年度", "").removesuffix("年").strip()
    year = int(year_text) if re.fullmatch(r"\d{4}", year_text) else 0
    if not year:
        problems.append(PROBLEMS["year"].format(value=v.get("年度", "")))
    title = v.get("项目", "").strip()
    if len(title) < 2:
        problems.append(PROBLEMS["title"])
    due = _day(v.get("完成时限", ""))
    if due is None:
        problems.append(PROBLEMS["due"].format(value=v.get("完成时限", "")))
    lead_id = None
    lead_name = v.get("牵头单位", "").strip()
    if lead_name:
        unit = await session.scalar(select(Unit).where(Unit.name == lead_name))
        if unit is None:
            problems.append(PROBLEMS["unit"].format(value=lead_name))
        elif alliance is not None:
            member = await session.scalar(
                select(Membership.id).where(
                    Membership.unit_id == unit.id, Membership.alliance_id == alliance.id
                )
            )
            if member is None:
                problems.append(PROBLEMS["unit_not_member"].format(value=lead_name))
            lead_id = unit.id
    name, weight_text, m_due_text = (
        v.get(k, "").strip() for k in ("里程碑", "权重", "里程碑截止")
    )
    weight, m_due = 0, None
    if any((name, weight_text, m_due_text)):
        if not all((name, weight_text, m_due_text)):
            problems.append(PROBLEMS["milestone_half"])
        else:
            weight = int(weight_text) if weight_text.isdigit() else 0
            if not 1 <= weight <= 100:
                problems.append(PROBLEMS["weight"].format(value=weight_text))
            m_due = _day(m_due_text)
            if m_due is None:
                problems.append(PROBLEMS["milestone_due"].format(value=m_due_text))
    if problems or alliance is None or due is None:
        return None, problems
    existing = await session.scalar(
        select(Project).where(
            Project.alliance_id == alliance.id, Project.year == year, Project.title == title
        )
    )
    if (
        existing is not None
        and existing.lead_unit_id
        and lead_id
        and existing.lead_unit_id != lead_id
    ):
        taken = await session.get(Unit, existing.lead_unit_id)
        problems.append(PROBLEMS["lead_taken"].format(value=taken.name if taken else ""))
    if lead_id is not None:
        other = await session.scalar(
            select(Project.title).where(
                Project.lead_unit_id == lead_id, Project.year == year, Project.title != title
            )
        )
        seen = leads.setdefault((lead_id, year), title)
        if other is not None or seen != title:
            problems.append(PROBLEMS["has_one"].format(value=lead_name))
    if name and lead_id is None and (existing is None or existing.lead_unit_id is None):
        problems.append(PROBLEMS["no_lead"])
    if problems:
        return None, problems
    row = _Row(
        number,
        alliance.id,
        year,
        title,
        v.get("简介", "").strip(),
        due,
        lead_id,
        name,
        weight,
        m_due,
    )
    return row, []


async def import_projects(
    *,
    session: AsyncSession,
    path: Path,
    now: datetime,
    skip_bad_rows: bool = False,
    sheet: str | None = None,
) -> ProjectReport:
    table = read_table(path, columns=READ, required=REQUIRED, sheet=sheet)
    report = ProjectReport(notes=list(table.notes))
    good: list[_Row] = []
    leads: dict[tuple[int, int], str] = {}
    for number, values in table.rows:
        row, problems = await _check(session, number, values, leads)
        if problems:
            report.errors.append(row_error(number, problems))
        elif row is not None:
            good.append(row)
    if report.errors and not skip_bad_rows:
        return report
    report.skipped = len(report.errors)
    for row in good:
        project = await session.scalar(
            select(Project).where(
                Project.alliance_id == row.alliance_id,
                Project.year == row.year,
                Project.title == row.title,
            )
        )
        if project is None:
            project = Project(
                alliance_id=row.alliance_id,
                year=row.year,
                title=row.title[:100],
                description=row.description,
                source="import",
                due_on=row.due_on,
                state=ProjectState.LISTED,
                created_at=now,
            )
            session.add(project)
            await session.flush()
            report.projects += 1
        if row.lead_unit_id and project.lead_unit_id is None:
            project.lead_unit_id, project.claimed_at = row.lead_unit_id, now
            project.state = ProjectState.CLAIMED
        if row.milestone and row.milestone_due is not None:
            have = await session.scalar(
                select(Milestone.id).where(
                    Milestone.project_id == project.id, Milestone.title == row.milestone
                )
            )
            if have is None:
                milestone = Milestone(
                    project_id=project.id, title=row.milestone[:100], weight=row.weight
                )
                session.add(milestone)
                await session.flush()
                item = await create_item(
                    session=session,
                    source=SOURCE,
                    source_id=milestone.id,
                    alliance_id=project.alliance_id,
                    title=f"项目里程碑：{project.title} · {milestone.title}",
                    due_on=row.milestone_due,
                    now=now,
                    owner_unit_id=project.lead_unit_id,
                )
                milestone.followup_id = item.id
                report.milestones += 1
        report.imported += 1
    await session.flush()
    return report
