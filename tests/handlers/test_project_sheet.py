"""The projects sheet: imported (projects, leads, milestones as 督办事项), bad rows reported by
number with nothing written, exported in the same format, and the export imported again
without change."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from bot.core.clock import FrozenClock
from models.followup import FollowUp
from models.org import Alliance, Membership, Unit
from models.project import Milestone, Project, ProjectState
from models.project_sheet import READ, export_projects, import_projects
from tests.fakes import Chat


def write(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(READ))
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


async def food(chat: Chat) -> tuple[str, list[str]]:
    async with chat.app.sessionmaker() as session:
        alliance = await session.scalar(select(Alliance).order_by(Alliance.id).limit(1))
        assert alliance is not None
        units = list(
            await session.scalars(
                select(Unit.name)
                .join(Membership, Membership.unit_id == Unit.id)
                .where(Membership.alliance_id == alliance.id)
                .order_by(Unit.id)
            )
        )
    return alliance.name, units


async def counts(chat: Chat) -> tuple[int, int, int]:
    async with chat.app.sessionmaker() as session:
        return (
            int(await session.scalar(select(func.count()).select_from(Project)) or 0),
            int(await session.scalar(select(func.count()).select_from(Milestone)) or 0),
            int(
                await session.scalar(select(func.count()).where(FollowUp.source == "milestone"))
                or 0
            ),
        )


async def test_import_export_and_import_again(
    chat: Chat, clock: FrozenClock, tmp_path: Path
) -> None:
    alliance, units = await food(chat)
    bad = write(
        tmp_path / "bad.xlsx",
        [
            [
                alliance,
                2026,
                "夜市党建服务站",
                "",
                "2026-12-31",
                units[0],
                "走访商户",
                40,
                "2026-12-05",
            ],
            ["没有这个联盟", 2026, "项目甲", "", "2026-12-31", "", "", "", ""],
            [alliance, 2026, "项目乙", "", "2026-12-31", "", "走访", 120, "2026-12-05"],
        ],
    )
    async with chat.app.sessionmaker() as session, session.begin():
        report = await import_projects(session=session, path=bad, now=clock.now())
    assert report.errors == [
        "第 3 行：联盟“没有这个联盟”不存在",
        "第 4 行：权重“120”应为 1–100 的数字",
    ]
    assert await counts(chat) == (0, 0, 0)

    good = write(
        tmp_path / "good.xlsx",
        [
            [
                alliance,
                2026,
                "夜市党建服务站",
                "流动党员服务点",
                "2026-12-31",
                units[0],
                "走访商户",
                40,
                "2026-12-05",
            ],
            [
                alliance,
                2026,
                "夜市党建服务站",
                "",
                "2026-12-31",
                units[0],
                "挂牌运行",
                60,
                "2026-12-20",
            ],
            [alliance, 2026, "冷链共建", "", "2026-12-30", "", "", "", ""],
        ],
    )
    async with chat.app.sessionmaker() as session, session.begin():
        report = await import_projects(session=session, path=good, now=clock.now())
    assert (report.errors, report.imported, report.projects, report.milestones) == ([], 3, 2, 2)
    assert await counts(chat) == (2, 2, 2)
    async with chat.app.sessionmaker() as session:
        stall = await session.scalar(select(Project).where(Project.title == "夜市党建服务站"))
        assert stall is not None and stall.state == ProjectState.CLAIMED
        assert stall.description == "流动党员服务点"

    out = tmp_path / "projects.xlsx"
    async with chat.app.sessionmaker() as session:
        assert await export_projects(session=session, path=out, now=clock.now()) == 3
    sheet = load_workbook(out).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    assert header[:6] == ["联盟", "年度", "项目", "简介", "完成时限", "牵头单位"]
    first = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert (first["项目"], first["牵头单位"], first["进度"], first["里程碑"], first["权重"]) == (
        "夜市党建服务站",
        units[0],
        "0%",
        "走访商户",
        40,
    )
    assert first["健康"] == "有风险"  # 走访商户 is due within 7 days

    async with chat.app.sessionmaker() as session, session.begin():
        again = await import_projects(session=session, path=out, now=clock.now())
    assert (again.errors, again.projects, again.milestones) == ([], 0, 0)
    assert await counts(chat) == (2, 2, 2)
