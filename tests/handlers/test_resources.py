"""Shared resource lists in chat: search, paging, browse, visibility, expiry, matchmaking."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.core import Button
from bot.core.clock import FrozenClock
from models.member import Identity, Member
from models.org import Alliance
from models.resource import (
    MatchRequest,
    MatchState,
    Resource,
    ResourceAlliance,
    ResourceKind,
    add_resource,
)
from tests.fakes import Chat


async def _member_id(chat: Chat, user: str) -> int:
    async with chat.app.sessionmaker() as session:
        member_id = await session.scalar(
            select(Identity.member_id).where(Identity.user_key == user)
        )
    assert member_id
    return member_id


async def _press_again(chat: Chat, user: str, button: Button) -> list[str]:
    """Press a button of an older message (Chat.press only sees the latest one)."""
    return [r.text for r in await chat.send(chat.event(user, action=button.token))]


async def test_member_finds_cold_chain_partners_pages_and_the_host_accepts(chat: Chat) -> None:
    [first] = await chat.replies("member", "有没有做冷链物流的伙伴企业")
    assert first.text.startswith("🔎 伙伴清单里与“冷链 物流”相关的资源：共 13 条，第 1–5 条")
    assert "1. 【伙伴】冷链物流干线运输" in first.text
    assert [b.label for b in first.buttons] == [f"我要对接 {n}" for n in range(1, 6)] + ["下一页"]

    [second] = await chat.press("member", "下一页")
    assert "第 6–10 条" in second
    assert "6. 【伙伴】冷链物流肉制品专线" in second

    [asked] = await chat.press("member", "我要对接 6")
    assert asked.startswith("✅ 已向“")
    assert "冷链物流肉制品专线" in asked
    [to_host] = chat.received("host")
    assert to_host.startswith("🤝 资源对接请求：")
    assert "（依汶佳美食品有限公司）想对接您在伙伴清单的“冷链物流肉制品专线”" in to_host

    card = chat.transport.sent["host"][0]
    [done] = await chat.press("host", "同意对接")
    assert done.startswith("已同意对接，已通知 ")
    [told] = chat.received("member")
    assert told.startswith("🎉 ")
    assert "已同意您对“冷链物流肉制品专线”的对接请求，请联系：" in told

    member_id = await _member_id(chat, "member")
    async with chat.app.sessionmaker() as session:
        match = await session.scalar(select(MatchRequest))
        assert match is not None
        assert match.state == MatchState.ACCEPTED
        assert match.requester_id == member_id
    assert "：已同意" in (await chat.say("member", "我的对接"))[0]
    assert "冷链物流肉制品专线：已同意" in (await chat.say("host", "我的对接"))[0]
    assert await _press_again(chat, "host", card.buttons[1]) == [
        "这个对接请求已经处理过了（已同意）。"
    ]


async def test_a_bare_search_word_offers_the_search_first_not_a_report(chat: Chat) -> None:
    """冷链物流 alone is too short to be a complaint: the member is asked, search first."""
    [asked] = await chat.replies("member", "冷链物流")
    assert asked.text == "您是想："
    assert [b.label for b in asked.buttons] == ["资源", "吹哨"]
    [found] = await chat.press("member", "资源")
    assert found.startswith("🔎 ") and "冷链物流干线运输" in found
    [report] = await chat.replies("member", "有困难")  # a complaint, however short
    assert report.text == "请用一两句话说说遇到的问题（发送“取消”可退出）："


async def test_decline_and_asking_twice(chat: Chat) -> None:
    [found] = await chat.replies("member", "资源 冷链物流干线运输")
    await chat.press("member", "我要对接 1")
    assert await _press_again(chat, "member", found.buttons[0]) == [
        "您已对这条资源发出过对接请求，请等待对方回复（发送“我的对接”查看）。"
    ]
    assert await chat.press("host", "婉拒") == [
        "已婉拒，已告知 " + (await _name(chat, "member")) + "。"
    ]
    assert chat.received("member")[-1].startswith("“")
    assert "暂时无法对接“冷链物流干线运输”" in chat.received("member")[-1]
    async with chat.app.sessionmaker() as session:
        assert await session.scalar(select(MatchRequest.state)) == MatchState.DECLINED


async def _name(chat: Chat, user: str) -> str:
    member_id = await _member_id(chat, user)
    async with chat.app.sessionmaker() as session:
        name = await session.scalar(select(Member.name).where(Member.id == member_id))
    assert name
    return name


async def test_own_resource_cannot_be_matched(chat: Chat) -> None:
    await chat.say("host", "/resources 冷链物流干线运输")
    assert await chat.press("host", "我要对接 1") == ["这是您自己负责的资源，无需对接。"]


async def test_paging_to_the_end(chat: Chat) -> None:
    await chat.say("member", "资源 冷链物流")
    await chat.press("member", "下一页")
    [third] = await chat.press("member", "下一页")
    assert "第 11–13 条" in third
    assert third.endswith("（已经是最后一页）")
    assert [b.label for b in chat.last["member"]] == [
        *(f"我要对接 {n}" for n in (11, 12, 13)),
        "上一页",
    ]
    [back] = await chat.say("member", "上一页")  # what the button says, typed
    assert "第 6–10 条" in back


async def test_visibility_by_alliance(chat: Chat) -> None:
    """`mobile` belongs to the express-logistics alliance: the food alliance's list is hidden."""
    [mobile] = await chat.say("mobile", "/resources 伙伴 冷链物流")
    assert "共 6 条" in mobile  # shared with every alliance only
    assert "冷链物流干线运输" not in mobile
    [member] = await chat.say("member", "/resources 伙伴 冷链物流")
    assert "共 13 条" in member  # + the food alliance's 7
    assert "1. 【伙伴】冷链物流干线运输" in member
    [admin] = await chat.say("admin", "/resources 伙伴 冷链物流")
    assert "共 34 条" in admin  # the super admin sees every alliance's


