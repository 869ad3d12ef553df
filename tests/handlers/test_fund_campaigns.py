"""党建经费众筹, the rest of it: the year's campaign (progress, 认缴, income recorded against a
unit, a new campaign by unit amounts), an expense linked to what it paid for, 不同意 with a
reason the requester is told, the monthly bank balance (a reminder once, a difference flagged),
and the fund set up in chat by an alliance admin."""

from __future__ import annotations

from openpyxl import load_workbook
from sqlalchemy import select

from bot.app import build_app
from bot.core.clock import FrozenClock
from bot.scheduler import run_all
from handlers import SWEEPS
from models.activity import Activity
from models.fund import (
    BankBalance,
    CampaignShare,
    ExpenseState,
    Fund,
    FundCampaign,
    FundExpense,
    FundIncome,
    ShareRule,
)
from models.member import Member
from models.org import Unit
from settings import Settings
from tests.fakes import Chat, RecordingTransport
from tests.handlers.test_funds import expense, request

HEAD = "🎯 2026年党建经费众筹（食品产业链党建红色联盟）"


async def _unit(chat: Chat, name: str) -> Unit:
    async with chat.app.sessionmaker() as session:
        found = await session.scalar(select(Unit).where(Unit.name == name))
    assert found is not None
    return found


async def _move(chat: Chat, user_key: str, unit: Unit) -> None:
    """Put a demo account into another member unit of the alliance."""
    from models.member import Identity

    async with chat.app.sessionmaker() as session:
        member = await session.scalar(
            select(Member).join(Identity).where(Identity.user_key == user_key)
        )
        assert member is not None
        member.home_unit_id = unit.id
        await session.commit()


async def test_campaign_progress_a_pledge_and_a_unit_paying(chat: Chat) -> None:
    [shown] = await chat.say("member", "众筹")
    assert shown.splitlines()[:4] == [
        HEAD,
        "已筹 1万元 / 目标 2.2万元（45%）",
        "平均分摊：每家 2000元，共 11 家，已交齐 5 家。",
        "未交齐 6 家：",
    ]
    assert "· 蒙山兴业食品有限公司（应交 2000元，已认缴）" in shown
    # member's unit has paid: nothing to pledge
    assert [b.label for b in chat.last.get("member", ())] == []
    assert await chat.say("member", "认缴") == [
        "您所在的单位已交齐2026年的众筹份额，无需认缴。谢谢！"
    ]

    zhang = await _unit(chat, "张庄鑫源食品有限公司")
    await _move(chat, "member", zhang)
    await chat.say("member", "众筹")
    assert await chat.press("member", "认缴") == [
        "已为张庄鑫源食品有限公司认缴 2000元。转账后请把流水号告诉出纳登记。"
    ]
    assert chat.received("host")[-1].startswith("📨 张庄鑫源食品有限公司已认缴2026年党建经费众筹")
    assert await chat.say("member", "认缴") == ["您所在的单位已经认缴过了。"]

    # The treasurer picks the unit among those that have not paid; it counts for the campaign.
    assert await chat.press_received("host", "记收入") == [
        "谁交来的？点选未交齐的单位（计入2026年众筹），或输入单位或个人名称："
    ]
    assert "张庄鑫源食品有限公司" in [b.label for b in chat.last["host"]]
    assert "砖埠和信食品有限公司" not in [b.label for b in chat.last["host"]]  # paid
    await chat.say("host", "张庄鑫源")  # typed: a part of one unpaid unit's name is that unit
    await chat.say("host", "2000元")
    preview = await chat.say("host", "20261201088")
    assert preview[0].endswith("凭证：流水号 20261201088\n计入2026年众筹")
    assert await chat.say("host", "确认") == [
        "已记收入 SR-0006（2000元）。当前余额 1.2万元。\n"
        "2026年众筹：已筹 1.2万元 / 目标 2.2万元（54%），未交齐 5 家。"
    ]
    async with chat.app.sessionmaker() as session:
        income = await session.get(FundIncome, 6)
        assert income is not None
        assert (income.unit_id, income.campaign_id, income.fen) == (zhang.id, 1, 2000_00)
    [after] = await chat.say("member", "众筹进度")
    assert "已交齐 6 家" in after and "张庄鑫源" not in after

    # A gift from someone outside the campaign is income, but not the campaign's.
    await chat.say("host", "记收入")
    await chat.say("host", "联盟党员个人捐款")
    await chat.say("host", "500元")
    await chat.say("host", "20261201099")
    assert await chat.say("host", "确认") == ["已记收入 SR-0007（500元）。当前余额 1.25万元。"]
    async with chat.app.sessionmaker() as session:
        gift = await session.get(FundIncome, 7)
        assert gift is not None and gift.campaign_id is None


