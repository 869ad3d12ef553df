"""Simulated weeks of activity on the demo county, for tests and for looking at /stats.

Each week, every alliance's rotation host holds one activity (Wednesday 14:00–16:00) where
a deterministic share of the alliance's party members check in; two tickets are filed (one
resolved on time, one left open, so it becomes overdue); the super admin sends a notice
to all members and about half acknowledge it. Nothing is random, so figures are repeatable.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.activity import Activity, expected_members
from models.checkin import CheckIn, CheckInMethod
from models.member import Identity, Member
from models.notice import AudienceKind, NoticeRecipient, create_notice
from models.outbox import OutboxMessage, OutboxStatus
from models.rotation import all_plans, current_turn
from models.ticket import file_ticket, transition


async def _account(session: AsyncSession, key: str) -> Member:
    member = await session.scalar(
        select(Member)
        .join(Identity)
        .where(Identity.platform == "console", Identity.user_key == key)
    )
    assert member is not None, key
    await session.refresh(member, ["roles"])
    return member


async def _activities(session: AsyncSession, at: datetime, week: int) -> int:
    """One activity per alliance, hosted by its current turn; returns the check-ins made."""
    made = 0
    for plan in await all_plans(session):
        turn = await current_turn(session, plan, at)
        activity = Activity(
            alliance_id=plan.alliance_id,
            host_unit_id=turn.unit_id,
            title=f"第{week + 1}周主题党日",
            starts_at=at,
            ends_at=at + timedelta(hours=2),
        )
        session.add(activity)
        await session.flush()
        for i, m in enumerate(await expected_members(session, plan.alliance_id)):
            # The host's own members always come; others two weeks in three, staggered.
            if m.home_unit_id == turn.unit_id or (i + week + plan.alliance_id) % 3:
                session.add(
                    CheckIn(
                        activity_id=activity.id,
                        member_id=m.id,
                        home_unit_id=m.home_unit_id,
                        method=CheckInMethod.HOST,
                        at=at + timedelta(minutes=5 + i % 20),
                    )
                )
                made += 1
    await session.flush()
    return made


async def _tickets(session: AsyncSession, at: datetime, week: int) -> None:
    host, officer = await _account(session, "host"), await _account(session, "officer_tax")
    quick, _ = await file_ticket(
        session=session,
        reporter=host,
        unit_id=host.home_unit_id,
        text=f"第{week + 1}周：发票领用问题",
        category="tax",
        now=at,
    )
    for hours, action, note in ((3, "sign", ""), (30, "resolve", "已上门辅导解决。")):
        await transition(
            session=session,
            ticket=quick,
            action=action,
            actor=officer,
            now=at + timedelta(hours=hours),
            note=note,
        )
    await file_ticket(
        session=session,
        reporter=host,
        unit_id=host.home_unit_id,
        text=f"第{week + 1}周：出口退税材料问题",
        category="tax",
        now=at + timedelta(hours=1),
    )


async def _notice(session: AsyncSession, at: datetime, week: int) -> None:
    from handlers.notices import card  # the handler owns the wording

    admin = await _account(session, "admin")
    notice = await create_notice(
        session=session,
        author=admin,
        text=f"第{week + 1}周通知：请按时参加本周主题党日。",
        audience={"kind": AudienceKind.ALL, "ids": []},
        now=at,
        card=card,
    )
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.ref_id == notice.id, OutboxMessage.kind == "notice")
        .values(status=OutboxStatus.SENT)
    )
    await session.execute(
        update(NoticeRecipient)
        .where(NoticeRecipient.notice_id == notice.id, NoticeRecipient.member_id % 2 == 0)
        .values(acked_at=at + timedelta(hours=3))
    )


async def simulate_weeks(session: AsyncSession, start: datetime, weeks: int) -> None:
    """`weeks` weeks from `start`: activities on day 1 (+5 h), tickets and a notice on day 0."""
    for week in range(weeks):
        day = start + timedelta(weeks=week)
        await _notice(session, day, week)
        await _tickets(session, day, week)
        await _activities(session, day + timedelta(days=1, hours=5), week)
    await session.flush()
