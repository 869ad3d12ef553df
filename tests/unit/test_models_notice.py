"""Audience resolution within the sender's scope, and the per-recipient delivery figures."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from handlers.notices import card
from models.member import Identity, Member
from models.notice import (
    AudienceKind,
    NoticeRecipient,
    _member_status,
    create_notice,
    resolve_audience,
    send_notice,
)
from models.org import Alliance
from models.outbox import OutboxMessage, OutboxStatus
from models.scope import Scope


async def _ids(app: App) -> dict[str, Any]:
    async with app.sessionmaker() as session:
        alliances = {n: i for i, n in (await session.execute(select(Alliance.id, Alliance.name)))}
        host = await session.scalar(
            select(Member).join(Identity).where(Identity.user_key == "host")
        )
    assert host is not None
    return {
        "food": alliances["食品产业链党建红色联盟"],
        "pet": alliances["宠物食品产业链党建红色联盟"],
        "express": alliances["快递物流行业党建红色联盟"],
        "host_unit": host.home_unit_id,
    }


@pytest.mark.parametrize(
    ("kind", "ids", "scope", "expected"),
    [
        (AudienceKind.ALL, [], [], 360),  # every party member of the county
        (AudienceKind.ALL, [], ["food"], 30),  # an alliance admin's "everyone"
        (AudienceKind.ALLIANCES, ["food", "pet"], [], 59),
        (AudienceKind.ALLIANCES, ["food", "pet"], ["food"], 30),  # pet is out of scope
        (AudienceKind.UNITS, ["host_unit"], [], 5),
        (AudienceKind.UNITS, ["host_unit"], ["pet"], 0),
        (AudienceKind.SECRETARIES, [], [], 63),  # one per party organisation
        (AudienceKind.SECRETARIES, [], ["food"], 6),
        (AudienceKind.MOBILE, [], [], 1),
        (AudienceKind.MOBILE, [], ["food"], 0),
        (AudienceKind.MOBILE, [], ["express"], 1),
    ],
)
async def test_audience_resolution(
    demo_app: App, kind: AudienceKind, ids: list[str], scope: list[str], expected: int
) -> None:
    known = await _ids(demo_app)
    async with demo_app.sessionmaker() as session:
        members = await resolve_audience(
            session=session,
            audience={"kind": kind, "ids": [known[i] for i in ids]},
            scope=Scope.from_stored(known[s] for s in scope),
        )
    assert len(members) == expected
    assert len(set(members)) == len(members)


def test_a_recipient_counts_once_by_their_best_delivery() -> None:
    s = OutboxStatus
    assert _member_status({s.SENT, s.UNREACHABLE}) == "delivered"
    assert _member_status({s.FAILED, s.SENDING}) == "pending"
    assert _member_status({s.FAILED, s.UNREACHABLE}) == "failed"
    assert _member_status({s.UNREACHABLE}) == "unreachable"


async def test_sending_a_notice_again_adds_no_rows(demo_app: App) -> None:
    known = await _ids(demo_app)
    now = demo_app.clock.now()
    async with demo_app.sessionmaker() as session, session.begin():
        admin = await session.scalar(
            select(Member).join(Identity).where(Identity.user_key == "alliance_admin")
        )
        assert admin is not None
        notice = await create_notice(
            session=session,
            author=admin,
            text="t",
            audience={"kind": AudienceKind.ALLIANCES, "ids": [known["food"], known["pet"]]},
            now=now,
            card=card,
        )
        before = await _rows(session, notice.id)
        assert await send_notice(session=session, notice=notice, now=now, card=card) == 30
        assert await _rows(session, notice.id) == before == (30, 30)


async def _rows(session: AsyncSession, notice_id: int) -> tuple[int, int]:
    outbox = await session.scalar(
        select(func.count()).where(
            OutboxMessage.kind == "notice", OutboxMessage.ref_id == notice_id
        )
    )
    recipients = await session.scalar(
        select(func.count()).where(NoticeRecipient.notice_id == notice_id)
    )
    return outbox or 0, recipients or 0
