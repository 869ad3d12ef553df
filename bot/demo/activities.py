"""Demo rotation and activities: one activity of the host's alliance is in progress at `now`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import to_local
from models.activity import Activity
from models.member import Member
from models.org import Alliance, Membership, Unit
from models.rotation import Period, RotationPlan, align

FOOD_CHAIN = "食品产业链党建红色联盟"
FOOD_PARK = "食品产业园党建红色联盟"
EXPRESS = "快递物流行业党建红色联盟"
VENUE = (35.5500, 118.4600)  # the in-progress activity's place (console: @loc 35.55,118.46)
PARK = (35.5800, 118.5000)


async def seed(session: AsyncSession, now: datetime, accounts: dict[str, Any]) -> None:
    """Rotations for every alliance, the host's unit first; a few activities around `now`."""
    host: Member = accounts["host"]
    alliances = list((await session.execute(select(Alliance).order_by(Alliance.id))).scalars())
    today = to_local(now).date()
    by_name = {}
    for alliance in alliances:
        stmt = (
            select(Unit.id)
            .join(Membership)
            .where(Membership.alliance_id == alliance.id, Unit.has_party_org.is_(True))
            .order_by(Unit.id)
        )
        unit_ids = list((await session.execute(stmt)).scalars())
        if host.home_unit_id in unit_ids:
            unit_ids.remove(host.home_unit_id)
            unit_ids.insert(0, host.home_unit_id)
        plan = RotationPlan(
            alliance_id=alliance.id,
            period=Period.MONTH,
            starts_on=align(Period.MONTH, today),
            unit_ids=unit_ids,
            chair_unit_ids=unit_ids,
            chair_starts_on=today.replace(month=1, day=1),
            chair_term_months=12,
        )
        session.add(plan)
        by_name[alliance.name] = (alliance, unit_ids)
    food, _ = by_name[FOOD_CHAIN]
    park, park_units = by_name[FOOD_PARK]
    express, express_units = by_name[EXPRESS]
    session.add_all(
        [
            Activity(
                alliance_id=food.id,
                host_unit_id=host.home_unit_id,
                title="主题党日：学习党的创新理论",
                place="县党群服务中心三楼",
                starts_at=now - timedelta(minutes=10),
                ends_at=now + timedelta(hours=2),
                latitude=VENUE[0],
                longitude=VENUE[1],
                radius_m=500,
            ),
            Activity(
                alliance_id=food.id,
                host_unit_id=host.home_unit_id,
                title="党建联席会议",
                place="食品产业链联盟会议室",
                starts_at=now + timedelta(days=3),
                ends_at=now + timedelta(days=3, hours=2),
            ),
            Activity(
                alliance_id=park.id,
                host_unit_id=park_units[0],
                title="志愿服务：园区环境整治",
                place="食品产业园东门",
                starts_at=now + timedelta(minutes=20),
                ends_at=now + timedelta(hours=3),
                latitude=PARK[0],
                longitude=PARK[1],
                radius_m=800,
            ),
            Activity(
                alliance_id=express.id,
                host_unit_id=express_units[0],
                title="亮身份践承诺：快递小哥服务日",
                place="县快递物流园",
                starts_at=now + timedelta(days=5),
                ends_at=now + timedelta(days=5, hours=3),
            ),
        ]
    )
    await session.flush()