async def test_a_new_campaign_by_unit_amounts(chat: Chat, clock: FrozenClock) -> None:
    assert await chat.say("member", "发起众筹") == ["只有出纳或联盟管理员可以发起众筹。"]
    assert await chat.say("alliance_admin", "发起众筹") == [
        "2026年的众筹已经发起过了。发送“众筹”看进度。"
    ]
    clock.advance(days=40)  # 2027-01-10
    [none] = await chat.say("alliance_admin", "众筹")
    assert none == "2027年的党建经费众筹还没有发起。"
    assert await chat.press("alliance_admin", "发起众筹") == ["2027年众筹怎样分摊到各成员单位？"]
    [ask] = await chat.say("alliance_admin", "按单位定额")  # the button's label, typed
    assert ask.startswith("请逐行输入各单位的金额，每行“单位名称 金额”")
    bad = await chat.say("alliance_admin", "砖埠和信食品有限公司 5000元\n不存在的公司 3000元")
    assert bad == [
        "第 2 行“不存在的公司 3000元”没看懂：不是本联盟的成员单位。请改正后重新发送全部各行。"
        "（未保存）（发送“取消”退出）"
    ]
    [preview] = await chat.say("alliance_admin", "砖埠和信食品有限公司 5000元\n依汶佳美 三千元")
    assert preview.splitlines() == [
        "请核对，确认后发起并通知各单位：",
        "2027年党建经费众筹",
        "目标 8000元，按单位定额",
        "· 砖埠和信食品有限公司 5000元",
        "· 依汶佳美食品有限公司 3000元",
    ]
    async with chat.app.sessionmaker() as session:
        assert await session.scalar(select(FundCampaign).where(FundCampaign.year == 2027)) is None
    [opened] = await chat.press("alliance_admin", "确认")
    assert opened.startswith("已发起2027年党建经费众筹：目标 8000元，2 家单位，已通知")
    # host is the secretary of 砖埠和信: told the unit's share, with 认缴
    assert chat.received("host")[-1] == (
        "🎯 食品产业链党建红色联盟发起2027年党建经费众筹：贵单位应交 5000元。"
        "可发送“认缴”先认缴，转账后出纳登记，发送“众筹”看进度。"
    )
    async with chat.app.sessionmaker() as session:
        campaign = await session.scalar(select(FundCampaign).where(FundCampaign.year == 2027))
        assert campaign is not None
        assert (campaign.goal, campaign.rule) == (8000_00, ShareRule.FIXED)
        shares = (
            await session.execute(
                select(CampaignShare.fen).where(CampaignShare.campaign_id == campaign.id)
            )
        ).scalars()
        assert sorted(shares) == [3000_00, 5000_00]
    assert await chat.press_received("host", "认缴") == [
        "已为砖埠和信食品有限公司认缴 5000元。转账后请把流水号告诉出纳登记。"
    ]


async def test_an_equal_campaign_splits_the_goal_to_the_fen(
    chat: Chat, clock: FrozenClock
) -> None:
    clock.advance(days=40)
    await chat.say("host", "发起众筹")  # the treasurer may open it too
    assert await chat.press("host", "平均分摊") == [
        "众筹目标是多少？将由本联盟 11 家成员单位平均分摊。例如：2万元、一万六千元。"
    ]
    assert await chat.say("host", "很多钱") == [
        "没看懂这个金额，例如：2万元、一万六千元。（未保存）（发送“取消”退出）"
    ]
    [preview] = await chat.say("host", "1万元")
    assert "目标 1万元，平均分摊，每家约 909.09元" in preview
    await chat.press("host", "确认")
    async with chat.app.sessionmaker() as session:
        campaign = await session.scalar(select(FundCampaign).where(FundCampaign.year == 2027))
        assert campaign is not None
        fens = [s.fen for s in campaign.shares]
    assert sum(fens) == 1_000_000 and set(fens) == {90909, 90910}


