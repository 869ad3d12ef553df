"""Demo 共建协议 and 认领项目 of the 食品产业链: this year's agreements (the host's unit signed
with a scan and countersigned, two units signed and waiting to be countersigned, the others
missing), and projects — the host's unit leads 《冷链商圈党建服务站》 with three weighted
milestones (one done on time with a deliverable, one late, one ahead), another unit's project
accepted with a rating, one joined, one still to be claimed."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Role
from bot.core.clock import local_datetime, to_local
from bot.demo.activities import FOOD_CHAIN
from bot.demo.meetings import _photo
from models.agreement import Agreement, template_clauses
from models.files import store_upload
from models.followup import FollowUpEvent, Status, create_item
from models.member import Member, MemberRole
from models.org import Alliance, Membership
from models.project import SOURCE, Milestone, Project, ProjectState, ProjectUnit
from settings import get_settings


async def _secretary(session: AsyncSession, unit_id: int) -> Member | None:
    stmt = (
        select(Member)
        .join(MemberRole)
        .where(Member.home_unit_id == unit_id, MemberRole.role == Role.SECRETARY)
        .order_by(Member.id)
        .limit(1)
    )
    return await session.scalar(stmt)


async def seed(session: AsyncSession, now: datetime, accounts: dict[str, Any]) -> None:
    year = to_local(now).year
    host: Member = accounts["host"]
    admin: Member = accounts["alliance_admin"]
    food = await session.scalar(select(Alliance).where(Alliance.name == FOOD_CHAIN))
    assert food is not None
    units = list(
        await session.scalars(
            select(Membership.unit_id)
            .where(Membership.alliance_id == food.id)
            .order_by(Membership.unit_id)
        )
    )
    others = [u for u in units if u != host.home_unit_id]
    scan = store_upload(
        data=_photo(), name="共建协议签字页.jpg", sent_as="photo", settings=get_settings()
    )
    signed_at = now - timedelta(days=300)
    signers = [(host.home_unit_id, host, True)]
    for unit_id in others[:2]:
        secretary = await _secretary(session, unit_id)
        if secretary is not None:
            signers.append((unit_id, secretary, False))
    for unit_id, who, counter in signers:
        session.add(
            Agreement(
                alliance_id=food.id,
                unit_id=unit_id,
                year=year,
                clauses=template_clauses(),
                reports={"meeting": "参加联席会议 4 次，落实决议 6 项"} if counter else {},
                signed_by_id=who.id,
                signed_at=signed_at,
                scan_sha256=scan.sha256 if counter else "",
                scan_suffix=scan.suffix if counter else "",
                scan_kind=scan.kind if counter else "",
                scan_name=scan.name if counter else "",
                countersigned_by_id=admin.id if counter else None,
                countersigned_at=signed_at + timedelta(days=3) if counter else None,
            )
        )

    def project(title: str, description: str, due: date, lead: int | None) -> Project:
        return Project(
            alliance_id=food.id,
            year=year,
            title=title,
            description=description,
            source="admin",
            due_on=due,
            state=ProjectState.CLAIMED if lead else ProjectState.LISTED,
            lead_unit_id=lead,
            claimed_at=signed_at + timedelta(days=10) if lead else None,
            claimed_by_id=host.id if lead == host.home_unit_id else None,
            created_by_id=admin.id,
            created_at=signed_at,
        )

    stall = project(
        "冷链商圈党建服务站",
        "在冷链物流园设党员服务站，为商户和流动党员提供政策、用工和志愿服务",
        date(year, 12, 31),
        host.home_unit_id,
    )
    accepted = project(
        "食品安全诚信商圈", "商户亮诚信承诺，党员志愿者巡查", date(year, 10, 31), others[0]
    )
    open_one = project(
        "园区青年人才驿站", "为园区企业引进青年人才提供住宿与交流", date(year, 12, 31), None
    )
    session.add_all([stall, accepted, open_one])
    await session.flush()
    if len(others) > 1:
        session.add(ProjectUnit(project_id=stall.id, unit_id=others[1], joined_at=signed_at))
    today = to_local(now).date()
    plan = [
        (stall, "走访园区商户并建立需求清单", 30, today - timedelta(days=60), "on_time"),
        (stall, "服务站挂牌并排班", 40, today - timedelta(days=10), "late"),
        (stall, "年度服务成效总结", 30, today + timedelta(days=25), "open"),
        (accepted, "商户诚信承诺上墙", 50, date(year, 6, 30), "on_time"),
        (accepted, "志愿者巡查 20 次", 50, date(year, 9, 30), "on_time"),
    ]
    for proj, title, weight, due, how in plan:
        milestone = Milestone(project_id=proj.id, title=title, weight=weight)
        session.add(milestone)
        await session.flush()
        item = await create_item(
            session=session,
            source=SOURCE,
            source_id=milestone.id,
            alliance_id=food.id,
            title=f"项目里程碑：{proj.title} · {title}",
            due_on=due,
            now=signed_at + timedelta(days=10),
            owner_unit_id=proj.lead_unit_id,
            created_by=host if proj is stall else admin,
        )
        milestone.followup_id = item.id
        if how == "on_time":
            day = due - timedelta(days=2)
            done_at = local_datetime(day.year, day.month, day.day, 16)
            item.status, item.done_at, item.progress = Status.DONE, done_at, "已完成"
            session.add(
                FollowUpEvent(
                    item_id=item.id,
                    actor_id=host.id if proj is stall else None,
                    action="done",
                    note="已完成，附成果照片",
                    file_sha256=scan.sha256,
                    file_suffix=scan.suffix,
                    file_kind=scan.kind,
                    file_name="成果.jpg",
                    at=done_at,
                )
            )
    accepted.state, accepted.rating = ProjectState.ACCEPTED, 5
    accepted.accepted_by_id, accepted.accepted_at = admin.id, now - timedelta(days=30)
    accepted.accept_note = "商户满意度高"
    await session.flush()
