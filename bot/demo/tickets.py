"""Demo tickets in several states, filed by members other than the `member` account."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.member import Member
from models.ticket import Rating, file_ticket, transition

PROBLEMS = (
    ("finance", "订单增加需要流动资金，想申请一笔小额贷款，不知道找哪家银行。", 2, ()),
    ("tax", "出口退税申报材料被退回两次，不清楚还缺什么。", 30, ("sign", "update")),
    ("tax", "新办企业不会在电子税务局领用发票。", 240, ("sign", "resolve", "rate")),
    ("other", "园区门口的公交站撤了，员工上下班不方便。", 3, ()),
)
NOTES = {
    "update": "已电话联系企业财务，约定明天上门辅导。",
    "resolve": "专管员上门指导完成发票领用。",
}


async def seed(session: AsyncSession, now: datetime, accounts: dict[str, Any]) -> None:
    """A fresh finance ticket, a tax ticket in progress, a closed one, an unrouted one."""
    host: Member = accounts["host"]
    officer: Member = accounts["officer_tax"]
    for who in (host, officer):
        await session.refresh(who, ["roles"])  # roles were added as rows, not through `roles`
    for category, text, hours_ago, steps in PROBLEMS:
        at = now - timedelta(hours=hours_ago)
        ticket, _ = await file_ticket(
            session=session,
            reporter=host,
            unit_id=host.home_unit_id,
            text=text,
            category=category,
            now=at,
        )
        for i, action in enumerate(steps, 1):
            actor = host if action == "rate" else officer
            await transition(
                session=session,
                ticket=ticket,
                action=action,
                actor=actor,
                now=at + timedelta(hours=2 * i),
                note=NOTES.get(action, ""),
                rating=Rating.SATISFIED if action == "rate" else None,
            )
    await session.flush()