async def test_browse_a_list_and_the_menu(chat: Chat) -> None:
    [browse] = await chat.say("member", "千里马清单")
    assert browse.startswith("🔎 千里马清单：共 17 条，第 1–5 条")
    [menu] = await chat.say("member", "资源")
    assert "· 伙伴清单 28 条" in menu
    [listed] = await chat.press("member", "蓝海清单")
    assert listed.startswith("🔎 蓝海清单：共 23 条")


async def test_the_building_alliance_integrated_377(chat: Chat) -> None:
    async with chat.app.sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(ResourceAlliance)
            .join(Alliance)
            .where(Alliance.name == "新型建材产业链党建红色联盟")
        )
    assert count == 377


async def test_no_result_suggests_other_lists_or_words(chat: Chat) -> None:
    [other] = await chat.replies("member", "资源 管家 冷链物流干线")
    assert other.text.startswith("没有找到管家清单里与“冷链 物流 干线”相关的资源。")
    assert other.text.endswith("其他清单里有相关资源：伙伴清单 13 条")
    [listed] = await chat.press("member", "伙伴清单 13 条")
    assert listed.startswith("🔎 伙伴清单里与“冷链 物流 干线”相关的资源：共 13 条")
    [words] = await chat.replies("member", "资源 冷冻🚚")
    assert words.text.startswith("没有找到资源清单里与“冷冻”相关的资源。\n试试这些词：")
    assert words.buttons
    [again] = await chat.press("member", words.buttons[0].label)
    assert again.startswith("🔎 资源清单里与“")
    assert await chat.say("member", "资源 ！！🚚") == [
        "没看懂要找什么，请换个说法，例如：资源 冷链物流。"
    ]


async def test_admin_adds_one_resource_and_it_expires(chat: Chat, clock: FrozenClock) -> None:
    assert (await chat.say("alliance_admin", "添加资源"))[
        0
    ] == "要添加到哪个清单？（发送“取消”可退出）"
    assert (await chat.press("alliance_admin", "管家"))[0].startswith("请输入资源标题")
    await chat.say("alliance_admin", "ERP系统2025版实施顾问")
    await chat.say("alliance_admin", "无")
    assert (await chat.say("alliance_admin", "县众信软件有限公司"))[0].startswith("请输入联系人")
    assert (await chat.say("alliance_admin", "我"))[0] == "这条资源对哪些联盟可见？"
    await chat.press("alliance_admin", "本联盟")
    assert await chat.say("alliance_admin", "明天") == [
        "日期格式不对或已过，请输入如 2027-06-30 的日期，或发送“无”：（发送“取消”退出）"
    ]
    assert await chat.say("alliance_admin", "2026-12-31") == [
        "✅ 已添加到管家清单：ERP系统2025版实施顾问（本联盟可见，有效期至 2026-12-31）"
    ]
    [found] = await chat.say("member", "/resources erp 2025!!")
    assert "1. 【管家】ERP系统2025版实施顾问" in found
    assert "有效期至 2026-12-31" in found
    assert "ERP系统" not in (await chat.say("mobile", "/resources ERP"))[0]
    clock.advance(days=31)
    assert await chat.say("member", "/resources ERP") == ["没有找到资源清单里与“erp”相关的资源。"]
    async with chat.app.sessionmaker() as session:
        resource = await session.scalar(select(Resource).where(Resource.title.like("ERP%")))
        assert resource is not None and resource.contact_member_id is not None