async def test_an_expense_names_what_it_paid_for(chat: Chat) -> None:
    await chat.say("alliance_admin", "申请支出")
    await chat.say("alliance_admin", "800元")
    await chat.say("alliance_admin", "联议会场茶歇")
    [ask] = await chat.say("alliance_admin", "活动经费")
    assert ask.startswith("这笔钱用在哪项活动、会议、项目或工单上？")
    labels = [b.label for b in chat.last["alliance_admin"]]
    assert labels[-1] == "跳过"
    label = labels[0]  # the alliance's latest activity or meeting
    kind, title = label.split("：", 1)
    async with chat.app.sessionmaker() as session:
        meeting = await session.scalar(select(Activity).where(Activity.title == title))
        assert meeting is not None
    [preview] = await chat.press("alliance_admin", label)
    assert f"\n用于：{kind}《{title}》\n" in preview
    await chat.press("alliance_admin", "确认")
    row = await expense(chat, "ZC-0001")
    assert (row.link_kind, row.link_id, row.link_label) == (
        "activity",
        meeting.id,
        f"{kind}《{title}》",
    )
    assert chat.received("host")[-1].endswith(
        f"用途：联议会场茶歇（用于{kind}《{title}》）。请审批。"
    )

    # typed: a title the bot does not know is refused, a ticket number is found
    await chat.say("member", "申请支出")
    await chat.say("member", "200元")
    await chat.say("member", "慰问")
    await chat.say("member", "帮扶慰问")
    [bad] = await chat.say("member", "不存在的活动")
    assert bad.startswith("没有找到“不存在的活动”。")
    other = labels[1]
    part = other.split("：", 1)[1][-4:]
    [preview] = await chat.say("member", part)  # part of a title, typed
    assert f"用于：{other.replace('：', '《', 1)}》" in preview
    await chat.say("member", "确认")
    assert (await expense(chat, "ZC-0002")).link_kind == "activity"
    # a ticket number typed
    await chat.say("member", "申请支出")
    await chat.say("member", "100元")
    await chat.say("member", "复印材料")
    await chat.say("member", "宣传资料")
    assert "用于：工单 WT-2026-0001" in (await chat.say("member", "WT-2026-0001"))[0]

    # approved and paid: the ledger and its export show what it paid for
    await chat.press_received("host", "审批 ZC-0001")
    await chat.press("host", "同意")
    await chat.press_received("member", "审批 ZC-0001")
    await chat.press("member", "同意")
    from tests.handlers.test_outcomes import attach, photo, send_file

    await chat.press_received("host", "登记付款")
    await send_file(chat, "host", attach(chat, photo(), "茶歇发票.jpg"))
    [shown] = await chat.say("member", "经费")
    assert f"联议会场茶歇（用于{kind}《{title}》）（余额 9200元）" in shown
    exported = await chat.replies("member", "导出账目")
    assert exported[0].file is not None
    rows = list(load_workbook(exported[0].file).active.iter_rows(values_only=True))
    assert rows[0][-1] == "用于"
    assert rows[-1][1:] == (
        "ZC-0001",
        "支出",
        "活动经费",
        "联议会场茶歇",
        None,
        800,
        9200,
        "茶歇发票.jpg",
        f"{kind}《{title}》",
    )


