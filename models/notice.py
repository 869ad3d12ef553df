"""Notices (broadcasts) to an audience, their recipients and read receipts.

An audience is a small JSON spec: {"kind": KIND, "ids": [...]} plus the sender's scope
(Member.admin_scope: the alliances an alliance admin may address, the county for the super
admin; stored as a list, [] being the county). It is resolved to
members when the notice is sent, so a scheduled notice reaches whoever is in the audience then.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Select, String, UniqueConstraint, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, selectinload

from bot.core import Reply, Role
from models.base import Base
from models.member import Identity, Member, MemberRole, reachable_ids
from models.org import Membership
from models.outbox import CHUNK, OutboxMessage, OutboxStatus, enqueue_many
from models.scope import Scope

NOTICE_KIND = "notice"
REMINDER_KIND = "notice_reminder"

# What a recipient receives: (notice, author's name, is it the reminder?) -> Reply. The
# handler owns the wording and the 收到 button; models never format text.
Card = Callable[["Notice", str, bool], Reply]


class AudienceKind(enum.StrEnum):
    ALL = "all"
    ALLIANCES = "alliances"
    UNITS = "units"
    SECRETARIES = "secretaries"
    MOBILE = "mobile"


class NoticeState(enum.StrEnum):
    SCHEDULED = "scheduled"
    SENT = "sent"
    CANCELLED = "cancelled"  # a scheduled notice called off before it was sent


class Notice(Base):
    __tablename__ = "notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    text: Mapped[str]
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Alliances the author could address, as Scope.stored(): [] is the whole county.
    scope: Mapped[list[Any]] = mapped_column(default=list)
    state: Mapped[NoticeState] = mapped_column(String(12), default=NoticeState.SCHEDULED)
    created_at: Mapped[datetime]
    send_at: Mapped[datetime] = mapped_column(index=True)
    sent_at: Mapped[datetime | None]
    remind_after_hours: Mapped[int | None]
    reminded_at: Mapped[datetime | None]


class NoticeRecipient(Base):
    __tablename__ = "notice_recipient"
    __table_args__ = (UniqueConstraint("notice_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    acked_at: Mapped[datetime | None]


class NoticeError(Exception):
    """`reason`: not_found, forbidden, not_recipient, not_scheduled, past, not_sent."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _audience_query(audience: dict[str, Any], scope: Scope) -> Select[tuple[int]]:
    kind = AudienceKind(audience.get("kind", AudienceKind.ALL))
    ids = [int(i) for i in audience.get("ids", [])]
    stmt = select(Member.id).where(Member.home_unit_id.is_not(None))
    if not scope.county:
        stmt = stmt.where(scope.units_where(Member.home_unit_id))
    if kind is AudienceKind.ALLIANCES:
        chosen = select(Membership.unit_id).where(Membership.alliance_id.in_(ids))
        stmt = stmt.where(Member.home_unit_id.in_(chosen))
    elif kind is AudienceKind.UNITS:
        stmt = stmt.where(Member.home_unit_id.in_(ids))
    elif kind is AudienceKind.SECRETARIES:
        secretaries = select(MemberRole.member_id).where(MemberRole.role == Role.SECRETARY)
        stmt = stmt.where(Member.id.in_(secretaries))
    elif kind is AudienceKind.MOBILE:
        stmt = stmt.where(Member.is_mobile.is_(True))
    return stmt.order_by(Member.id)


async def resolve_audience(
    *, session: AsyncSession, audience: dict[str, Any], scope: Scope
) -> list[int]:
    """Member ids the audience means, limited to the sender's scope."""
    return list((await session.execute(_audience_query(audience, scope))).scalars())


async def count_unreachable(*, session: AsyncSession, member_ids: list[int]) -> int:
    """How many of these members have no platform identity that can be reached."""
    reachable: set[int] = set()
    for start in range(0, len(member_ids), CHUNK):
        rows = await session.execute(
            select(Identity.member_id).where(
                Identity.member_id.in_(member_ids[start : start + CHUNK]),
                Identity.unreachable.is_(False),
            )
        )
        reachable.update(rows.scalars())
    return len(set(member_ids) - reachable)


