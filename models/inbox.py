"""Inbound events: stored before the platform hears they arrived, processed once, in user order.

An adapter stores each event (status `pending`, the Incoming as JSON, the raw payload) and only
then answers the platform (the webhook's 200, the next polling offset). Workers claim the
oldest pending event of each user — many users at once, one event of a user at a time — and
mark it `done` in the transaction of its effects. (platform, event_id) is unique, so a
re-delivery is the same row. A transient fault puts the event back with a later `not_before`;
an event that cannot be processed is `failed`, keeps its error and can be queued again.
The console and the tests call the dispatcher directly: their rows are written `done`.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Index,
    Select,
    String,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, aliased, mapped_column

from bot.core import Attachment, Incoming, Location
from models.base import Base
from models.prebuilt import DriverTransaction, run_prebuilt

RAW_LIMIT = 64 * 1024  # characters of the raw payload kept with an event


class EventStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class InboxEvent(Base):
    __tablename__ = "inbox_event"
    __table_args__ = (
        UniqueConstraint("platform", "event_id"),
        Index("ix_inbox_event_user_time", "platform", "user_key", "received_at"),
        Index("ix_inbox_event_queue", "status", "platform", "user_key", "seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(120))
    user_key: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime]
    status: Mapped[EventStatus] = mapped_column(
        String(10), default=EventStatus.DONE, server_default=EventStatus.DONE.value
    )
    # The platform's own order of a user's events (Telegram update_id, WeCom CreateTime);
    # a user's events are processed by (seq, id).
    seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    payload: Mapped[dict[str, Any] | None]
    raw: Mapped[str] = mapped_column(Text, default="", server_default="")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    error: Mapped[str] = mapped_column(Text, default="", server_default="")
    not_before: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str] = mapped_column(String(80), default="", server_default="")
    # Until then the callback that stored the event may still answer it passively (WeCom):
    # its reply rows are held back from the sender that long.
    passive_until: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    told_at: Mapped[datetime | None]

    def incoming(self) -> Incoming:
        """The stored event as the dispatcher takes it."""
        return incoming_from(self.payload or {})


def incoming_payload(incoming: Incoming) -> dict[str, Any]:
    """An Incoming as JSON-able data (the inverse of incoming_from)."""
    # Field by field: asdict() deep-copies every value, a sixth of what storing an event cost.
    data = {name: getattr(incoming, name) for name in _INCOMING_FIELDS}
    data["received_at"] = incoming.received_at.isoformat()
    data["location"] = asdict(incoming.location) if incoming.location is not None else None
    data["attachments"] = [asdict(a) for a in incoming.attachments]
    return data


_INCOMING_FIELDS = tuple(f.name for f in fields(Incoming))


def incoming_from(payload: dict[str, Any]) -> Incoming:
    data = dict(payload)
    data["received_at"] = datetime.fromisoformat(data["received_at"])
    if data.get("location") is not None:
        data["location"] = Location(**data["location"])
    data["attachments"] = tuple(Attachment(**a) for a in data.get("attachments", ()))
    return Incoming(**data)


async def store_attachments(
    *, session: AsyncSession, event_id: int, attachments: tuple[Attachment, ...]
) -> None:
    """Keep what was downloaded for a stored event, so a retry does not fetch it again."""
    event = await session.get(InboxEvent, event_id, populate_existing=True)
    if event is not None:
        payload = dict(event.payload or {})
        payload["attachments"] = [asdict(a) for a in attachments]
        event.payload = payload


def pending_values(
    incoming: Incoming,
    *,
    now: datetime,
    raw: str = "",
    seq: int = 0,
    passive_until: datetime | None = None,
    claimed_by: str = "",
    claimed_until: datetime | None = None,
) -> dict[str, Any]:
    """A new stored event's columns: waiting for a worker, or already claimed by the one that
    will apply it at once."""
    return {
        "platform": incoming.platform,
        "event_id": incoming.event_id,
        "user_key": incoming.user_key,
        "received_at": now,
        "status": EventStatus.PENDING,
        "seq": seq,
        "payload": incoming_payload(incoming),
        "raw": raw[:RAW_LIMIT],
        "attempts": 0,
        "error": "",
        "not_before": now,
        "passive_until": passive_until,
        "claimed_by": claimed_by,
        "claimed_until": claimed_until,
    }


def pending_event(incoming: Incoming, **values: Any) -> InboxEvent:
    """A new stored event as a row object (see pending_values)."""
    return InboxEvent(**pending_values(incoming, **values))


async def insert_pending(
    *, session: AsyncSession | DriverTransaction, values: dict[str, Any]
) -> int | None:
    """Write a new stored event; returns its id, or None (nothing written) when an earlier
    delivery stored it. A Core insert that finds the repeat itself: no error to roll back, so
    events written together in one transaction are not undone by one repeated among them."""
    if isinstance(session, DriverTransaction):
        dialect = session.dialect.name
    else:
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    rows, _ = await run_prebuilt(session, _insert_statement(dialect), values)
    return int(rows[0][0]) if rows else None


@cache
def _insert_statement(dialect: str) -> Any:
    table = InboxEvent.__table__
    dialect_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    stmt = dialect_insert(table).on_conflict_do_nothing(index_elements=["platform", "event_id"])
    return stmt.returning(table.c.id)


async def find_event(*, session: AsyncSession, platform: str, event_id: str) -> InboxEvent | None:
    stmt = select(InboxEvent).where(
        InboxEvent.platform == platform, InboxEvent.event_id == event_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


@dataclass(frozen=True)
class Taken:
    """An event as the worker that wrote it holds it, to apply at once: not read back."""

    incoming: Incoming
    passive_until: datetime | None = None


class NotFirstOfUser(Exception):
    """An event taken at once is behind another pending event of its user: it waits."""


def _first_of_user(this: Any = InboxEvent, earlier: Any = None) -> Any:
    """No earlier unfinished event of the same user (a user's events apply in order).
    `this`: the entity (in an ORM query) or its table's columns (in a Core statement)."""
    earlier = aliased(InboxEvent) if earlier is None else earlier
    return ~exists().where(
        earlier.platform == this.platform,
        earlier.user_key == this.user_key,
        earlier.status == EventStatus.PENDING,
        or_(
            earlier.seq < this.seq,
            and_(earlier.seq == this.seq, earlier.id < this.id),
        ),
    )


def _claimable(now: Any) -> Any:
    """Pending, due, not held by a live claim, and the first unfinished event of its user."""
    return and_(
        InboxEvent.status == EventStatus.PENDING,
        or_(InboxEvent.not_before.is_(None), InboxEvent.not_before <= now),
        or_(InboxEvent.claimed_until.is_(None), InboxEvent.claimed_until < now),
        _first_of_user(),
    )


@cache
def _claim_statement(limit: int, postgresql: bool) -> Select[tuple[InboxEvent]]:
    """The claim's SELECT, built once per limit (it runs whenever an event arrives; building
    it, with its alias and sub-query, cost more than running it); `now` is bound per call."""
    stmt = select(InboxEvent).where(_claimable(bindparam("now")))
    stmt = stmt.order_by(InboxEvent.seq, InboxEvent.id).limit(limit)
    if postgresql:
        stmt = stmt.with_for_update(skip_locked=True, of=InboxEvent)
    return stmt


async def claim_events(
    *,
    session: AsyncSession,
    now: datetime,
    limit: int,
    worker: str,
    lease: timedelta = timedelta(seconds=60),
    only: list[int] | None = None,
) -> list[InboxEvent]:
    """Claim up to `limit` events, at most one per user: each user's oldest pending one.

    On PostgreSQL the SELECT skips rows another worker holds (FOR UPDATE SKIP LOCKED). The
    claim only spreads the work: the event's own transaction marks it done only if it is
    still pending, so two workers can never both apply it.
    """
    postgresql = session.bind is not None and session.bind.dialect.name == "postgresql"
    stmt = _claim_statement(limit, postgresql)
    if only is not None:
        stmt = stmt.where(InboxEvent.id.in_(only))
    rows = list((await session.execute(stmt, {"now": now})).scalars())
    if rows:
        await session.execute(
            update(InboxEvent)
            .where(InboxEvent.id.in_([r.id for r in rows]))
            .values(claimed_until=now + lease, claimed_by=worker)
        )
    return rows


@cache
def _begin_statement(first_of_user: bool) -> Any:
    """On the table, not the entity: an ORM UPDATE also works out, on every call, which
    objects of the session it changes (there are none: the event is never loaded)."""
    table = InboxEvent.__table__
    stmt = update(table).where(
        table.c.id == bindparam("the_id"), table.c.status == EventStatus.PENDING
    )
    if first_of_user:
        stmt = stmt.where(_first_of_user(table.c, table.alias().c))
    done_at = bindparam("the_time", type_=table.c.done_at.type)
    return stmt.values(status=EventStatus.DONE, done_at=done_at, claimed_until=None, claimed_by="")


async def begin_event(
    *, session: AsyncSession, event_id: int, now: datetime, first_of_user: bool = False
) -> bool:
    """Mark a pending event done, in the transaction that applies it; False if it is not
    pending any more (another worker did it). On PostgreSQL this waits for a worker that
    holds the row.

    An event a worker took at once, without a claim (`first_of_user`), raises NotFirstOfUser
    when an earlier event of its user is still pending: that one goes first.
    """
    stmt = _begin_statement(first_of_user)
    _, changed = await run_prebuilt(session, stmt, {"the_id": event_id, "the_time": now})
    if changed == 1:
        return True
    if (
        first_of_user
        and await event_status(session=session, event_id=event_id) == EventStatus.PENDING
    ):
        raise NotFirstOfUser(event_id)
    return False


async def retry_later(
    *, session: AsyncSession, event_id: int, attempts: int, error: str, not_before: datetime
) -> None:
    """A transient fault: the event stays pending and is tried again from `not_before`."""
    await session.execute(
        update(InboxEvent)
        .where(InboxEvent.id == event_id, InboxEvent.status == EventStatus.PENDING)
        .values(
            attempts=attempts,
            error=error[:2000],
            not_before=not_before,
            claimed_until=None,
            claimed_by="",
        )
    )


async def mark_failed(
    *, session: AsyncSession, event_id: int, attempts: int, error: str, now: datetime
) -> bool:
    """The event gives up: failed with its error. True when the sender is to be told now (the
    first failure of this event; a replay that fails again tells nobody twice)."""
    row = await session.get(InboxEvent, event_id, populate_existing=True)
    if row is None or row.status != EventStatus.PENDING:
        return False
    first = row.told_at is None
    row.status = EventStatus.FAILED
    row.attempts = attempts
    row.error = error[:2000]
    row.claimed_until = None
    row.claimed_by = ""
    row.passive_until = None
    if first:
        row.told_at = now
    return first


async def release_claim(*, session: AsyncSession, event_id: int, worker: str) -> None:
    """Give back one event this worker took (it waits behind an earlier one of its user)."""
    await session.execute(
        update(InboxEvent)
        .where(InboxEvent.id == event_id, InboxEvent.claimed_by == worker)
        .values(claimed_until=None, claimed_by="")
    )


async def release_claims(*, session: AsyncSession, worker: str) -> int:
    """Give back the events this worker claimed but did not finish (shutdown, restart)."""
    result = await session.execute(
        update(InboxEvent)
        .where(InboxEvent.claimed_by == worker, InboxEvent.status == EventStatus.PENDING)
        .values(claimed_until=None, claimed_by="")
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def end_passive_wait(*, session: AsyncSession, event_id: int) -> None:
    """The callback answered without a passive reply: replies need not wait for it."""
    await session.execute(
        update(InboxEvent).where(InboxEvent.id == event_id).values(passive_until=None)
    )


async def event_status(*, session: AsyncSession, event_id: int) -> EventStatus | None:
    stmt = select(InboxEvent.status).where(InboxEvent.id == event_id)
    found = (await session.execute(stmt)).scalar_one_or_none()
    return EventStatus(found) if found is not None else None


async def failed_events(*, session: AsyncSession, limit: int = 200) -> list[InboxEvent]:
    stmt = (
        select(InboxEvent)
        .where(InboxEvent.status == EventStatus.FAILED)
        .order_by(InboxEvent.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def requeue(*, session: AsyncSession, ids: list[int], now: datetime) -> list[int]:
    """Put failed events back in their users' queues; returns the ids that were failed."""
    stmt = select(InboxEvent.id).where(
        InboxEvent.id.in_(ids),
        InboxEvent.status == EventStatus.FAILED,
        InboxEvent.payload.is_not(None),
    )
    found = list((await session.execute(stmt)).scalars())
    if found:
        await session.execute(
            update(InboxEvent)
            .where(InboxEvent.id.in_(found))
            .values(
                status=EventStatus.PENDING,
                attempts=0,
                not_before=now,
                claimed_until=None,
                claimed_by="",
                passive_until=None,
            )
        )
    return found


async def oldest_pending(*, session: AsyncSession) -> datetime | None:
    """When the oldest event still waiting to be processed arrived."""
    stmt = select(func.min(InboxEvent.received_at)).where(InboxEvent.status == EventStatus.PENDING)
    value: datetime | None = (await session.execute(stmt)).scalar()
    return value


async def prune_inbox(
    *, session: AsyncSession, before: datetime, failed_before: datetime | None = None
) -> int:
    """Forget finished events older than any platform re-delivers (days, not minutes), and
    failed ones older than `failed_before`; pending events stay until processed."""
    done = (InboxEvent.status == EventStatus.DONE) & (InboxEvent.received_at < before)
    if failed_before is not None:
        done = done | (
            (InboxEvent.status == EventStatus.FAILED) & (InboxEvent.received_at < failed_before)
        )
    result = await session.execute(delete(InboxEvent).where(done))
    return result.rowcount or 0  # type: ignore[attr-defined]
