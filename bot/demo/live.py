"""A county living through days on a frozen clock: for any county (one imported from its own
sheets as well as the demo), with the scheduled sweeps running as they would in `serve`.

Each day the sweeps run at SWEEP_HOURS. When an alliance's rotation period starts, its host
unit's secretary publishes the period's activity (two days later, 14:00–16:00) — except for
every fourth turn, which stays unpublished so the "not published" reminder fires. At each
activity a share of the alliance's party members checks in that depends on their unit; each
Monday a secretary files a tax ticket that the tax officer resolves (on time for some units,
late for others) and the county office sends a notice that some units' members acknowledge.
Nothing is random: the same county gives the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import Role, Sweep
from bot.core.clock import FrozenClock, local_datetime, to_local
from bot.scheduler import run_all
from models.activity import Activity, create_activity, expected_members
from models.checkin import CheckIn, CheckInMethod, check_in
from models.member import HOME_LOADED, Member, MemberRole
from models.notice import AudienceKind, NoticeRecipient, create_notice
from models.org import Department
from models.rotation import all_plans, current_turn, period_index, unit_secretary
from models.ticket import file_ticket, officer_ids, transition
from settings import Settings

SWEEP_HOURS = (7, 9, 13, 15, 20)


@dataclass
class Diary:
    """What happened, for a reader (or a test) to check against the outbox and figures."""

    published: list[tuple[int, int, datetime]] = field(default_factory=list)  # alliance, unit
    skipped: list[tuple[int, int]] = field(default_factory=list)  # turns left unpublished
    checkins: int = 0
    tickets: int = 0
    notices: int = 0


async def _member(session: AsyncSession, member_id: int) -> Member:
    found = await session.scalar(select(Member).where(Member.id == member_id).options(HOME_LOADED))
    assert found is not None
    return found


async def _super_admin(session: AsyncSession) -> Member | None:
    found = await session.scalar(
        select(MemberRole.member_id).where(MemberRole.role == Role.SUPER_ADMIN).limit(1)
    )
    return await _member(session, found) if found else None


async def _publish(
    session: AsyncSession, now: datetime, diary: Diary, seen: set[tuple[int, int]]
) -> None:
    """Each plan's host publishes its period's activity when the period has started."""
    for plan in await all_plans(session):
        if not plan.unit_ids:
            continue
        turn = await current_turn(session, plan, now)
        if (plan.alliance_id, turn.index) in seen:
            continue
        seen.add((plan.alliance_id, turn.index))
        secretary = await unit_secretary(session, turn.unit_id)
        if secretary is None or (turn.index + plan.alliance_id) % 4 == 3:
            diary.skipped.append((plan.alliance_id, turn.unit_id))
            continue
        day = to_local(max(turn.starts_at, now)).date() + timedelta(days=2)
        starts = local_datetime(day.year, day.month, day.day, 14)
        if starts >= turn.ends_at:
            starts = turn.starts_at + (turn.ends_at - turn.starts_at) / 2
        await create_activity(
            session=session,
            alliance_id=plan.alliance_id,
            host_unit_id=turn.unit_id,
            created_by=secretary,
            title=f"轮值活动（第{period_index(plan, now) + 1}期）",
            place="承办单位会议室",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
        )
        diary.published.append((plan.alliance_id, turn.unit_id, starts))


async def _attend(session: AsyncSession, now: datetime, diary: Diary) -> None:
    """Activities running now: each member comes or not, by a rule of their unit."""
    running = await session.scalars(
        select(Activity).where(Activity.starts_at <= now, Activity.ends_at > now)
    )
    for activity in list(running):
        came = set(
            await session.scalars(
                select(CheckIn.member_id).where(CheckIn.activity_id == activity.id)
            )
        )
        for i, member in enumerate(await expected_members(session, activity.alliance_id)):
            unit = member.home_unit_id or 0
            keen = unit == activity.host_unit_id or (i + unit) % (2 + unit % 3) != 0
            if member.id not in came and keen:
                await check_in(
                    session=session,
                    activity=activity,
                    member=member,
                    method=CheckInMethod.HOST,
                    now=now,
                )
                diary.checkins += 1


async def _monday(
    session: AsyncSession, now: datetime, week: int, diary: Diary, card: object
) -> None:
    """A ticket from one unit's secretary, the tax officer's answer; the county's notice."""
    plans = await all_plans(session)
    tax = await session.scalar(select(Department).where(Department.code == "tax"))
    officers = await officer_ids(session, tax.id if tax else None)
    if plans and officers:
        plan = plans[week % len(plans)]
        unit = int(plan.unit_ids[week % len(plan.unit_ids)])
        reporter = await unit_secretary(session, unit)
        if reporter is not None:
            reporter = await _member(session, reporter.id)
            ticket, _ = await file_ticket(
                session=session,
                reporter=reporter,
                unit_id=unit,
                text=f"第{week + 1}周：发票领用问题",
                category="tax",
                now=now,
            )
            officer = await _member(session, officers[0])
            late = unit % 2 == 1  # odd units' problems take longer than the deadline
            for hours, action, note in (
                (2, "sign", ""),
                (200 if late else 20, "resolve", "已解决。"),
            ):
                await transition(
                    session=session,
                    ticket=ticket,
                    action=action,
                    actor=officer,
                    now=now + timedelta(hours=hours),
                    note=note,
                )
            diary.tickets += 1
    author = await _super_admin(session)
    if author is not None:
        notice = await create_notice(
            session=session,
            author=author,
            text=f"第{week + 1}周通知：请按时参加本期轮值活动。",
            audience={"kind": AudienceKind.ALL, "ids": []},
            now=now,
            card=card,  # type: ignore[arg-type]
        )
        rows = await session.scalars(
            select(NoticeRecipient).where(NoticeRecipient.notice_id == notice.id)
        )
        for row in rows:
            member = await session.get(Member, row.member_id)
            if member is not None and (member.home_unit_id or 0) % 3 != 0:
                row.acked_at = now + timedelta(hours=4)
        diary.notices += 1


async def live_days(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    sweeps: tuple[Sweep, ...],
    days: int,
) -> Diary:
    """`days` days from the clock's local midnight, sweeps running; returns the diary."""
    from handlers.notices import card  # the handler owns the wording

    diary = Diary()
    seen: set[tuple[int, int]] = set()
    start = to_local(clock.now()).date()
    for n in range(days):
        day = start + timedelta(days=n)
        for hour in SWEEP_HOURS:
            clock.set(local_datetime(day.year, day.month, day.day, hour))
            now = clock.now()
            async with sessionmaker() as session, session.begin():
                await _publish(session, now, diary, seen)
                if hour == SWEEP_HOURS[0] and day.weekday() == 0:
                    await _monday(session, now, n // 7, diary, card)
            await run_all(sweeps, sessionmaker, clock, settings)
            if hour == 15:  # activities run 14:00-16:00
                async with sessionmaker() as session, session.begin():
                    await _attend(session, clock.now(), diary)
    return diary
