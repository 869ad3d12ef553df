"""/stats after simulated weeks, its chart, /export and `python -m bot export`, the digest."""

from __future__ import annotations

import asyncio
import os
import re
import stat
import time
import warnings
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select

from bot.core.clock import FrozenClock, local_datetime
from bot.demo.simulate import simulate_weeks
from bot.scheduler import run_all
from handlers import SWEEPS
from handlers.charts import cjk_font
from models.outbox import OutboxMessage
from tests.conftest import START
from tests.fakes import Chat

WEEKS = 4
NOTICES = (
    r"通知：(\d+) 条，应收 (\d+) 人次，送达 (\d+) 人次（未绑定或发送失败 (\d+) 人次），"
    r"已确认 (\d+)"
)


async def simulate(chat: Chat, clock: FrozenClock, weeks: int = WEEKS) -> None:
    async with chat.app.sessionmaker() as session, session.begin():
        await simulate_weeks(session, START, weeks)
    clock.set(START + timedelta(weeks=weeks))


def figure(text: str, pattern: str) -> list[int]:
    found = re.search(pattern, text)
    assert found, (pattern, text)
    return [int(g) for g in found.groups()]


def rows(path: Path) -> list[tuple[object, ...]]:
    sheet = load_workbook(path).active
    assert sheet is not None
    return list(sheet.iter_rows(min_row=2, values_only=True))


async def test_stats_after_simulated_weeks_shows_figures_and_a_chart(
    chat: Chat, clock: FrozenClock
) -> None:
    await simulate(chat, clock)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        [reply, chart] = await chat.replies("admin", "/stats")
    lines = reply.text.splitlines()
    assert lines[4] == "合计：联盟 14 个，成员党组织 63 个，党员 360 名，辐射单位 362 家"
    # 14 alliances × 4 weeks, plus the demo's own four activities (all over by now).
    held, expected, present = figure(lines[5], r"已举办 (\d+) 场，应到 (\d+) 人次，实到 (\d+)")
    assert held == 14 * WEEKS + 4 and 0 < present < expected
    assert lines[6].startswith("流动党员：")
    # 4 demo tickets and two a week: one resolved on time, one still open and overdue.
    assert figure(lines[7], r"共 (\d+) 件")[0] == 4 + 2 * WEEKS
    assert "超期 " in lines[7] and "满意度 100%" in lines[7]
    notices, recipients, delivered, unreached, acked = figure(lines[8], NOTICES)
    assert notices == 2 + WEEKS and 0 < acked < delivered < recipients
    assert delivered + unreached == recipients  # every receipt was sent or could not be
    assert lines[8].endswith(f"确认率 {acked / delivered:.0%}")
    assert chart.image is not None and chart.image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-wqy-microhei)")
    missing = [w for w in caught if "missing from font" in str(w.message)]
    assert missing == [], "Chinese labels fell back to a font without CJK glyphs"


