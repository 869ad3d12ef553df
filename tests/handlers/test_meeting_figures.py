"""The demo's quarter of meetings, and the meeting figures in /stats, the weekly digest and
the stars (达标创星)."""

from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import select

from bot.core.clock import FrozenClock, local_datetime
from bot.scheduler import run_all
from handlers import SWEEPS
from models.followup import FollowUp, FollowUpEvent
from models.meeting import (
    DECISION_SOURCE,
    Meeting,
    MeetingDecision,
)
from models.minutes import (
    decision_state,
)
from models.scope import Scope
from models.stars import WEIGHTS, monthly_scores
from tests.conftest import START
from tests.fakes import Chat


async def test_the_demo_holds_a_quarter_of_meetings_with_decisions_in_every_state(
    full_chat: Chat,
) -> None:
    async with full_chat.app.sessionmaker() as session:
        meetings = list((await session.execute(select(Meeting))).scalars())
        items = list(
            (
                await session.execute(select(FollowUp).where(FollowUp.source == DECISION_SOURCE))
            ).scalars()
        )
        decided = list((await session.execute(select(MeetingDecision))).scalars())
        escalated = list(
            (
                await session.execute(
                    select(FollowUpEvent.note).where(FollowUpEvent.action == "escalate")
                )
            ).scalars()
        )
    closed = [m for m in meetings if m.closed_at is not None]
    assert len(closed) == 7 and len(meetings) == 8  # the coming 《党建联席会议》 is open
    assert len({m.alliance_id for m in closed}) == 6
    assert all(local_datetime(2026, 10, 1) <= m.activity.starts_at < START for m in closed)
    assert len(items) == len(decided) and all(d.followup_id for d in decided)
    states = Counter(decision_state(i, START) for i in items)
    assert {"done", "done_late", "extended", "cancelled", "overdue", "open"} <= set(states)
    # Due 25 November: escalated on the 26th, to the county three working days later (1 Dec).
    assert escalated == ["overdue", "county"]
    # The console accounts have something to try: the member an open item, the host the item
    # that needs departments (需要协调), the alliance admin the overdue one.
    [member] = await full_chat.say("member", "我的待办")
    # (besides the items of the demo's pledges, bot/demo/volunteer.py)
    assert member.startswith("📌 我的待办（2 项，逾期的在前）：\n1. DB-")
    assert "｜承诺：全年参加联盟活动不少于 12 次｜" in member
    [host] = await full_chat.say("host", "我的待办")
    assert "解决园区企业季节性用工缺口" in host
    [admin] = await full_chat.say("alliance_admin", "我的待办")
    assert "｜已逾期 " in admin and "协调冷链车辆进城通行证" in admin
    [listing] = await full_chat.say("host", "会议")
    lines = listing.splitlines()
    assert lines[1].startswith("1. 《党建联席会议》12月04日（周五） 09:00｜议题征集中")
    assert re.match(
        r"2\. 《11月发展联议：冷链物流协同》.*｜出席 6/7｜决议 4 项（完成 0，逾期 1）", lines[2]
    )
    assert re.match(r"3\. 《10月党建联席会议》.*｜出席 6/7｜决议 4 项（完成 2，逾期 0）", lines[3])
    [coming] = await full_chat.press("host", "1. 党建联席会议")
    assert "议程：\n1. 上次决议落实情况\n" in coming and "— 已逾期" in coming
    assert "· 流动党员就近参加组织生活的办法（依汶佳美食品有限公司）" in coming
    # parked at the first meeting, left at the second: proposed again
    assert "待处理议题：\n· 联盟统一采购包装材料（砖埠和信食品有限公司）\n" in coming


async def test_stats_show_meetings_per_alliance_attendance_and_decisions(
    full_chat: Chat,
) -> None:
    [county, _] = await full_chat.say("admin", "/stats")
    [line, missing] = county.splitlines()[-2:]
    found = re.fullmatch(
        r"会议（2026年第四季度）：召开 (\d+) 场，(\d+)/14 个联盟召开（平均每联盟 ([\d.]+) 场），"
        r"出席率 (\d+)%；决议 (\d+) 项，按时落实 (\d+) 项，逾期落实 (\d+) 项，逾期未完成 (\d+) 项",
        line,
    )
    assert found, line
    held, alliances, per, rate, made, on_time, late, overdue = found.groups()
    assert (held, alliances, per) == ("7", "6", "0.5")
    assert 70 <= int(rate) < 100  # one invitee of each meeting asked for leave
    async with full_chat.app.sessionmaker() as session:
        items = list(
            (
                await session.execute(select(FollowUp).where(FollowUp.source == DECISION_SOURCE))
            ).scalars()
        )
    states = Counter(decision_state(i, START) for i in items)
    assert (int(made), int(on_time), int(late), int(overdue)) == (
        len(items),
        states["done"],
        states["done_late"],
        states["overdue"],
    )
    assert missing.startswith("本季度尚未召开会议的联盟：") and missing.endswith("等 8 个")
    [mine, _] = await full_chat.say("alliance_admin", "统计")
    assert mine.splitlines()[-1].startswith("会议（2026年第四季度）：召开 2 场，1/1 个联盟召开")


async def test_the_weekly_digest_counts_last_weeks_meetings(
    full_chat: Chat, clock: FrozenClock
) -> None:
    clock.set(local_datetime(2026, 11, 23, 8, 5))  # the Monday after 宠物食品's meeting
    digest = [s for s in SWEEPS if s.id == "weekly_digest"]
    await run_all(digest, full_chat.app.sessionmaker, clock, full_chat.app.settings)
    await full_chat.app.sender.drain()
    [county] = full_chat.received("admin")
    assert re.search(r"\n会议 1 场，出席率 \d+%，形成决议 2 项；逾期未落实的决议 \d+ 项\n", county)
    [mine] = full_chat.received("alliance_admin")
    assert "\n会议 0 场，出席率 —，形成决议 0 项；逾期未落实的决议 0 项\n" in mine


async def test_stars_count_decisions_done_on_time(full_chat: Chat) -> None:
    assert sum(WEIGHTS.values()) == 100
    async with full_chat.app.sessionmaker() as session:
        items = list(
            (
                await session.execute(select(FollowUp).where(FollowUp.source == DECISION_SOURCE))
            ).scalars()
        )
        november = local_datetime(2026, 11, 15)
        scores = {s.unit_id: s for s in await monthly_scores(session, Scope.COUNTY, november)}
    due_in_november = [
        i for i in items if i.owner_unit_id and i.due_on.month == 11 and i.status != "cancelled"
    ]
    assert due_in_november
    checked = 0
    for i in due_in_november:  # judged on 15 November: done, or past due
        if i.status == "done" or i.due_on < november.date():
            expected = WEIGHTS["decisions"] * (1 if i.done_on_time() else 0)
            others = [
                j for j in due_in_november if j.owner_unit_id == i.owner_unit_id and j is not i
            ]
            if not others:
                assert scores[i.owner_unit_id].decisions == expected
                checked += 1
    assert checked
    [ranking] = await full_chat.say("host", "品牌排行")
    first = next(n for n, line in enumerate(ranking.splitlines()) if line.startswith("1. "))
    assert " · 决议 " in ranking.splitlines()[first + 1]
    assert "决议按时落实 10" in ranking
