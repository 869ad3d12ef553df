"""The meetings sweep, each message once (dedupe keys): the upper party organisation (the
county admins) is told of a meeting and its agenda two days before; the convener is told when
the agenda deadline passes with topics still waiting; a meeting whose 48 hours for the
minutes passed without a close is closed (owners and invitees get what closing sends)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Button, Reply, Role
from handlers.meeting_text import KIND_ZH, NO_AGENDA, UPPER_REPORT, time_of
from handlers.minutes import finish
from models.meeting import (
    AgendaState,
    agenda,
    deadlines_passed,
    meetings_starting,
    meetings_to_close,
    running_order,
)
from models.member import MemberRole
from models.outbox import enqueue
from settings import Settings

UPPER_DAYS = 2
DEADLINE_PASSED = "🗂️ 《{title}》议题征集已截止，还有 {count} 项议题待处理（采纳或暂缓）。"
AUTO_CLOSED = "《{title}》结束已满 48 小时，已自动关闭：会议记录锁定，决议已交办，纪要已发出。"


async def sweep(*, session: AsyncSession, now: datetime, settings: Settings) -> None:
    """Tell the county, remind the convener, close what was left open."""
    county = list(
        (
            await session.execute(
                select(MemberRole.member_id).where(MemberRole.role == Role.SUPER_ADMIN)
            )
        ).scalars()
    )
    for meeting in await meetings_starting(session, now, timedelta(days=UPPER_DAYS)):
        titles = [a.title for a in await running_order(session, meeting)]
        text = UPPER_REPORT.format(
            alliance=meeting.activity.alliance.name,
            time=time_of(meeting, now),
            title=meeting.title,
            kind=KIND_ZH[meeting.kind],
            place=meeting.activity.place,
            agenda="；".join(f"{i}. {t}" for i, t in enumerate(titles, 1)) or NO_AGENDA,
        )
        for member_id in sorted(set(county)):
            await enqueue(
                session=session,
                member_id=member_id,
                reply=Reply(text, (Button("查看", "meetings.view", meeting=meeting.id),)),
                now=now,
                kind="meeting",
                ref_id=meeting.id,
                dedupe_key=f"meeting:{meeting.id}:upper:{member_id}",
            )
    for meeting in await deadlines_passed(session, now):
        waiting = await agenda(session, meeting, (AgendaState.PROPOSED,))
        if waiting and meeting.convener_id is not None:
            await enqueue(
                session=session,
                member_id=meeting.convener_id,
                reply=Reply(
                    DEADLINE_PASSED.format(title=meeting.title, count=len(waiting)),
                    (Button("处理议题", "meetings.view", meeting=meeting.id),),
                ),
                now=now,
                kind="meeting",
                ref_id=meeting.id,
                dedupe_key=f"meeting:{meeting.id}:deadline",
            )
    for meeting in await meetings_to_close(session, now):
        await finish(session=session, meeting=meeting, actor=None, now=now, settings=settings)
        told = meeting.recorder_id or meeting.convener_id
        if told is not None:
            await enqueue(
                session=session,
                member_id=told,
                reply=Reply(AUTO_CLOSED.format(title=meeting.title)),
                now=now,
                kind="meeting",
                ref_id=meeting.id,
                dedupe_key=f"meeting:{meeting.id}:auto_closed",
            )