async def test_declining_asks_a_reason_and_the_requester_is_told(chat: Chat) -> None:
    await request(chat, "alliance_admin", "600元", "购买书架", "阵地建设")
    await chat.press_received("host", "审批 ZC-0001")
    assert await chat.press("host", "不同意") == ["请写明不同意 ZC-0001 的理由（会告知申请人）："]
    assert (await expense(chat, "ZC-0001")).state == ExpenseState.REQUESTED
    assert await chat.say("host", "  ") == [
        "请写明不同意 ZC-0001 的理由（会告知申请人）：（发送“取消”退出）"
    ]
    assert await chat.say("host", "党群服务中心已有书架，请改为购买图书") == [
        "已驳回 ZC-0001，已告知申请人。"
    ]
    assert chat.received("alliance_admin")[-1] == (
        "❌ 您申请的支出 ZC-0001（600元）未通过。理由：党群服务中心已有书架，请改为购买图书"
    )
    row = await expense(chat, "ZC-0001")
    assert (row.state, row.reason) == (
        ExpenseState.REJECTED,
        "党群服务中心已有书架，请改为购买图书",
    )
    # the expense, opened again from the old message, shows why and offers no decision
    [view] = await chat.press_received("host", "审批 ZC-0001")
    assert view.endswith("\n未通过：党群服务中心已有书架，请改为购买图书")
    assert chat.last["host"] == ()
    async with chat.app.sessionmaker() as session:
        assert (
            await session.scalar(select(FundExpense.reason))
            == "党群服务中心已有书架，请改为购买图书"
        )


async def _bank_sweep(settings: Settings, clock: FrozenClock) -> RecordingTransport:
    transport = RecordingTransport()
    app = build_app(settings, {"console": transport}, clock)
    try:
        chosen = [s for s in SWEEPS if s.id == "fund_bank_balance"]
        await run_all(chosen, app.sessionmaker, clock, settings)
        await app.sender.drain()
    finally:
        await app.close()
    return transport


async def test_the_monthly_bank_balance(
    chat: Chat, clock: FrozenClock, demo_settings: Settings
) -> None:
    # 1 December 09:00: the demo's treasurer entered November's already, so nothing is asked
    assert (await _bank_sweep(demo_settings, clock)).sent == {}

    assert await chat.say("member", "银行余额") == ["只有出纳可以登记银行余额。"]
    assert await chat.say("host", "银行余额") == [
        "请输入11月末银行账户余额（以银行对账单为准），例如：8650元、1.2万："
    ]
    assert await chat.say("host", "xyz") == [
        "没看懂这个金额，例如：8650元、1.2万。（未保存）（发送“取消”退出）"
    ]
    assert await chat.say("host", "9,950元") == [
        "⚠️ 已登记11月末银行余额 9950元，账面余额 1万元，银行比账面少 50元。"
        "请核对是否有未登记的收入或付款；已告知联盟管理员。"
    ]
    assert chat.received("alliance_admin")[-1] == (
        "⚠️ 食品产业链党建红色联盟党建经费11月末对账不符：银行余额 9950元，账面余额 1万元，"
        "银行比账面少 50元（出纳 吴桂涵 登记）。"
    )
    # typed again: the month's reading is replaced, and it agrees
    await chat.say("host", "登记银行余额")
    assert await chat.say("host", "一万元") == ["✅ 已登记11月末银行余额 1万元，与账面余额一致。"]
    async with chat.app.sessionmaker() as session:
        rows = list(
            (await session.execute(select(BankBalance).order_by(BankBalance.month))).scalars()
        )
    assert [(r.month, r.fen, r.ledger_fen) for r in rows] == [("2026-11", 1_000_000, 1_000_000)]
    # 1 January 09:00: the treasurer is asked for December's, once
    clock.advance(days=31)
    later = await _bank_sweep(demo_settings, clock)
    assert later.texts("host") == [
        "📅 请登记食品产业链党建红色联盟党建经费12月末的银行账户余额，与账面核对"
        "（账面余额 1万元）。发送“银行余额”或点下面的按钮。"
    ]
    clock.advance(hours=1)
    assert (await _bank_sweep(demo_settings, clock)).sent == {}
    assert await chat.say("host", "登记银行余额") == [
        "请输入12月末银行账户余额（以银行对账单为准），例如：8650元、1.2万："
    ]


