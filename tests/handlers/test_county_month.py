"""A county set up from its own sheets (orgs, departments, members, rotation) with the
command line, its people bound with /start CODE, then a month in the simulator with the
sweeps running: host notices, activity reminders, "not published" reminders, and stars that
differ by unit."""

from __future__ import annotations

import asyncio
import csv
import re
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import App
from bot.core.clock import FrozenClock, local_datetime
from bot.demo.live import live_days
from handlers import SWEEPS
from models.member import Member
from models.outbox import OutboxMessage
from models.scope import Scope
from models.stars import monthly_scores
from tests.county_sheets import EAST, TEA, UNITS, people, write_county
from tests.fakes import Chat, RecordingTransport

pytestmark = pytest.mark.slow


async def import_county(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """The four sheets through `python -m bot import`; the invite codes by name."""
    from bot import cli

    async def main(args: list[str]) -> int:
        return int(await asyncio.to_thread(cli.main, args))

    paths = write_county(tmp_path / "county")
    assert await main(["import", "orgs", str(paths["orgs"])]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "读取了工作表“联盟与单位”（共 2 个工作表）。",
        "已新增联盟 2 个、单位 6 家、成员关系 7 条。",
    ]
    assert await main(["import", "departments", str(paths["departments"])]) == 0
    assert capsys.readouterr().out == "已新增部门 3 个、更名 0 个。\n"
    assert await main(["import", "members", str(paths["members"]), "--sheet", "花名册"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"已新增成员 {len(people())} 名。"
    assert await main(["import", "rotation", str(paths["rotation"])]) == 0
    assert capsys.readouterr().out == f"已设置轮值：{TEA}、{EAST}。\n"
    invites = paths["members"].with_name(paths["members"].name + ".invites.csv")
    with invites.open(encoding="utf-8-sig") as handle:
        return {row["姓名"]: row["邀请码"] for row in csv.DictReader(handle)}


async def test_a_county_from_its_own_sheets_runs_a_month(
    app: App,
    transport: RecordingTransport,
    clock: FrozenClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    codes = await import_county(tmp_path, capsys)
    chat = Chat(app, transport)
    for n, (name, *_) in enumerate(people()):
        [reply] = await chat.say(f"p{n}", f"/start {codes[name]}")
        assert f"绑定成功！欢迎您，{name}" in reply, reply
    [rotation] = await chat.say("p4", "轮值")  # a member of 县云雾茶叶专业合作社
    assert rotation.splitlines()[:3] == [
        f"🔄 {TEA}",
        f"主席单位：{UNITS[0]}（任期至 2027年02月28日）",
        f"本期轮值（11月30日起一周）：{UNITS[0]}",
    ]
    diary = await live_days(
        sessionmaker=app.sessionmaker, clock=clock, settings=app.settings, sweeps=SWEEPS, days=31
    )
    await app.sender.drain()
    async with app.sessionmaker() as session:
        names = dict((await session.execute(select(Member.id, Member.name))).all())
        rows = list(await session.scalars(select(OutboxMessage)))
    told = Counter(
        (names[r.member_id], re.sub(r"（.*?）", "", r.text)[:22])
        for r in rows
        if r.kind == "rotation"
    )
    secretaries = {p[0]: p[2] for p in people() if p[3] == "支部书记"}
    hosts = {
        secretaries[who]
        for (who, text) in told
        if who in secretaries and text.startswith("🔄 本期由贵单位承办")
    }
    # The tea chain's four units each had a week; the east street's first month went to its first.
    assert set(UNITS[:4]) <= hosts and UNITS[4] in hosts
    assert any("还没有发布轮值活动" in r.text for r in rows if r.kind == "rotation")
    assert diary.skipped and diary.published
    reminders = [r.text for r in rows if r.kind == "reminder"]
    assert any(t.startswith("⏰ 活动提醒：《轮值活动") for t in reminders)
    assert any(t.startswith("⏰ 活动 1 小时内开始：《轮值活动") for t in reminders)
    assert diary.checkins > 0 and diary.tickets >= 4 and diary.notices >= 4
    async with app.sessionmaker() as session:
        scores = await monthly_scores(session, Scope.COUNTY, local_datetime(2026, 12, 20))
    assert len(scores) == len(UNITS)
    assert len({round(s.total) for s in scores}) >= 4  # the units did not do the same month
    assert len({s.stars for s in scores}) >= 2
    assert len({s.hosting for s in scores}) >= 2 and len({s.participation for s in scores}) >= 3
    clock.set(local_datetime(2026, 12, 31, 18))
    [ranking] = await chat.say("p0", "品牌排行")
    stars = re.findall(r"[★☆]{5}", ranking)
    assert len(set(stars)) >= 2, ranking
