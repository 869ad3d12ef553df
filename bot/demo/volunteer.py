"""Demo 志愿服务: two teams of the 食品产业链 (the host leads 冷链先锋志愿服务队, which `member`
and `mobile` belong to), the food park's 《志愿服务：园区环境整治》 marked as a service, and a
year of monthly services with hours: counted, too short, not signed out, 补录 approved,
declined and one pending (added by alliance_admin, for admin to review)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.demo.activities import FOOD_CHAIN
from bot.demo.meetings import _photo
from models.activity import Activity
from models.checkin import CheckIn, CheckInMethod
from models.files import store_upload
from models.member import Member
from models.org import Alliance, Membership
from models.volunteer import (
    HoursKind,
    HoursState,
    ServiceActivity,
    ServiceHours,
    TeamMember,
    VolunteerTeam,
)
from settings import get_settings

TOPICS = (
    "冷链企业安全宣传",
    "关爱环卫工人",
    "助农直播带货",
    "社区义诊",
    "食品安全进社区",
    "敬老院慰问",
    "文明交通劝导",
    "河道清理",
    "困难职工走访",
    "防诈骗宣传",
    "植树护绿",
    "爱心助学",
)


async def seed(session: AsyncSession, now: datetime, accounts: dict[str, Any]) -> None:
    """Teams and a year of services with their hours (see the module's docstring)."""
    rng = random.Random(21)
    host: Member = accounts["host"]
    admin: Member = accounts["alliance_admin"]
    food = await session.scalar(select(Alliance).where(Alliance.name == FOOD_CHAIN))
    assert food is not None
    in_food = select(Membership.unit_id).where(Membership.alliance_id == food.id)
    people = list(
        (
            await session.execute(
                select(Member).where(Member.home_unit_id.in_(in_food)).order_by(Member.id)
            )
        ).scalars()
    )
    cold = VolunteerTeam(
        alliance_id=food.id, name="冷链先锋志愿服务队", leader_id=host.id, created_at=now
    )
    safety = VolunteerTeam(
        alliance_id=food.id, name="食安宣传志愿服务队", leader_id=people[5].id, created_at=now
    )
    session.add_all([cold, safety])
    await session.flush()
    crew = list(
        {m.id: m for m in [host, accounts["member"], accounts["mobile"], *people[6:14]]}.values()
    )
    others = [m for m in [people[5], *people[14:20]] if m not in crew]
    session.add_all(TeamMember(team_id=cold.id, member_id=m.id, joined_at=now) for m in crew)
    session.add_all(TeamMember(team_id=safety.id, member_id=m.id, joined_at=now) for m in others)
    park = await session.scalar(select(Activity).where(Activity.title.like("志愿服务：园区%")))
    if park is not None:
        session.add(ServiceActivity(activity_id=park.id))
    for month, topic in enumerate(TOPICS[:11]):
        start = now - timedelta(days=30 * (11 - month) + 3)
        team, team_people = (cold, crew) if month % 3 else (safety, others)
        activity = Activity(
            alliance_id=food.id,
            host_unit_id=host.home_unit_id,
            title=f"志愿服务：{topic}",
            place="食品产业链联盟党群服务站",
            starts_at=start,
            ends_at=start + timedelta(hours=3),
        )
        session.add(activity)
        await session.flush()
        session.add(ServiceActivity(activity_id=activity.id, team_id=team.id))
        for person in team_people:
            if rng.random() < 0.2:
                continue
            came = start + timedelta(minutes=rng.randrange(-10, 15))
            session.add(
                CheckIn(
                    activity_id=activity.id,
                    member_id=person.id,
                    home_unit_id=person.home_unit_id,
                    method=CheckInMethod.CODE,
                    at=came,
                )
            )
            roll = rng.random()
            left = start + timedelta(minutes=rng.randrange(150, 185))
            state = HoursState.COUNTED
            if roll < 0.08:
                left, state = start + timedelta(minutes=50), HoursState.TOO_SHORT
            elif roll < 0.14:
                left, state = None, HoursState.NO_SIGNOUT
            stay = 0
            if left is not None:
                stay = int((min(left, activity.ends_at) - max(came, start)).total_seconds() // 60)
            session.add(
                ServiceHours(
                    activity_id=activity.id,
                    member_id=person.id,
                    home_unit_id=person.home_unit_id,
                    kind=HoursKind.SIGNED,
                    state=state,
                    signed_in_at=came,
                    signed_out_at=left,
                    minutes=stay,
                    created_at=left or activity.ends_at,
                )
            )
        await session.flush()
    last = await session.scalar(
        select(Activity)
        .join(ServiceActivity, ServiceActivity.activity_id == Activity.id)
        .where(Activity.ends_at < now)
        .order_by(Activity.starts_at.desc())
        .limit(1)
    )
    assert last is not None
    county = accounts["admin"]
    helpers = [m for m in people[20:] if m not in crew and m not in others][:3]
    evidence = store_upload(
        data=_photo(), name="现场签到表.jpg", sent_as="photo", settings=get_settings()
    )
    for person, state, reason, why_not in (
        (helpers[0], HoursState.APPROVED, "手机没电未能签退，队长证明全程参加", ""),
        (helpers[1], HoursState.DECLINED, "现场帮忙但未签到", "签到表上没有本人签名"),
        (helpers[2], HoursState.PENDING, "签退时网络故障，附现场照片", ""),
    ):
        session.add(
            ServiceHours(
                activity_id=last.id,
                member_id=person.id,
                home_unit_id=person.home_unit_id,
                kind=HoursKind.MANUAL,
                state=state,
                minutes=150,
                reason=reason,
                file_sha256=evidence.sha256,
                file_suffix=evidence.suffix,
                file_kind=evidence.kind,
                file_name=evidence.name,
                requested_by_id=admin.id,
                decided_by_id=None if state == HoursState.PENDING else county.id,
                decided_at=None if state == HoursState.PENDING else last.ends_at + timedelta(1),
                decline_reason=why_not,
                created_at=last.ends_at + timedelta(hours=5),
            )
        )
    await session.flush()


async def seed_pledges(session: AsyncSession, now: datetime, accounts: dict[str, Any]) -> None:
    """This year's pledges: `member`'s linked to hours (met) and to check-ins (践诺中), a
    reported one, `mobile`'s waiting for review, and one sent back."""
    from datetime import date

    from bot.core.clock import to_local
    from models.pledge import Pledge, PledgeKind, PledgeState, review, settle

    year = to_local(now).year
    reviewer: Member = accounts["alliance_admin"]
    member: Member = accounts["member"]
    mobile: Member = accounts["mobile"]
    host: Member = accounts["host"]
    food = await session.scalar(select(Alliance).where(Alliance.name == FOOD_CHAIN))
    assert food is not None
    rows = [
        (member, "全年参加志愿服务不少于 10 小时", PledgeKind.HOURS, 10, True, ""),
        (member, "全年参加联盟活动不少于 12 次", PledgeKind.CHECKINS, 12, True, ""),
        (host, "为联盟成员单位对接冷链仓储资源 3 家", PledgeKind.COUNT, 3, True, ""),
        (mobile, "在务工地参加志愿服务不少于 20 小时", PledgeKind.HOURS, 20, None, ""),
        (host, "多为群众办实事", PledgeKind.COUNT, 1, False, "没有可核验的数量或时间"),
    ]
    for who, text, kind, target, approve, reason in rows:
        alliance_id = food.id
        if who is mobile:  # the home unit's alliance (快递物流)
            alliance_id = await session.scalar(
                select(Membership.alliance_id).where(Membership.unit_id == who.home_unit_id)
            )
        pledge = Pledge(
            member_id=who.id,
            home_unit_id=who.home_unit_id,
            alliance_id=alliance_id,
            year=year,
            text=text,
            kind=kind,
            target=target,
            due_on=date(year, 12, 31),
            state=PledgeState.PENDING,
            created_at=now - timedelta(days=300),
        )
        session.add(pledge)
        await session.flush()
        if approve is not None:
            await review(
                session=session,
                pledge=pledge,
                actor=reviewer,
                approve=approve,
                now=now - timedelta(days=290),
                reason=reason,
            )
            await settle(session, pledge, now - timedelta(days=40))
    await session.flush()