async def create_notice(
    *,
    session: AsyncSession,
    author: Member,
    text: str,
    audience: dict[str, Any],
    now: datetime,
    card: Card,
    send_at: datetime | None = None,
    remind_after_hours: int | None = None,
) -> Notice:
    """Create a notice; without a later `send_at` it is sent at once."""
    notice = Notice(
        author_id=author.id,
        text=text,
        audience=audience,
        scope=author.admin_scope().stored(),
        state=NoticeState.SCHEDULED,
        created_at=now,
        send_at=send_at or now,
        remind_after_hours=remind_after_hours,
    )
    session.add(notice)
    await session.flush()
    if notice.send_at <= now:
        await send_notice(session=session, notice=notice, now=now, card=card)
    return notice


async def _author_name(session: AsyncSession, notice: Notice) -> str:
    if notice.author_id is None:
        return ""
    return (await session.scalar(select(Member.name).where(Member.id == notice.author_id))) or ""


async def send_notice(*, session: AsyncSession, notice: Notice, now: datetime, card: Card) -> int:
    """Record the recipients and queue one outbox row per identity; returns the recipients."""
    member_ids = await resolve_audience(
        session=session, audience=notice.audience, scope=Scope.from_stored(notice.scope)
    )
    known = set(
        (
            await session.execute(
                select(NoticeRecipient.member_id).where(NoticeRecipient.notice_id == notice.id)
            )
        ).scalars()
    )
    fresh = [{"notice_id": notice.id, "member_id": m} for m in member_ids if m not in known]
    if fresh:
        await session.execute(insert(NoticeRecipient), fresh)
    await enqueue_many(
        session=session,
        member_ids=member_ids,
        reply=card(notice, await _author_name(session, notice), False),
        now=now,
        kind=NOTICE_KIND,
        ref_id=notice.id,
        dedupe_prefix=f"notice:{notice.id}",
    )
    notice.state = NoticeState.SENT
    notice.sent_at = now
    await session.flush()
    return len(member_ids)


def _for_update(session: AsyncSession, stmt: Select[Any]) -> Select[Any]:
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True)
    return stmt


async def send_due(*, session: AsyncSession, now: datetime, card: Card) -> list[int]:
    """Send the scheduled notices that are due; returns their ids."""
    stmt = select(Notice).where(Notice.state == NoticeState.SCHEDULED, Notice.send_at <= now)
    due = list((await session.execute(_for_update(session, stmt.order_by(Notice.id)))).scalars())
    for notice in due:
        await send_notice(session=session, notice=notice, now=now, card=card)
    return [n.id for n in due]


async def remind_due(*, session: AsyncSession, now: datetime, card: Card) -> list[int]:
    """Remind, once, those who have not acknowledged a notice after its set hours."""
    stmt = select(Notice).where(
        Notice.state == NoticeState.SENT,
        Notice.remind_after_hours.is_not(None),
        Notice.reminded_at.is_(None),
    )
    done = []
    for notice in (await session.execute(_for_update(session, stmt))).scalars():
        assert notice.sent_at is not None and notice.remind_after_hours is not None
        if notice.sent_at + timedelta(hours=notice.remind_after_hours) > now:
            continue
        pending = await unacknowledged(session=session, notice_id=notice.id)
        await enqueue_many(
            session=session,
            member_ids=[m.id for m in pending],
            reply=card(notice, await _author_name(session, notice), True),
            now=now,
            kind=REMINDER_KIND,
            ref_id=notice.id,
            dedupe_prefix=f"notice-remind:{notice.id}",
        )
        notice.reminded_at = now
        done.append(notice.id)
    return done


@dataclass(frozen=True)
class Reminded:
    """提醒未确认: how many had not acknowledged, and how many of them a reminder can reach."""

    unacknowledged: int
    reachable: int


async def remind_now(
    *, session: AsyncSession, notice: Notice, now: datetime, card: Card
) -> Reminded:
    """提醒未确认: remind those who have not acknowledged, now (an admin asked). The automatic
    reminder is then not sent again."""
    if notice.state != NoticeState.SENT:
        raise NoticeError("not_sent")
    pending = await unacknowledged(session=session, notice_id=notice.id)
    await enqueue_many(
        session=session,
        member_ids=[m.id for m in pending],
        reply=card(notice, await _author_name(session, notice), True),
        now=now,
        kind=REMINDER_KIND,
        ref_id=notice.id,
        dedupe_prefix=f"notice-remind:{notice.id}:{now:%Y%m%d%H%M}",
    )
    notice.reminded_at = now
    await session.flush()
    reachable = await reachable_ids(session, [m.id for m in pending])
    return Reminded(len(pending), len(reachable))


