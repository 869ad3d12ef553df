"""What an outcome entry or a fund expense is linked to, shared by handlers/outcome_form.py and
handlers/funds.py: a ticket (WT-2026-0005), a follow-up item (DB-0003), a fund expense (ZC-0001),
a claimed project of the alliance (XM-0001 or part of its title), or an activity or meeting of
the alliance (part of its title). The alliance's recent activities and meetings and its claimed
projects are offered as buttons, with 跳过.

A link is stored as (kind, id, label): kind is ticket, followup, expense, project or activity
(a meeting is its activity, labelled 会议《…》)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Button, Reply
from bot.core.clock import to_local
from models.activity import Activity
from models.followup import FollowUp
from models.fund import ExpenseState, Fund, FundExpense
from models.meeting import Meeting
from models.project import Project, ProjectState
from models.ticket import Ticket

Link = tuple[str, int, str]

TYPED_ZH = {
    "ticket": "工单号（WT-2026-0005）",
    "followup": "督办编号（DB-0003）",
    "expense": "经费支出编号（ZC-0001）",
    "project": "项目编号（XM-0001）或项目名称",
    "activity": "活动或会议名称（可以只写一部分）",
}
NOT_FOUND = "没有找到“{text}”。可以输入{what}，或点选下面的按钮；没有就点“跳过”。"
MANY = "有几项符合“{text}”，请点选："
SKIP = "跳过"
CODE_RE = re.compile(r"^\s*(WT|DB|ZC|XM)\s*-?\s*(\d{4})?\s*-?\s*0*(\d{1,6})\s*$", re.I)
LABEL_MAX = 40  # the link_label columns
BUTTON_MAX = 30
RECENT_ACTIVITIES = 5  # the last 90 days and the next 30
PROJECT_BUTTONS = 3


@dataclass(frozen=True)
class Option:
    """One thing to link: what is stored, and the label of its button."""

    kind: str
    id: int
    label: str
    button: str

    @property
    def link(self) -> Link:
        return (self.kind, self.id, self.label)


def what_to_type(kinds: tuple[str, ...]) -> str:
    return "、".join(TYPED_ZH[k] for k in kinds)


def not_found(text: str, kinds: tuple[str, ...]) -> str:
    return NOT_FOUND.format(text=text.strip(), what=what_to_type(kinds))


async def _activity(session: AsyncSession, activity: Activity) -> Option:
    meeting = await session.scalar(select(Meeting.id).where(Meeting.activity_id == activity.id))
    kind = "会议" if meeting is not None else "活动"
    return Option(
        "activity",
        activity.id,
        f"{kind}《{activity.title}》"[:LABEL_MAX],
        f"{kind}：{activity.title}"[:BUTTON_MAX],
    )


def _project(project: Project) -> Option:
    return Option(
        "project",
        project.id,
        f"项目 {project.number}《{project.title}》"[:LABEL_MAX],
        f"项目：{project.title}"[:BUTTON_MAX],
    )


def _claimed(alliance_id: int, now: datetime) -> tuple[ColumnElement[bool], ...]:
    """The alliance's projects a unit has claimed (or that are accepted), this year and last."""
    return (
        Project.alliance_id == alliance_id,
        Project.state != ProjectState.LISTED,
        Project.year >= to_local(now).year - 1,
    )


async def offered(
    session: AsyncSession, alliance_id: int, now: datetime, kinds: tuple[str, ...]
) -> list[Option]:
    """The buttons' choices: the alliance's latest activities and meetings (the last 90 days and
    the next 30), then its claimed projects of this year and last."""
    options: list[Option] = []
    if "activity" in kinds:
        stmt = (
            select(Activity)
            .where(
                Activity.alliance_id == alliance_id,
                Activity.starts_at >= now - timedelta(days=90),
                Activity.starts_at <= now + timedelta(days=30),
            )
            .order_by(Activity.starts_at.desc())
            .limit(RECENT_ACTIVITIES)
        )
        for activity in (await session.execute(stmt)).scalars():
            options.append(await _activity(session, activity))
    if "project" in kinds:
        stmt = (
            select(Project)
            .where(*_claimed(alliance_id, now))
            .order_by(Project.year.desc(), Project.id)
            .limit(PROJECT_BUTTONS)
        )
        options.extend(_project(p) for p in (await session.execute(stmt)).scalars())
    return _distinct(options)


