"""Rotation set-up: the rotation sheet (bad rows by number), saving a plan, replacing it from
the next period (started periods keep their host), admin swaps, `python -m bot import rotation`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import local_datetime
from models.db import make_engine, make_sessionmaker
from models.org import Alliance, AllianceType, Membership, Unit, UnitKind
from models.rotation import (
    Period,
    RotationOverride,
    RotationPlan,
    chair_unit_id,
    current_turn,
    get_plan,
    period_index,
    turns,
)
from models.rotation_import import import_rotation
from models.rotation_setup import PlanDraft, PlanError, save_plan, swap_periods
from settings import Settings

NOW = local_datetime(2026, 12, 10, 9, 0)
HEAD = "联盟,单位,轮办顺序,周期,起始日期,主席顺序,主席任期"
UNITS = ("甲公司", "乙公司", "丙公司", "丁公司")


@pytest.fixture
async def session(settings: Settings) -> AsyncIterator[AsyncSession]:
    engine = make_engine(settings)
    async with make_sessionmaker(engine)() as value:
        alliance = Alliance(name="茶叶产业链联盟", type=AllianceType.CHAIN)
        other = Alliance(name="城东街道联盟", type=AllianceType.REGION)
        units = [Unit(name=n, kind=UnitKind.ENTERPRISE, has_party_org=True) for n in UNITS]
        stranger = Unit(name="戊协会", kind=UnitKind.SOCIAL_ORG, has_party_org=False)
        value.add_all([alliance, other, *units, stranger])
        value.add_all(Membership(alliance=alliance, unit=u) for u in units)
        value.add(Membership(alliance=other, unit=stranger))
        await value.flush()
        yield value
    await engine.dispose()


async def ids(session: AsyncSession, *names: str) -> list[int]:
    found = {u.name: u.id for u in await session.scalars(select(Unit))}
    return [found[n] for n in names]


async def hosts(session: AsyncSession, plan: RotationPlan, first: int, count: int) -> list[str]:
    names = {u.id: u.name for u in await session.scalars(select(Unit))}
    return [names[t.unit_id] for t in await turns(session, plan, first_index=first, count=count)]


def sheet(tmp_path: Path, *rows: str, name: str = "rotation.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(["2027年轮值安排表", HEAD, *rows]) + "\n", encoding="utf-8")
    return path


async def test_sheet_rows_are_checked_and_reported_by_number(
    session: AsyncSession, tmp_path: Path
) -> None:
    path = sheet(
        tmp_path,
        "茶叶产业链联盟,甲公司,1,月,2026-12-01,1,年",
        "茶叶产业链联盟,乙公司,2,周,2026-12-01,,",
        "茶叶产业链联盟,戊协会,3,月,2026-12-01,,",
        "茶叶产业链联盟,丙公司,1,月,2026-12-01,,",
        "茶叶产业链联盟,丁公司,4,月,12月1日,2,",
        "红星联盟,甲公司,1,月,2026-12-01,,",
        "城东街道联盟,戊协会,一,年,2026/12/01,,",
    )
    report = await import_rotation(session=session, path=path, now=NOW)
    assert report.errors == [
        "第 4 行：周期“周”与第 3 行的“月”不一致（同一联盟应相同）",
        "第 5 行：单位“戊协会”不是“茶叶产业链联盟”的成员单位",
        "第 6 行：轮办顺序 1 与第 3 行重复",
        "第 7 行：起始日期“12月1日”不是日期（例如 2027-01-01）；"
        "有主席顺序时须填主席任期（月、季度、半年 或 年）",
        "第 8 行：联盟“红星联盟”不存在（请先 import orgs 导入）",
        "第 9 行：轮办顺序“一”应为 1、2、3 这样的数字；周期“年”不对，应为 周、月 或 季度",
    ]
    assert await session.scalar(select(RotationPlan.id)) is None
    report = await import_rotation(session=session, path=path, now=NOW, skip_bad_rows=True)
    assert (report.imported, report.skipped, report.created) == (1, 6, ["茶叶产业链联盟"])


async def test_import_sets_the_order_period_and_chair(
    session: AsyncSession, tmp_path: Path
) -> None:
    path = sheet(
        tmp_path,
        "茶叶产业链联盟,丙公司,2,月,2026-12-01,,",
        "茶叶产业链联盟,甲公司,1,月,2026-12-01,2,半年",
        "茶叶产业链联盟,乙公司,3,月,2026-12-01,1,半年",
    )
    report = await import_rotation(session=session, path=path, now=NOW)
    assert (report.errors, report.created, report.imported) == ([], ["茶叶产业链联盟"], 3)
    alliance = await session.scalar(select(Alliance.id).where(Alliance.name == "茶叶产业链联盟"))
    plan = await get_plan(session, alliance)
    assert plan is not None and plan.period == Period.MONTH
    assert await hosts(session, plan, 0, 4) == ["甲公司", "丙公司", "乙公司", "甲公司"]
    assert plan.chair_unit_ids == await ids(session, "乙公司", "甲公司")
    assert plan.chair_term_months == 6
    assert chair_unit_id(plan, NOW) == (await ids(session, "乙公司"))[0]
    assert chair_unit_id(plan, local_datetime(2027, 6, 1)) == (await ids(session, "甲公司"))[0]


async def test_a_new_plan_keeps_the_hosts_of_started_periods(session: AsyncSession) -> None:
    alliance = await session.scalar(select(Alliance.id).where(Alliance.name == "茶叶产业链联盟"))
    assert alliance is not None
    a, b, c, d = await ids(session, *UNITS)
    first = PlanDraft(alliance, Period.MONTH, date(2026, 10, 1), [a, b, c])
    plan, replaced = await save_plan(session=session, draft=first, now=local_datetime(2026, 10, 1))
    assert not replaced
    assert await hosts(session, plan, 0, 3) == ["甲公司", "乙公司", "丙公司"]  # Oct, Nov, Dec
    # On 10 December the county reorders, weekly from December: Dec keeps 丙公司 (started).
    weekly = PlanDraft(alliance, Period.WEEK, date(2026, 12, 1), [d, a, b])
    plan, replaced = await save_plan(session=session, draft=weekly, now=NOW)
    assert replaced and plan.period == Period.WEEK
    assert (await current_turn(session, plan, NOW)).unit_id == c
    # The new order counts from its start date (the week of 30 November is its period 0), so
    # re-importing the same sheet changes nothing; December's weeks, the one reaching into
    # January included, stay 丙公司's; from 4 January (period 5) the new order runs.
    january = period_index(plan, local_datetime(2027, 1, 4))
    assert january == 5
    assert await hosts(session, plan, 0, 5) == ["丙公司"] * 5
    assert await hosts(session, plan, january, 3) == ["乙公司", "丁公司", "甲公司"]
    before = await hosts(session, plan, 0, 12)
    await save_plan(session=session, draft=weekly, now=NOW)
    assert await hosts(session, plan, 0, 12) == before
    # Last months keep who hosted them (达标创星 counts those turns).
    october = period_index(plan, local_datetime(2026, 10, 15))
    assert (await hosts(session, plan, october, 1)) == ["甲公司"]
    kept = await session.scalars(select(RotationOverride.reason).distinct())
    assert set(kept) == {"kept"}


async def test_plan_refuses_strangers_and_repeats(session: AsyncSession) -> None:
    alliance = await session.scalar(select(Alliance.id).where(Alliance.name == "茶叶产业链联盟"))
    assert alliance is not None
    a, b, *_ = await ids(session, *UNITS)
    [stranger] = await ids(session, "戊协会")
    for units, reason in (
        ([], "no_units"),
        ([a, stranger], "not_member"),
        ([a, b, a], "duplicate"),
    ):
        with pytest.raises(PlanError) as caught:
            await save_plan(
                session=session,
                draft=PlanDraft(alliance, Period.MONTH, date(2026, 12, 1), units),
                now=NOW,
            )
        assert caught.value.reason == reason


async def test_admin_swaps_two_coming_periods(session: AsyncSession) -> None:
    alliance = await session.scalar(select(Alliance.id).where(Alliance.name == "茶叶产业链联盟"))
    assert alliance is not None
    a, b, c, _ = await ids(session, *UNITS)
    draft = PlanDraft(alliance, Period.MONTH, date(2026, 12, 1), [a, b, c])
    plan, _ = await save_plan(session=session, draft=draft, now=NOW)
    assert await swap_periods(
        session=session, plan=plan, first=1, second=2, by_id=None, now=NOW
    ) == (c, b)
    assert await hosts(session, plan, 0, 3) == ["甲公司", "丙公司", "乙公司"]


def test_cli_import_rotation(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot import cli

    assert (
        cli.main(["import", "orgs", str(Path(__file__).parents[1] / "data" / "orgs_example.csv")])
        == 0
    )
    capsys.readouterr()
    good = tmp_path / "rotation.csv"
    good.write_text(
        HEAD + "\n茶叶产业链党建红色联盟,县茶文化促进会,1,季度,2027-01-01,1,年\n"
        "茶叶产业链党建红色联盟,县春芽茶业有限公司,2,季度,2027-01-01,2,年\n",
        encoding="utf-8",
    )
    assert cli.main(["import", "rotation", str(good)]) == 0
    assert capsys.readouterr().out == "已设置轮值：茶叶产业链党建红色联盟。\n"
    assert cli.main(["import", "rotation", str(good)]) == 0
    assert capsys.readouterr().out == (
        "已更新轮值（已开始的轮值期保持原承办单位）：茶叶产业链党建红色联盟。\n"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEAD + "\n律师行业党建红色联盟,县春芽茶业有限公司,1,月,2027-01-01,,\n", encoding="utf-8"
    )
    assert cli.main(["import", "rotation", str(bad)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "第 2 行：单位“县春芽茶业有限公司”不是“律师行业党建红色联盟”的成员单位",
        "有 1 行有误，未导入任何轮值安排（改正后重试，或加 --skip-bad-rows 只导入正确的行）。",
    ]
    old = tmp_path / "rotation.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    assert cli.main(["import", "rotation", str(old)]) == 2
    assert capsys.readouterr().out.startswith("rotation.xls 是旧版 Excel（.xls）")
