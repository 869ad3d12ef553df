"""Demo outcomes: the report's own figures for this year, entered as the alliances would.

食品产业链 reports 降低成本 3000余万元 (two units) and 产出效益 1.7亿元; 公益社会组织行业
捐资捐物 260余万元 and 37 people helped; 界湖街道爱城乐业 479 people helped, 13 old compounds
supported and 2335万元 for charity funds. Each entry comes from a unit secretary with a photo,
is approved (the alliance's admin, else the county) and accepted by the county, through the
model functions, in the quarter it belongs to. One more entry of 食品产业链 waits for the
alliance, so 成果审核 has something to do.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.money import parse_amount
from bot.demo.meetings import _photo
from models.files import store_upload
from models.member import HOME_LOADED, Member
from models.org import Alliance, Membership
from models.outcome import BY_KEY, Kind, Period, act, submit
from models.rotation import alliance_admins, unit_secretary
from settings import get_settings

FOOD, CHARITY, STREET = (
    "食品产业链党建红色联盟",
    "公益社会组织行业党建红色联盟",
    "界湖街道爱城乐业党建红色联盟",
)
# alliance, unit index, metric, quarter, figure (typed as people would) or names, description
ENTRIES: tuple[tuple[str, int, str, int, str, str], ...] = (
    (FOOD, 0, "costs_saved", 2, "1800余万", "联合银行推出“红盟贷”，降低成员企业融资成本"),
    (FOOD, 1, "costs_saved", 3, "1200万", "冷链仓储共享，减少企业自建冷库投入"),
    (FOOD, 2, "output_gained", 3, "1.7亿", "产业链上下游对接，新增订单产值"),
    (CHARITY, 0, "donations", 1, "二百六十余万元", "成员单位为困难家庭捐资捐物"),
    (CHARITY, 1, "people_helped", 2, "困难群众A{:03d}:37", "结对帮扶困难群众"),
    (STREET, 0, "people_helped", 2, "困难群众B{:03d}:300", "社区网格结对帮扶"),
    (
        STREET,
        1,
        "people_helped",
        3,
        "困难群众B{:03d}:479",
        "社区网格结对帮扶（含上季度已帮扶的对象）",
    ),
    (STREET, 2, "compounds", 3, "老旧小区{:02d}:13", "对口支援老旧小区改造提升基础设施"),
    (STREET, 0, "charity_funds", 3, "2,335万", "成员单位捐助社区公益基金"),
)
WAITING = (FOOD, 0, "donations", 4, "约35万元", "中秋走访慰问困难职工")


async def _member(session: AsyncSession, member_id: int) -> Member:
    found = await session.scalar(select(Member).where(Member.id == member_id).options(HOME_LOADED))
    assert found is not None
    return found


def _names(pattern: str) -> list[str]:
    template, _, count = pattern.rpartition(":")
    return [template.format(i) for i in range(1, int(count) + 1)]


async def seed(session: AsyncSession, now: datetime, accounts: dict[str, Any]) -> None:
    alliances = {a.name: a for a in (await session.execute(select(Alliance))).scalars()}
    county = await _member(session, accounts["admin"].id)
    year = now.year
    for row in (*ENTRIES, WAITING):
        name, unit_index, key, quarter, typed, text = row
        alliance = alliances[name]
        unit_ids = list(
            await session.scalars(
                select(Membership.unit_id)
                .where(Membership.alliance_id == alliance.id)
                .order_by(Membership.unit_id)
            )
        )
        submitter = None
        for unit_id in unit_ids[unit_index:] + unit_ids[:unit_index]:
            submitter = await unit_secretary(session, unit_id)
            if submitter is not None:
                break
        assert submitter is not None
        submitter = await _member(session, submitter.id)
        metric = BY_KEY[key]
        period = Period(year, quarter)
        at = min(period.bounds()[1] - timedelta(days=10), now - timedelta(days=1))
        names = _names(typed) if metric.kind == Kind.NAMED else []
        amount = parse_amount(typed) if metric.kind == Kind.MONEY else None
        photo = store_upload(
            data=_photo(), name="凭证.jpg", sent_as="photo", settings=get_settings()
        )
        entry = await submit(
            session=session,
            member=submitter,
            alliance_id=alliance.id,
            unit_id=submitter.home_unit_id,
            metric=metric,
            period=period,
            value=amount.fen if amount else len(names),
            approximate=amount.approximate if amount else False,
            names=names,
            description=text,
            attachments=[photo],
            now=at,
        )
        if row is WAITING:
            continue
        admins = await alliance_admins(session, alliance.id)
        approver = await _member(session, admins[0].id) if admins else county
        await act(session=session, entry=entry, member=approver, action="approve", now=at)
        await act(
            session=session,
            entry=entry,
            member=county,
            action="accept",
            now=at + timedelta(days=3),
        )
