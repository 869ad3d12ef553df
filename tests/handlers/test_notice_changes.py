"""A scheduled notice changed or called off; 通知 N in full; 收到 after reading; paging."""

from __future__ import annotations

from sqlalchemy import select

from bot.core.clock import FrozenClock
from bot.scheduler import run_all
from handlers import SWEEPS
from handlers.notices import card
from models.member import Member
from models.notice import AudienceKind, Notice, NoticeState, create_notice
from tests.fakes import Chat
from tests.handlers.test_notices import ADMIN, TEXT, _write

NOTICE_SWEEPS = [s for s in SWEEPS if s.id == "notices"]


async def _schedule(chat: Chat, when: str = "今天上午十点半") -> None:
    """The super admin schedules notice #3 to every secretary (63 people)."""
    await _write(chat, "admin", audience="支部书记")
    await chat.press("admin", "定时发送")
    await chat.say("admin", when)
    [scheduled] = await chat.press("admin", "确认发送")
    assert scheduled.startswith("🕘 通知 #3 将于 ")


async def _tick(chat: Chat) -> None:
    await run_all(NOTICE_SWEEPS, chat.app.sessionmaker, chat.app.clock, chat.app.settings)
    await chat.app.sender.drain()


async def test_the_author_changes_the_text_before_it_goes_out(
    chat: Chat, clock: FrozenClock
) -> None:
    await _schedule(chat)
    assert await chat.say("admin", "通知 3") == [
        f"📢 通知 #3（{ADMIN}，12月01日 10:30）\n{TEXT}\n🕘 定于 12月01日（周二） 10:30 发送，"
        "收件人约 63 人。"
    ]
    assert [b.label for b in chat.last["admin"]] == ["修改内容", "修改时间", "取消发送"]
    change_buttons = chat.last["admin"]
    assert await chat.press("admin", "修改内容") == ["请输入通知 #3 的新内容："]
    new = "请各单位下周一前报送党员名册（含流动党员）。"
    assert await chat.say("admin", new) == [
        f"📢 通知 #3 修改后（12月01日（周二） 10:30 发送给约 63 人）：\n{new}"
    ]
    assert [b.label for b in chat.last["admin"]] == ["确认修改", "重新输入", "不改了"]
    assert await chat.press("admin", "确认修改") == [
        "✅ 已修改通知 #3 的内容，将于 12月01日（周二） 10:30 发送。"
    ]
    clock.advance(minutes=90)
    await _tick(chat)
    assert chat.received("host") == [f"📢 通知 #3（{ADMIN}）\n{new}"]
    # Once sent it can no longer be changed; the old buttons say so.
    chat.last["admin"] = change_buttons
    assert await chat.press("admin", "修改内容") == ["通知 #3 已经发出或取消，不能再修改。"]
    await chat.say("admin", "通知 3")
    assert chat.last["admin"] == ()


async def test_the_time_moves_and_nothing_goes_out_at_the_old_one(
    chat: Chat, clock: FrozenClock
) -> None:
    await _schedule(chat)
    await chat.say("admin", "/notices 3")
    assert await chat.press("admin", "修改时间") == [
        "通知 #3 原定 12月01日（周二） 10:30 发送，改到什么时候？例如：明天上午9点、12-05 09:30："
    ]
    assert await chat.say("admin", "昨天") == [
        "没看懂这个时间，可以这样写：明天上午9点、12月5日下午2点、12-05 09:30：（发送“取消”退出）"
    ]
    assert await chat.say("admin", "明天下午3点") == [
        "通知 #3 改为 12月02日（周三） 15:00 发送（原定 12月01日（周二） 10:30），收件人约 63 人。"
    ]
    assert await chat.press("admin", "确认改时间") == [
        "✅ 通知 #3 改为 12月02日（周三） 15:00 发送。"
    ]
    clock.advance(hours=2)
    await _tick(chat)
    assert chat.received("host") == []
    clock.advance(days=1, hours=5)
    await _tick(chat)
    assert chat.received("host") == [f"📢 通知 #3（{ADMIN}）\n{TEXT}"]


async def test_a_cancelled_notice_never_goes_out(chat: Chat, clock: FrozenClock) -> None:
    await _schedule(chat)
    await chat.say("admin", "通知 3")
    assert await chat.press("admin", "取消发送") == [
        f"取消通知 #3（原定 12月01日（周二） 10:30 发送给约 63 人）？取消后不会发出：\n{TEXT}"
    ]
    assert [b.label for b in chat.last["admin"]] == ["确认取消发送", "不取消了"]
    assert await chat.press("admin", "确认取消发送") == ["已取消通知 #3，不会发出。"]
    clock.advance(hours=2)
    await _tick(chat)
    assert chat.received("host") == []
    async with chat.app.sessionmaker() as session:
        notice = await session.get(Notice, 3)
        assert notice is not None and notice.state == NoticeState.CANCELLED
    assert await chat.say("admin", "/noticestats 3") == ["通知 #3 已取消，没有发出。"]
    [listing] = await chat.say("admin", "通知")
    assert "#3 已取消，未发出" in listing


async def test_only_who_may_follow_it_up_may_change_it(chat: Chat) -> None:
    await _schedule(chat)
    # The food alliance's admin may not follow up a county-wide notice to every secretary.
    assert await chat.say("alliance_admin", "通知 3") == ["通知 #3 不是发给您的。"]
    assert (await chat.say("member", "通知 3")) == ["通知 #3 不是发给您的。"]


async def test_typed_shoudao_acknowledges_the_notice_just_read(
    chat: Chat, clock: FrozenClock
) -> None:
    async with chat.app.sessionmaker() as session, session.begin():
        admin = await session.scalar(select(Member).where(Member.name == ADMIN))
        assert admin is not None
        await session.refresh(admin, ["roles"])
        await create_notice(
            session=session,
            author=admin,
            text="关于报送年度党建工作总结的通知。",
            audience={"kind": AudienceKind.ALL, "ids": []},
            now=chat.app.clock.now(),
            card=card,
        )
    await chat.app.sender.drain()  # the member has #3's card
    clock.advance(minutes=1)
    # #3 is the newest unread; the member opens the older #2 and types 收到.
    await chat.say("member", "通知 2")
    assert await chat.say("member", "收到") == [
        "已确认收到通知 #2（本季度党建联席会议定于下周三下午在轮值主…），谢谢！\n"
        "还有 1 条通知未确认，发送“通知”查看。"
    ]


async def test_the_list_pages(chat: Chat) -> None:
    async with chat.app.sessionmaker() as session, session.begin():
        admin = await session.scalar(select(Member).where(Member.name == ADMIN))
        assert admin is not None
        await session.refresh(admin, ["roles"])
        for n in range(11):
            await create_notice(
                session=session,
                author=admin,
                text=f"第 {n + 1} 号通知",
                audience={"kind": AudienceKind.ALL, "ids": []},
                now=chat.app.clock.now(),
                card=card,
            )
    [first] = await chat.replies("member", "通知")
    assert (
        first.text.splitlines()[0] == "📬 我的通知（12 条，未读 12 条）：（第 1–10 条，共 12 条）"
    )
    assert [b.label for b in first.buttons][-1] == "下一页"
    [second] = await chat.press("member", "下一页")
    assert second.splitlines()[0].endswith("（第 11–12 条，共 12 条）")
    assert "#3 " in second and "#2 " in second
