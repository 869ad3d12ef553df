"""The minutes of a meeting: who may write them and when, the notes and decisions recorded
item by item, the owners a recorder may name, and the close that locks them and turns each
decision into a follow-up item (models.followup), keeping the review of earlier decisions as
it stood (`decision_state`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import to_local
from models.followup import FollowUp, Status, create_item
from models.meeting import (
    DECISION_SOURCE,
    RECORD_OPENS_MINUTES_BEFORE,
    TOPIC_LIMIT,
    AgendaItem,
    AgendaState,
    Meeting,
    MeetingDecision,
    MeetingError,
    agenda,
    decisions,
    may_run,
    review_items,
)
from models.member import Member
from models.org import Membership, Unit


def check_recording(member: Member, meeting: Meeting, now: datetime) -> None:
    """Minutes are written by those who run the meeting, from check-in opening until
    RECORD_HOURS_AFTER hours after the end, and never after the close."""
    if not may_run(member, meeting):
        raise MeetingError("not_permitted")
    if meeting.closed_at is not None:
        raise MeetingError("closed")
    if now < meeting.starts_at - timedelta(minutes=RECORD_OPENS_MINUTES_BEFORE):
        raise MeetingError("not_started")
    if now > meeting.record_until():
        raise MeetingError("window_closed")


async def record_notes(
    *,
    session: AsyncSession,
    meeting: Meeting,
    item: AgendaItem,
    member: Member,
    notes: str,
    now: datetime,
) -> AgendaItem:
    check_recording(member, meeting, now)
    if item.meeting_id != meeting.id:
        raise MeetingError("not_found")
    item.notes = notes.strip()
    item.recorded_at = now
    await session.flush()
    return item


async def record_decision(
    *,
    session: AsyncSession,
    meeting: Meeting,
    item: AgendaItem,
    member: Member,
    text: str,
    due_on: date,
    now: datetime,
    owner_unit_id: int | None = None,
    owner_member_id: int | None = None,
    needs_departments: bool = False,
) -> MeetingDecision:
    check_recording(member, meeting, now)
    if item.meeting_id != meeting.id:
        raise MeetingError("not_found")
    if owner_unit_id is None and owner_member_id is None:
        raise MeetingError("no_owner")
    if due_on < to_local_date(now):
        raise MeetingError("bad_due")
    if not TOPIC_LIMIT[0] <= len(text.strip()) <= 200:
        raise MeetingError("bad_title")
    decision = MeetingDecision(
        meeting_id=meeting.id,
        agenda_id=item.id,
        text=text.strip(),
        owner_unit_id=owner_unit_id,
        owner_member_id=None if owner_unit_id is not None else owner_member_id,
        due_on=due_on,
        needs_departments=needs_departments,
        recorded_by_id=member.id,
        recorded_at=now,
    )
    session.add(decision)
    await session.flush()
    await session.refresh(decision, ["owner_unit", "owner_member"])
    return decision


async def add_topic(
    *, session: AsyncSession, meeting: Meeting, member: Member, title: str, now: datetime
) -> AgendaItem:
    """A topic raised while the minutes are written (the agenda was empty): accepted at once."""
    check_recording(member, meeting, now)
    placed = await agenda(session, meeting, (AgendaState.ACCEPTED,))
    item = AgendaItem(
        meeting_id=meeting.id,
        position=max((a.position for a in placed), default=0) + 1,
        title=title,
        state=AgendaState.ACCEPTED,
        proposer_id=member.id,
        unit_id=member.home_unit_id,
        proposed_at=now,
        decided_at=now,
    )
    session.add(item)
    await session.flush()
    return item


def to_local_date(now: datetime) -> date:
    return to_local(now).date()


async def owner_choices(
    session: AsyncSession, meeting: Meeting, typed: str
) -> list[tuple[str, int, str]]:
    """Units of the alliance and its members' people matching a typed owner:
    ("unit" | "member", id, name); an exact name wins over partial ones."""
    typed = typed.strip()
    if not typed:
        return []
    units = (
        await session.execute(
            select(Unit.id, Unit.name)
            .join(Membership, Membership.unit_id == Unit.id)
            .where(Membership.alliance_id == meeting.alliance_id)
            .order_by(Unit.id)
        )
    ).all()
    people = (
        await session.execute(
            select(Member.id, Member.name)
            .join(Membership, Membership.unit_id == Member.home_unit_id)
            .where(Membership.alliance_id == meeting.alliance_id)
            .order_by(Member.id)
        )
    ).all()
    exact = [("unit", i, n) for i, n in units if n == typed]
    exact += [("member", i, n) for i, n in people if n == typed]
    if exact:
        return exact
    return [("unit", i, n) for i, n in units if typed in n][:8]


async def close(
    *, session: AsyncSession, meeting: Meeting, member: Member | None, now: datetime
) -> list[FollowUp]:
    """Lock the minutes: each decision becomes a follow-up item, the review item keeps the
    earlier decisions' state as it is now, topics never taken up are parked. `member` None:
    closed by the sweep."""
    if meeting.closed_at is not None:
        raise MeetingError("closed")
    if member is not None:
        if not may_run(member, meeting):
            raise MeetingError("not_permitted")
        if now < meeting.starts_at:
            raise MeetingError("close_early")
    review = [a for a in await agenda(session, meeting) if a.state == AgendaState.REVIEW]
    if review:
        review[0].review = [
            {
                "text": r.decision.text,
                "meeting": r.meeting.title,
                "owner": _owner_name(r.decision),
                "due": (r.item.due_on if r.item else r.decision.due_on).isoformat(),
                "state": _state_of(r.item, now),
            }
            for r in await review_items(session, meeting)
        ]
    for left in await agenda(session, meeting, (AgendaState.PROPOSED,)):
        left.state = AgendaState.PARKED  # not taken up: proposed again at the next meeting
        left.decided_at = now
    items = []
    for decision in await decisions(session, meeting):
        item = await create_item(
            session=session,
            source=DECISION_SOURCE,
            source_id=decision.id,
            alliance_id=meeting.alliance_id,
            title=decision.text,
            due_on=decision.due_on,
            now=now,
            owner_unit_id=decision.owner_unit_id,
            owner_member_id=decision.owner_member_id,
            needs_departments=decision.needs_departments,
            created_by=member,
        )
        decision.followup_id = item.id
        items.append(item)
    meeting.closed_at = now
    meeting.closed_by_id = member.id if member else None
    await session.flush()
    return items


def _owner_name(decision: MeetingDecision) -> str:
    if decision.owner_unit is not None:
        return decision.owner_unit.name
    return decision.owner_member.name if decision.owner_member else ""


def _state_of(item: FollowUp | None, now: datetime) -> str:
    """done, done_late, overdue, extended, open, cancelled (the review's words are handlers')."""
    if item is None:
        return "open"
    if item.status == Status.DONE:
        return "done" if item.done_on_time() else "done_late"
    if item.overdue_days(to_local_date(now)):
        return "overdue"
    return str(item.status)


def decision_state(item: FollowUp | None, now: datetime) -> str:
    return _state_of(item, now)
