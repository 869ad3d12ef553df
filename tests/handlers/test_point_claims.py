"""加分申请 transcripts: a claim needs a photo or file as proof, goes to the home unit's
secretary (never the claimant), is approved (the points line appears) or declined with a
reason (kept, with the reason)."""

from __future__ import annotations

from sqlalchemy import select

from models.files import store_upload
from models.point_claim import ClaimState, PointClaim
from tests.fakes import Chat
from tests.handlers.test_volunteer import member_of
from tests.unit.test_files import photo


async def claim(chat: Chat, user: str, label: str, note: str) -> list[str]:
    await chat.say(user, "申请加分")
    await chat.press(user, label)
    await chat.say(user, note)
    proof = store_upload(
        data=photo(), name="证明.jpg", sent_as="photo", settings=chat.app.settings
    )
    [preview] = [r.text for r in await chat.send(chat.event(user, attachments=(proof,)))]
    assert preview.endswith("证明：照片\n提交后由支部书记审核。")
    return await chat.press(user, "提交")


async def claims(chat: Chat) -> list[PointClaim]:
    async with chat.app.sessionmaker() as session:
        return list((await session.execute(select(PointClaim).order_by(PointClaim.id))).scalars())


async def test_a_claim_with_proof_approved_and_one_declined(chat: Chat) -> None:
    [ask] = await chat.say("member", "申请加分")
    assert ask.splitlines()[:2] == [
        "申请哪一项加分？（需附照片或文件作证明，由支部书记审核）",
        "· 先锋岗、示范岗表现：每次 3 分，全年最多 15 分",
    ]
    await chat.press("member", "先锋岗、示范岗表现")
    await chat.say("member", "12月1日在冷链先锋岗值守一天")
    assert await chat.say("member", "没有照片") == ["请发送照片或文件作为证明，或发送“取消”。"]
    await chat.say("member", "取消")
    assert await claim(chat, "member", "先锋岗、示范岗表现", "12月1日在冷链先锋岗值守一天") == [
        "已提交加分申请，审核通过后计入“我的积分”。"
    ]
    member = await member_of(chat, "member")
    # the member's unit has a secretary (the first member listed there): it is asked, with
    # the photo; the alliance admin of the alliance may decide as well
    [row] = await claims(chat)
    assert row.state == ClaimState.PENDING and row.file_sha256
    [card] = await chat.say("alliance_admin", "加分审核")
    assert card == (
        f"加分申请：{member.name} · 先锋岗、示范岗表现（3 分）\n事由：12月1日在冷链先锋岗值守一天"
    )
    assert await chat.press("alliance_admin", "通过") == [
        f"已通过：{member.name}的“先锋岗、示范岗表现”加 3 分。"
    ]
    assert (
        chat.received("member")[-1] == "您的加分申请“先锋岗、示范岗表现”已通过，计入今年的积分。"
    )
    [points] = await chat.say("member", "我的积分")
    assert "＋ 先锋岗、示范岗表现：1 次 × 3 分 = 3 分" in points

    await claim(chat, "member", "获得表彰或媒体报道", "县电视台报道了我们的服务")
    await chat.say("alliance_admin", "加分审核")
    assert await chat.press("alliance_admin", "不通过") == ["请写明不予通过的原因："]
    assert await chat.say("alliance_admin", "报道的是单位，不是个人") == [
        f"已退回{member.name}的加分申请。"
    ]
    assert (
        chat.received("member")[-1]
        == "您的加分申请“获得表彰或媒体报道”未通过：报道的是单位，不是个人"
    )
    _, second = await claims(chat)
    assert (second.state, second.decline_reason) == (ClaimState.DECLINED, "报道的是单位，不是个人")
    assert await chat.say("alliance_admin", "加分审核") == ["没有待审核的加分申请。"]


async def test_nobody_approves_their_own_claim(chat: Chat) -> None:
    await claim(chat, "alliance_admin", "先锋岗、示范岗表现", "担任园区先锋岗一周")
    assert await chat.say("alliance_admin", "加分审核") == ["没有待审核的加分申请。"]
    [row] = await claims(chat)
    assert row.state == ClaimState.PENDING
