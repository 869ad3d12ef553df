"""Outbox: every message the bot sends, written in the transaction that caused it.

Direct replies to an event (kind "reply", `inbox_id` the event) go first (`priority` 0), then
messages to others from a conversation (1), then broadcasts and sweeps (2). A sender claims
due rows, sends them and marks each one; a crash resumes without loss, and `dedupe_key`
makes "send once" (reminders, broadcasts) hold across restarts.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ForeignKey, Index, Select, String, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.core import Button, Incoming, Reply
from models.base import Base
from models.member import Identity
from models.prebuilt import DriverTransaction, run_prebuilt

PRIORITY_REPLY = 0  # the answer to what a user just sent
PRIORITY_MESSAGE = 1  # a message to someone else, caused by a conversation
PRIORITY_BULK = 2  # broadcasts, reminders, digests


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
        Index("ix_outbox_message_queue", "status", "priority", "not_before"),
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
    claimed_by: Mapped[str] = mapped_column(String(80), default="", server_default="")
    sent_at: Mapped[datetime | None]
    priority: Mapped[int] = mapped_column(default=PRIORITY_BULK, server_default="2")
    inbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbox_event.id", ondelete="SET NULL"), index=True
    )

    def to_reply(self) -> Reply:
        from pathlib import Path

        return Reply(
            text=self.text,
            # Rows queued before buttons were typed ([label, "route:data"]) lose their buttons;
            # a fourth item is the token already issued for this row (kept for a re-send).
            buttons=tuple(
                Button(b[0], b[1], token=b[3] if len(b) == 4 else "", **b[2])
                for b in self.buttons
                if len(b) in (3, 4)
            ),
            image=Path(self.image) if self.image else None,
            file=Path(self.file) if self.file else None,
        )


def stored_buttons(reply: Reply) -> list[list[Any]]:
    """A reply's buttons as the row keeps them: [label, target, values], plus the token when
    one was issued."""
    return [
        [b.label, b.target, dict(b.values), *([b.token] if b.token else [])] for b in reply.buttons
    ]


SEND_LEASE = timedelta(minutes=2)  # how long a sender's claim on a row holds


async def enqueue_replies(
    *,
    session: AsyncSession,
    incoming: Incoming,
    replies: list[Reply],
    now: datetime,
    inbox_id: int | None,
    member_id: int | None = None,
    hold_until: datetime | None = None,
    pointer: str = "",
    claimed_by: str = "",
) -> list[OutboxMessage]:
    """The answer to an event, to the chat it came from, first in line (PRIORITY_REPLY).

    From a group, replies go to the user's private chat and `pointer` (if any) to the group.
    `hold_until`: not sent before then (a callback may still deliver them passively).
    `claimed_by`: a running sender that is handed the rows when this transaction commits;
    they are written already claimed by it (a row held back, or whose buttons carry no token
    yet, is left for a claim). The rows are returned as plain objects, not in the session:
    written with one Core insert (this runs for every event; the ORM's unit of work cost more
    than the rest of it).
    """
    target = incoming.user_key if incoming.is_group else incoming.chat_key
    addressed = [(target, reply, "reply") for reply in replies]
    if incoming.is_group and replies and pointer:
        addressed.append((incoming.chat_key, Reply(pointer), "pointer"))
    due = max(now, hold_until) if hold_until else now
    values = []
    for user_key, reply, kind in addressed:
        handed = bool(claimed_by) and due <= now and all(b.token for b in reply.buttons)
        values.append(
            {
                "member_id": member_id,
                "platform": incoming.platform,
                "user_key": user_key,
                "text": reply.text,
                "buttons": stored_buttons(reply),
                "image": str(reply.image or ""),
                "file": str(reply.file or ""),
                "kind": kind,
                "ref_id": None,
                "dedupe_key": None,
                "status": OutboxStatus.SENDING if handed else OutboxStatus.PENDING,
                "attempts": 0,
                "error": "",
                "priority": PRIORITY_REPLY,
                "inbox_id": inbox_id,
                "created_at": now,
                "not_before": due,
                "claimed_until": now + SEND_LEASE if handed else None,
                "claimed_by": claimed_by if handed else "",
                "sent_at": None,
            }
        )
    if not values:
        return []
    written = []
    for row in values:
        ids, _ = await run_prebuilt(session, _reply_insert(), row)
        written.append(OutboxMessage(id=ids[0][0], **row))
    return written


@cache
def _reply_insert() -> Any:
    table = OutboxMessage.__table__
    return insert(table).returning(table.c.id)


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
    priority: int = PRIORITY_BULK,
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
            priority=priority,
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


def _due(platforms: list[str], now: Any) -> Any:
    return (
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


@cache
def _claim_statement(
    platforms: tuple[str, ...], priorities: tuple[int, int], limit: int, postgresql: bool
) -> Select[tuple[OutboxMessage]]:
    """The claim's SELECT, built once per shape (the sender claims after every event);
    `now` is bound per call."""
    low, high = priorities
    due = _due(list(platforms), bindparam("now")) & OutboxMessage.priority.between(low, high)
    stmt = (
        select(OutboxMessage)
        .where(due)
        .order_by(OutboxMessage.priority, OutboxMessage.id)
        .limit(limit)
    )
    if postgresql:
        stmt = stmt.with_for_update(skip_locked=True)
    return stmt


async def claim_due(
    *,
    session: AsyncSession,
    platforms: list[str],
    now: datetime,
    limit: int,
    lease: timedelta = SEND_LEASE,
    priorities: tuple[int, int] = (PRIORITY_REPLY, PRIORITY_BULK),
    worker: str = "",
) -> list[OutboxMessage]:
    """Claim due rows for sending, most urgent first: pending ones, or ones whose earlier
    claim lapsed. `priorities`: the lowest and highest priority value to take.

    On PostgreSQL the SELECT skips rows another sender holds (FOR UPDATE SKIP LOCKED).
    """
    postgresql = session.bind is not None and session.bind.dialect.name == "postgresql"
    stmt = _claim_statement(tuple(platforms), priorities, limit, postgresql)
    rows = list((await session.execute(stmt, {"now": now})).scalars())
    if rows:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([r.id for r in rows]))
            .values(status=OutboxStatus.SENDING, claimed_until=now + lease, claimed_by=worker)
        )
        for row in rows:
            row.status = OutboxStatus.SENDING
            row.claimed_until = now + lease
            row.claimed_by = worker
    return rows


async def release_claims(
    *, session: AsyncSession, held: dict[int, datetime | None] | None = None, worker: str = ""
) -> int:
    """Give rows claimed but not sent back to the queue, due at once: those in `held` (id →
    the lease this sender set), or every row claimed by `worker` (its previous run)."""
    unsent = OutboxMessage.status == OutboxStatus.SENDING
    released = 0
    by_lease: dict[datetime | None, list[int]] = {}
    for row_id, lease in (held or {}).items():
        by_lease.setdefault(lease, []).append(row_id)
    for lease, ids in by_lease.items():
        for start in range(0, len(ids), CHUNK):
            result = await session.execute(
                update(OutboxMessage)
                .where(
                    unsent,
                    OutboxMessage.id.in_(ids[start : start + CHUNK]),
                    OutboxMessage.claimed_until == lease,
                )
                .values(status=OutboxStatus.PENDING, claimed_until=None, claimed_by="")
            )
            released += result.rowcount or 0  # type: ignore[attr-defined]
    if worker:
        result = await session.execute(
            update(OutboxMessage)
            .where(unsent, OutboxMessage.claimed_by == worker)
            .values(status=OutboxStatus.PENDING, claimed_until=None, claimed_by="")
        )
        released += result.rowcount or 0  # type: ignore[attr-defined]
    return released


async def release_hold(*, session: AsyncSession, inbox_id: int, now: datetime) -> None:
    """An event's replies held for a passive answer may go out now."""
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.inbox_id == inbox_id,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.not_before > now,
        )
        .values(not_before=now)
    )


