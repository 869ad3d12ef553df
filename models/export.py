"""Excel (.xlsx) exports: members, tickets, notices, resources (attendance: models/activity.py).

Each function writes one sheet and returns the number of data rows; `scope` limits the rows to
an admin's alliances (models.scope.Scope; the county by default).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.core.clock import fmt_local
from models.member import Member
from models.notice import Notice, NoticeRecipient
from models.scope import Scope
from models.ticket import Ticket

if TYPE_CHECKING:
    from models.roster import IssuedInvite

TIME = "%Y-%m-%d %H:%M"


def _save(path: Path, title: str, head: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """One sheet: the header row, then the rows; returns how many rows."""
    book, count = sheet_book(title, head, rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return count


def sheet_book(
    title: str, head: Sequence[str], rows: Iterable[Sequence[object]]
) -> tuple[Any, int]:
    """An openpyxl workbook of one sheet (the web console streams it), and its row count."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    sheet.append(list(head))
    count = 0
    for row in rows:
        sheet.append(list(row))
        count += 1
    return book, count


def _when(value: object) -> str:
    return fmt_local(value, TIME) if value is not None else ""  # type: ignore[arg-type]


async def export_members(*, session: AsyncSession, path: Path, scope: Scope = Scope.COUNTY) -> int:
    """One row per member: name, unit, party member, mobile, workplace."""
    stmt = select(Member).options(selectinload(Member.home_unit)).order_by(Member.id)
    if not scope.county:
        stmt = stmt.where(scope.units_where(Member.home_unit_id))
    members = (await session.execute(stmt)).scalars()
    rows = (
        [
            m.name,
            m.home_unit.name if m.home_unit else "",
            "是" if m.is_party_member else "否",
            "是" if m.is_mobile else "否",
            m.workplace or "",
        ]
        for m in members
    )
    head = ["姓名", "所在单位", "党员", "流动党员", "外出工作地"]
    return _save(path, "成员", head, rows)


async def export_tickets(*, session: AsyncSession, path: Path, scope: Scope = Scope.COUNTY) -> int:
    """One row per ticket: number, state, category, department, times, on time, rating."""
    stmt = select(Ticket).order_by(Ticket.id)
    stmt = stmt.where(scope.where(Ticket.alliance_id))
    tickets = (await session.execute(stmt)).scalars()
    rows = (
        [
            t.number,
            t.state.value if hasattr(t.state, "value") else str(t.state),
            t.category,
            t.department.name if t.department else "",
            t.unit.name if t.unit else "",
            _when(t.created_at),
            _when(t.signed_at),
            _when(t.resolved_at),
            "是" if t.resolved_at and t.resolved_at <= t.resolve_due_at else "否",
            t.rating or "",
        ]
        for t in tickets
    )
    head = ["编号", "状态", "分类", "承办部门", "反映单位", "提交", "签收", "办结", "按时", "评价"]
    return _save(path, "吹哨工单", head, rows)


async def export_notices(*, session: AsyncSession, path: Path, scope: Scope = Scope.COUNTY) -> int:
    """One row per sent notice: when, text, recipients and acknowledgements (in scope)."""
    stmt = select(NoticeRecipient.notice_id, NoticeRecipient.acked_at)
    if not scope.county:
        members = select(Member.id).where(scope.units_where(Member.home_unit_id))
        stmt = stmt.where(NoticeRecipient.member_id.in_(members))
    counts: dict[int, list[int]] = {}
    for notice_id, acked in await session.execute(stmt):
        pair = counts.setdefault(notice_id, [0, 0])
        pair[0] += 1
        pair[1] += int(acked is not None)
    notices = await session.execute(
        select(Notice).where(Notice.id.in_(list(counts))).order_by(Notice.sent_at, Notice.id)
    )
    rows = (
        [n.id, _when(n.sent_at), n.text, *counts[n.id], f"{counts[n.id][1] / counts[n.id][0]:.0%}"]
        for n in notices.scalars()
        if n.sent_at is not None
    )
    return _save(path, "通知", ["编号", "发送时间", "内容", "接收人数", "已确认", "确认率"], rows)


async def export_resources(
    *, session: AsyncSession, path: Path, scope: Scope = Scope.COUNTY
) -> int:
    """One row per resource visible to the scope: list, title, provider, contact, validity."""
    from models.resource import Resource, ResourceAlliance

    stmt = select(Resource).order_by(Resource.kind, Resource.id)
    if not scope.county:
        shared = select(ResourceAlliance.resource_id).where(
            scope.where(ResourceAlliance.alliance_id)
        )
        stmt = stmt.where(Resource.all_alliances.is_(True) | Resource.id.in_(shared))
    resources = (await session.execute(stmt)).scalars()
    rows = (
        [
            str(r.kind),
            r.title,
            r.description,
            r.provider,
            r.contact,
            r.tags,
            "全部联盟" if r.all_alliances else "指定联盟",
            _when(r.valid_until),
        ]
        for r in resources
    )
    head = ["类别", "标题", "描述", "提供单位", "联系方式", "标签", "可见范围", "有效期至"]
    return _save(path, "资源清单", head, rows)


INVITE_HEAD = (
    "姓名",
    "手机",
    "单位",
    "联盟",
    "邀请码",
    "有效期至",
    "Telegram 绑定链接",
    "聊天中发送",
)


def invite_rows(invites: Iterable[IssuedInvite], bot_username: str) -> list[list[object]]:
    """An invite sheet's rows: who, where, the code, until when, the deep link, what to type."""
    from models.roster import deep_link

    return [
        [
            i.name,
            i.phone,
            i.unit,
            i.alliances,
            i.code,
            fmt_local(i.expires_at, TIME),
            deep_link(bot_username, i.code),
            f"绑定 {i.code}",
        ]
        for i in invites
    ]


def export_invites(*, path: Path, invites: Iterable[IssuedInvite], bot_username: str) -> int:
    """The invite codes an office hands out, one row per member."""
    return _save(path, "邀请码", INVITE_HEAD, invite_rows(invites, bot_username))
