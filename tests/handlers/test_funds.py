"""党建经费众筹: an expense its requester cannot approve, approved by two others and paid with a
voucher; one above the threshold that needs the county; income with a transfer number; the
balance after each, and the ledger export with a running balance."""

from __future__ import annotations

from openpyxl import load_workbook
from sqlalchemy import select

from models.fund import ExpenseState, FundExpense
from tests.fakes import Chat
from tests.handlers.test_outcomes import EXIT, attach, photo, send_file


async def request(
    chat: Chat, user: str, amount: str, purpose: str, category: str, link: str = "跳过"
) -> list[str]:
    assert await chat.say(user, "申请支出") == ["金额是多少？例如：3000元、1.2万、二千五百元。"]
    assert (await chat.say(user, amount))[0].startswith("用途是什么？")
    assert await chat.say(user, purpose) == ["属于哪一类？"]
    assert (await chat.say(user, category))[0].startswith(
        "这笔钱用在哪项活动、会议、项目或工单上？"
    )
    preview = await chat.say(user, link)
    assert preview[0].startswith("请核对，确认后提交审批：")
    return preview + await chat.say(user, "确认")


async def expense(chat: Chat, number: str) -> FundExpense:
    async with chat.app.sessionmaker() as session:
        found = await session.scalar(select(FundExpense).where(FundExpense.id == int(number[3:])))
    assert found is not None
    return found


async def test_an_expense_from_request_to_payment(chat: Chat) -> None:
    shown = await chat.say("member", "党建经费")
    assert shown[0].startswith("💰 食品产业链党建红色联盟党建经费：余额 1万元")
    replies = await request(chat, "alliance_admin", "三千元", "七一主题党日场地和资料", "活动经费")
    assert replies[0].endswith("需 2 位审批人同意（申请人本人不能审批）。")
    assert replies[1] == "已提交支出申请 ZC-0001（3000元），已通知审批人。"
    assert chat.received("host")[-1].startswith("📨 ")

    # The requester cannot approve their own request, even by pressing an old button.
    await chat.say("alliance_admin", "经费")
    assert "审批 ZC-0001" not in [b.label for b in chat.last["alliance_admin"]]
    await chat.press_received("host", "审批 ZC-0001")
    assert await chat.press("host", "同意") == ["已同意 ZC-0001，还需 1 位审批人同意。"]
    await chat.press_received("member", "审批 ZC-0001")
    # typed, as people do: 同意 is a yes, and here it is the button's own label
    assert await chat.say("member", "同意") == ["已同意 ZC-0001，审批通过，已通知出纳付款。"]
    assert (await expense(chat, "ZC-0001")).state == ExpenseState.APPROVED

    # The treasurer (host) records the payment with a voucher; the balance follows.
    assert await chat.press_received("host", "登记付款") == [
        "请发送付款凭证（转账回单或发票照片）："
    ]
    assert await chat.say("host", "已付") == ["请发送付款凭证（转账回单或发票照片）：" + EXIT]
    paid = await send_file(chat, "host", attach(chat, photo(), "回单.jpg"))
    assert paid == ["已登记 ZC-0001 付款（3000元），当前余额 7000元。"]
    row = await expense(chat, "ZC-0001")
    assert row.state == ExpenseState.PAID and row.voucher_name == "回单.jpg"


async def test_the_requester_is_refused(chat: Chat) -> None:
    await request(chat, "host", "500元", "慰问困难党员", "帮扶慰问")
    await chat.press_received("alliance_admin", "审批 ZC-0001")
    # host is an approver but the requester: the model refuses, whatever the button
    async with chat.app.sessionmaker() as session:
        from models.fund import Fund, FundError, approve
        from tests.handlers.test_outcomes import _member

        host = await _member(session, "host")
        row = await session.get(FundExpense, 1)
        fund = await session.get(Fund, row.fund_id)
        try:
            await approve(
                session=session, fund=fund, expense=row, member=host, now=chat.app.clock.now()
            )
        except FundError as error:
            assert error.reason == "own_request"
        else:
            raise AssertionError("the requester approved their own expense")


async def test_above_the_threshold_the_county_reviews(chat: Chat) -> None:
    replies = await request(chat, "alliance_admin", "2.5万", "党群服务阵地改造", "阵地建设")
    assert "超过 2万元，还需县里审核" in replies[0]
    await chat.press_received("host", "审批 ZC-0001")
    await chat.press("host", "同意")
    await chat.press_received("member", "审批 ZC-0001")
    assert await chat.press("member", "同意") == [
        "已同意 ZC-0001。金额超过 2万元，已提交县里审核。"
    ]
    assert (await expense(chat, "ZC-0001")).state == ExpenseState.COUNTY
    assert chat.received("admin")[-1].startswith(
        "📨 食品产业链党建红色联盟党建经费支出 ZC-0001：2.5万元"
    )
    await chat.press_received("admin", "审批 ZC-0001")
    assert await chat.press("admin", "同意") == ["已同意 ZC-0001，审批通过，已通知出纳付款。"]
    assert (await expense(chat, "ZC-0001")).state == ExpenseState.APPROVED
    # The fund holds 1万元: the treasurer cannot record paying 2.5万 out of it.
    await chat.press_received("host", "登记付款")
    short = await send_file(chat, "host", attach(chat, photo(), "回单.jpg"))
    assert short == ["余额不足，ZC-0001 暂不能登记付款。请先登记到账的众筹收入。"]
    assert (await expense(chat, "ZC-0001")).state == ExpenseState.APPROVED


