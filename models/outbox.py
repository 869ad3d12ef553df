"""Outbox: every message other than the direct reply, written in the causing transaction.

A sender claims due rows, sends them and marks each one; a crash resumes without loss, and
`dedupe_key` makes "send once" (reminders, broadcasts) hold across restarts.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Index, String, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.core import Button, Reply
from models.base import Base
from models.member import Identity


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNREACHABLE = "unreachable"


class OutboxMessage(Base):
    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_due", "status", "platform", "not_before"),
        Index("ix_outbox_message_ref", "kind", "ref_id"),  # delivery figures per notice
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), index=True
    )
    platform: Mapped[str] = mapped_column(String(20), default="")
    user_key: Mapped[str] = mapped_column(String(100), default="")
    text: Mapped[str]
    buttons: Mapped[list[Any]] = mapped_column(default=list)
    image: Mapped[str] = mapped_column(default="")
    file: Mapped[str] = mapped_column(default="")
    kind: Mapped[str] = mapped_column(String(30), default="message")
    ref_id: Mapped[int | None]
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(String(12), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(default="")
    created_at: Mapped[datetime]
    not_before: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]

    def to_reply(self) -> Reply:
        from pathlib import Path

        return Reply(
            text=self.text,
            # Rows queued before buttons were typed ([label, "route:data"]) lose their buttons.
            buttons=tuple(Button(b[0], b[1], **b[2]) for b in self.buttons if len(b) == 3),
            image=Path(self.image) if self.image else None,
            file=Path(self.file) if self.file else None,
        )


def stored_buttons(reply: Reply) -> list[list[Any]]:
    """A reply's buttons as the row keeps them: [label, target, values]."""
    return [[b.label, b.target, dict(b.values)] for b in reply.buttons]


async def enqueue(
    *,
    session: AsyncSession,
    member_id: int,
    reply: Reply,
    now: datetime,
    kind: str = "message",
    ref_id: int | None = None,
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
) -> list[OutboxMessage]:
    """One row per bound identity of the member; an unbound member gets one UNREACHABLE row.

    With a `dedupe_key` that was already enqueued, nothing is added (send once).
    """
    if dedupe_key is not None:
        seen = await session.execute(
            select(OutboxMessage.id)
            .where(OutboxMessage.dedupe_key.startswith(dedupe_key + "|"))
            .limit(1)
        )
        if seen.first() is not None:
            return []
    identities = (
        (await session.execute(select(Identity).where(Identity.member_id == member_id)))
        .scalars()
        .all()
    )
    targets: list[tuple[str, str, OutboxStatus]] = [
        (
            i.platform,
            i.user_key,
            OutboxStatus.UNREACHABLE if i.unreachable else OutboxStatus.PENDING,
        )
        for i in identities
    ] or [("", "", OutboxStatus.UNREACHABLE)]
    rows = [
        OutboxMessage(
            member_id=member_id,
            platform=platform,
            user_key=user_key,
            text=reply.text,
            buttons=stored_buttons(reply),
            image=str(reply.image or ""),
            file=str(reply.file or ""),
            kind=kind,
            ref_id=ref_id,
            dedupe_key=f"{dedupe_key}|{platform}" if dedupe_key else None,
            status=status,
            created_at=now,
            not_before=not_before or now,
        )
        for platform, user_key, status in targets
    ]
    if dedupe_key is None:
        session.add_all(rows)
        await session.flush()
        return rows
    try:
        # Another worker may be enqueueing the same key right now (a sweep overlapping a
        # fail-over): its uncommitted row makes our insert wait, then conflict; that is "sent".
        async with session.begin_nested():
            session.add_all(rows)
            await session.flush()
    except IntegrityError:
        return []
    return rows


async def claim_due(
    *,
    session: AsyncSession,
    platforms: list[str],
    now: datetime,
    limit: int,
    lease: timedelta = timedelta(minutes=2),
) -> list[OutboxMessage]:
    """Claim due rows for sending: pending ones, or ones whose earlier claim lapsed.

    On PostgreSQL the SELECT skips rows another sender holds (FOR UPDATE SKIP LOCKED).
    """
    due = (
        (OutboxMessage.platform.in_(platforms))
        & (OutboxMessage.not_before <= now)
        & (
            (OutboxMessage.status == OutboxStatus.PENDING)
            | (
                (OutboxMessage.status == OutboxStatus.SENDING)
                & (OutboxMessage.claimed_until < now)
            )
        )
    )
    stmt = select(OutboxMessage).where(due).order_by(OutboxMessage.id).limit(limit)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list((await session.execute(stmt)).scalars())
    if rows:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([r.id for r in rows]))
            .values(status=OutboxStatus.SENDING, claimed_until=now + lease)
        )
        for row in rows:
            row.status = OutboxStatus.SENDING
            row.claimed_until = now + lease
    return rows


CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits


async def enqueue_many(
    *,
    session: AsyncSession,
    member_ids: list[int],
    reply: Reply,
    now: datetime,
    kind: str = "message",
    ref_id: int | None = None,
    dedupe_prefix: str | None = None,
    not_before: datetime | None = None,
) -> int:
    """`enqueue` for many members in a few queries (broadcasts); returns the rows added.

    Member m's dedupe key is f"{dedupe_prefix}:{m}", so a retry never enqueues twice.
    """
    targets: dict[int, list[tuple[str, str, OutboxStatus]]] = {m: [] for m in member_ids}
    ids = list(targets)
    for start in range(0, len(ids), CHUNK):
        rows = await session.execute(
            select(Identity.member_id, Identity.platform, Identity.user_key, Identity.unreachable)
            .where(Identity.member_id.in_(ids[start : start + CHUNK]))
            .order_by(Identity.id)
        )
        for member_id, platform, user_key, unreachable in rows:
            status = OutboxStatus.UNREACHABLE if unreachable else OutboxStatus.PENDING
            targets[member_id].append((platform, user_key, status))
    for found in targets.values():
        found[:] = found or [("", "", OutboxStatus.UNREACHABLE)]
    if dedupe_prefix is not None:
        keys = {
            f"{dedupe_prefix}:{m}|{p}": m
            for m, found in targets.items()
            for p in {"", *(t[0] for t in found)}
        }
        names = list(keys)
        for start in range(0, len(names), CHUNK):
            seen = await session.execute(
                select(OutboxMessage.dedupe_key).where(
                    OutboxMessage.dedupe_key.in_(names[start : start + CHUNK])
                )
            )
            for (key,) in seen:
                targets.pop(keys[key], None)
    buttons = stored_buttons(reply)
    values = [
        {
            "member_id": member_id,
            "platform": platform,
            "user_key": user_key,
            "text": reply.text,
            "buttons": buttons,
            "image": str(reply.image or ""),
            "file": str(reply.file or ""),
            "kind": kind,
            "ref_id": ref_id,
            "dedupe_key": f"{dedupe_prefix}:{member_id}|{platform}" if dedupe_prefix else None,
            "status": status,
            "attempts": 0,
            "error": "",
            "created_at": now,
            "not_before": not_before or now,
        }
        for member_id, found in targets.items()
        for platform, user_key, status in found
    ]
    if values:
        await session.execute(insert(OutboxMessage), values)
    return len(values)