async def test_exports_hold_the_numbers_stats_shows(chat: Chat, clock: FrozenClock) -> None:
    await simulate(chat, clock, weeks=2)
    [stats] = (await chat.say("admin", "/stats"))[:1]
    total = figure(stats, r"吹哨工单：共 (\d+) 件")[0]
    overdue = figure(stats, r"超期 (\d+) 件")[0]
    _, recipients, delivered, unreached, acked = figure(stats, NOTICES)
    [tickets] = await chat.replies("admin", "/export tickets")
    assert tickets.text == f"吹哨工单（{total} 行）" and tickets.file is not None
    assert tickets.file.name == "吹哨工单-全县-20261215-0900.xlsx"
    head, *sheet = all_rows(tickets.file)
    assert head[:11] == (
        "工单号", "状态", "分类", "跟进委员会", "承办部门", "反映单位", "所属联盟", "反映人",
        "联系电话", "反映人数", "问题",
    )  # fmt: skip
    assert len(sheet) == total
    by_number = {r[0]: dict(zip(head, r, strict=True)) for r in sheet}
    # One ticket as the chat shows it, and as the sheet has it.
    [detail] = await chat.say("admin", "/tickets WT-2026-0003")
    row = by_number["WT-2026-0003"]
    assert detail.startswith(f"📋 WT-2026-0003｜{row['状态']}")
    assert f"分类：{row['分类']}（{row['跟进委员会']}跟进）" in detail
    assert f"承办：{row['承办部门']}" in detail and f"问题：{row['问题']}" in detail
    assert f"办理结果：{row['办理结果']}" in detail and f"评价：{row['评价']}" in detail
    assert isinstance(row["提交时间"], datetime) and isinstance(row["办结时间"], datetime)
    assert row["提交时间"].strftime("%m月%d日 %H:%M") in detail
    # Chinese values only; open tickets within their time are not called late.
    english = {"dispatched", "submitted", "signed", "tax", "finance", "satisfied"}
    assert not english & {v for r in sheet for v in r}
    on_time = Counter(r["按时办结"] for r in by_number.values())
    assert on_time["已超期"] > 0 and on_time["未到期"] > 0 and on_time["是"] > 0
    assert len([r for r in by_number.values() if r["超时"]]) == overdue  # as /stats counts
    [notices] = await chat.replies("admin", "导出 通知")
    assert notices.file is not None
    head, *sheet = all_rows(notices.file)
    assert head[5:] == (
        "应收人数",
        "送达人数",
        "未送达（未绑定或失败）",
        "已确认",
        "确认率（已确认÷送达）",
    )
    columns = list(zip(*sheet, strict=True))
    assert (sum(columns[5]), sum(columns[6]), sum(columns[7]), sum(columns[8])) == (
        recipients,
        delivered,
        unreached,
        acked,
    )
    [members] = await chat.replies("admin", "/export members")
    assert members.file is not None
    head, *sheet = all_rows(members.file)
    assert head == (
        "姓名", "手机号", "所在单位", "所属联盟", "所在部门", "身份", "党员", "流动党员",
        "外出工作地", "是否绑定", "绑定平台",
    )  # fmt: skip
    party = [r for r in sheet if r[6] == "是" and r[2]]
    assert len(party) >= 360
    bound = {r[0]: r for r in sheet if r[9] == "已绑定"}
    [me] = await chat.say("host", "我的信息")
    host = next(r for name, r in bound.items() if name in me)
    assert host[3] == "食品产业链党建红色联盟" and "支部书记" in host[5] and host[10] == "控制台"
    assert len(bound) == 6  # the console accounts; newcomer has not bound yet
    [attendance] = await chat.replies("alliance_admin", "/export attendance")
    assert attendance.file is not None
    assert {r[1] for r in rows(attendance.file)} == {"食品产业链党建红色联盟"}


def all_rows(path: Path) -> list[tuple[object, ...]]:
    """Header and rows of an exported sheet, checking what every export shares: a frozen
    header, a width per column, and a file only the service may read."""
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    sheet = load_workbook(path).active
    assert sheet is not None and sheet.freeze_panes == "A2"
    found = list(sheet.iter_rows(values_only=True))
    widths = [
        sheet.column_dimensions[get_column_letter(i)].width for i in range(1, len(found[0]) + 1)
    ]
    assert all(w and w >= 6 for w in widths)
    return found


async def test_sent_files_are_removed_once_nothing_waits_for_them(
    chat: Chat, private_files: Path
) -> None:
    from handlers import files
    from models.outbox import OutboxStatus

    [export] = await chat.replies("admin", "/export members")
    [_, chart] = await chat.replies("admin", "/stats")
    assert export.file is not None and chart.image is not None
    assert export.file.parent == chart.image.parent == private_files
    waiting = files.outgoing("待发送", suffix=".xlsx")
    async with chat.app.sessionmaker() as session, session.begin():
        session.add(
            OutboxMessage(
                member_id=None,
                text="文件",
                file=str(waiting),
                status=OutboxStatus.PENDING,
                created_at=chat.app.clock.now(),
                not_before=chat.app.clock.now(),
            )
        )
    old = time.time() - files.KEEP.total_seconds() - 60
    for path in (export.file, chart.image, waiting):
        os.utime(path, (old, old))
    fresh = files.outgoing("刚生成", suffix=".xlsx")
    async with chat.app.sessionmaker() as session, session.begin():
        removed = await files.sweep(
            session=session, now=chat.app.clock.now(), settings=chat.app.settings
        )
    assert sorted(removed) == sorted([export.file, chart.image])
    assert not export.file.exists() and waiting.exists() and fresh.exists()


