"""审核 on the console: the queues of pledges and agreements waiting for the alliance admin,
ticked items shown on a confirmation page before anything is written, then done with the
model's rules (the member and the unit are told); the overview shows the agreements signed."""

from __future__ import annotations

import re

from sqlalchemy import select

from models.activity import Activity
from models.agreement import Agreement
from models.member import Identity, Member
from models.pledge import Pledge, PledgeState
from models.scope import Scope
from models.volunteer import HoursKind, HoursState, ServiceActivity, ServiceHours, pending
from tests.admin.conftest import Login, csrf_data
from tests.fakes import Chat


async def test_pledges_approved_and_an_agreement_countersigned_after_confirming(
    chat: Chat, login: Login
) -> None:
    for text in ("全年参加志愿服务不少于 10 小时", "为园区商户开展 3 次政策宣讲"):
        await chat.say("member", "写承诺")
        await chat.say("member", text)
        await chat.press("member", "其他数量")
        await chat.say("member", "3")
        await chat.say("member", "年底")
        await chat.press("member", "提交")
    await chat.say("host", "共建协议")
    await chat.press("host", "签订协议")
    await chat.press("host", "跳过")
    await chat.press("host", "确认签订")
    async with chat.app.sessionmaker() as session:
        pledges = list((await session.execute(select(Pledge).order_by(Pledge.id))).scalars())
        [agreement] = list((await session.execute(select(Agreement))).scalars())

    client = await login("alliance_admin")
    page = await client.get("/admin/reviews")
    assert page.status_code == 200
    assert "党员承诺（2）" in page.text and "共建协议会签（1）" in page.text
    assert "全年参加志愿服务不少于 10 小时" in page.text

    ids = [p.id for p in pledges]
    confirm = await client.post(
        "/admin/reviews/confirm", data=csrf_data(client, kind="pledges", action="approve", id=ids)
    )
    assert confirm.status_code == 200 and "确认：通过 2 项党员承诺" in confirm.text
    async with chat.app.sessionmaker() as session:  # nothing written yet
        states = list(await session.scalars(select(Pledge.state).order_by(Pledge.id)))
    assert states == [PledgeState.PENDING, PledgeState.PENDING]
    refused = await client.post(
        "/admin/reviews/confirm", data=csrf_data(client, kind="pledges", action="decline", id=ids)
    )
    assert refused.status_code == 303 and refused.headers["location"].endswith("ok=reason")

    done = await client.post(
        "/admin/reviews/do", data=csrf_data(client, kind="pledges", action="approve", id=ids)
    )
    assert done.status_code == 303 and done.headers["location"].endswith("ok=done")
    await client.post(
        "/admin/reviews/do",
        data=csrf_data(client, kind="agreements", action="countersign", id=[agreement.id]),
    )
    async with chat.app.sessionmaker() as session:
        states = list(await session.scalars(select(Pledge.state).order_by(Pledge.id)))
        again = await session.get(Agreement, agreement.id)
    assert states == [PledgeState.APPROVED, PledgeState.APPROVED]
    assert again is not None and again.countersigned_at is not None
    await chat.app.sender.drain()
    assert "您的承诺“为园区商户开展 3 次政策宣讲”已通过审核并公示，已列入“我的待办”。" in (
        chat.received("member")
    )
    assert chat.received("host")[-1].endswith("已会签贵单位的2026年共建协议，协议生效。")
    page = await client.get("/admin/reviews")
    assert "党员承诺（0）" in page.text and "共建协议会签（0）" in page.text
    overview = await client.get("/admin/")
    assert "年共建协议已签订（已会签 1，已评定 0）" in overview.text
    assert re.search(r"<b>\d+</b><span>2026年志愿服务小时（\d+ 人，\d+ 场）", overview.text)


async def test_one_cannot_countersign_what_one_signed(chat: Chat, login: Login) -> None:
    await chat.say("alliance_admin", "共建协议")
    await chat.press("alliance_admin", "签订协议")
    await chat.press("alliance_admin", "跳过")
    await chat.press("alliance_admin", "确认签订")
    async with chat.app.sessionmaker() as session:
        [agreement] = list((await session.execute(select(Agreement))).scalars())
    client = await login("alliance_admin")
    page = await client.get("/admin/reviews")
    assert "（不能审核自己提交或本人的）" in page.text
    done = await client.post(
        "/admin/reviews/confirm",
        data=csrf_data(client, kind="agreements", action="countersign", id=[agreement.id]),
    )
    assert done.headers["location"].endswith("ok=none")


async def test_approving_hours_of_someone_not_bound_says_they_cannot_be_told(
    chat: Chat, login: Login
) -> None:
    client = await login("admin")
    async with chat.app.sessionmaker() as session, session.begin():
        activity = await session.scalar(select(Activity).order_by(Activity.id))
        never_bound = await session.scalar(
            select(Member).where(~Member.id.in_(select(Identity.member_id))).order_by(Member.id)
        )
        assert activity is not None and never_bound is not None
        session.add(ServiceActivity(activity_id=activity.id))
        session.add(  # a 补录 another admin added for someone who never bound
            ServiceHours(
                activity_id=activity.id,
                member_id=never_bound.id,
                kind=HoursKind.MANUAL,
                state=HoursState.PENDING,
                minutes=30,
                reason="签退时网络故障",
                created_at=chat.app.clock.now(),
            )
        )
        await session.flush()
        waiting = await pending(session, Scope.COUNTY)
    unbound = [row for row in waiting if row.member_id == never_bound.id]
    confirm = await client.post(
        "/admin/reviews/confirm",
        data=csrf_data(client, kind="hours", action="approve", id=[unbound[0].id]),
    )
    assert "还没有绑定红盟助手的人收不到" in confirm.text
    done = await client.post(
        "/admin/reviews/do",
        data=csrf_data(client, kind="hours", action="approve", id=[unbound[0].id]),
    )
    assert done.headers["location"].endswith("ok=done_unreached")
    page = await client.get(done.headers["location"])
    assert "有的人还没有绑定红盟助手，收不到通知，请另行告知。" in page.text
