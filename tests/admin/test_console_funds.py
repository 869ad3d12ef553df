"""The console's 总览 shows this year's outcomes and the party funds."""

from __future__ import annotations

from tests.admin.conftest import Login, csrf_data
from tests.fakes import Chat


async def test_the_console_overview_shows_outcomes_and_funds(chat: Chat, login: Login) -> None:
    admin = await login("admin")
    page = (await admin.get("/admin/")).text
    assert "成果与党建经费（2026年）" in page
    assert "党建经费余额（1 个联盟），今年收入 1万元，支出 0元" in page
    assert "众筹：已筹 1万元 / 目标 2.2万元，未交齐 6 家" in page
    assert "按报告口径：整合有效资源468条。" in page


async def test_an_alliance_admin_sets_up_the_fund_on_the_console(chat: Chat, login: Login) -> None:
    from sqlalchemy import select

    from models.audit import AuditLog
    from models.fund import Fund
    from models.org import Alliance

    mine = await login("alliance_admin")
    page = (await mine.get("/admin/funds")).text
    assert "<h2>食品产业链党建红色联盟</h2>" in page
    assert "余额 <b>1万元</b> · 出纳 吴桂涵" in page
    assert "2026年众筹：1万元 / 2.2万元（45%），未交齐 6 家" in page
    async with chat.app.sessionmaker() as session:
        food = await session.scalar(select(Alliance).where(Alliance.name.startswith("食品")))
        assert food is not None
    bad = await mine.post(
        f"/admin/funds/{food.id}",
        data=csrf_data(mine, treasurer="张三丰", approvers="高雨", needed=1, threshold="2万元"),
    )
    assert bad.status_code == 400 and "本联盟没有叫“张三丰”的成员。" in bad.text
    few = await mine.post(
        f"/admin/funds/{food.id}",
        data=csrf_data(
            mine, treasurer="于刚", approvers="高雨、于刚", needed=2, threshold="2万元"
        ),
    )
    assert few.status_code == 400 and "审批人至少要比需同意的人数多一位" in few.text
    saved = await mine.post(
        f"/admin/funds/{food.id}",
        data=csrf_data(
            mine, treasurer="于刚", approvers="高雨、于刚", needed=1, threshold="8千元"
        ),
    )
    assert saved.status_code == 303
    page = (await mine.get(saved.headers["location"])).text
    assert "党建经费设置已保存" in page and "超过 8000元 县里审核" in page
    async with chat.app.sessionmaker() as session:
        fund = await session.scalar(select(Fund).where(Fund.alliance_id == food.id))
        assert fund is not None
        assert (fund.approvals_needed, fund.county_threshold, len(fund.approver_ids())) == (
            1,
            8000_00,
            2,
        )
        audit = await session.scalar(
            select(AuditLog).where(AuditLog.action == "console.fund_setup")
        )
        assert audit is not None
    # another alliance is out of this admin's scope
    other = await mine.post(
        f"/admin/funds/{food.id + 1}",
        data=csrf_data(mine, treasurer="于刚", approvers="高雨、于刚", needed=1, threshold="1万"),
    )
    assert other.status_code == 403
