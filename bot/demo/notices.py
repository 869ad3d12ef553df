"""Demo notices: two already sent, one of them acknowledged by `member`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.notices import card
from models.member import Member
from models.notice import NOTICE_KIND, AudienceKind, acknowledge, create_notice
from models.outbox import OutboxMessage, OutboxStatus

PAST = (
    (
        "admin",
        "关于开展“亮身份、践承诺”主题活动的通知：请各联盟党员本月内在岗位上亮明党员身份。",
        {"kind": AudienceKind.SECRETARIES, "ids": []},
        timedelta(days=6),
    ),
    (
        "alliance_admin",
        "本季度党建联席会议定于下周三下午在轮值主席单位召开，请各成员单位书记参加。",
        {"kind": AudienceKind.ALL, "ids": []},
        timedelta(days=2),
    ),
)


async def seed(session: AsyncSession, now: datetime, accounts: dict[str, Any]) -> None:
    """Past notices are already delivered, so the console does not print them again."""
    for author, text, audience, ago in PAST:
        at = now - ago
        sender: Member = accounts[author]
        await session.refresh(sender, ["roles"])  # roles were added by id, not loaded
        notice = await create_notice(
            session=session, author=sender, text=text, audience=audience, now=at, card=card
        )
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.kind == NOTICE_KIND,
                OutboxMessage.ref_id == notice.id,
                OutboxMessage.status == OutboxStatus.PENDING,
            )
            .values(status=OutboxStatus.SENT, sent_at=at + timedelta(minutes=1))
        )
        reader: Member = accounts["host"]
        await acknowledge(
            session=session, notice_id=notice.id, member=reader, now=at + timedelta(hours=1)
        )
