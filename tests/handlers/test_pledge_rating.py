"""评诺 transcripts (December): members and the organisation rate approved pledges; the
organisation's 未兑现 makes the pledge unmet and asks its member for an explanation, which is
stored and shown; its 已兑现 makes it met (and counts for points); nobody rates their own."""

from __future__ import annotations

from sqlalchemy import select

from models.pledge import Pledge, PledgeExplanation, PledgeRating, PledgeState, Verdict
from tests.fakes import Chat
from tests.handlers.test_volunteer import member_of


async def approved(chat: Chat, text: str) -> None:
    await chat.say("member", "写承诺")
    await chat.say("member", text)
    await chat.press("member", "其他数量")
    await chat.say("member", "3")
    await chat.say("member", "年底")
    await chat.press("member", "提交")
    await chat.say("alliance_admin", "承诺审核")
    await chat.press("alliance_admin", "通过")


async def test_rated_unmet_explained_and_met(chat: Chat) -> None:
    await approved(chat, "为 3 户困难群众对接就业岗位")
    await approved(chat, "为园区商户开展 3 次政策宣讲")
    member = await member_of(chat, "member")
    assert await chat.say("member", "评诺") == ["没有可以评议的承诺。"]  # only others'

    [head, first, _] = await chat.say("host", "年终评诺")
    assert head == "年终评诺（2026年，2 项）：请逐项评议。"
    assert first.startswith(f"{member.name}（") and "为 3 户困难群众对接就业岗位" in first
    assert "评议：已兑现 0 · 部分兑现 0 · 未兑现 0" in first
    replies = await chat.replies("host", "年终评诺")
    [partly] = [
        r.text for r in await chat.send(chat.event("host", action=replies[1].buttons[1].token))
    ]
    assert partly == f"已评议：{member.name}的承诺“为 3 户困难群众对接就业岗位”— 部分兑现。"

    replies = await chat.replies("alliance_admin", "评诺")
    unmet_button = replies[1].buttons[2]
    [unmet] = [
        r.text for r in await chat.send(chat.event("alliance_admin", action=unmet_button.token))
    ]
    assert unmet == f"已评定（支部）：{member.name}的承诺“为 3 户困难群众对接就业岗位”— 未兑现。"
    met_button = replies[2].buttons[0]
    await chat.send(chat.event("alliance_admin", action=met_button.token))
    assert chat.received("member")[-1] == (
        "您的承诺“为 3 户困难群众对接就业岗位”在年终评诺中被支部评为未兑现，请说明原因。"
    )
    assert await chat.press_received("member", "说明原因") == [
        "请说明承诺“为 3 户困难群众对接就业岗位”未能兑现的原因："
    ]
    assert await chat.say("member", "没") == ["请写一句原因（至少 4 个字）。（发送“取消”退出）"]
    assert await chat.say("member", "岗位对接推迟到明年一季度") == [
        "已记录您的说明，支部和党员评诺时可以看到。"
    ]
    [_, card, _] = await chat.say("host", "评诺")
    assert "评议：已兑现 0 · 部分兑现 1 · 未兑现 1" in card
    assert card.endswith("支部评定：未兑现\n本人说明：岗位对接推迟到明年一季度")

    async with chat.app.sessionmaker() as session:
        pledges = list((await session.execute(select(Pledge).order_by(Pledge.id))).scalars())
        ratings = list((await session.execute(select(PledgeRating))).scalars())
        why = await session.scalar(select(PledgeExplanation))
    assert [p.state for p in pledges] == [PledgeState.UNMET, PledgeState.MET]
    assert sorted((r.verdict, r.by_reviewer) for r in ratings) == [
        (Verdict.MET, True),
        (Verdict.PARTLY, False),
        (Verdict.UNMET, True),
    ]
    assert why is not None and why.pledge_id == pledges[0].id
    [points] = await chat.say("member", "我的积分")
    assert "＋ 承诺兑现：1 项 × 5 分 = 5 分" in points
    [mine] = await chat.say("member", "我的承诺")
    assert "   未兑现 · 数量 3（本人报告并附凭证）" in mine
    assert "未兑现说明：岗位对接推迟到明年一季度" in mine
