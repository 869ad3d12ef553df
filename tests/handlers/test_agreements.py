"""共建协议 transcripts: the host's unit signs this year's agreement with a scan, the alliance
admin countersigns and rates it at year end; a reported clause; one a unit a year; the January
reminder to the units without one, sent once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.core.clock import FrozenClock, local_datetime
from handlers import agreements
from models.agreement import Agreement, Status, status_of
from models.files import store_upload
from models.outbox import OutboxMessage
from tests.fakes import Chat
from tests.handlers.test_volunteer import member_of
from tests.unit.test_files import photo


async def rows(chat: Chat) -> list[Agreement]:
    async with chat.app.sessionmaker() as session:
        return list((await session.execute(select(Agreement).order_by(Agreement.id))).scalars())


async def test_signed_with_a_scan_countersigned_and_rated(chat: Chat, clock: FrozenClock) -> None:
    [card] = await chat.say("host", "共建协议")
    lines = card.splitlines()
    assert lines[0].startswith("📜 食品产业链党建红色联盟2026年共建协议 · ")
    assert lines[1] == "状态：未签订"
    assert "1. 本单位党员全年参加联盟活动：目标 24 人次（当前 0 人次）" in lines
    assert "4. 认领并完成一个商圈党建项目（尚未认领项目）" in lines
    assert await chat.press("host", "签订协议") == [
        "请发送协议签字盖章页的照片或 PDF 存档；没有就点“跳过”。"
    ]
    assert await chat.say("host", "好的") == ["请发送照片或文件，或点“跳过”。（发送“取消”退出）"]
    scan = store_upload(data=photo(), name="协议.jpg", sent_as="photo", settings=chat.app.settings)
    [preview] = [r.text for r in await chat.send(chat.event("host", attachments=(scan,)))]
    assert (
        preview.startswith("将以") and "（共 6 条），附照片。签订后由联盟管理员会签。" in preview
    )
    assert await chat.press("host", "确认签订") == [
        "✅ 已签订食品产业链党建红色联盟2026年共建协议，等待联盟会签。"
    ]
    [row] = await rows(chat)
    host = await member_of(chat, "host")
    assert (row.unit_id, row.year, row.signed_by_id) == (host.home_unit_id, 2026, host.id)
    assert row.scan_sha256 == scan.sha256 and len(row.clauses) == 6
    assert chat.received("alliance_admin")[-1].endswith(
        "2026年共建协议（" + host.name + "），请会签。"
    )

    [again] = await chat.say("host", "共建协议")
    assert "状态：已签订，待联盟会签" in again and "，附扫描件" in again
    await chat.press("host", "报告第5条")
    assert await chat.say("host", "参加了 3 次联席会议，落实决议 4 项") == [
        "已记录第5条的落实情况。"
    ]
    [row] = await rows(chat)
    assert row.reports == {"meeting": "参加了 3 次联席会议，落实决议 4 项"}

    [ledger] = await chat.say("alliance_admin", "协议台账")
    assert "1/" in ledger.splitlines()[0] and "已签订，待联盟会签" in ledger
    [done] = await chat.press_received("alliance_admin", "会签")
    assert done.startswith("已会签") and done.endswith("的2026年共建协议。")
    assert (
        chat.received("host")[-1]
        == "食品产业链党建红色联盟已会签贵单位的2026年共建协议，协议生效。"
    )
    assert await chat.press_received("alliance_admin", "会签") == ["这份协议已经会签过了。"]

    # December: the year-end rating is open.
    [ledger] = await chat.say("alliance_admin", "协议台账")
    assert "待年终评定" in ledger
    [ask] = await chat.press("alliance_admin", next(b.label for b in chat.last["alliance_admin"]))
    assert ask.startswith("请评定") and ask.endswith("2026年共建协议的履行情况：")
    [rated] = await chat.press("alliance_admin", "良好")
    assert rated.endswith("2026年共建协议：良好。")
    [row] = await rows(chat)
    assert row.rating == "良好" and status_of(row, clock.now()) == Status.RATED
    assert chat.received("host")[-1].endswith("年终评定：良好。")


async def test_one_a_unit_a_year_and_only_its_secretary(chat: Chat) -> None:
    [refused] = await chat.say("member", "共建协议")
    assert refused.startswith("抱歉，“共建协议”只对支部书记开放。")
    await chat.say("host", "共建协议")
    await chat.press("host", "签订协议")
    await chat.press("host", "跳过")
    await chat.press("host", "确认签订")
    [card] = await chat.say("host", "共建协议")
    assert "签订协议" not in [b.label for b in chat.last["host"]]
    assert "状态：已签订，待联盟会签" in card
    [row] = await rows(chat)
    assert row.scan_sha256 == ""


async def test_status_follows_from_the_year() -> None:
    signed = Agreement(year=2026, signed_at=local_datetime(2026, 3, 1), rating="")
    assert status_of(None, local_datetime(2026, 3, 2)) == Status.UNSIGNED
    assert status_of(signed, local_datetime(2026, 3, 2)) == Status.SIGNED
    assert status_of(signed, local_datetime(2027, 1, 2)) == Status.LAPSED
    signed.countersigned_at = local_datetime(2026, 3, 5)
    assert status_of(signed, local_datetime(2026, 6, 1)) == Status.CURRENT
    assert status_of(signed, local_datetime(2026, 12, 1)) == Status.IN_REVIEW
    assert status_of(signed, local_datetime(2027, 2, 1)) == Status.IN_REVIEW


async def test_the_january_reminder_goes_once_to_units_without_one(
    chat: Chat, clock: FrozenClock
) -> None:
    async with chat.app.sessionmaker() as session, session.begin():
        now = clock.now()
        assert await agreements.sweep(session=session, now=now, settings=chat.app.settings) == 0
    at_midnight = local_datetime(2027, 1, 1, 0, 0)
    async with chat.app.sessionmaker() as session, session.begin():
        assert (
            await agreements.sweep(session=session, now=at_midnight, settings=chat.app.settings)
            == 0
        )
    january = local_datetime(2027, 1, 4, 9)
    async with chat.app.sessionmaker() as session, session.begin():
        sent = await agreements.sweep(session=session, now=january, settings=chat.app.settings)
    assert sent > 0
    async with chat.app.sessionmaker() as session, session.begin():
        again = await agreements.sweep(
            session=session, now=january + timedelta(hours=1), settings=chat.app.settings
        )
    assert again == 0
    host = await member_of(chat, "host")
    async with chat.app.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).where(OutboxMessage.kind == "agreement_remind")
        )
        texts = list(
            await session.scalars(
                select(OutboxMessage.text).where(
                    OutboxMessage.kind == "agreement_remind", OutboxMessage.member_id == host.id
                )
            )
        )
    assert count == sent
    assert texts == ["请签订食品产业链党建红色联盟2027年共建协议：发送“共建协议”查看条款并签订。"]


async def test_stats_count_agreements_and_projects(chat: Chat) -> None:
    await chat.say("host", "共建协议")
    await chat.press("host", "签订协议")
    await chat.press("host", "跳过")
    await chat.press("host", "确认签订")
    await chat.press_received("alliance_admin", "会签")
    await chat.say("alliance_admin", "发布项目")
    await chat.say("alliance_admin", "商圈夜市党建服务站")
    await chat.say("alliance_admin", "12月31日")
    await chat.press("alliance_admin", "发布")
    [figures, _chart] = await chat.say("alliance_admin", "统计")
    lines = figures.splitlines()
    [agreements] = [line for line in lines if line.startswith("共建协议（2026年）")]
    assert ("已签订 1 家，已会签 1 家，已评定 0 家") in agreements
    assert "党建项目（2026年）：待认领 1 个，推进中 0 个（逾期 0 个），已验收 0 个" in lines
    assert "年终评诺：已兑现 0 项，未兑现 0 项" in lines
    assert any(line.startswith("党员积分（2026年）：") for line in lines)