async def test_income_and_the_ledger_export(chat: Chat) -> None:
    assert await chat.say("member", "记收入") == ["只有出纳可以登记收入和付款。"]
    assert await chat.say("host", "记收入") == [
        "谁交来的？点选未交齐的单位（计入2026年众筹），或输入单位或个人名称："
    ]
    await chat.say("host", "联盟党员个人捐款")
    assert await chat.say("host", "１,２００元") == ["请输入转账流水号，或发送收据照片："]
    preview = await chat.say("host", "20261201009")
    assert preview == ["请核对：\n收入 1200元\n来自：联盟党员个人捐款\n凭证：流水号 20261201009"]
    assert await chat.say("host", "确认") == ["已记收入 SR-0006（1200元）。当前余额 1.12万元。"]
    exported = await chat.replies("member", "导出账目")  # the button's label, typed alone
    assert exported[0].text == "党建经费账目，共 6 笔，含每笔后的余额。"
    assert exported[0].file is not None
    rows = list(load_workbook(exported[0].file).active.iter_rows(values_only=True))
    assert rows[0] == (
        "日期",
        "编号",
        "收支",
        "类别",
        "来源或用途",
        "收入（元）",
        "支出（元）",
        "余额（元）",
        "流水号或凭证",
        "用于",
    )
    assert [r[7] for r in rows[1:]] == [2000, 4000, 6000, 8000, 10000, 11200]


async def test_a_question_about_the_fund_leaves_the_amount_step(chat: Chat) -> None:
    """经费还剩多少 while applying to spend asks for the fund, not for an amount."""
    assert await chat.say("host", "申请支出") == ["金额是多少？例如：3000元、1.2万、二千五百元。"]
    [answer, *_] = await chat.say("host", "经费还剩多少")
    assert answer.startswith("（已退出“申请支出”）")
    assert "余额" in answer


async def test_the_spend_preview_can_be_cancelled(chat: Chat) -> None:
    await chat.say("host", "申请支出")
    await chat.say("host", "800元")
    await chat.say("host", "买党旗")
    await chat.say("host", "活动经费")
    await chat.say("host", "跳过")
    assert [b.label for b in chat.last["host"]] == ["确认", "取消"]
    [cancelled] = await chat.press("host", "取消")
    assert "取消" in cancelled
    async with chat.app.sessionmaker() as session:
        stored = await session.scalar(select(FundExpense).where(FundExpense.purpose == "买党旗"))
    assert stored is None


async def test_an_expense_pays_for_a_project_and_an_outcome_links_the_expense(chat: Chat) -> None:
    from tests.handlers.test_outcomes import entries, projects, to_the_link

    stall = await projects(chat)
    await chat.say("alliance_admin", "申请支出")
    await chat.say("alliance_admin", "800元")
    await chat.say("alliance_admin", "服务站挂牌物料")
    [ask] = await chat.say("alliance_admin", "阵地建设")
    assert ask.startswith("这笔钱用在哪项活动、会议、项目或工单上？")
    labels = [b.label for b in chat.last["alliance_admin"]]
    # the claimed project is a button before 跳过; the open one is not offered
    assert labels[-2:] == ["项目：冷链商圈党建服务站", "跳过"]
    [preview] = await chat.press("alliance_admin", "项目：冷链商圈党建服务站")
    assert f"\n用于：项目 {stall.number}《冷链商圈党建服务站》\n" in preview
    await chat.say("alliance_admin", "确认")
    row = await expense(chat, "ZC-0001")
    assert (row.link_kind, row.link_id) == ("project", stall.id)
    assert chat.received("host")[-1].endswith(
        f"用途：服务站挂牌物料（用于项目 {stall.number}《冷链商圈党建服务站》）。请审批。"
    )

    # typed: an unclaimed project is refused with what can be typed; the number is found
    await chat.say("member", "申请支出")
    await chat.say("member", "300元")
    await chat.say("member", "驿站宣传单")
    await chat.say("member", "宣传资料")
    assert await chat.say("member", "青年人才驿站") == [
        "没有找到“青年人才驿站”。可以输入活动或会议名称（可以只写一部分）、项目编号（XM-0001）"
        "或项目名称、工单号（WT-2026-0005）、督办编号（DB-0003），或点选下面的按钮；"
        "没有就点“跳过”。" + EXIT
    ]
    [preview] = await chat.say("member", f" {stall.number} ")
    assert f"\n用于：项目 {stall.number}《冷链商圈党建服务站》\n" in preview
    await chat.say("member", "确认")
    assert (await expense(chat, "ZC-0002")).link_id == stall.id

    # the outcome the money achieved names the expense
    await to_the_link(chat)
    [preview] = await chat.say("host", "zc-0001")
    assert preview.endswith("\n关联：经费支出 ZC-0001（服务站挂牌物料）")
    await chat.say("host", "确认")
    [entry] = await entries(chat)
    assert (entry.link_kind, entry.link_id, entry.link_label) == (
        "expense",
        row.id,
        "经费支出 ZC-0001（服务站挂牌物料）",
    )