async def acknowledge(
    *, session: AsyncSession, notice_id: int, member: Member, now: datetime
) -> bool:
    """Mark a notice read by `member`; False when it was already acknowledged."""
    row = await session.scalar(
        select(NoticeRecipient).where(
            NoticeRecipient.notice_id == notice_id, NoticeRecipient.member_id == member.id
        )
    )
    if row is None:
        raise NoticeError("not_recipient")
    if row.acked_at is not None:
        return False
    row.acked_at = now
    await session.flush()
    return True


async def get_notice_for(*, session: AsyncSession, notice_id: int, viewer: Member) -> Notice:
    """The notice if `viewer` may see its figures: its author, or an admin of every alliance
    it could reach (its author's scope, or the alliances a county-wide notice was sent to)."""
    notice = await session.get(Notice, notice_id)
    if notice is None:
        raise NoticeError("not_found")
    if may_see(viewer, notice):
        return notice
    raise NoticeError("forbidden")


def may_see(viewer: Member, notice: Notice) -> bool:
    """Its author, or an admin of every alliance it could reach, may see a notice's figures."""
    mine = viewer.admin_scope()
    if mine.county or notice.author_id == viewer.id:
        return True
    reached = set(notice.scope)
    if not reached and notice.audience.get("kind") == AudienceKind.ALLIANCES:
        reached = {int(i) for i in notice.audience.get("ids", [])}
    return bool(reached) and mine.covers_all(reached)


@dataclass(frozen=True)
class NoticeStats:
    recipients: int
    delivered: int
    failed: int
    unreachable: int
    pending: int
    acknowledged: int

    @property
    def rate(self) -> float | None:
        """Acknowledged ÷ delivered, as /stats and the exports count it (those it never
        reached could not acknowledge it)."""
        return self.acknowledged / self.delivered if self.delivered else None


async def delivery(
    *, session: AsyncSession, notice_ids: Iterable[int]
) -> dict[tuple[int, int], str]:
    """(notice, member) → delivered, pending, failed or unreachable (no account could get it),
    from the notice's outbox rows."""
    ids = sorted(set(notice_ids))
    by_member: dict[tuple[int, int], set[str]] = {}
    for start in range(0, len(ids), CHUNK):
        rows = await session.execute(
            select(OutboxMessage.ref_id, OutboxMessage.member_id, OutboxMessage.status).where(
                OutboxMessage.kind == NOTICE_KIND,
                OutboxMessage.ref_id.in_(ids[start : start + CHUNK]),
                OutboxMessage.member_id.is_not(None),
            )
        )
        for notice_id, member_id, status in rows:
            by_member.setdefault((notice_id, member_id), set()).add(status)
    return {key: _member_status(statuses) for key, statuses in by_member.items()}


async def notice_stats(*, session: AsyncSession, notice_id: int) -> NoticeStats:
    """Figures per recipient: delivered if any identity got it, unreachable if none could."""
    counts = dict.fromkeys(("delivered", "failed", "unreachable", "pending"), 0)
    for status in (await delivery(session=session, notice_ids=[notice_id])).values():
        counts[status] += 1
    recipients = await session.scalar(
        select(func.count()).where(NoticeRecipient.notice_id == notice_id)
    )
    acked = await session.scalar(
        select(func.count()).where(
            NoticeRecipient.notice_id == notice_id, NoticeRecipient.acked_at.is_not(None)
        )
    )
    return NoticeStats(recipients=recipients or 0, acknowledged=acked or 0, **counts)


def _member_status(statuses: Iterable[str]) -> str:
    found = set(statuses)
    if OutboxStatus.SENT in found:
        return "delivered"
    if found & {OutboxStatus.PENDING, OutboxStatus.SENDING}:
        return "pending"
    if OutboxStatus.FAILED in found:
        return "failed"
    return "unreachable"


@dataclass(frozen=True)
class Waiting:
    """Who has not acknowledged a notice, by why: it never reached them (not bound, or every
    send failed), it is still being sent, or it reached them and they did not answer."""

    unreached: list[Member]
    pending: list[Member]
    ignored: list[Member]


async def waiting(*, session: AsyncSession, notice_id: int) -> Waiting:
    reach = await delivery(session=session, notice_ids=[notice_id])
    groups: dict[str, list[Member]] = {"unreached": [], "pending": [], "ignored": []}
    for member in await unacknowledged(session=session, notice_id=notice_id):
        status = reach.get((notice_id, member.id), "unreachable")
        group = {"delivered": "ignored", "pending": "pending"}.get(status, "unreached")
        groups[group].append(member)
    return Waiting(**groups)


