"""Demo meetings: a quarter of 党建联席会议 and 发展联议 with decisions in every state.

食品产业链 (the host's alliance) held a 联席会议 about 60 days ago and a 发展联议 about 25 days
ago; its decisions are now done on time (with a photo), done late, extended, cancelled,
overdue and escalated, open with progress, open for the `member` account, and open for the
host's unit with departments' help needed (try 需要协调 on it: the demo files no ticket, so the
demo tickets keep their numbers). The alliance's coming 《党建联席会议》 (the demo activity
three days ahead) collects topics: it starts with 上次决议落实情况, has one accepted topic, one
waiting, and the one parked last time proposed again. Five more alliances held one meeting
each, so the quarter's figures cover several. Everything goes through the model functions,
at the time each step would have happened.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Attachment
from bot.core.clock import to_local
from models.activity import Activity
from models.checkin import CheckInMethod, check_in
from models.files import store_upload
from models.followup import (
    FollowUp,
    act,
    decide_extension,
    record_stages,
    request_extension,
    stage_times,
)
from models.meeting import (
    AgendaState,
    InviteeRole,
    Meeting,
    MeetingKind,
    agenda,
    answer,
    chair_of,
    convene,
    decide_topic,
    invitees,
    propose,
    running_order,
)
from models.member import HOME_LOADED, Member
from models.minutes import (
    close,
    record_decision,
    record_notes,
)
from models.org import Alliance
from models.rotation import get_plan, unit_secretary
from settings import get_settings

FOOD_CHAIN = "食品产业链党建红色联盟"
OTHERS = (
    "宠物食品产业链党建红色联盟",
    "新型建材产业链党建红色联盟",
    "民营医院行业党建红色联盟",
    "公益社会组织行业党建红色联盟",
    "直播电商行业党建红色联盟",
)
PLACE = "联盟党群服务中心会议室"


@dataclass(frozen=True)
class Decision:
    text: str
    unit: int | None  # index into the alliance's party-org units, or None: the member account
    due_days: int  # due date: this many days after the meeting
    helps: bool = False


async def _member(session: AsyncSession, member_id: int) -> Member:
    found = await session.scalar(select(Member).where(Member.id == member_id).options(HOME_LOADED))
    assert found is not None
    await session.refresh(found, ["roles"])
    return found


async def _convener(session: AsyncSession, alliance_id: int, at: datetime) -> Member:
    unit_id = await chair_of(session, alliance_id, at)
    secretary = await unit_secretary(session, unit_id) if unit_id else None
    assert secretary is not None
    return await _member(session, secretary.id)


async def _hold(
    session: AsyncSession,
    alliance_id: int,
    kind: MeetingKind,
    title: str,
    at: datetime,
    topics: list[str],
    decisions: list[Decision],
    units: list[int],
    owner_member: Member | None = None,
    parked: str = "",
) -> tuple[Meeting, list[FollowUp]]:
    """A meeting held at `at`: convened ten days before, topics proposed and accepted,
    invitees answered and checked in, notes and decisions recorded, closed an hour after."""
    convener = await _convener(session, alliance_id, at - timedelta(days=10))
    meeting = await convene(
        session=session,
        convener=convener,
        alliance_id=alliance_id,
        kind=kind,
        title=title,
        place=PLACE,
        starts_at=at,
        ends_at=at + timedelta(hours=2),
        agenda_deadline=at - timedelta(days=3),
        now=at - timedelta(days=10),
    )
    proposed = [
        await propose(
            session=session,
            meeting=meeting,
            member=convener,
            title=topic,
            now=at - timedelta(days=9),
        )
        for topic in [*topics, *([parked] if parked else [])]
    ]
    for item in proposed:
        await decide_topic(
            session=session,
            meeting=meeting,
            item=item,
            member=convener,
            accept=item.title != parked,
            now=at - timedelta(days=8),
        )
    people = [p for p in await invitees(session, meeting) if p.role == InviteeRole.MEMBER]
    for i, person in enumerate(people):
        who = await _member(session, person.member_id)
        on_leave = i == len(people) - 1 and len(people) > 2
        await answer(
            session=session,
            meeting=meeting,
            member=who,
            attend=not on_leave,
            reason="外出参加县里培训" if on_leave else "",
            now=at - timedelta(days=5),
        )
        if not on_leave:
            await check_in(
                session=session,
                activity=meeting.activity,
                member=who,
                method=CheckInMethod.HOST,
                now=at + timedelta(minutes=5),
                confirmed_by=convener,
            )
    order = await running_order(session, meeting)
    for n, item in enumerate(order):
        await record_notes(
            session=session,
            meeting=meeting,
            item=item,
            member=convener,
            notes="逐项通报了上次决议的落实情况。"
            if n == 0 and item.state == AgendaState.REVIEW
            else f"与会单位围绕“{item.title}”交流了做法和困难，形成共识。",
            now=at + timedelta(minutes=30 + n),
        )
    topic = order[-1]
    for d in decisions:
        await record_decision(
            session=session,
            meeting=meeting,
            item=topic,
            member=convener,
            text=d.text,
            due_on=to_local(at).date() + timedelta(days=d.due_days),
            now=at + timedelta(hours=1),
            owner_unit_id=units[d.unit] if d.unit is not None else None,
            owner_member_id=owner_member.id if d.unit is None and owner_member else None,
            needs_departments=d.helps,
        )
    items = await close(
        session=session, meeting=meeting, member=convener, now=at + timedelta(hours=3)
    )
    return meeting, items


def _photo() -> bytes:
    """A small picture standing in for a photo of the finished work."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 320), (236, 242, 248))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 60, 440, 280), outline=(180, 30, 30), width=6)
    for row in range(4):
        draw.rectangle((70, 90 + row * 45, 410, 115 + row * 45), fill=(200, 210, 225))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


