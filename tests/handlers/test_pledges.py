"""承诺践诺 transcripts: a vague pledge refused, a pledge sent back with a reason, rewritten,
approved (公示, and a 督办事项 for the member), then met through linked data (service hours)."""

from __future__ import annotations

from sqlalchemy import select

from bot.core.clock import FrozenClock
from models.activity import Activity
from models.followup import FollowUp, Status
from models.pledge import Pledge, PledgeKind, PledgeState
from tests.fakes import Chat
from tests.handlers.test_volunteer import SERVICE, code_of, member_of, service  # noqa: F401


async def pledges(chat: Chat) -> list[Pledge]:
    async with chat.app.sessionmaker() as session:
        return list((await session.execute(select(Pledge).order_by(Pledge.id))).scalars())


async def write(chat: Chat, text: str, target: str) -> list[str]:
    await chat.say("member", "写承诺")
    await chat.say("member", text)
    await chat.press("member", "志愿服务时长")
    await chat.say("member", target)
    return await chat.say("member", "年底")


async def test_a_pledge_sent_back_rewritten_approved_and_met_through_hours(
    chat: Chat,
    clock: FrozenClock,
    service: Activity,  # noqa: F811
) -> None:
    [ask] = await chat.say("member", "写承诺")
    assert ask.startswith("请写下您今年的一项承诺") and "今年已写 0 项，最多 5 项" in ask
    assert await chat.say("member", "做好") == [
        "承诺写得太简单了，请写清做什么、做多少或何时完成。（发送“取消”退出）"
    ]
    await chat.say("member", "取消")
    [preview] = await write(chat, "积极参加志愿服务", "5")
    assert preview == (
        "请确认承诺：\n积极参加志愿服务\n核验：志愿服务时长 5 小时（自动统计）\n"
        "完成时间：12月31日（周四）\n提交后由支部书记审核，通过后在联盟公示。"
    )
    assert await chat.press("member", "提交") == [
        "已提交承诺，等待支部书记审核。发送“我的承诺”查看。"
    ]
    member = await member_of(chat, "member")
    [card] = await chat.say("alliance_admin", "承诺审核")
    assert card.startswith(f"承诺审核：{member.name}（")
    # 退回 typed, as it reads on the card: the button, not the tickets' 退回 alias.
    assert await chat.say("alliance_admin", "退回") == [
        "请写明退回原因（例如：没有可核验的数量或时间）。"
    ]
    [back] = await chat.say("alliance_admin", "目标太低，请写清服务内容")
    assert back.endswith("原因：目标太低，请写清服务内容")
    assert await chat.press("alliance_admin", "确认退回") == [
        f"已退回，{member.name}会收到原因并修改。"
    ]
    assert chat.received("member")[-1] == (
        "您的承诺“积极参加志愿服务”被退回：目标太低，请写清服务内容\n请修改后重新提交。"
    )
    [row] = await pledges(chat)
    assert (row.state, row.return_reason) == (PledgeState.RETURNED, "目标太低，请写清服务内容")
    [mine] = await chat.say("member", "我的承诺")
    assert "已退回" in mine and "退回原因：目标太低，请写清服务内容" in mine

    await chat.press_received("member", "修改承诺")
    await chat.say("member", "全年参加冷链安全宣传志愿服务不少于 2 小时")
    await chat.press("member", "志愿服务时长")
    await chat.say("member", "2小时")
    await chat.say("member", "年底")
    assert await chat.press("member", "提交") == ["已修改并重新提交承诺，等待审核。"]
    await chat.say("alliance_admin", "审核承诺")
    assert await chat.press("alliance_admin", "通过") == [
        f"已通过并公示：{member.name}的承诺“全年参加冷链安全宣传志愿服务不少于 2 小时”。"
    ]
    [row] = await pledges(chat)
    assert (row.state, row.kind, row.target) == (PledgeState.APPROVED, PledgeKind.HOURS, 2)
    async with chat.app.sessionmaker() as session:
        item = await session.get(FollowUp, row.followup_id)
    assert item is not None and item.source == "pledge" and item.owner_member_id == member.id
    [board] = await chat.say("host", "承诺公示")
    assert f"· {member.name}（" in board and "— 践诺中（0/2）" in board

    clock.advance(minutes=60)
    await chat.say("member", f"签到 {await code_of(chat, SERVICE)}")
    clock.advance(minutes=120)
    await chat.say("member", f"签退 {await code_of(chat, SERVICE)}")
    [mine] = await chat.say("member", "我的承诺")
    assert "已兑现 ✅" in mine and "进度 2/2" in mine
    [row] = await pledges(chat)
    async with chat.app.sessionmaker() as session:
        item = await session.get(FollowUp, row.followup_id)
    assert row.state == PledgeState.MET and item is not None and item.status == Status.DONE


async def test_nobody_reviews_their_own_pledge(chat: Chat) -> None:
    await chat.say("host", "写承诺")
    await chat.say("host", "每季度带领本支部开展一次志愿服务")
    await chat.press("host", "参加活动次数")
    await chat.say("host", "4")
    await chat.say("host", "年底")
    await chat.press("host", "提交")
    assert await chat.say("host", "承诺审核") == ["没有待审核的承诺。"]
    [card] = await chat.say("alliance_admin", "承诺审核")
    assert "每季度带领本支部开展一次志愿服务" in card