async def held_replies(
    *, session: AsyncSession, inbox_id: int, now: datetime
) -> list[OutboxMessage]:
    """An event's replies still held back from the sender (not due before `now`)."""
    stmt = (
        select(OutboxMessage)
        .where(
            OutboxMessage.inbox_id == inbox_id,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.priority == PRIORITY_REPLY,
        )
        .order_by(OutboxMessage.id)
    )
    rows = list((await session.execute(stmt)).scalars())
    if any(row.not_before <= now for row in rows):
        return []  # one of them may be with the sender already
    return rows


async def update_row(
    *, session: AsyncSession | DriverTransaction, row_id: int, **values: Any
) -> None:
    """Set a row's columns (the sender's mark after each send: sent, or failed and when to
    try again). A Core statement built once per set of columns: built per call, as an ORM
    UPDATE checked against the session, it cost more than the rest of a send."""
    stmt = _row_update(tuple(sorted(values)))
    await run_prebuilt(
        session, stmt, {"the_id": row_id, **{f"new_{k}": v for k, v in values.items()}}
    )


@cache
def _row_update(columns: tuple[str, ...]) -> Any:
    table = OutboxMessage.__table__
    assigned = {c: bindparam(f"new_{c}", type_=table.c[c].type) for c in columns}
    return update(table).where(table.c.id == bindparam("the_id")).values(assigned)


async def mark_sent(*, session: AsyncSession, row_id: int, now: datetime) -> bool:
    """Record a row as delivered some other way (a passive callback answer)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.SENT, sent_at=now, error="")
    )
    return (result.rowcount or 0) == 1  # type: ignore[attr-defined]


async def oldest_due(
    *, session: AsyncSession, platforms: list[str], now: datetime, priority: int | None = None
) -> datetime | None:
    """Since when the most overdue row of these platforms has been due (None: nothing due)."""
    from sqlalchemy import func

    stmt = select(func.min(OutboxMessage.not_before)).where(_due(platforms, now))
    if priority is not None:
        stmt = stmt.where(OutboxMessage.priority <= priority)
    value: datetime | None = (await session.execute(stmt)).scalar()
    return value


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
    priority: int = PRIORITY_BULK,
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
            "priority": priority,
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
