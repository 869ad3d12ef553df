"""党员积分 transcripts: the lines that make up the points (from check-ins, service hours and a
pledge met), a line held at its yearly cap, a deduction, and the rankings."""

from __future__ import annotations

from datetime import timedelta

from bot.core.clock import FrozenClock
from models.activity import Activity
from models.checkin import CheckIn, CheckInMethod
from models.points import RULES, Line
from tests.conftest import START
from tests.fakes import Chat
from tests.handlers.test_volunteer import SERVICE, code_of, member_of, service  # noqa: F401


def test_a_line_is_held_at_its_yearly_cap() -> None:
    checkin = next(r for r in RULES if r.key == "checkin")
    assert Line(checkin, 5).points == 10 and not Line(checkin, 5).capped
    assert Line(checkin, 25).points == 40 and Line(checkin, 25).capped
    no_signout = next(r for r in RULES if r.key == "no_signout")
    assert Line(no_signout, 9).points == -5


async def test_points_lines_from_records_with_a_cap(
    chat: Chat,
    clock: FrozenClock,
    service: Activity,  # noqa: F811
) -> None:
    assert (await chat.say("member", "我的积分"))[0].splitlines()[:2] == [
        "我的党员积分（2026年）：60 分",
        "基础分 60",
    ]
    clock.advance(minutes=60)
    await chat.say("member", f"签到 {await code_of(chat, SERVICE)}")
    clock.advance(minutes=120)
    await chat.say("member", f"签退 {await code_of(chat, SERVICE)}")
    [mine] = await chat.say("member", "党员积分")
    assert mine.splitlines()[:4] == [
        "我的党员积分（2026年）：64 分",
        "基础分 60",
        "＋ 参加活动：1 次 × 2 分 = 2 分",
        "＋ 志愿服务：2 小时 × 1 分 = 2 分",
    ]
    member = await member_of(chat, "member")
    async with chat.app.sessionmaker() as session, session.begin():  # 24 earlier activities
        for n in range(24):
            at = START - timedelta(days=n + 1)
            activity = Activity(
                alliance_id=service.alliance_id,
                title=f"学习会{n}",
                starts_at=at,
                ends_at=at + timedelta(hours=1),
            )
            session.add(activity)
            await session.flush()
            session.add(
                CheckIn(
                    activity_id=activity.id,
                    member_id=member.id,
                    home_unit_id=member.home_unit_id,
                    method=CheckInMethod.CODE,
                    at=at,
                )
            )
    [mine] = await chat.say("member", "我的积分")
    assert "＋ 参加活动：25 次 × 2 分 = 40 分（已达年度上限 40 分）" in mine
    assert mine.startswith("我的党员积分（2026年）：102 分")
    [ranks] = await chat.say("member", "积分排行")
    assert ranks.startswith("党员积分排行（2026年）\n本单位（")
    assert f"1. {member.name} 102 分 ← 我" in ranks
