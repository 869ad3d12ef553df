"""Importing orgs and members: bad rows by number, idempotence, xlsx and csv, invites, CLI."""

from __future__ import annotations

import asyncio
import csv
import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Role
from bot.core.clock import local_datetime
from models.db import make_engine, make_sessionmaker
from models.member import InviteCode, Member, MemberRole
from models.member_import import import_members, invites_path, write_invites
from models.org import Alliance, AllianceType, Department, Membership, Unit, UnitKind
from models.org_import import import_orgs
from settings import Settings

NOW = local_datetime(2026, 12, 1, 9, 0)
ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
ORGS = "联盟,联盟类型,单位,单位类型,有党组织"
MEMBERS = "姓名,手机,单位,党员,流动党员,工作地,角色,联盟,部门"


@pytest.fixture
async def session(settings: Settings) -> AsyncIterator[AsyncSession]:
    engine = make_engine(settings)
    async with make_sessionmaker(engine)() as value:
        yield value
    await engine.dispose()


def _csv(tmp_path: Path, header: str, *rows: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


async def _count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _org_counts(session: AsyncSession) -> tuple[int, int, int]:
    return (
        await _count(session, Alliance),
        await _count(session, Unit),
        await _count(session, Membership),
    )


async def test_orgs_example_twice_adds_nothing_the_second_time(
    session: AsyncSession, tmp_path: Path
) -> None:
    report = await import_orgs(session=session, path=DATA / "orgs_example.csv")
    assert (report.errors, report.alliances, report.units, report.memberships) == ([], 3, 4, 6)
    again = await import_orgs(session=session, path=DATA / "orgs_example.csv")
    assert (again.errors, again.alliances, again.units, again.memberships) == ([], 0, 0, 0)
    assert await _org_counts(session) == (3, 4, 6)
    tea = await session.scalar(select(Unit).where(Unit.name == "县茶文化促进会"))
    assert tea is not None and (tea.kind, tea.has_party_org) == (UnitKind.SOCIAL_ORG, True)
    road = await session.scalar(select(Alliance).where(Alliance.name == "城东街道党建红色联盟"))
    assert road is not None and road.type == AllianceType.REGION
    in_two = await session.scalars(
        select(Alliance.name).join(Membership).join(Unit).where(Unit.name == "县春芽茶业有限公司")
    )
    assert set(in_two) == {"茶叶产业链党建红色联盟", "城东街道党建红色联盟"}


ORG_BAD_ROWS = (
    "旧联盟,行业,甲公司,企业,是",
    "新联盟,产业,乙公司,公司,有的",
    ",区域,丙公司,企业,否",
    "另一联盟,,丁公司,,",
    "新联盟2,区域,甲公司,社会组织,否",
    "新联盟2,区域,戊公司,企业,是",
)
ORG_ERRORS = [
    "第 2 行：联盟“旧联盟”已是产业链类型，与“行业”不符",
    "第 3 行：联盟类型“产业”不对，应为 产业链、行业 或 区域；"
    "单位类型“公司”不对，应为 企业 或 社会组织；有党组织“有的”应为 是 或 否",
    "第 4 行：联盟为空",
    "第 5 行：新联盟“另一联盟”缺少联盟类型（产业链、行业 或 区域）；"
    "新单位“丁公司”缺少单位类型（企业 或 社会组织）；新单位“丁公司”缺少有党组织（是 或 否）",
    "第 6 行：单位“甲公司”已是企业，与“社会组织”不符；单位“甲公司”已登记为有党组织，与“否”不符",
]


async def test_orgs_bad_rows_by_number_import_nothing_unless_skipped(
    session: AsyncSession, tmp_path: Path
) -> None:
    session.add(Alliance(name="旧联盟", type=AllianceType.CHAIN))
    session.add(Unit(name="甲公司", kind=UnitKind.ENTERPRISE, has_party_org=True))
    await session.flush()
    path = _csv(tmp_path, ORGS, *ORG_BAD_ROWS)
    report = await import_orgs(session=session, path=path)
    assert report.errors == ORG_ERRORS
    assert await _org_counts(session) == (1, 1, 0)
    report = await import_orgs(session=session, path=path, skip_bad_rows=True)
    assert (report.imported, report.skipped, report.alliances, report.units) == (1, 5, 1, 1)
    assert await _org_counts(session) == (2, 2, 1)


async def test_orgs_within_the_file_a_second_row_may_omit_types_but_not_contradict(
    session: AsyncSession, tmp_path: Path
) -> None:
    path = _csv(
        tmp_path,
        ORGS,
        "甲联盟,行业,甲公司,企业,是",
        "乙联盟,区域,甲公司,,",
        "甲联盟,区域,乙公司,企业,否",
    )
    report = await import_orgs(session=session, path=path)
    assert report.errors == ["第 4 行：联盟“甲联盟”已是行业类型，与“区域”不符"]
    report = await import_orgs(session=session, path=path, skip_bad_rows=True)
    assert (report.alliances, report.units, report.memberships) == (2, 1, 2)


async def test_orgs_from_xlsx(session: AsyncSession, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(ORGS.split(","))
    sheet.append(["甲联盟", "产业链", "甲公司", "企业", "是"])
    sheet.append([None, None, None, None, None])
    sheet.append(["甲联盟", "产业链", "乙协会", "社会组织", "蓝"])
    path = tmp_path / "orgs.xlsx"
    book.save(path)
    report = await import_orgs(session=session, path=path)
    assert report.errors == ["第 4 行：有党组织“蓝”应为 是 或 否"]
    report = await import_orgs(session=session, path=path, skip_bad_rows=True)
    assert await _org_counts(session) == (1, 1, 1)


async def _county(session: AsyncSession) -> None:
    alliance = Alliance(name="甲联盟", type=AllianceType.CHAIN)
    unit = Unit(name="甲公司", kind=UnitKind.ENTERPRISE, has_party_org=True)
    session.add_all([alliance, unit, Department(code="tax", name="县税务局")])
    await session.flush()
    session.add(Membership(alliance_id=alliance.id, unit_id=unit.id))
    session.add(Member(name="老党员", phone="13900000000", home_unit_id=unit.id))
    await session.flush()


MEMBER_BAD_ROWS = (
    "张一,13800000001,乙公司,,,,,,",
    "张二,1380000000,甲公司,,,,,,",
    "张三,23800000003,甲公司,,,,,,",
    "张四,13800000004,甲公司,,,,书记,,",
    "张五,13800000005,甲公司,,,,联盟管理员,,",
    "张六,13800000006,甲公司,,,,联盟管理员,丙联盟,",
    "张七,13800000007,,,,,部门干部,,",
    "张八,13800000008,,,,,部门干部,,财政局",
    "张九,13800000010,甲公司,,,,,,",
    "张十,13800000010,甲公司,,,,,,",
    "王五,13900000000,甲公司,,,,,,",
    ",13800000012,甲公司,也许,是,,,,",
    "张十三,13800000013,,否,是,,,,",
)
MEMBER_ERRORS = [
    "第 2 行：单位“乙公司”不存在（请先 import orgs 导入）",
    "第 3 行：手机“1380000000”不对，应为 1 开头的 11 位数字",
    "第 4 行：手机“23800000003”不对，应为 1 开头的 11 位数字",
    "第 5 行：角色“书记”不对，应为 党员、联络员、支部书记、联盟管理员、部门干部 或 县级管理员",
    "第 6 行：联盟管理员须填联盟",
    "第 7 行：联盟“丙联盟”不存在",
    "第 8 行：部门干部须填部门",
    "第 9 行：部门“财政局”不存在（填部门代码或名称）",
    "第 11 行：手机 13800000010 与第 10 行重复",
    "第 12 行：手机 13900000000 已登记为老党员，与姓名“王五”不符",
    "第 13 行：姓名为空；党员“也许”应为 是 或 否",
    "第 14 行：流动党员必须是党员；单位为空（部门干部、县级管理员可不填）",
]


async def test_members_bad_rows_by_number_import_nothing_unless_skipped(
    session: AsyncSession, tmp_path: Path
) -> None:
    await _county(session)
    path = _csv(tmp_path, MEMBERS, *MEMBER_BAD_ROWS)
    report = await import_members(session=session, path=path, now=NOW, valid_days=14)
    assert report.errors == MEMBER_ERRORS
    assert (report.imported, report.invites) == (0, [])
    assert await _count(session, Member) == 1
    assert await _count(session, InviteCode) == 0
    report = await import_members(
        session=session, path=path, now=NOW, valid_days=14, skip_bad_rows=True
    )
    assert (report.imported, report.skipped) == (1, 12)
    assert [i.name for i in report.invites] == ["张九"]


async def test_members_roles_flags_and_the_same_file_twice(
    session: AsyncSession, tmp_path: Path
) -> None:
    await _county(session)
    path = _csv(
        tmp_path,
        MEMBERS,
        "老党员,139 0000 0000,甲公司,,,,,,",
        "李书记,13800000001,甲公司,是,否,,支部书记、联盟管理员,甲联盟,",
        "赵流动,13800000002,甲公司,,是,杭州务工,党员,,",
        "钱干部,13800000003,,否,,,部门干部,,县税务局",
        "孙干部,13800000004,,否,,,部门干部、联络员,,tax",
    )
    report = await import_members(session=session, path=path, now=NOW, valid_days=14)
    assert (report.errors, report.existing, report.imported) == ([], [2], 4)
    members = {
        m.name: m for m in await session.scalars(select(Member).where(Member.name != "老党员"))
    }
    roles = {
        (name, role, alliance)
        for name, role, alliance in (
            await session.execute(
                select(Member.name, MemberRole.role, MemberRole.alliance_id).join(MemberRole)
            )
        ).all()
    }
    alliance_id = await session.scalar(select(Alliance.id))
    assert roles == {
        ("李书记", Role.SECRETARY, None),
        ("李书记", Role.ALLIANCE_ADMIN, alliance_id),
        ("钱干部", Role.OFFICER, None),
        ("孙干部", Role.OFFICER, None),
        ("孙干部", Role.LIAISON, None),
    }
    mobile = members["赵流动"]
    assert (mobile.is_party_member, mobile.is_mobile, mobile.workplace) == (True, True, "杭州务工")
    officer = members["钱干部"]
    assert (officer.is_party_member, officer.home_unit_id) == (False, None)
    assert officer.department_id == members["孙干部"].department_id is not None
    again = await import_members(session=session, path=path, now=NOW, valid_days=14)
    assert (again.errors, again.existing, again.imported) == ([], [2, 3, 4, 5, 6], 0)
    assert await _count(session, Member) == 5
    assert await _count(session, InviteCode) == 4


async def test_members_from_xlsx_and_the_invites_file(
    session: AsyncSession, tmp_path: Path
) -> None:
    await _county(session)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(MEMBERS.split(","))
    sheet.append(["周一", 13800000001, "甲公司", "是", "否", None, None, None, None])
    sheet.append(["吴二", 13800000002.0, "甲公司", None, None, None, "联络员", None, None])
    path = tmp_path / "成员.xlsx"
    book.save(path)
    report = await import_members(session=session, path=path, now=NOW, valid_days=14)
    assert (report.errors, report.imported) == ([], 2)
    target = invites_path(path)
    assert target == tmp_path / "成员.xlsx.invites.csv"
    write_invites(target, report.invites)
    with target.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["姓名", "手机", "单位", "邀请码", "有效期至"]
    assert [r[:3] for r in rows[1:]] == [
        ["周一", "13800000001", "甲公司"],
        ["吴二", "13800000002", "甲公司"],
    ]
    assert {r[4] for r in rows[1:]} == {"2026-12-15 09:00"}
    stored = dict((await session.execute(select(InviteCode.code, InviteCode.expires_at))).all())
    assert {r[3] for r in rows[1:]} == set(stored)
    assert set(stored.values()) == {NOW + timedelta(days=14)}
    assert all(re.fullmatch(r"[1-9]\d{7}", r[3]) for r in rows[1:])
    write_invites(target, report.invites[:1])  # a later run appends; earlier codes stay
    with target.open(encoding="utf-8-sig", newline="") as handle:
        assert len(list(csv.reader(handle))) == 4


def _bot(
    args: list[str], env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


@pytest.mark.e2e
def test_cli_imports_orgs_then_members_and_a_member_binds(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'county.db'}"}
    orgs, members = tmp_path / "orgs.csv", tmp_path / "members.csv"
    shutil.copy(DATA / "orgs_example.csv", orgs)
    shutil.copy(DATA / "members_example.csv", members)
    first = _bot(["import", "orgs", str(orgs)], env)
    assert (first.returncode, first.stdout) == (0, "已新增联盟 3 个、单位 4 家、成员关系 6 条。\n")
    again = _bot(["import", "orgs", str(orgs)], env)
    assert again.stdout == "文件中的联盟、单位和成员关系都已存在，未新增任何内容。\n"
    done = _bot(["import", "members", str(members)], env)
    invites = tmp_path / "members.csv.invites.csv"
    assert (done.returncode, done.stdout.splitlines()) == (
        0,
        ["已新增成员 5 名。", f"邀请码已写入 {invites}（14 天内有效），请分发给新成员。"],
    )
    with invites.open(encoding="utf-8-sig", newline="") as handle:
        rows = {r["姓名"]: r for r in csv.DictReader(handle)}
    assert rows["郑雪梅"]["手机"] == "13700000003"
    code = rows["周春华"]["邀请码"]
    again = _bot(["import", "members", str(members)], env)
    assert again.stdout.splitlines() == [
        "已新增成员 0 名；已存在 5 名（第 2–6 行），未改动。",
        "没有新成员，未生成邀请码。",
    ]
    chat = _bot(["console", "--user", "zhou"], env, f"绑定 {code}\n/me\n")
    assert chat.stdout.splitlines() == [
        "绑定成功！欢迎您，周春华（县春芽茶业有限公司）。",
        "发送“帮助”查看可用功能。",
        "👤 周春华",
        "单位：县春芽茶业有限公司",
        "联盟：茶叶产业链党建红色联盟、城东街道党建红色联盟",
        "身份：支部书记、联盟管理员",
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text(MEMBERS + "\n张一,123,乙公司,,,,,,\n", encoding="gbk")
    refused = _bot(["import", "members", str(bad)], env)
    assert refused.returncode == 1
    assert refused.stdout.splitlines() == [
        "第 2 行：手机“123”不对，应为 1 开头的 11 位数字；"
        "单位“乙公司”不存在（请先 import orgs 导入）",
        "有 1 行有误，未导入任何成员（改正后重试，或加 --skip-bad-rows 只导入正确的行）。",
    ]
    assert not (tmp_path / "bad.csv.invites.csv").exists()
    assert _bot(["import", "orgs", str(tmp_path / "nope.csv")], env).returncode == 2


def test_cli_members_unwritable_invites_file_imports_nothing(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot import cli

    asyncio.run(_with_session(settings, _county))
    path = _csv(tmp_path, MEMBERS, "周一,13800000001,甲公司,,,,,,")
    invites_path(path).mkdir()  # where the codes file should go: cannot be written
    assert cli.main(["import", "members", str(path)]) == 2
    assert capsys.readouterr().out.startswith(f"无法写入邀请码文件 {invites_path(path)}")
    assert asyncio.run(_with_session(settings, lambda s: _count(s, Member))) == 1
    invites_path(path).rmdir()
    assert cli.main(["import", "members", str(path)]) == 0
    assert asyncio.run(_with_session(settings, lambda s: _count(s, Member))) == 2


async def _with_session(settings: Settings, work: Any) -> Any:
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await work(session)
    finally:
        await engine.dispose()


async def test_departments_added_then_renamed_and_bad_rows_refused(
    session: AsyncSession, tmp_path: Path
) -> None:
    from models.department_import import import_departments
    from models.org import Department

    report = await import_departments(session=session, path=DATA / "departments_example.csv")
    assert (report.errors, report.added, report.renamed) == ([], 9, 0)
    renamed = _csv(tmp_path, "代码,名称", "tax,国家税务总局阳都县税务局")
    report = await import_departments(session=session, path=renamed)
    assert (report.added, report.renamed) == (0, 1)
    names = {d.code: d.name for d in await session.scalars(select(Department))}
    assert names["tax"] == "国家税务总局阳都县税务局" and len(names) == 9
    bad = _csv(tmp_path, "代码,名称", "police,县公安局", "hrss,", "hrss,人社局", name="bad.csv")
    report = await import_departments(session=session, path=bad)
    assert report.errors[0].startswith("第 2 行：代码“police”不在分派表中，可用：finance、hrss")
    assert report.errors[1:] == ["第 3 行：名称为空", "第 4 行：代码“hrss”与第 3 行重复"]
    assert report.added == report.renamed == 0


@pytest.mark.e2e
def test_cli_imports_departments(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'county.db'}"}
    done = _bot(["import", "departments", str(DATA / "departments_example.csv")], env)
    assert (done.returncode, done.stdout) == (0, "已新增部门 9 个、更名 0 个。\n")
