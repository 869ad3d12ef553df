"""The web console in a real browser against a real `serve`, chat through the console CLI:
log in from the chat's link, upload a roster with a bad row, set up a rotation for an
imported alliance and see it in chat, sign and resolve a ticket, send a notice and read its
receipts; a screenshot of every page at a phone and a desk width."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from tests.browser.conftest import Server, logged_in, shoot

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect


def test_log_in_from_the_link_sent_in_the_console_chat(browser: Any, server: Server) -> None:
    link = server.link("admin")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(link)
    expect(page.get_by_role("heading", name="登录管理后台")).to_be_visible()
    shoot(page, "01-login")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{server.base}/admin/")
    expect(page.get_by_role("heading", name="总览 · 全县")).to_be_visible()
    assert page.locator("svg").count() >= 3
    shoot(page, "02-overview")
    again = context.new_page()
    again.goto(link)
    expect(again.get_by_text("这个登录链接已经用过了，每个链接只能使用一次。")).to_be_visible()
    shoot(again, "03-link-used")
    context.clear_cookies()
    page.goto(f"{server.base}/admin/roster")
    expect(page.get_by_text("请在红盟助手的聊天中发送“后台”")).to_be_visible()
    shoot(page, "04-need-login")
    officer = logged_in(browser, server, "officer_tax")
    officer.goto(f"{server.base}/admin/roster")
    expect(officer.get_by_text("这个页面需要联盟管理员或县级管理员身份")).to_be_visible()
    shoot(officer, "05-need-role")


def _roster(tmp_path: Path, unit: str) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "新党员"
    sheet.append(["食品产业链联盟 新党员名单"])
    sheet.append(["姓名", "手机", "单位", "党员"])
    sheet.append(["钱一", "１３６ ０００１ ０００１", unit, "是"])
    sheet.append(["孙二", "1360001", unit, "是"])
    sheet.append(["李三", "13600010003", unit, "是"])
    path = tmp_path / "新党员.xlsx"
    book.save(path)
    return path


def test_upload_a_roster_with_one_bad_row_see_it_then_import_the_good_rows(
    browser: Any, server: Server, tmp_path: Path
) -> None:
    page = logged_in(browser, server, "alliance_admin")
    page.get_by_role("link", name="花名册").click()
    page.wait_for_url(f"{server.base}/admin/roster")
    expect(page.get_by_text("共 30 条")).to_be_visible()
    shoot(page, "10-roster")
    unit = page.locator("table.list tbody tr").first.locator("td").nth(2).inner_text()
    page.get_by_role("link", name="导入名单").click()
    shoot(page, "11-import")
    page.locator("select[name=kind]").select_option("members")
    page.locator("input[type=file]").set_input_files(str(_roster(tmp_path, unit)))
    page.get_by_role("button", name="检查文件").click()
    expect(page.get_by_text("第 4 行：手机“1360001”不对，应为 1 开头的 11 位数字")).to_be_visible()
    expect(page.get_by_text("尚未写入任何内容")).to_be_visible()
    shoot(page, "12-import-check")
    page.get_by_role("button", name="只导入正确的 2 行").click()
    expect(page.get_by_text("已导入：新成员 2 名；跳过有误的 1 行")).to_be_visible()
    shoot(page, "13-import-done")
    page.get_by_role("link", name="新成员的邀请码（可打印）").click()
    expect(page.get_by_role("heading", name="邀请码（2 人）")).to_be_visible()
    assert page.locator(".invite svg").count() == 2  # a QR code each: t.me/…?start=CODE
    code = page.locator(".invite .code").first.inner_text()
    shoot(page, "14-invite-sheet")
    assert "绑定成功！欢迎您，钱一" in server.chat("qian", f"绑定 {code}")
    page.goto(f"{server.base}/admin/roster?q=钱一")
    page.get_by_role("link", name="钱一").click()
    expect(page.get_by_role("heading", name="钱一")).to_be_visible()
    shoot(page, "15-member")
    page.get_by_role("button", name="重新生成邀请码").click()
    assert page.locator("#invite .code").inner_text() != code  # in place (htmx)
    page.goto(f"{server.base}/admin/roster/units")
    shoot(page, "16-units")
    page.goto(f"{server.base}/admin/roster/invites")
    shoot(page, "17-invites")
    page.goto(f"{server.base}/admin/roster/members/new")
    shoot(page, "18-member-new")


ORGS = """联盟,联盟类型,单位,单位类型,有党组织
茶叶产业链党建红色联盟,产业链,县春芽茶业有限公司,企业,是
茶叶产业链党建红色联盟,产业链,县云雾茶叶专业合作社,企业,是
"""
MEMBERS = """姓名,手机,单位,角色
周春华,13700000001,县春芽茶业有限公司,支部书记
吴晓东,13700000002,县云雾茶叶专业合作社,
"""


def test_set_up_a_rotation_for_an_imported_alliance_and_see_the_host_in_chat(
    browser: Any, server: Server, tmp_path: Path
) -> None:
    orgs, members = tmp_path / "orgs.csv", tmp_path / "members.csv"
    orgs.write_text(ORGS, encoding="utf-8")
    members.write_text(MEMBERS, encoding="utf-8")
    server.cli("import", "orgs", str(orgs))
    server.cli("import", "members", str(members))
    with (tmp_path / "members.csv.invites.csv").open(encoding="utf-8-sig") as handle:
        codes = {r["姓名"]: r["邀请码"] for r in csv.DictReader(handle)}
    assert "绑定成功" in server.chat("wu", f"绑定 {codes['吴晓东']}")
    assert "您所在的联盟还没有设置轮值安排。" in server.chat("wu", "/rotation")
    page = logged_in(browser, server, "admin")
    page.get_by_role("link", name="轮值").click()
    shoot(page, "20-rotation-list")
    page.locator("input[name=unset]").check()
    page.get_by_role("link", name="茶叶产业链党建红色联盟").click()
    expect(page.get_by_text("这个联盟还没有轮值安排")).to_be_visible()
    page.get_by_label("县云雾茶叶专业合作社 轮办顺序").fill("1")
    page.get_by_label("县春芽茶业有限公司 轮办顺序").fill("2")
    page.get_by_label("县春芽茶业有限公司 主席顺序").fill("1")
    page.get_by_role("button", name="保存轮值安排").click()
    expect(page.get_by_text("轮值安排已保存")).to_be_visible()
    shoot(page, "21-rotation")
    said = server.chat("wu", "/rotation")
    assert "主席单位：县春芽茶业有限公司" in said
    assert re.search(r"本期轮值（\d{4}年\d{1,2}月）：县云雾茶叶专业合作社", said), said


def test_sign_and_resolve_a_ticket_from_the_queue(browser: Any, server: Server) -> None:
    said = server.chat("member", "增值税发票开不出来，税务这边卡住了", "#1", "#1", "#1")
    number = re.search(r"WT-\d{4}-\d{4}", said)
    assert number, said
    page = logged_in(browser, server, "officer_tax")
    expect(page.get_by_role("heading", name=re.compile("工单 · 县税务局"))).to_be_visible()
    shoot(page, "30-tickets")
    page.get_by_role("link", name=number.group(0)).click()
    shoot(page, "31-ticket")
    page.get_by_role("button", name="签收").click()
    expect(page.get_by_text("已签收，部门报到成功")).to_be_visible()
    form = page.locator("form", has=page.locator("input[name=do][value=resolve]"))
    form.locator("textarea").fill("已上门辅导，发票已开出。")
    form.get_by_role("button", name="办结").click()
    expect(page.get_by_text("确认后，以下的人会收到通知")).to_be_visible()
    shoot(page, "32-ticket-confirm")
    page.get_by_role("button", name="确认办结").click()
    expect(page.get_by_text("已办结，已请反映人评价。")).to_be_visible()
    expect(page.get_by_text("已办结，待评价").first).to_be_visible()
    shoot(page, "33-ticket-resolved")
    said = server.chat("member", "我的吹哨")
    assert f"{number.group(0)}｜税务发票｜已办结，待评价" in said


def test_compose_a_notice_and_read_its_receipts(browser: Any, server: Server) -> None:
    page = logged_in(browser, server, "admin")
    page.get_by_role("link", name="通知").click()
    shoot(page, "40-notices")
    page.get_by_role("link", name="发通知").click()
    page.locator("textarea[name=text]").fill("请各单位本周五前报送党建工作台账。")
    page.get_by_label("选择联盟").check()
    page.get_by_label("食品产业链党建红色联盟", exact=True).check()
    shoot(page, "41-notice-new")
    page.get_by_role("button", name="预览").click()
    expect(page.get_by_text("收件人")).to_be_visible()
    shoot(page, "42-notice-preview")
    page.get_by_role("button", name=re.compile("确认发送给 \\d+ 人")).click()
    expect(page.get_by_text("通知已发出。")).to_be_visible()
    receipts = page.url.split("?")[0]
    assert "请各单位本周五前报送党建工作台账" in server.chat("member", "收到")
    page.goto(receipts + "?acked=1")
    rows = page.locator("#listing table.list tbody tr")
    assert rows.count() == 1 and "已确认" in rows.first.inner_text()
    shoot(page, "43-notice-receipts")
    page.goto(receipts)
    page.get_by_role("button", name="提醒未确认").click()
    expect(page.get_by_text(re.compile(r"已提醒 \d+ 位未确认的人"))).to_be_visible()


def test_the_other_pages_at_two_widths(browser: Any, server: Server) -> None:
    page = logged_in(browser, server, "admin")
    for path, name, heading, detail in (
        ("/admin/departments", "50-departments", "部门与分派", "51-department"),
        ("/admin/resources", "52-resources", "共享资源", "53-resource"),
        ("/admin/activities", "54-activities", "活动", "55-activity"),
        ("/admin/audit", "56-audit", "审计日志", ""),
    ):
        page.goto(server.base + path)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        shoot(page, name)
        if detail:
            page.locator("#listing table.list tbody a").first.click()
            page.wait_for_load_state()
            shoot(page, detail)
