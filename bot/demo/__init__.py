"""`python -m bot demo`: load the demo county, then each feature's demo data.

Feature seeders are listed in SEEDERS; each takes the session, the time and the accounts
that load_county returned, and adds its own rows. EXTRA_SEEDERS run after them: data that
changes what the others' figures and sweeps see (a quarter of meetings with check-ins and
follow-up items), left out of the test suite's base county (tests/conftest.py `extras`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.demo import activities as demo_activities
from bot.demo import funds as demo_funds
from bot.demo import meetings as demo_meetings
from bot.demo import notices as demo_notices
from bot.demo import outcomes as demo_outcomes
from bot.demo import partnership as demo_partnership
from bot.demo import resources as demo_resources
from bot.demo import tickets as demo_tickets
from bot.demo import volunteer as demo_volunteer
from bot.demo.county import load_county
from models.base import Base
from models.member import Identity, InviteCode, Member
from models.org import Alliance

Seeder = Callable[[AsyncSession, datetime, dict[str, Any]], Awaitable[None]]

SEEDERS: tuple[Seeder, ...] = (
    demo_activities.seed,
    demo_tickets.seed,
    demo_notices.seed,
    demo_resources.seed,
    demo_funds.seed,
)
EXTRA_SEEDERS: tuple[Seeder, ...] = (
    demo_meetings.seed,
    demo_outcomes.seed,
    demo_volunteer.seed,
    demo_volunteer.seed_pledges,
    demo_partnership.seed,
)

ACCOUNT_ROLES = {
    "admin": "县级管理员（两新组织工委）",
    "alliance_admin": "联盟管理员（食品产业链党建红色联盟）",
    "host": "本期轮值单位书记",
    "officer_tax": "县税务局干部",
    "member": "普通党员",
    "mobile": "流动党员（组织关系在快递物流行业联盟）",
    "newcomer": "尚未绑定，用下面的邀请码绑定",
}


CONSOLE_HINT = (
    "管理后台：运行 python -m bot serve，再以 admin 或 alliance_admin 在聊天中发送“后台”，"
    "打开收到的登录链接（officer_tax 可办理工单）。"
)


async def drop_everything(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


async def load_demo(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime, *, extras: bool = True
) -> tuple[bool, str]:
    """Load the demo once; returns (loaded now?, the printable account list)."""
    async with sessionmaker() as session, session.begin():
        if await session.scalar(select(Alliance.id).limit(1)) is None:
            accounts = await load_county(session, now)
            for seed in SEEDERS + (EXTRA_SEEDERS if extras else ()):
                await seed(session, now, accounts)
            loaded = True
        else:
            loaded = False
        listing = await _accounts(session)
    return loaded, listing


async def _accounts(session: AsyncSession) -> str:
    lines = ["演示账号（python -m bot console --user 账号）："]
    rows = await session.execute(
        select(Identity.user_key, Member.name).join(Member).where(Identity.platform == "console")
    )
    names = {key: name for key, name in rows.all()}
    for key, role in ACCOUNT_ROLES.items():
        if key in names or key == "newcomer":
            lines.append(f"  {key:<15}{role}" + (f" · {names[key]}" if key in names else ""))
    lines.append(CONSOLE_HINT)
    invite = await session.scalar(select(InviteCode).order_by(InviteCode.id).limit(1))
    if invite is not None:
        state = "已使用" if invite.used_at else "可用"
        lines.append(
            f"newcomer 的邀请码：{invite.code}（{state}），在聊天中发送：绑定 {invite.code}"
        )
    return "\n".join(lines)
