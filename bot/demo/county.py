"""The demo county: alliances, units, members and departments shaped like the report.

Figures per alliance type reproduce the report's table: alliances 3 / 7 / 4, member party
organisations 16 / 23 / 24, party members 87 / 142 / 131, units reached 31 / 240 / 91.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Role
from models.member import Identity, InviteCode, Member, MemberRole
from models.org import Alliance, AllianceType, Department, Membership, Unit, UnitKind


@dataclass(frozen=True)
class AlliancePlan:
    name: str
    type: AllianceType
    party_orgs: int
    members: int
    units: int
    unit_kind: UnitKind
    trades: tuple[str, ...]


C, S, R = AllianceType.CHAIN, AllianceType.SECTOR, AllianceType.REGION
E, SO = UnitKind.ENTERPRISE, UnitKind.SOCIAL_ORG

PLANS: tuple[AlliancePlan, ...] = (
    AlliancePlan(
        "食品产业链党建红色联盟", C, 6, 30, 11, E, ("食品", "粮油", "肉制品", "冷链物流")
    ),
    AlliancePlan("宠物食品产业链党建红色联盟", C, 5, 29, 10, E, ("宠物食品", "饲料", "包装")),
    AlliancePlan(
        "新型建材产业链党建红色联盟", C, 5, 28, 10, E, ("新型建材", "装配式建筑", "保温材料")
    ),
    AlliancePlan("民营医院行业党建红色联盟", S, 4, 20, 34, E, ("医院", "诊所", "康复中心")),
    AlliancePlan(
        "公益社会组织行业党建红色联盟",
        S,
        3,
        20,
        34,
        SO,
        ("志愿服务协会", "慈善会", "公益服务中心"),
    ),
    AlliancePlan(
        "直播电商行业党建红色联盟", S, 3, 20, 34, E, ("电子商务", "直播传媒", "网络科技")
    ),
    AlliancePlan("快递物流行业党建红色联盟", S, 3, 21, 35, E, ("快递", "物流", "供应链")),
    AlliancePlan(
        "律师会计服务行业党建红色联盟",
        S,
        4,
        20,
        34,
        E,
        ("律师事务所", "会计师事务所", "税务师事务所"),
    ),
    AlliancePlan(
        "物业服务行业党建红色联盟", S, 3, 21, 35, E, ("物业服务", "家政服务", "保安服务")
    ),
    AlliancePlan(
        "教育培训行业党建红色联盟", S, 3, 20, 34, SO, ("培训学校", "职业技能培训中心", "托育中心")
    ),
    AlliancePlan(
        "君悦超市商圈党建红色联盟", R, 12, 50, 30, E, ("超市", "餐饮", "服装", "社区网格")
    ),
    AlliancePlan("双创科技园党建红色联盟", R, 4, 27, 20, E, ("软件", "电子", "科技", "孵化器")),
    AlliancePlan("食品产业园党建红色联盟", R, 4, 27, 20, E, ("食品机械", "调味品", "烘焙")),
    AlliancePlan(
        "界湖街道爱城乐业党建红色联盟", R, 4, 27, 21, SO, ("社区社会组织", "物业", "外卖服务站")
    ),
)

DEPARTMENTS = (
    ("tax", "县税务局"),
    ("hrss", "县人力资源和社会保障局"),
    ("finance", "县地方金融服务中心"),
    ("market", "县市场监督管理局"),
    ("planning", "县自然资源和规划局"),
    ("justice", "县司法局"),
    ("transport", "县交通运输局"),
    ("science", "县科学技术局"),
    ("utilities", "县供电公司"),
)

PLACES = (
    "阳都",
    "沂蒙",
    "汶河",
    "蒙山",
    "岸堤",
    "孙祖",
    "双堠",
    "依汶",
    "辛集",
    "铜井",
    "砖埠",
    "马牧池",
    "苏村",
    "湖头",
    "张庄",
    "青驼",
    "大庄",
    "界湖",
    "蒲汪",
    "葛沟",
)
FIRMS = (
    "鑫源",
    "恒达",
    "华盛",
    "金诺",
    "宏图",
    "瑞丰",
    "众诚",
    "新元",
    "同心",
    "兴业",
    "明德",
    "顺和",
    "博远",
    "泰丰",
    "嘉禾",
    "润泽",
    "和信",
    "德润",
    "鼎盛",
    "佳美",
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "建国志强秀英丽娟海燕红梅军伟晓明玉兰桂芳文静德华春生小龙子涵雨婷宏伟淑珍国栋永刚金凤"


def _name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    return rng.choice(SURNAMES) + given


def _unit_name(rng: random.Random, plan: AlliancePlan, used: set[str]) -> str:
    while True:
        trade = rng.choice(plan.trades)
        suffix = (
            ""
            if plan.unit_kind is UnitKind.SOCIAL_ORG
            or trade.endswith(("所", "中心", "站", "网格", "孵化器", "学校", "医院", "诊所"))
            else "有限公司"
        )
        name = f"{rng.choice(PLACES)}{rng.choice(FIRMS)}{trade}{suffix}"
        if name not in used:
            used.add(name)
            return name


async def load_county(session: AsyncSession, now: datetime, seed: int = 2026) -> dict[str, object]:
    """Create the county; returns the console accounts' members and the newcomer's code."""
    rng = random.Random(seed)
    departments = {code: Department(code=code, name=name) for code, name in DEPARTMENTS}
    session.add_all(departments.values())
    used: set[str] = set()
    units_by_alliance: list[tuple[Alliance, list[Unit]]] = []
    members_by_alliance: list[list[Member]] = []
    for plan in PLANS:
        alliance = Alliance(name=plan.name, type=plan.type, description="、".join(plan.trades))
        units = [
            Unit(
                name=_unit_name(rng, plan, used),
                kind=plan.unit_kind,
                has_party_org=i < plan.party_orgs,
            )
            for i in range(plan.units)
        ]
        session.add(alliance)
        session.add_all(units)
        session.add_all(Membership(alliance=alliance, unit=u) for u in units)
        party_units = units[: plan.party_orgs]
        members = [
            Member(
                name=_name(rng),
                phone=f"139{rng.randrange(10**8):08d}",
                home_unit=party_units[i % len(party_units)],
            )
            for i in range(plan.members)
        ]
        session.add_all(members)
        units_by_alliance.append((alliance, units))
        members_by_alliance.append(members)
    await session.flush()

    first_alliance, first_units = units_by_alliance[0]
    food_members = members_by_alliance[0]

    def at_unit(unit: Unit, n: int) -> Member:
        return [m for m in food_members if m.home_unit is unit][n]

    host = at_unit(first_units[0], 0)  # the first member listed at a unit is its secretary
    member = at_unit(first_units[1], 1)
    alliance_admin = at_unit(first_units[2], 1)
    newcomer = at_unit(first_units[3], 1)
    express = members_by_alliance[6]  # 快递物流: home branch in another alliance
    mobile = [m for m in express if m.home_unit is express[0].home_unit][1]  # not a secretary
    mobile.is_mobile = True
    mobile.workplace = "食品产业园务工"
    admin = Member(name="县两新组织工委·王建国", is_party_member=False)
    officer = Member(name="税务局·刘晓明", department=departments["tax"], is_party_member=False)
    session.add_all([admin, officer])
    await session.flush()
    # Each party-org unit gets its secretary: the first member listed at that unit.
    for members in members_by_alliance:
        seen: set[int] = set()
        for m in members:
            if m.home_unit_id not in seen:
                seen.add(m.home_unit_id or 0)
                session.add(MemberRole(member_id=m.id, role=Role.SECRETARY))
    session.add_all(
        [
            MemberRole(member_id=admin.id, role=Role.SUPER_ADMIN),
            MemberRole(
                member_id=alliance_admin.id,
                role=Role.ALLIANCE_ADMIN,
                alliance_id=first_alliance.id,
            ),
            MemberRole(member_id=officer.id, role=Role.OFFICER),
        ]
    )
    accounts = {
        "admin": admin,
        "alliance_admin": alliance_admin,
        "host": host,
        "officer_tax": officer,
        "member": member,
        "mobile": mobile,
    }
    for key, who in accounts.items():
        session.add(Identity(platform="console", user_key=key, chat_key=key, member_id=who.id))
    code = f"{rng.randrange(10**7, 10**8)}"
    session.add(InviteCode(code=code, member_id=newcomer.id, expires_at=now + timedelta(days=30)))
    await session.flush()
    return {**accounts, "newcomer": newcomer, "newcomer_code": code}