async def test_alliance_admin_export_is_their_alliance(chat: Chat, clock: FrozenClock) -> None:
    await simulate(chat, clock, weeks=1)
    [stats, _] = await chat.say("alliance_admin", "/stats")
    total = figure(stats, r"吹哨工单：共 (\d+) 件")[0]
    [tickets] = await chat.replies("alliance_admin", "/export tickets")
    assert tickets.file is not None and len(rows(tickets.file)) == total
    assert await chat.say("alliance_admin", "/export 捐款") == [
        "导出哪一份？点下面的按钮，或发送：导出 成员 / 签到 / 工单 / 通知 / 资源。"
    ]
    [typed] = await chat.replies("alliance_admin", "吹哨工单")  # a button's label, typed
    assert typed.file is not None and len(rows(typed.file)) == total
    assert (await chat.say("member", "/export tickets"))[0].startswith(
        "抱歉，“导出”只对联盟管理员开放"
    )


async def test_cli_export_writes_the_same_ticket_rows(
    chat: Chat, clock: FrozenClock, tmp_path: Path
) -> None:
    from bot.cli import main

    await simulate(chat, clock, weeks=1)
    [stats, _] = await chat.say("admin", "/stats")
    total = figure(stats, r"吹哨工单：共 (\d+) 件")[0]
    for kind in ("tickets", "members", "notices", "attendance"):
        path = tmp_path / f"{kind}.xlsx"
        assert await asyncio.to_thread(main, ["export", kind, str(path)]) == 0
        assert rows(path)
    assert len(rows(tmp_path / "tickets.xlsx")) == total


async def test_weekly_digest_once_per_week_with_overdue_tickets(
    chat: Chat, clock: FrozenClock
) -> None:
    sweeps = [s for s in SWEEPS if s.id == "weekly_digest"]
    await simulate(chat, clock, weeks=2)  # now: Tuesday 2026-12-15
    app = chat.app
    await run_all(sweeps, app.sessionmaker, clock, app.settings)
    await app.sender.drain()
    [digest] = chat.received("admin")
    lines = digest.splitlines()
    assert lines[0] == "🗓️ 上周（12月07日—12月13日）全县数据周报"
    assert lines[1].startswith("活动 14 场，参与率 ")
    assert lines[2] == "新吹哨 2 件，办结 1 件"
    assert lines[3] == "通知 1 条，送达 360/360 人次，确认率 50%"
    assert lines[4].startswith("会议 ")
    assert lines[5] == "经费：收入 0元，支出 0元；待审批支出 0 笔"  # handlers/results_lines.py
    assert lines[6].startswith("⚠️ 超期工单 ") and "WT-2026-" in digest
    [mine] = chat.received("alliance_admin")
    assert mine.startswith("🗓️ 上周（12月07日—12月13日）本联盟数据周报")
    # An alliance's digest carries its service hours and its members' points too.
    assert "\n志愿服务（今年）：" in mine and "\n党员积分（2026年）：" in mine
    clock.advance(minutes=60 * 24)
    await run_all(sweeps, app.sessionmaker, clock, app.settings)
    clock.set(local_datetime(2026, 12, 21, 7, 0))  # Monday before 08:00: not yet
    await run_all(sweeps, app.sessionmaker, clock, app.settings)
    async with app.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).where(OutboxMessage.kind == "weekly_digest")
        )
    assert count == 2  # one super admin and one alliance admin, once
    clock.set(local_datetime(2026, 12, 21, 8, 5))
    await run_all(sweeps, app.sessionmaker, clock, app.settings)
    await app.sender.drain()
    assert len(chat.received("admin")) == 2


async def test_the_digest_counts_a_ticket_past_both_deadlines_once(
    chat: Chat, clock: FrozenClock
) -> None:
    clock.set(local_datetime(2026, 12, 14, 8, 5))  # Monday: last week's digest goes out
    sweeps = [s for s in SWEEPS if s.id == "weekly_digest"]
    await run_all(sweeps, chat.app.sessionmaker, clock, chat.app.settings)
    await chat.app.sender.drain()
    [digest] = chat.received("admin")
    late = digest.split("⚠️ ", 1)[1].splitlines()
    assert late[:4] == [
        "超期工单 3 件：",
        "· WT-2026-0001 县地方金融服务中心 未签收、未办结",
        "· WT-2026-0002 县税务局 未办结",
        "· WT-2026-0004 待分派 未签收、未办结",
    ]
    assert late[4].startswith("志愿服务（今年）：") and late[5].startswith("承诺（今年）：")
    assert late[6].startswith("共建协议（2026年）：") and late[7].startswith("党建项目（2026年）")
    [stats, _] = await chat.say("admin", "/stats")
    assert figure(stats, r"超期 (\d+) 件") == [3]
