"""工单 and 通知 over httpx: the queue (oldest first, overdue marked) and the state table's
actions with their previews; composing a notice, its receipts and 提醒未确认."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from bot.core.clock import FrozenClock, to_local
from models.notice import Notice, NoticeRecipient, notice_stats
from models.outbox import OutboxMessage
from models.ticket import Ticket, TicketState
from tests.admin.conftest import Login, csrf_data, table_head, table_rows, xlsx_rows
from tests.fakes import Chat


async def file_one(chat: Chat) -> Ticket:
    """The member files a tax problem in chat: dispatched to the tax department."""
    await chat.say("member", "增值税发票开不出来，税务这边卡住了")
    for _ in range(3):
        await chat.press("member", chat.last["member"][0].label)
    async with chat.app.sessionmaker() as session:
        ticket = await session.scalar(select(Ticket).order_by(Ticket.id.desc()))
    assert ticket is not None and ticket.state == TicketState.DISPATCHED
    return ticket


async def test_the_queue_is_oldest_first_with_overdue_marked_and_exports_the_same(
    chat: Chat, login: Login, clock: FrozenClock
) -> None:
    await file_one(chat)
    clock.advance(days=3)
    client = await login("officer_tax")
    page = await client.get("/admin/tickets")
    rows = table_rows(page.text)
    numbers = [r[0] for r in rows]
    assert numbers == sorted(numbers)  # WT-YYYY-NNNN: filed in this order
    assert any(r[8] == "签收超时" for r in rows)
    assert 'class="late"' in page.text
    late = await client.get("/admin/tickets", params={"late": "1"})
    assert all(r[8] for r in table_rows(late.text))
    export = xlsx_rows((await client.get("/admin/tickets", params={"format": "xlsx"})).content)
    assert export[0] == table_head(page.text) and export[1:] == rows


async def test_an_officer_signs_then_resolves_after_seeing_what_will_be_sent(
    chat: Chat, login: Login
) -> None:
    ticket = await file_one(chat)
    client = await login("officer_tax")
    detail = await client.get(f"/admin/tickets/{ticket.id}")
    assert "签收" in detail.text and "退回" in detail.text and "不予受理" not in detail.text
    signed = await client.post(
        f"/admin/tickets/{ticket.id}/act", data=csrf_data(client, do="sign")
    )
    assert signed.status_code == 303
    await chat.app.sender.drain()
    assert chat.received("member")[-1].startswith(f"✅ 您反映的 {ticket.number} 已由县税务局签收")
    preview = await client.post(
        f"/admin/tickets/{ticket.id}/act",
        data=csrf_data(client, do="resolve", note="已上门辅导，发票已开出。"),
    )
    assert preview.status_code == 200 and "确认办结" in preview.text
    assert "反映人将收到：“🎉" in preview.text
    async with chat.app.sessionmaker() as session:
        assert (await session.get(Ticket, ticket.id)).state == TicketState.SIGNED  # type: ignore[union-attr]
    done = await client.post(
        f"/admin/tickets/{ticket.id}/act",
        data=csrf_data(client, do="resolve", note="已上门辅导，发票已开出。", confirmed="1"),
    )
    assert done.status_code == 303
    page = await client.get(done.headers["location"])
    assert "已办结，待评价" in page.text and "已上门辅导，发票已开出。" in page.text
    await chat.app.sender.drain()
    assert chat.received("member")[-1] == f"请为 {ticket.number} 的办理评价："
    again = await client.post(f"/admin/tickets/{ticket.id}/act", data=csrf_data(client, do="sign"))
    assert again.status_code == 409 and "状态不允许" in again.text


async def test_an_admin_routes_and_rejects_with_a_reason(chat: Chat, login: Login) -> None:
    ticket = await file_one(chat)
    client = await login("alliance_admin")
    moved = await client.post(
        f"/admin/tickets/{ticket.id}/act",
        data=csrf_data(client, do="route", department="finance", note="属于融资问题"),
    )
    assert moved.status_code == 303
    shown = (await client.get(moved.headers["location"])).text
    assert "县地方金融服务中心" in shown
    assert "⚠️ 该部门还没有干部使用红盟助手" in shown  # the demo's finance office has none
    empty = await client.post(
        f"/admin/tickets/{ticket.id}/act", data=csrf_data(client, do="reject", note="")
    )
    assert empty.status_code == 400 and "请写明理由或说明" in empty.text
    officer = await login("officer_tax")
    refused = await officer.post(
        f"/admin/tickets/{ticket.id}/act", data=csrf_data(officer, do="sign")
    )
    assert refused.status_code == 404  # no longer the tax department's ticket


async def test_a_merge_typed_as_in_the_chat_previews_the_target_it_names(
    chat: Chat, login: Login
) -> None:
    first = await file_one(chat)
    second = await file_one(chat)
    client = await login("alliance_admin")
    short = "".join(chr(ord(c) + 0xFEE0) for c in first.number[-4:])  # ０００１ from a phone
    shown = await client.post(
        f"/admin/tickets/{second.id}/act",
        data=csrf_data(client, do="merge", target=short, note="同一问题"),
    )
    assert shown.status_code == 200 and "确认合并" in shown.text
    told = f"{second.number} 已并入 {first.number}（更早反映的同一问题）合并办理"
    assert told in shown.text  # the number the reporter will be sent to, before confirming
    done = await client.post(
        f"/admin/tickets/{second.id}/act",
        data=csrf_data(client, do="merge", target=short, note="同一问题", confirmed="1"),
    )
    assert done.status_code == 303
    async with chat.app.sessionmaker() as session:
        merged = await session.get(Ticket, second.id)
    assert merged is not None and merged.state == TicketState.MERGED


async def test_compose_preview_send_and_read_the_receipts(chat: Chat, login: Login) -> None:
    client = await login("alliance_admin")
    form = await client.get("/admin/notices/new")
    assert "选择联盟" in form.text and "全县" not in form.text
    preview = await client.post(
        "/admin/notices/preview",
        data=csrf_data(client, text="请各单位周五前报送党建台账", kind="all", when="now"),
    )
    assert preview.status_code == 200
    found = re.search(r"收件人</dt><dd>(\d+) 人，其中 (\d+) 人未绑定", preview.text)
    assert found and int(found.group(1)) == 30  # only the food chain's members
    async with chat.app.sessionmaker() as session:
        assert await session.scalar(select(Notice).where(Notice.text.contains("党建台账"))) is None
    sent = await client.post(
        "/admin/notices/send",
        data=csrf_data(
            client, text="请各单位周五前报送党建台账", kind="all", when="now", remind=""
        ),
    )
    assert sent.status_code == 303
    receipts = sent.headers["location"].split("?")[0]
    await chat.app.sender.drain()
    assert any("党建台账" in t for t in chat.received("member"))
    await chat.say("member", "收到")
    page = await client.get(receipts, params={"acked": "1"})
    rows = table_rows(page.text)
    assert [r[3] for r in rows] == ["已确认"] and rows[0][2] == "已送达"
    waiting = table_rows((await client.get(receipts, params={"acked": "0"})).text)
    assert len(waiting) == 20 and all(r[3] == "未确认" for r in waiting)
    reminded = await client.post(
        f"{receipts}/remind", data=csrf_data(client), headers={"HX-Request": "true"}
    )
    # 29 have not acknowledged; those never bound cannot be reminded, and the admin is told.
    async with chat.app.sessionmaker() as session:
        notice = await session.scalar(select(Notice).where(Notice.text.contains("党建台账")))
        assert notice is not None
        figures = await notice_stats(session=session, notice_id=notice.id)
    reached = figures.delivered - figures.acknowledged
    assert reminded.text.strip() == (
        f"已提醒 {reached} 位未确认的人。另有 {29 - reached} 位未绑定或收不到，请另行通知。"
    )
    assert 0 < reached < 29
    listed = table_rows((await client.get("/admin/notices")).text)
    [row] = [r for r in listed if "党建台账" in r[5]]
    assert row[7:] == [str(figures.delivered), "1", f"{1 / figures.delivered:.0%}"]
    async with chat.app.sessionmaker() as session:
        notice = await session.scalar(select(Notice).where(Notice.text.contains("党建台账")))
        assert notice is not None and notice.reminded_at is not None
        reminders = await session.scalars(
            select(OutboxMessage.member_id).where(
                OutboxMessage.kind == "notice_reminder", OutboxMessage.ref_id == notice.id
            )
        )
        acked = await session.scalars(
            select(NoticeRecipient.member_id).where(
                NoticeRecipient.notice_id == notice.id, NoticeRecipient.acked_at.is_not(None)
            )
        )
        assert not set(acked) & set(reminders)
    export = xlsx_rows((await client.get(receipts, params={"format": "xlsx"})).content)
    assert len(export) == 31


async def test_a_notice_for_chosen_units_at_a_later_time(
    chat: Chat, login: Login, clock: FrozenClock
) -> None:
    client = await login("admin")
    units = await client.get("/admin/notices/units", params={"unit_q": "鑫源"})
    ids = re.findall(r'name="ids" value="(\d+)"', units.text)
    assert ids
    later = to_local(clock.now() + timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M")
    sent = await client.post(
        "/admin/notices/send",
        data=csrf_data(
            client, text="明天检查台账", kind="units", ids=ids[:1], when="later", at=later
        ),
    )
    assert sent.status_code == 303 and "ok=scheduled" in sent.headers["location"]
    none = await client.post(
        "/admin/notices/preview", data=csrf_data(client, text="x", kind="units", when="now")
    )
    assert none.status_code == 400 and "请至少选择一个联盟或单位。" in none.text
    listed = table_rows((await client.get("/admin/notices")).text)
    assert any(row[2] == "定时待发" and "明天检查台账" in row for row in listed)
    # Called off in the chat: the console says so too.
    [listing] = await chat.say("admin", "通知")
    number = re.search(r"#(\d+)", listing)
    assert number, listing
    await chat.press("admin", f"查看 #{number.group(1)}")
    await chat.press("admin", "取消发送")
    await chat.press("admin", "确认取消发送")
    listed = table_rows((await client.get("/admin/notices")).text)
    assert any(row[2] == "已取消" and "明天检查台账" in row for row in listed), listed