async def _owner(session: AsyncSession, item: FollowUp) -> Member:
    assert item.owner_unit_id is not None
    secretary = await unit_secretary(session, item.owner_unit_id)
    assert secretary is not None
    return await _member(session, secretary.id)


async def seed(session: AsyncSession, now: datetime, accounts: dict[str, Any]) -> None:
    alliances = {a.name: a for a in (await session.execute(select(Alliance))).scalars()}
    food = alliances[FOOD_CHAIN]
    plan = await get_plan(session, food.id)
    assert plan is not None
    units = [int(u) for u in plan.unit_ids]
    member = await _member(session, accounts["member"].id)
    admin = await _member(session, accounts["alliance_admin"].id)
    first_at = _at(now, -60)
    _, first = await _hold(
        session,
        food.id,
        MeetingKind.JOINT,
        f"{to_local(first_at).month}月党建联席会议",
        first_at,
        ["冷链仓储资源共享", "成员单位党员教育培训"],
        [
            Decision("建立冷链仓储共享台账", 2, 20),
            Decision("联合举办食品安全培训", 3, 25),
            Decision("推动成员单位签订年度党建共建协议", 4, 40),
            Decision("筹备联盟年货节展销", 5, 25),
        ],
        units,
        parked="联盟统一采购包装材料",
    )
    # What happened next, in order: each step at the time it would have happened (the next
    # meeting's review freezes the state at its close).
    ledger, training, pact, fair = first
    evidence = store_upload(
        data=_photo(), name="冷链台账.jpg", sent_as="photo", settings=get_settings()
    )
    await _done(
        session, ledger, first_at + timedelta(days=15), "台账已建立，6 家单位录入库容", evidence
    )
    await _done(session, training, first_at + timedelta(days=27), "培训已举办，参训 86 人")
    await act(
        session=session,
        item=fair,
        action="cancel",
        actor=admin,
        now=first_at + timedelta(days=20),
        note="并入县年货节统一组织",
    )

    second_at = _at(now, -25)
    _, second = await _hold(
        session,
        food.id,
        MeetingKind.DEVELOPMENT,
        f"{to_local(second_at).month}月发展联议：冷链物流协同",
        second_at,
        ["冷链车辆进城通行", "园区企业用工"],
        [
            Decision("协调冷链车辆进城通行证", 2, 20, helps=True),
            Decision("解决园区企业季节性用工缺口", 0, 35, helps=True),
            Decision("整理成员单位融资需求清单", None, 30),
            Decision("完善联盟共享资源清单", 3, 37),
        ],
        units,
        owner_member=member,
    )
    permits, labor, _finance, resources = second  # finance: open, for `member`
    owner = await _owner(session, pact)
    request = await request_extension(
        session=session,
        item=pact,
        actor=owner,
        new_due_on=to_local(now).date() + timedelta(days=20),
        reason="两家单位党组织换届，协议需新班子签字",
        now=second_at + timedelta(days=2),
    )
    await decide_extension(
        session=session,
        request=request,
        item=pact,
        actor=admin,
        approve=True,
        now=second_at + timedelta(days=3),
    )
    settings = get_settings()
    times = stage_times(permits, settings)
    for stage in ("before", "due", "overdue", "county"):
        if times[stage] <= now:
            record_stages(session, permits, [stage], times[stage])
    await act(
        session=session,
        item=resources,
        action="progress",
        actor=await _owner(session, resources),
        now=now - timedelta(days=3),
        note="已收集 4 家单位的资源，正在补录联系人",
    )
    await act(
        session=session,
        item=labor,
        action="progress",
        actor=await _member(session, accounts["host"].id),
        now=now - timedelta(days=2),
        note="已摸清缺口 40 人，拟提请人社部门协调",
    )
    await _coming(session, food.id, now, member)
    for i, name in enumerate(OTHERS):
        await _other(session, alliances[name], _at(now, -12 - 7 * i), i)


