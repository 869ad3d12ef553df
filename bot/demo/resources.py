"""Demo resources: a few hundred across the four lists; 新型建材 integrated 377, as reported.

The 食品 alliance gets cold-chain logistics partners (冷链物流); `host` is the contact of two
of them, so a match request from `member` shows up on the console as `>> host: ...`.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.member import Member
from models.org import Alliance, Membership, Unit
from models.resource import ResourceKind, add_resource

BUILDING = "新型建材产业链党建红色联盟"
FOOD = "食品产业链党建红色联盟"
BUILDING_COUNT = 377
P, S, T, M = ResourceKind.PARTNER, ResourceKind.STEWARD, ResourceKind.TALENT, ResourceKind.MARKET

# (kind, title, description, tags); {x} is filled with a trade of the alliance.
TEMPLATES: tuple[tuple[ResourceKind, str, str, str], ...] = (
    (P, "{x}原材料集中采购", "联合采购{x}原材料，价格透明，按月结算", "采购 供应"),
    (P, "{x}代加工合作", "富余产能承接{x}代加工订单，可来料加工", "加工 产能"),
    (P, "仓储配送共享", "常温仓库五千平方米，提供仓储与同城配送", "仓储 物流"),
    (P, "包装材料供应", "纸箱、托盘、缠绕膜等包装材料批量供应", "包装"),
    (P, "检测设备共享", "质量检测设备开放共享，按次收费", "检测 设备"),
    (S, "小微企业融资对接", "银行信贷经理上门，提供信用贷款、担保贷款咨询", "金融 贷款"),
    (S, "税务政策辅导", "减税降费政策解读，发票与申报问题一对一辅导", "税务 发票"),
    (S, "劳动用工法律咨询", "合同签订、劳动纠纷调解、用工风险体检", "法律 用工"),
    (S, "社保与人事代理", "社保开户、缴费、人事档案代理服务", "人社 社保"),
    (S, "惠企政策申报辅导", "项目申报、高新企业认定、专精特新申报辅导", "政策 申报"),
    (T, "{x}技术专家", "{x}工艺改进、质量管理专家，可驻厂指导", "专家 技术"),
    (T, "电工焊工等技工", "持证技工可短期派驻，支持夜班", "技工 用工"),
    (T, "{x}车间岗位招聘", "普工、质检员、叉车工岗位，包吃住", "岗位 招聘"),
    (T, "电商运营人才", "直播运营、美工、客服人才推荐", "电商 人才"),
    (M, "{x}政府采购项目", "县内{x}采购项目信息，协助投标", "项目 招标"),
    (M, "{x}外贸订单", "海外客户询盘，寻找{x}合作工厂", "订单 外贸"),
    (M, "直播带货渠道", "本地直播基地开放带货名额，帮助产品上行", "渠道 直播"),
    (M, "商超进场渠道", "君悦超市等商圈开放本地产品专柜", "渠道 商超"),
)
COLD_CHAIN = (
    ("冷链物流干线运输", "冷藏车二十辆，冷链物流覆盖省内主要城市，全程温控可追溯"),
    ("冷链物流城市配送", "生鲜食品冷链物流配送，当日达，支持小批量"),
    ("冷链物流冷库租赁", "零下十八度冷库三千吨，冷链物流仓配一体"),
    ("冷链物流共同配送", "多家食品企业拼车，冷链物流成本降低三成"),
    ("冷链物流温控监测", "冷链物流车辆温度实时监测与报警平台"),
    ("冷链物流肉制品专线", "肉制品冷链物流专线，每日发车，检疫手续齐全"),
    ("冷链物流粮油配送", "粮油与速冻食品冷链物流配送，覆盖全县乡镇"),
)


async def seed(session: AsyncSession, now: datetime, accounts: dict[str, Any]) -> None:
    """Add the demo resources."""
    rng = random.Random(377)
    alliances = {a.name: a for a in await session.scalars(select(Alliance).order_by(Alliance.id))}
    units: dict[int, list[Unit]] = {}
    for alliance_id, unit in (
        await session.execute(
            select(Membership.alliance_id, Unit).join(Unit).order_by(Membership.id)
        )
    ).all():
        units.setdefault(alliance_id, []).append(unit)
    contacts: dict[int, list[Member]] = {}
    for member in await session.scalars(select(Member).where(Member.home_unit_id.is_not(None))):
        contacts.setdefault(member.home_unit_id or 0, []).append(member)

    async def add(
        alliance: Alliance | None,
        kind: ResourceKind,
        title: str,
        text: str,
        tags: str,
        unit: Unit,
        contact: Member | None = None,
        **extra: Any,
    ) -> None:
        people = contacts.get(unit.id, [])
        contact = contact or (people[0] if people else None)
        await add_resource(
            session=session,
            kind=kind,
            title=title,
            description=text,
            tags=tags,
            provider=unit.name,
            provider_unit_id=unit.id,
            contact=f"{contact.name} {contact.phone}" if contact else "",
            contact_member_id=contact.id if contact else None,
            alliance_ids=[alliance.id] if alliance else None,
            now=now,
            **extra,
        )

    food = alliances[FOOD]
    host = accounts["host"]
    host_unit = await session.get(Unit, host.home_unit_id)
    assert host_unit is not None
    for i, (title, text) in enumerate(COLD_CHAIN):
        unit = host_unit if i in (0, 5) else rng.choice(units[food.id])
        await add(food, P, title, text, "冷链 物流", unit, host if i in (0, 5) else None)
    # Visible to every alliance: cold chain only in the description, so ranked lower.
    logistics = alliances["快递物流行业党建红色联盟"]
    for title in ("城乡快递共同配送", "医药冷藏运输", "跨境物流清关服务"):
        text = f"{title}，兼营冷链物流，车辆充足"
        await add(None, P, title, text, "物流", rng.choice(units[logistics.id]))

    building = alliances[BUILDING]
    trades = building.description.split("、")
    for n in range(BUILDING_COUNT):
        kind, title, text, tags = TEMPLATES[n % len(TEMPLATES)]
        trade = trades[n // len(TEMPLATES) % len(trades)]
        unit = units[building.id][n % len(units[building.id])]
        title = f"{title.format(x=trade)}（{unit.name[:4]}·{n // len(TEMPLATES) + 1}）"
        await add(building, kind, title, text.format(x=trade), tags, unit)

    # Every other alliance shares a handful; the last three have expired already.
    for alliance in alliances.values():
        if alliance.name in (BUILDING,):
            continue
        trade = alliance.description.split("、")[0]
        for kind, title, text, tags in rng.sample(TEMPLATES, 6):
            unit = rng.choice(units[alliance.id])
            await add(None, kind, title.format(x=trade), text.format(x=trade), tags, unit)
    for kind, title, text, tags in TEMPLATES[:3]:
        unit = rng.choice(units[food.id])
        past = now - timedelta(days=rng.randint(1, 30))
        await add(
            food, kind, f"（已过期）{title.format(x='食品')}", text, tags, unit, valid_until=past
        )
