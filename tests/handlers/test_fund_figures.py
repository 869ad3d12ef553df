"""成果与经费 in /stats, the weekly digest, the console's overview and `python -m bot export`:
the funds' balance, spending and waiting expenses move with what is done in chat, a bank
reading that differs is flagged, and the CLI writes the ledger with numbers and dates."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

from openpyxl import load_workbook

from bot.core.clock import FrozenClock
from handlers.digest import digest_text
from models.scope import Scope
from tests.fakes import Chat
from tests.handlers.test_funds import request
from tests.handlers.test_outcomes import attach, photo, send_file


def ours(text: str) -> list[str]:
    keys = ("成果（", "按报告口径", "党建经费：", "众筹（", "⚠️ 对账不符", "经费：", "成果：")
    return [line for line in text.splitlines() if line.startswith(keys)]


async def test_stats_follow_the_fund(chat: Chat) -> None:
    [stats, _] = await chat.say("admin", "数据")
    assert ours(stats) == [
        "成果（2026年）：已验收 0 条，待县里验收 0 条，待联盟审核 0 条，退回修改 0 条",
        "按报告口径：整合有效资源468条",  # derived from the resources listed
        "党建经费：1 个联盟设立，余额合计 1万元；今年收入 1万元，支出 0元；待审批支出 0 笔",
        "众筹（2026年）：已筹 1万元 / 目标 2.2万元（45%），未交齐 6 家单位",
    ]
    await request(chat, "alliance_admin", "三千元", "七一主题党日场地和资料", "活动经费")
    [stats, _] = await chat.say("alliance_admin", "数据")
    assert "待审批支出 1 笔" in stats
    await chat.press_received("host", "审批 ZC-0001")
    await chat.press("host", "同意")
    await chat.press_received("member", "审批 ZC-0001")
    await chat.press("member", "同意")
    await chat.press_received("host", "登记付款")
    await send_file(chat, "host", attach(chat, photo(), "回单.jpg"))
    await chat.say("host", "银行余额")
    await chat.say("host", "9500元")  # November's reading: the ledger said 1万元
    [stats, _] = await chat.say("alliance_admin", "数据")
    assert ours(stats)[2:] == [
        "党建经费：1 个联盟设立，余额合计 7000元；今年收入 1万元，支出 3000元；待审批支出 0 笔",
        "众筹（2026年）：已筹 1万元 / 目标 2.2万元（45%），未交齐 6 家单位",
        "⚠️ 对账不符：食品产业链党建红色联盟 11月末银行比账面少 500元",
    ]


async def test_the_digest_has_the_weeks_money(chat: Chat, clock: FrozenClock) -> None:
    await chat.say("host", "记收入")
    await chat.say("host", "联盟党员个人捐款")
    await chat.say("host", "1200元")
    await chat.say("host", "20261201009")
    await chat.say("host", "确认")
    now = clock.now()
    start: datetime = now - timedelta(days=1)
    async with chat.app.sessionmaker() as session:
        text = await digest_text(session, Scope.COUNTY, start, now + timedelta(days=1), now)
        earlier = await digest_text(
            session, Scope.COUNTY, start - timedelta(days=7), start, now - timedelta(days=7)
        )
    assert "经费：收入 1200元，支出 0元；待审批支出 0 笔" in ours(text)
    assert "经费：收入 0元，支出 0元；待审批支出 0 笔" in ours(earlier)


async def test_cli_exports_the_fund_ledger_and_the_outcomes(chat: Chat, tmp_path: Path) -> None:
    from bot.cli import main

    path = tmp_path / "funds.xlsx"
    assert await asyncio.to_thread(main, ["export", "funds", str(path)]) == 0
    sheet = load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("联盟", "日期", "编号") and rows[0][-1] == "用于"
    assert [r[8] for r in rows[1:]] == [2000, 4000, 6000, 8000, 10000]  # numbers, not text
    assert isinstance(rows[1][1], datetime) and sheet["B2"].number_format == "yyyy-mm-dd hh:mm"
    out = tmp_path / "outcomes.xlsx"
    assert await asyncio.to_thread(main, ["export", "outcomes", str(out)]) == 0
    header = next(load_workbook(out).active.iter_rows(values_only=True))
    assert header[0] == "编号" and "县里验收人" in header