def _at(now: datetime, days: int) -> datetime:
    """A Thursday 14:30 local about `days` days from now."""
    day = to_local(now + timedelta(days=days))
    day = day - timedelta(days=(day.weekday() - 3) % 7)
    return day.replace(hour=14, minute=30, second=0, microsecond=0).astimezone(now.tzinfo)


async def _done(
    session: AsyncSession,
    item: FollowUp,
    at: datetime,
    note: str,
    evidence: Attachment | None = None,
) -> None:
    owner = await _owner(session, item)
    await act(
        session=session,
        item=item,
        action="done",
        actor=owner,
        now=at,
        note=note,
        attachment=evidence,
    )


async def _coming(session: AsyncSession, alliance_id: int, now: datetime, member: Member) -> None:
    """The demo's 《党建联席会议》 three days ahead becomes a meeting collecting topics."""
    activity = await session.scalar(
        select(Activity).where(
            Activity.alliance_id == alliance_id, Activity.title == "党建联席会议"
        )
    )
    if activity is None:
        return
    convener = await _convener(session, alliance_id, now)
    meeting = await convene(
        session=session,
        convener=convener,
        alliance_id=alliance_id,
        kind=MeetingKind.JOINT,
        title=activity.title,
        place=activity.place,
        starts_at=activity.starts_at,
        ends_at=activity.ends_at,
        agenda_deadline=activity.starts_at - timedelta(days=2),
        now=now - timedelta(days=1),
        activity=activity,
    )
    accepted = await propose(
        session=session,
        meeting=meeting,
        member=convener,
        title="年度党建工作总结与明年计划",
        now=now - timedelta(hours=20),
    )
    await decide_topic(
        session=session,
        meeting=meeting,
        item=accepted,
        member=convener,
        accept=True,
        now=now - timedelta(hours=19),
    )
    await propose(
        session=session,
        meeting=meeting,
        member=member,
        title="流动党员就近参加组织生活的办法",
        now=now - timedelta(hours=2),
    )
    for i, person in enumerate(await invitees(session, meeting)):
        if person.member_id == convener.id or i % 3 == 2:
            continue
        who = await _member(session, person.member_id)
        leave = i % 3 == 1
        await answer(
            session=session,
            meeting=meeting,
            member=who,
            attend=not leave,
            reason="当天有客户验厂" if leave else "",
            now=now - timedelta(hours=10 - i),
        )
    assert any(a.state == AgendaState.REVIEW for a in await agenda(session, meeting))


async def _other(session: AsyncSession, alliance: Alliance, at: datetime, i: int) -> None:
    plan = await get_plan(session, alliance.id)
    if plan is None or len(plan.unit_ids) < 2:
        return
    units = [int(u) for u in plan.unit_ids]
    _, items = await _hold(
        session,
        alliance.id,
        MeetingKind.JOINT if i % 2 == 0 else MeetingKind.DEVELOPMENT,
        f"{to_local(at).month}月党建联席会议",
        at,
        ["年度党建共建项目推进"],
        [Decision("落实年度共建项目分工", 1, 14), Decision("开展党员志愿服务日", 0, 21)],
        units,
    )
    if i % 2 == 0 and items:
        await _done(session, items[0], at + timedelta(days=10), "分工已落实到各成员单位")