async def test_match_figures_for_admins_only(chat: Chat) -> None:
    assert await chat.say("member", "对接统计") == [
        "抱歉，“对接统计”只对联盟管理员开放。您可以用“我的对接”：资源对接请求与进度。"
    ]
    assert await chat.say("alliance_admin", "对接统计") == ["还没有资源对接记录。"]
    await chat.say("member", "资源 冷链物流干线运输")
    await chat.press("member", "我要对接 1")
    await chat.press("host", "同意对接")
    await chat.say("mobile", "资源 医药冷藏运输")
    await chat.press("mobile", "我要对接 1")
    [figures] = await chat.say("admin", "对接统计")
    assert "· 伙伴：2 / 1" in figures
    assert "· 食品产业链党建红色联盟：1 / 1" in figures
    assert "· 快递物流行业党建红色联盟：1 / 0" in figures
    [scoped] = await chat.say("alliance_admin", "对接统计")
    assert "· 伙伴：1 / 1" in scoped
    assert "快递物流" not in scoped


async def test_a_provider_without_a_chat_contact_is_called_directly(chat: Chat) -> None:
    async with chat.app.sessionmaker() as session, session.begin():
        await add_resource(
            session=session,
            kind=ResourceKind.STEWARD,
            title="知识产权托管服务",
            provider="县知识产权服务中心",
            contact="钱律师 0539-1234567",
            now=chat.app.clock.now(),
        )
    await chat.say("member", "资源 知识产权")
    assert await chat.press("member", "我要对接 1") == [
        "✅ 已记录您对“知识产权托管服务”的对接请求。“县知识产权服务中心”的联系人暂未使用红盟助手，"
        "请直接联系：钱律师 0539-1234567"
    ]
    async with chat.app.sessionmaker() as session:
        assert await session.scalar(select(MatchRequest.state)) == MatchState.REFERRED


async def test_a_contact_who_is_not_bound_gives_the_phone_and_the_request_is_handed_over(
    chat: Chat,
) -> None:
    async with chat.app.sessionmaker() as session:
        resource = await session.scalar(
            select(Resource).where(Resource.title == "冷链物流城市配送")
        )
        assert resource is not None and resource.contact_member_id is not None
        contact = await session.get(Member, resource.contact_member_id)
        assert contact is not None and contact.phone
    await chat.say("member", "资源 冷链物流城市配送")
    [asked] = await chat.press("member", "我要对接 1")
    assert asked == (
        "✅ 已记录您对“冷链物流城市配送”的对接请求。"
        f"“{resource.provider}”的联系人暂未使用红盟助手，"
        f"请直接联系：{contact.name} {contact.phone}"
    )
    await chat.say("member", "资源 冷链物流城市配送")
    assert await chat.press("member", "我要对接 1") == [
        "您已记录过这条资源的对接请求，对方暂未使用红盟助手，请直接联系："
        f"{contact.name} {contact.phone}"
    ]
    [mine] = await chat.say("member", "我的对接")
    assert mine == (
        "🤝 我的对接（1 条）：\n"
        f"1. 我 → 冷链物流城市配送（{resource.provider}）：已转线下联系，请直接联系 "
        f"{contact.name} {contact.phone}"
    )
    async with chat.app.sessionmaker() as session:
        match = await session.scalar(select(MatchRequest))
        assert match is not None and match.state == MatchState.REFERRED
        assert match.decided_at == chat.app.clock.now()


async def test_the_contact_answers_from_my_matches(chat: Chat) -> None:
    for title in ("冷链物流干线运输", "冷链物流肉制品专线"):
        await chat.say("member", f"资源 {title}")
        await chat.press("member", "我要对接 1")
    member = await _name(chat, "member")
    async with chat.app.sessionmaker() as session:
        phone = await session.scalar(
            select(Member.phone).where(Member.identities.any(user_key="member"))
        )
    [mine] = await chat.replies("host", "我的对接")
    unit = mine.text.split("（", 2)[2].split("，", 1)[0]
    assert mine.text == (
        "🤝 我的对接（2 条）：\n"
        f"1. {member}（{unit}，{phone}）→ 冷链物流肉制品专线：待您回复\n"
        f"2. {member}（{unit}，{phone}）→ 冷链物流干线运输：待您回复\n"
        "有 2 条请求等您答复，点下面的按钮同意或婉拒。"
    )
    assert [b.label for b in mine.buttons] == ["同意 1", "婉拒 1", "同意 2", "婉拒 2"]
    [done] = await chat.press("host", "婉拒 2")
    assert done == f"已婉拒，已告知 {member}。"
    assert "暂时无法对接“冷链物流干线运输”" in chat.received("member")[-1]
    [mine] = await chat.replies("host", "我的对接")
    assert [b.label for b in mine.buttons] == ["同意 1", "婉拒 1"]
    assert "2. " in mine.text and "冷链物流干线运输：已婉拒" in mine.text
    assert (await chat.say("host", "同意 1"))[0].startswith("已同意对接，已通知 ")