async def receipts(
    *,
    session: AsyncSession,
    notice_id: int,
    acked: bool | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[tuple[Member, datetime | None, str]], int]:
    """Each recipient with when they acknowledged and their delivery (delivered, pending,
    failed, unreachable), by name; `acked` keeps only those who did (True) or did not."""
    stmt = (
        select(Member, NoticeRecipient.acked_at)
        .join(NoticeRecipient, NoticeRecipient.member_id == Member.id)
        .where(NoticeRecipient.notice_id == notice_id)
    )
    if acked is not None:
        stmt = stmt.where(
            NoticeRecipient.acked_at.is_not(None) if acked else NoticeRecipient.acked_at.is_(None)
        )
    total = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    stmt = stmt.order_by(Member.name, Member.id).offset(offset)
    stmt = stmt.options(selectinload(Member.home_unit))
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = (await session.execute(stmt)).all()
    statuses: dict[int | None, set[str]] = {}
    found = await session.execute(
        select(OutboxMessage.member_id, OutboxMessage.status).where(
            OutboxMessage.kind == NOTICE_KIND,
            OutboxMessage.ref_id == notice_id,
            OutboxMessage.member_id.in_([m.id for m, _ in rows]),
        )
    )
    for member_id, status in found:
        statuses.setdefault(member_id, set()).add(status)
    return [(m, at, _member_status(statuses.get(m.id, set()))) for m, at in rows], int(total)


async def unacknowledged(*, session: AsyncSession, notice_id: int) -> list[Member]:
    stmt = (
        select(Member)
        .join(NoticeRecipient, NoticeRecipient.member_id == Member.id)
        .where(NoticeRecipient.notice_id == notice_id, NoticeRecipient.acked_at.is_(None))
        .order_by(Member.id)
    )
    return list((await session.execute(stmt)).scalars())


async def recent_for(
    *, session: AsyncSession, member: Member, limit: int = 10, offset: int = 0
) -> list[tuple[Notice, datetime | None]]:
    """The member's notices, unread first, each newest first, with when they acknowledged
    each (None: unread)."""
    stmt = (
        select(Notice, NoticeRecipient.acked_at)
        .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
        .where(NoticeRecipient.member_id == member.id)
        .order_by(NoticeRecipient.acked_at.is_not(None), Notice.sent_at.desc(), Notice.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [(n, at) for n, at in (await session.execute(stmt)).all()]


async def count_for(*, session: AsyncSession, member: Member) -> tuple[int, int]:
    """(notices the member received, of them not acknowledged)."""
    rows = await session.execute(
        select(func.count(), func.count(NoticeRecipient.acked_at)).where(
            NoticeRecipient.member_id == member.id
        )
    )
    total, acked = rows.one()
    return int(total), int(total) - int(acked)


async def receipt_of(
    *, session: AsyncSession, notice_id: int, member: Member
) -> NoticeRecipient | None:
    """The member's receipt of a notice: None when it was not sent to them."""
    return await session.scalar(
        select(NoticeRecipient).where(
            NoticeRecipient.notice_id == notice_id, NoticeRecipient.member_id == member.id
        )
    )


def _scheduled(notice: Notice) -> None:
    if notice.state != NoticeState.SCHEDULED:
        raise NoticeError("not_scheduled")


async def cancel_notice(
    *, session: AsyncSession, notice_id: int, actor: Member, now: datetime
) -> Notice:
    """Call off a scheduled notice (its author, or an admin who may follow it up)."""
    notice = await get_notice_for(session=session, notice_id=notice_id, viewer=actor)
    _scheduled(notice)
    notice.state = NoticeState.CANCELLED
    await session.flush()
    return notice


async def change_notice(
    *,
    session: AsyncSession,
    notice_id: int,
    actor: Member,
    now: datetime,
    text: str | None = None,
    send_at: datetime | None = None,
) -> Notice:
    """Change a scheduled notice's text or time before it is sent."""
    notice = await get_notice_for(session=session, notice_id=notice_id, viewer=actor)
    _scheduled(notice)
    if send_at is not None and send_at <= now:
        raise NoticeError("past")
    if text is not None:
        notice.text = text
    if send_at is not None:
        notice.send_at = send_at
    await session.flush()
    return notice


async def sent_by(*, session: AsyncSession, member: Member, limit: int = 5) -> list[Notice]:
    stmt = (
        select(Notice).where(Notice.author_id == member.id).order_by(Notice.id.desc()).limit(limit)
    )
    return list((await session.execute(stmt)).scalars())
