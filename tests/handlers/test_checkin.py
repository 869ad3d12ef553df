"""Check-in transcripts over the demo county: code, location, host confirms, windows, limits.

The demo is loaded at START (12月01日 09:00): 《主题党日》 of the host's alliance runs
08:50-11:00 at 35.55,118.46 (500 m); 《志愿服务》 of 食品产业园 starts 09:20; 《党建联席会议》
of the host's alliance is on 12月04日 09:00-11:00.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.core import Incoming, Location, Role
from bot.core.clock import FrozenClock, local_datetime
from models.activity import Activity
from models.checkin import CheckIn, CheckInMethod
from models.member import Identity, Member, MemberRole
from models.org import Membership
from models.outbox import OutboxMessage
from tests.fakes import Chat

PARTY_DAY = "主题党日：学习党的创新理论"
MEETING = "党建联席会议"
VENUE = (35.5500, 118.4600)


async def host_code(chat: Chat) -> str:
    [reply] = await chat.say("host", "/code")
    match = re.search(r"签到码：(\d{6})", reply)
    assert match, reply
    return match.group(1)


async def activity(chat: Chat, title: str) -> Activity:
    async with chat.app.sessionmaker() as session:
        row = await session.scalar(select(Activity).where(Activity.title == title))
    assert row is not None
    return row


async def checkins(chat: Chat) -> list[CheckIn]:
    async with chat.app.sessionmaker() as session:
        return list((await session.execute(select(CheckIn).order_by(CheckIn.id))).scalars())


async def bind_console(chat: Chat, key: str, member_id: int, platform: str = "console") -> None:
    async with chat.app.sessionmaker() as session, session.begin():
        session.add(Identity(platform=platform, user_key=key, chat_key=key, member_id=member_id))


async def test_host_shows_a_code_member_checks_in_then_again(chat: Chat) -> None:
    code = await host_code(chat)
    assert await chat.say("member", f"签到 {code}") == [
        f"✅ 签到成功：《{PARTY_DAY}》\n时间：09:00 · 方式：签到码"
    ]
    assert await chat.say("member", f"/checkin {code}") == [
        f"您已于 12月01日 09:00 签到过《{PARTY_DAY}》，无需重复签到。"
    ]
    [row] = await checkins(chat)
    assert row.method == CheckInMethod.CODE
    assert row.activity_id == (await activity(chat, PARTY_DAY)).id


async def test_bare_checkin_asks_then_takes_the_code(chat: Chat) -> None:
    code = await host_code(chat)
    assert await chat.say("member", "签到") == [
        "请发送主持人出示的 6 位签到码，或分享您的位置完成签到（发送“取消”退出）。"
    ]
    assert await chat.say("member", "abc") == [
        "签到码是 6 位数字，请核对后重新发送。（发送“取消”退出）"
    ]
    [ok] = await chat.say("member", code)
    assert ok.startswith("✅ 签到成功")


async def test_code_changes_every_minute_and_the_previous_one_still_works(
    chat: Chat, clock: FrozenClock
) -> None:
    first = await host_code(chat)
    clock.advance(minutes=1)
    second = await host_code(chat)
    assert first != second
    [ok] = await chat.say("member", f"签到 {first}")
    assert ok.startswith("✅ 签到成功")


async def test_a_stale_code_from_three_minutes_earlier_is_refused(
    chat: Chat, clock: FrozenClock
) -> None:
    stale = await host_code(chat)
    clock.advance(minutes=3)
    assert await chat.say("member", f"签到 {stale}") == [
        "这个签到码已过期（签到码每分钟更新），请向主持人获取最新的签到码。（还可尝试 4 次）"
    ]
    assert await checkins(chat) == []


async def test_a_wrong_code_after_checking_in_says_so_and_counts_for_nothing(chat: Chat) -> None:
    code = await host_code(chat)
    wrong = "000000" if code != "000000" else "111111"
    [ok] = await chat.say("member", f"签到 {code}")
    assert ok.startswith("✅ 签到成功")
    already = f"您已于 12月01日 09:00 签到过《{PARTY_DAY}》，无需重复签到。"
    for _ in range(6):  # more than the five that would pause check-in
        assert await chat.say("member", f"签到 {wrong}") == [already]
    assert await chat.say("member", f"签到 {code}") == [already]


async def test_five_wrong_codes_pause_code_checkin_for_ten_minutes(
    chat: Chat, clock: FrozenClock
) -> None:
    code = await host_code(chat)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        assert await chat.say("member", f"签到 {wrong}") == [
            f"签到码不正确，请核对后重试。（还可尝试 {left} 次）"
        ]
    locked = "签到码错误次数过多，签到已暂停，请在 09:10 后再试，或请主持人为您确认签到。"
    assert await chat.say("member", f"签到 {wrong}") == [locked]
    assert await chat.say("member", f"签到 {code}") == [locked]
    assert await checkins(chat) == []
    # Another member is not affected.
    [other] = await chat.say("mobile", f"签到 {code}")
    assert other.startswith("✅ 签到成功")
    clock.advance(minutes=10, seconds=1)
    [ok] = await chat.say("member", f"签到 {await host_code(chat)}")
    assert ok.startswith("✅ 签到成功")


async def test_location_inside_and_outside_the_radius(chat: Chat) -> None:
    # About 1.1 km north of the venue: outside 500 m.
    assert await chat.locate("member", VENUE[0] + 0.01, VENUE[1]) == [
        f"您距离《{PARTY_DAY}》地点约 1.1 公里，超出签到范围（500 米）。请到达现场后再签到。"
    ]
    assert await checkins(chat) == []
    [ok] = await chat.locate("member", VENUE[0] + 0.002, VENUE[1])
    assert ok == f"✅ 签到成功：《{PARTY_DAY}》\n时间：09:00 · 方式：位置"
    [row] = await checkins(chat)
    assert row.method == CheckInMethod.LOCATION and row.distance_m == 222
    assert await chat.locate("member", VENUE[0] + 0.01, VENUE[1]) == [
        f"您已于 12月01日 09:00 签到过《{PARTY_DAY}》，无需重复签到。"
    ]


async def test_telegram_needs_a_live_location(chat: Chat) -> None:
    async with chat.app.sessionmaker() as session:
        member_id = await session.scalar(
            select(Identity.member_id).where(Identity.user_key == "member")
        )
    assert member_id is not None
    await bind_console(chat, "tg-42", member_id, platform="telegram")

    def event(live: bool) -> Incoming:
        return Incoming(
            platform="telegram",
            event_id=f"loc-{live}",
            user_key="tg-42",
            chat_key="tg-42",
            received_at=chat.app.clock.now(),
            location=Location(VENUE[0], VENUE[1], live, verified=live),  # as the adapter says
        )

    [pin] = await chat.send(event(False))
    assert pin.text.startswith("请分享“实时位置”完成签到")
    [live] = await chat.send(event(True))
    assert live.text.startswith("✅ 签到成功")


async def test_mobile_member_checks_in_to_another_alliances_activity(chat: Chat) -> None:
    code = await host_code(chat)
    assert await chat.say("mobile", f"签到 {code}") == [
        f"✅ 签到成功：《{PARTY_DAY}》\n时间：09:00 · 方式：签到码\n"
        "您是流动党员，本次签到已记入组织关系所在单位。"
    ]
    [row] = await checkins(chat)
    async with chat.app.sessionmaker() as session:
        mobile = await session.get(Member, row.member_id)
    assert mobile is not None and mobile.is_mobile
    assert row.home_unit_id == mobile.home_unit_id


async def test_an_ordinary_member_of_another_alliance_cannot_use_the_code(chat: Chat) -> None:
    food = (await activity(chat, PARTY_DAY)).alliance_id
    async with chat.app.sessionmaker() as session:
        outsider = await session.scalar(
            select(Member.id)
            .join(Membership, Membership.unit_id == Member.home_unit_id)
            .where(Membership.alliance_id != food, Member.is_mobile.is_(False))
            .limit(1)
        )
    assert outsider is not None
    await bind_console(chat, "outsider", outsider)
    [reply] = await chat.say("outsider", f"签到 {await host_code(chat)}")
    assert reply.startswith(f"这个签到码属于《{PARTY_DAY}》（食品产业链党建红色联盟），不是您")
    assert await checkins(chat) == []


async def test_windows_not_yet_open_open_and_ended(chat: Chat, clock: FrozenClock) -> None:
    clock.set(local_datetime(2026, 12, 4, 8, 0))
    assert await chat.say("member", "签到 123456") == [
        f"《{MEETING}》的签到还没开始，12月04日 08:30 起可以签到。"
    ]
    assert (await chat.say("host", "/code"))[0].startswith("您现在没有正在签到中的活动")
    clock.set(local_datetime(2026, 12, 4, 8, 31))
    code = await host_code(chat)
    [ok] = await chat.say("member", f"签到 {code}")
    assert ok.startswith(f"✅ 签到成功：《{MEETING}》")
    clock.set(local_datetime(2026, 12, 4, 10, 59) + timedelta(seconds=30))
    late_code = await host_code(chat)
    clock.set(local_datetime(2026, 12, 4, 11, 0) + timedelta(seconds=10))
    assert await chat.say("alliance_admin", f"签到 {late_code}") == [
        f"《{MEETING}》已于 11:00 结束，签到已关闭。"
    ]
    assert await chat.locate("alliance_admin", *VENUE) == [
        f"《{MEETING}》已于 11:00 结束，签到已关闭。"
    ]
    clock.set(local_datetime(2026, 12, 20, 9, 0))
    assert await chat.say("member", "签到 123456") == [
        "现在没有可以签到的活动。发送“活动”查看近期安排。"
    ]


async def test_host_confirms_a_member_by_name(chat: Chat) -> None:
    async with chat.app.sessionmaker() as session:
        member = await session.scalar(
            select(Member).join(Identity).where(Identity.user_key == "member")
        )
    assert member is not None
    assert await chat.say("host", "确认签到") == ["请在命令后写上党员姓名，例如：确认签到 张三"]
    assert await chat.say("host", "确认签到 不存在的人") == [
        f"没有找到可参加《{PARTY_DAY}》的党员“不存在的人”，请核对姓名。"
    ]
    assert await chat.say("host", f"确认签到 {member.name}") == [
        f"已为 {member.name} 确认签到《{PARTY_DAY}》（09:00）。"
    ]
    assert chat.received("member") == [f"主持人已为您确认签到《{PARTY_DAY}》（09:00）。"]
    assert await chat.say("host", f"/confirm {member.name}") == [
        f"{member.name} 已于 12月01日 09:00 签到过《{PARTY_DAY}》。"
    ]
    [row] = await checkins(chat)
    assert row.method == CheckInMethod.HOST and row.confirmed_by_id is not None
    assert (await chat.say("member", "/confirm 张三"))[0].startswith(
        "抱歉，“确认签到”只对支部书记开放"
    )


async def test_code_is_only_for_the_host_unit_secretary_or_admins(chat: Chat) -> None:
    assert (await chat.say("member", "/code"))[0].startswith("抱歉，“签到码”只对支部书记开放")
    assert (await chat.say("alliance_admin", "/code"))[0].startswith(f"《{PARTY_DAY}》签到码：")
    assert (await chat.say("mobile", "/code"))[0].startswith("抱歉，“签到码”只对支部书记开放")


async def test_attendance_lists_who_came_how_and_the_rate(chat: Chat) -> None:
    code = await host_code(chat)
    await chat.say("member", f"签到 {code}")
    await chat.say("mobile", f"签到 {code}")
    await chat.locate("alliance_admin", *VENUE)
    replies = await chat.replies("host", "/attendance")
    text, sheet = replies
    lines = text.text.splitlines()
    assert lines[0] == f"📊 《{PARTY_DAY}》签到情况（编号 1，12月01日 08:50）"
    assert lines[1] == "应到 30 人，已签到 2 人，签到率 7%"
    assert lines[2].endswith("09:00 签到码") and lines[3].endswith("09:00 签到码（流动党员）")
    assert lines[4].endswith("09:00 位置")
    assert "另有流动党员 1 人参加。" in lines
    assert any(line.startswith("未签到（28 人）：") for line in lines)
    assert sheet.file is not None and Path(sheet.file).exists()
    assert Path(sheet.file).name == f"签到表-{PARTY_DAY}-20261201-0850.xlsx"
    book = load_workbook(sheet.file).active
    assert book is not None and book.freeze_panes == "A2"
    rows = list(book.iter_rows(values_only=True))
    assert rows[0] == (
        "活动", "联盟", "开始时间", "姓名", "手机号", "所在单位", "是否签到", "签到方式",
        "签到时间", "备注",
    )  # fmt: skip
    assert len(rows) == 1 + 3 + 28
    # The sheet says what the chat said: who came, how, when (real local times).
    came = [line.split(" ") for line in lines[2:5]]  # ✅ 姓名 09:00 签到码
    assert [(r[3], r[6], r[7]) for r in rows[1:4]] == [
        (name, "是", how.split("（")[0]) for _, name, _, how in came
    ]
    assert rows[1][2] == datetime(2026, 12, 1, 8, 50) and rows[1][8] == datetime(2026, 12, 1, 9)
    assert [r[9] for r in rows[1:4]] == [None, "流动党员（外联盟）", None]
    absent = next(line for line in lines if line.startswith("未签到（28 人）："))
    assert [r[3] for r in rows[4:]] == absent.split("：", 1)[1].split("、")
    assert {r[6] for r in rows[4:]} == {"否"}
    assert (await chat.say("member", "/attendance"))[0].startswith(
        "抱歉，“签到情况”只对支部书记开放"
    )
    assert await chat.say("host", "/attendance 999") == ["您还没有可以查看签到情况的活动。"]


async def test_myrecord_lists_this_years_checkins(chat: Chat, clock: FrozenClock) -> None:
    assert await chat.say("member", "/myrecord") == ["2026 年您还没有签到记录。"]
    await chat.say("member", f"签到 {await host_code(chat)}")
    assert await chat.say("member", "签到记录") == [
        "📋 2026 年您的签到记录（共 1 次）：\n"
        f"· 12月01日 09:00 《{PARTY_DAY}》（食品产业链党建红色联盟，签到码）"
    ]
    clock.advance(days=40)
    assert await chat.say("member", "/myrecord") == ["2027 年您还没有签到记录。"]


async def test_two_checkins_of_one_member_cannot_both_be_stored(chat: Chat) -> None:
    code = await host_code(chat)
    await chat.say("member", f"签到 {code}")
    await chat.locate("member", *VENUE)
    async with chat.app.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == 1


async def test_checkin_window_opens_thirty_minutes_before(chat: Chat, clock: FrozenClock) -> None:
    clock.set(local_datetime(2026, 12, 4, 8, 29))
    assert (await chat.say("host", "/code"))[0].startswith("您现在没有正在签到中的活动")
    clock.advance(minutes=1, seconds=1)
    assert (await chat.say("host", "/code"))[0].startswith(f"《{MEETING}》签到码：")


async def test_mobile_members_month_goes_to_the_home_unit_secretary(
    chat: Chat, clock: FrozenClock
) -> None:
    from bot.scheduler import run_all
    from handlers import SWEEPS

    await chat.say("mobile", f"签到 {await host_code(chat)}")
    clock.set(local_datetime(2027, 1, 1, 8, 0))
    for _ in range(2):
        await run_all(SWEEPS, chat.app.sessionmaker, clock, chat.app.settings)
        await chat.app.sender.drain()
    async with chat.app.sessionmaker() as session:
        mobile = await session.scalar(
            select(Member).join(Identity).where(Identity.user_key == "mobile")
        )
        assert mobile is not None
        secretary = await session.scalar(
            select(MemberRole.member_id)
            .join(Member, Member.id == MemberRole.member_id)
            .where(MemberRole.role == Role.SECRETARY, Member.home_unit_id == mobile.home_unit_id)
        )
        summaries = list(
            (
                await session.scalars(
                    select(OutboxMessage.text).where(
                        OutboxMessage.member_id == secretary, OutboxMessage.text.startswith("📮")
                    )
                )
            ).all()
        )
    assert secretary != mobile.id
    assert len(summaries) == 1
    lines = summaries[0].splitlines()
    assert lines[0] == "📮 2026 年 12 月本单位流动党员参加活动情况："
    assert lines[1].endswith(f"（食品产业园务工）：1 次 《{PARTY_DAY}》")


async def test_a_live_share_speaks_up_only_to_check_in_and_never_floods(chat: Chat) -> None:
    """Telegram edits a live location every few seconds: those positions are not counted as
    messages, never answer a dialog's question, and are answered only to check in."""
    async with chat.app.sessionmaker() as session:
        member_id = await session.scalar(
            select(Identity.member_id).where(Identity.user_key == "member")
        )
    assert member_id is not None
    await bind_console(chat, "tg-7", member_id, platform="telegram")
    far = VENUE[0] + 0.01  # about 1.1 km north

    async def send(n: int, text: str = "", at: float | None = None, followup: bool = True):
        live = None if at is None else Location(at, VENUE[1], True, followup)
        event = Incoming(
            platform="telegram",
            event_id=f"live-{n}",
            user_key="tg-7",
            chat_key="tg-7",
            received_at=chat.app.clock.now(),
            text=text,
            location=live,
        )
        return [r.text for r in await chat.send(event)]

    [first] = await send(0, at=far, followup=False)
    assert first.startswith(f"您距离《{PARTY_DAY}》地点约 1.1 公里")
    assert (await send(1, text="吹哨"))[0].startswith("请用一两句话说说遇到的问题")
    for n in range(2, 2 + chat.app.settings.MESSAGES_PER_MINUTE + 5):
        assert await send(n, at=far) == []
    [ok] = await send(100, at=VENUE[0] + 0.002)
    assert ok == f"✅ 签到成功：《{PARTY_DAY}》\n时间：09:00 · 方式：位置"
    assert await send(101, at=VENUE[0]) == []
    # The dialog still waits for the problem, and the user is not told to slow down.
    [unit] = await send(102, text="增值税发票开不出来，已经三天了")
    assert unit.startswith("这个问题涉及哪个单位？")
    assert [(c.member_id, c.method) for c in await checkins(chat)] == [
        (member_id, CheckInMethod.LOCATION)
    ]


async def test_an_unbound_users_live_share_is_refused_once(chat: Chat) -> None:
    def position(n: int, followup: bool) -> Incoming:
        return Incoming(
            platform="telegram",
            event_id=f"stranger-{n}",
            user_key="tg-stranger",
            chat_key="tg-stranger",
            received_at=chat.app.clock.now(),
            location=Location(VENUE[0], VENUE[1], True, followup),
        )

    [refused] = await chat.send(position(0, followup=False))
    assert refused.text.startswith("您还没有绑定身份")
    assert [await chat.send(position(n, followup=True)) for n in range(1, 4)] == [[], [], []]
