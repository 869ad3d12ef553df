"""The console's 总览 shows this year's outcomes and the party funds."""

from __future__ import annotations

from tests.admin.conftest import Login
from tests.fakes import Chat


async def test_the_console_overview_shows_outcomes_and_funds(chat: Chat, login: Login) -> None:
    admin = await login("admin")
    page = (await admin.get("/admin/")).text
    assert "成果与党建经费（2026年）" in page
    assert "党建经费余额（1 个联盟），今年收入 1万元，支出 0元" in page
    assert "众筹：已筹 1万元 / 目标 2.2万元，未交齐 6 家" in page
    assert "按报告口径：整合有效资源468条。" in page