def _distinct(options: list[Option]) -> list[Option]:
    """One option per label: of a meeting held again under the same title, the latest."""
    seen: set[str] = set()
    kept = []
    for option in options:
        if option.label not in seen:
            seen.add(option.label)
            kept.append(option)
    return kept


def buttons(options: list[Option], target: str) -> tuple[Button, ...]:
    """The options' buttons (pressed: kind=, ref=) and 跳过 (skip=True), for a link step."""
    return (
        *(Button(o.button, target, kind=o.kind, ref=o.id) for o in options),
        Button(SKIP, target, skip=True),
    )


async def ask(
    session: AsyncSession,
    alliance_id: int,
    now: datetime,
    kinds: tuple[str, ...],
    target: str,
    text: str,
) -> Reply:
    """The question (or a refusal) with the offered choices as buttons and 跳过."""
    return Reply(text, buttons(await offered(session, alliance_id, now, kinds), target))


async def pressed(
    session: AsyncSession, alliance_id: int, kind: str, ref: int, kinds: tuple[str, ...]
) -> Option | None:
    """A pressed button's choice, if it is still there and of this alliance."""
    if kind not in kinds:
        return None
    if kind == "activity":
        activity = await session.get(Activity, ref)
        if activity is None or activity.alliance_id != alliance_id:
            return None
        return await _activity(session, activity)
    if kind == "project":
        project = await session.get(Project, ref)
        if project is None or project.alliance_id != alliance_id:
            return None
        return _project(project)
    return None


async def _coded(
    session: AsyncSession, alliance_id: int, code: re.Match[str], kinds: tuple[str, ...]
) -> Option | None:
    prefix, year, number = code.group(1).upper(), code.group(2), int(code.group(3))
    if prefix == "DB" and "followup" in kinds:
        item = await session.get(FollowUp, number)
        return Option("followup", item.id, f"督办 {item.number}", "") if item else None
    if prefix == "WT" and "ticket" in kinds:
        stmt = select(Ticket).where(Ticket.seq == number)
        if year:
            stmt = stmt.where(Ticket.year == int(year))
        ticket = await session.scalar(stmt.order_by(Ticket.year.desc()).limit(1))
        return Option("ticket", ticket.id, f"工单 {ticket.number}", "") if ticket else None
    if prefix == "ZC" and "expense" in kinds:
        expense = await session.scalar(
            select(FundExpense)
            .join(Fund, Fund.id == FundExpense.fund_id)
            .where(
                FundExpense.id == number,
                Fund.alliance_id == alliance_id,
                FundExpense.state != ExpenseState.REJECTED,
            )
        )
        if expense is None:
            return None
        label = f"经费支出 {expense.number}（{expense.purpose}）"
        if len(label) > LABEL_MAX:
            label = label[: LABEL_MAX - 2] + "…）"
        return Option("expense", expense.id, label, "")
    if prefix == "XM" and "project" in kinds:
        project = await session.get(Project, number)
        if project is None or project.alliance_id != alliance_id:
            return None
        if project.state == ProjectState.LISTED:
            return None
        return _project(project)
    return None


async def typed(
    session: AsyncSession,
    alliance_id: int,
    now: datetime,
    text: str,
    kinds: tuple[str, ...],
) -> list[Option]:
    """What was typed: a number (WT-, DB-, ZC-, XM-) finds that one; words find the alliance's
    claimed projects and its activities and meetings whose title contains them (the latest
    first, at most six)."""
    code = CODE_RE.match(text)
    if code is not None:
        found = await _coded(session, alliance_id, code, kinds)
        return [found] if found is not None else []
    words = text.strip().strip('《》“”"')
    if len(words) < 2:
        return []
    options: list[Option] = []
    if "project" in kinds:
        stmt = (
            select(Project)
            .where(*_claimed(alliance_id, now), Project.title.contains(words))
            .order_by(Project.year.desc(), Project.id)
            .limit(3)
        )
        options.extend(_project(p) for p in (await session.execute(stmt)).scalars())
    if "activity" in kinds:
        stmt = (
            select(Activity)
            .where(
                Activity.alliance_id == alliance_id,
                Activity.starts_at <= now + timedelta(days=30),
                Activity.title.contains(words),
            )
            .order_by(Activity.starts_at.desc())
            .limit(6 - len(options))
        )
        for activity in (await session.execute(stmt)).scalars():
            options.append(await _activity(session, activity))
    return _distinct(options)