async def test_an_alliance_admin_sets_up_the_fund_in_chat(chat: Chat) -> None:
    [refused] = await chat.say("member", "设立经费")
    assert refused.startswith("抱歉，“设立经费”只对联盟管理员开放。")
    assert await chat.say("alliance_admin", "设立经费") == [
        "出纳是谁？请输入本联盟成员的姓名（现在是吴桂涵）："
    ]
    assert await chat.say("alliance_admin", "张三丰") == [
        "本联盟没有叫“张三丰”的成员，请核对姓名后重新输入。（发送“取消”退出）"
    ]
    assert await chat.say("alliance_admin", "于刚") == ["每笔支出需要几位审批人同意？"]
    [ask] = await chat.press("alliance_admin", "2 位")
    assert ask.startswith("审批人是谁？请输入 3 位以上本联盟成员的姓名")
    assert await chat.say("alliance_admin", "高雨、吴桂涵") == [
        "审批人至少要 3 位（比需同意的人数多一位，申请人本人不能审批）。（发送“取消”退出）"
    ]
    [threshold] = await chat.say("alliance_admin", "高雨、吴桂涵 于刚")
    assert threshold == "超过多少金额还需县里审核？例如：2万元（现在是2万元）。"
    [preview] = await chat.say("alliance_admin", "5000元")
    assert preview.splitlines()[1:] == [
        "食品产业链党建红色联盟党建经费",
        "出纳：于刚",
        "审批人：高雨、吴桂涵、于刚（需 2 位同意）",
        "超过 5000元 县里审核",
    ]
    assert await chat.press("alliance_admin", "确认") == [
        "已修改食品产业链党建红色联盟党建经费：出纳 于刚，审批人 高雨、吴桂涵、于刚，"
        "需 2 位同意，超过 5000元 县里审核。"
    ]
    assert chat.received("member")[-1] == (
        "📨 您被设为食品产业链党建红色联盟党建经费的出纳和审批人。发送“经费”查看余额和待办。"
    )
    assert chat.received("host")[-2:] == [
        "📨 您被设为食品产业链党建红色联盟党建经费的审批人。发送“经费”查看余额和待办。",
        "📨 食品产业链党建红色联盟党建经费的出纳已改为于刚，请把凭证和账目交接给新出纳。",
    ]
    async with chat.app.sessionmaker() as session:
        fund = await session.scalar(select(Fund))
        assert fund is not None
        member = await session.scalar(select(Member).where(Member.name == "于刚"))
        assert member is not None
        assert (fund.treasurer_id, fund.county_threshold) == (member.id, 5000_00)
        assert len(fund.approver_ids()) == 3
    # the new treasurer records income; the old one no longer may
    assert await chat.say("host", "记收入") == ["只有出纳可以登记收入和付款。"]
    assert (await chat.say("member", "记收入"))[0].startswith("谁交来的？")


async def test_the_county_opens_a_fund_for_another_alliance(chat: Chat) -> None:
    assert await chat.say("admin", "设立经费") == ["为哪个联盟设立或修改党建经费？"]
    labels = [b.label for b in chat.last["admin"]]
    other = next(label for label in labels if label != "食品产业链党建红色联盟")
    assert await chat.press("admin", other) == ["出纳是谁？请输入本联盟成员的姓名："]
    async with chat.app.sessionmaker() as session:
        from models.org import Alliance, Membership

        alliance = await session.scalar(select(Alliance).where(Alliance.name == other))
        assert alliance is not None
        units = select(Membership.unit_id).where(Membership.alliance_id == alliance.id)
        people = list(
            (
                await session.execute(
                    select(Member.name)
                    .where(Member.home_unit_id.in_(units))
                    .order_by(Member.id)
                    .limit(8)
                )
            ).scalars()
        )
    names = list(dict.fromkeys(people))[:3]
    await chat.say("admin", names[0])
    await chat.say("admin", "1")
    await chat.say("admin", " ".join(names[:2]))
    await chat.say("admin", "3万")
    [done] = await chat.say("admin", "确认")
    assert done.startswith(f"已设立{other}党建经费：出纳 {names[0]}")
    async with chat.app.sessionmaker() as session:
        fund = await session.scalar(select(Fund).where(Fund.alliance_id == alliance.id))
        assert fund is not None
        assert (fund.approvals_needed, fund.county_threshold) == (1, 3_000_000)
