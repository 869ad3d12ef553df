"""Problem tickets of the whistle workflow (企业吹哨、红盟响应、部门报到) and their rules.

The allowed transitions are the table ACTIONS; every transition writes a TicketEvent. Who is
told of each event is the table TOLD beside it (`told` finds the members; the wording is the
handlers'). Deadlines and 督办 are in models.ticket_deadlines, figures in models.ticket_figures.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, UniqueConstraint, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.core import Role
from bot.core.clock import add_working_days, to_local
from bot.nlu import ticket_number
from models.base import Base
from models.member import Member, MemberRole, reachable_ids
from models.org import Department, Membership, Unit
from models.routing import category_label, current_rule
from models.scope import Scope


class TicketState(enum.StrEnum):
    SUBMITTED = "submitted"
    DISPATCHED = "dispatched"
    SIGNED = "signed"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    RETURNED = "returned"
    REJECTED = "rejected"
    MERGED = "merged"
    WITHDRAWN = "withdrawn"


S = TicketState
OPEN_STATES = frozenset({S.SUBMITTED, S.DISPATCHED, S.SIGNED, S.IN_PROGRESS, S.RETURNED})
FINAL_STATES = frozenset({S.CLOSED, S.REJECTED, S.MERGED, S.WITHDRAWN})
# Not counted in rates: never taken on (rejected), counted elsewhere (merged), taken back.
UNCOUNTED_STATES = frozenset({S.REJECTED, S.MERGED, S.WITHDRAWN})
UNSIGNED_STATES = frozenset({S.SUBMITTED, S.DISPATCHED, S.RETURNED})


class Actor(enum.StrEnum):
    """Who may take an action on a given ticket."""

    SYSTEM = "system"
    OFFICER = "officer"  # an officer of the ticket's department; its alliance's admins stand in
    # for a department that has no officer using the bot (Ticket.admins_stand_in)
    ADMIN = "admin"  # an admin of the ticket's alliance, or the super admin
    REPORTER = "reporter"  # the member who filed it


class Rating(enum.StrEnum):
    SATISFIED = "satisfied"
    BASIC = "basic"
    UNSATISFIED = "unsatisfied"


# What states and ratings are called, in chat and in exported sheets.
STATE_ZH: dict[str, str] = {
    S.SUBMITTED: "待分派",
    S.DISPATCHED: "已派单，待部门签收",
    S.SIGNED: "部门已报到",
    S.IN_PROGRESS: "办理中",
    S.RESOLVED: "已办结，待评价",
    S.CLOSED: "已关闭",
    S.RETURNED: "已退回，待重新分派",
    S.REJECTED: "不予受理",
    S.MERGED: "已合并",
    S.WITHDRAWN: "已撤回",
}
RATING_ZH: dict[str, str] = {
    Rating.SATISFIED: "满意",
    Rating.BASIC: "基本满意",
    Rating.UNSATISFIED: "不满意",
}


@dataclass(frozen=True)
class Action:
    actor: Actor
    moves: Mapping[TicketState, TicketState]
    needs_note: bool = False


# The state machine: action → who may take it and the moves it allows.
ACTIONS: dict[str, Action] = {
    "file": Action(Actor.SYSTEM, {}),
    "dispatch": Action(Actor.SYSTEM, {S.SUBMITTED: S.DISPATCHED}),
    "route": Action(
        Actor.ADMIN,
        {S.SUBMITTED: S.DISPATCHED, S.DISPATCHED: S.DISPATCHED, S.RETURNED: S.DISPATCHED},
    ),
    "sign": Action(Actor.OFFICER, {S.DISPATCHED: S.SIGNED}),
    "update": Action(
        Actor.OFFICER, {S.SIGNED: S.IN_PROGRESS, S.IN_PROGRESS: S.IN_PROGRESS}, needs_note=True
    ),
    "resolve": Action(
        Actor.OFFICER, {S.SIGNED: S.RESOLVED, S.IN_PROGRESS: S.RESOLVED}, needs_note=True
    ),
    "return": Action(
        Actor.OFFICER, {S.DISPATCHED: S.RETURNED, S.SIGNED: S.RETURNED}, needs_note=True
    ),
    "reject": Action(
        Actor.ADMIN,
        {S.SUBMITTED: S.REJECTED, S.DISPATCHED: S.REJECTED, S.RETURNED: S.REJECTED},
        needs_note=True,
    ),
    "merge": Action(
        Actor.ADMIN,
        {S.SUBMITTED: S.MERGED, S.DISPATCHED: S.MERGED, S.RETURNED: S.MERGED, S.SIGNED: S.MERGED},
        needs_note=True,
    ),
    "rate": Action(Actor.REPORTER, {S.RESOLVED: S.CLOSED}),
    "reopen": Action(Actor.REPORTER, {S.RESOLVED: S.IN_PROGRESS}),
    # The reporter takes the problem back before a department has signed for it.
    "withdraw": Action(
        Actor.REPORTER,
        {S.SUBMITTED: S.WITHDRAWN, S.DISPATCHED: S.WITHDRAWN, S.RETURNED: S.WITHDRAWN},
    ),
}
# Events that record something without moving the state.
NOTE_ACTIONS = frozenset({"cosign", "escalate", "merged_in"})


class Audience(enum.StrEnum):
    """Who is told of a ticket event; `audience_ids` finds the members for a ticket."""

    ALLIANCE_ADMINS = "alliance_admins"  # the ticket's alliance admins, else the super admins
    ALLIANCE_AND_SUPER_ADMINS = "alliance_and_super_admins"  # both, always
    OFFICERS = "officers"  # the officers of the ticket's department
    REPORTERS = "reporters"  # everyone behind the ticket: the filer and every co-signer
    FILER = "filer"  # the member who filed it
    # The alliance's admins (else the super admins) while they stand in for a department
    # without an officer using the bot (Ticket.admins_stand_in); nobody otherwise.
    STAND_INS = "stand_ins"


A = Audience
# Who is told of each event, in this order: the actions of ACTIONS, the note events, and the
# deadline sweep's "remind" (a deadline is near) and "escalate" (督办, it has passed). The
# member whose message caused the event is not told. At filing the admins' message says
# when the department has no officer to receive it ("file"), so "dispatch" adds nobody.
TOLD: dict[str, tuple[Audience, ...]] = {
    "file": (A.ALLIANCE_ADMINS,),
    "dispatch": (A.OFFICERS,),
    "route": (A.OFFICERS, A.STAND_INS, A.REPORTERS),
    "sign": (A.REPORTERS,),
    "update": (A.REPORTERS,),
    "resolve": (A.REPORTERS, A.FILER),
    "return": (A.REPORTERS, A.ALLIANCE_AND_SUPER_ADMINS),
    "reject": (A.REPORTERS,),
    "merge": (A.REPORTERS,),
    "rate": (A.OFFICERS, A.STAND_INS),
    "reopen": (A.OFFICERS, A.ALLIANCE_AND_SUPER_ADMINS),
    "withdraw": (A.OFFICERS, A.ALLIANCE_ADMINS),
    "cosign": (A.FILER, A.OFFICERS, A.STAND_INS),
    "merged_in": (),
    "remind": (A.OFFICERS, A.STAND_INS),
    "escalate": (A.ALLIANCE_AND_SUPER_ADMINS, A.OFFICERS),
}

NUMBER_ATTEMPTS = 5


class Ticket(Base):
    """A problem reported by a member unit; `number` reads WT-YYYY-NNNN."""

    __tablename__ = "ticket"
    __table_args__ = (UniqueConstraint("year", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    year: Mapped[int]
    seq: Mapped[int]
    reporter_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    alliance_id: Mapped[int | None] = mapped_column(ForeignKey("alliance.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    category: Mapped[str] = mapped_column(String(20))
    committee: Mapped[str] = mapped_column(String(20))
    text: Mapped[str]
    state: Mapped[TicketState] = mapped_column(String(12), index=True)
    resolution: Mapped[str] = mapped_column(default="")
    rating: Mapped[Rating | None] = mapped_column(String(12))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    created_at: Mapped[datetime]
    signed_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    sign_due_at: Mapped[datetime]
    resolve_due_at: Mapped[datetime]
    sign_escalated_at: Mapped[datetime | None]
    resolve_escalated_at: Mapped[datetime | None]
    # Dispatched to a department with no officer using the bot: the alliance's admins are
    # told instead and may act for the department (sign, update, resolve) or re-route it.
    admins_stand_in: Mapped[bool] = mapped_column(default=False, server_default=false())

    reporter: Mapped[Member] = relationship(lazy="selectin")
    unit: Mapped[Unit | None] = relationship(lazy="selectin")
    department: Mapped[Department | None] = relationship(lazy="selectin")
    reporters: Mapped[list[TicketReporter]] = relationship(
        back_populates="ticket", lazy="selectin", order_by="TicketReporter.id"
    )
    merged_into: Mapped[Ticket | None] = relationship(
        remote_side=[id], lazy="selectin", join_depth=1
    )

    def reporter_member_ids(self) -> list[int]:
        return [r.member_id for r in self.reporters]


class TicketReporter(Base):
    """A member (and unit) behind a ticket: the filer, co-signers (附议), merged reporters."""

    __tablename__ = "ticket_reporter"
    __table_args__ = (UniqueConstraint("ticket_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    joined_at: Mapped[datetime]

    ticket: Mapped[Ticket] = relationship(back_populates="reporters")
    member: Mapped[Member] = relationship(lazy="selectin")


class TicketEvent(Base):
    """One line of a ticket's history: who, when, from/to state, note."""

    __tablename__ = "ticket_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[TicketState | None] = mapped_column(String(12))
    to_state: Mapped[TicketState] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(default="")
    at: Mapped[datetime]

    actor: Mapped[Member | None] = relationship(lazy="selectin")


class TicketError(Exception):
    """A ticket rule was broken; `reason` names which."""

    def __init__(self, reason: str, **detail: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class IllegalTransition(TicketError):
    def __init__(self, action: str, state: TicketState) -> None:
        super().__init__("illegal", action=action, state=state)
        self.action = action
        self.state = state


class NotPermitted(TicketError):
    def __init__(self, action: str) -> None:
        super().__init__("not_permitted", action=action)
        self.action = action


def actor_kinds(member: Member | None, ticket: Ticket) -> set[Actor]:
    """What `member` may act as on `ticket`."""
    if member is None:
        return {Actor.SYSTEM}
    kinds: set[Actor] = set()
    if member.administers(ticket.alliance_id):
        kinds.add(Actor.ADMIN)
    if (
        member.has_role(Role.OFFICER)
        and member.department_id is not None
        and member.department_id == ticket.department_id
    ):
        kinds.add(Actor.OFFICER)
    if ticket.admins_stand_in and Actor.ADMIN in kinds:
        kinds.add(Actor.OFFICER)
    if member.id == ticket.reporter_id:
        kinds.add(Actor.REPORTER)
    return kinds


def can_view(member: Member, ticket: Ticket) -> bool:
    """Reporters, their units' liaisons, the handling department and admins see a ticket."""
    if actor_kinds(member, ticket) & {Actor.ADMIN, Actor.OFFICER, Actor.REPORTER}:
        return True
    if member.id in ticket.reporter_member_ids():
        return True
    units = {r.unit_id for r in ticket.reporters} | {ticket.unit_id}
    return (
        member.has_role(Role.LIAISON)
        and member.home_unit_id is not None
        and member.home_unit_id in units
    )


def can_see_contact(member: Member, ticket: Ticket) -> bool:
    """Reporter details are for the handling department and admins only."""
    return bool(actor_kinds(member, ticket) & {Actor.ADMIN, Actor.OFFICER})


async def _next_seq(session: AsyncSession, year: int) -> int:
    top = await session.scalar(select(func.max(Ticket.seq)).where(Ticket.year == year))
    return (top or 0) + 1


async def _alliance_of(session: AsyncSession, unit_id: int | None) -> int | None:
    if unit_id is None:
        return None
    return await session.scalar(
        select(Membership.alliance_id)
        .where(Membership.unit_id == unit_id)
        .order_by(Membership.alliance_id)
        .limit(1)
    )


async def department_by_code(session: AsyncSession, code: str | None) -> Department | None:
    if code is None:
        return None
    return await session.scalar(select(Department).where(Department.code == code))


def new_event(
    ticket: Ticket,
    action: str,
    actor: Member | None,
    now: datetime,
    before: TicketState | None,
    note: str = "",
) -> TicketEvent:
    return TicketEvent(
        ticket_id=ticket.id,
        actor_id=actor.id if actor else None,
        action=action,
        from_state=before,
        to_state=ticket.state,
        note=note,
        at=now,
    )


async def file_ticket(
    *,
    session: AsyncSession,
    reporter: Member,
    unit_id: int | None,
    text: str,
    category: str,
    now: datetime,
) -> tuple[Ticket, list[TicketEvent]]:
    """File a ticket and dispatch it when its category has a department."""
    text = text.strip()
    if not text:
        raise TicketError("empty")
    rule = await current_rule(session, category)
    year = to_local(now).year
    alliance_id = await _alliance_of(session, unit_id)
    for attempt in range(NUMBER_ATTEMPTS):
        seq = await _next_seq(session, year)
        ticket = Ticket(
            number=f"WT-{year}-{seq:04d}",
            year=year,
            seq=seq,
            reporter_id=reporter.id,
            unit_id=unit_id,
            alliance_id=alliance_id,
            category=rule.category,
            committee=rule.committee,
            text=text,
            state=S.SUBMITTED,
            created_at=now,
            sign_due_at=add_working_days(now, rule.sign_working_days),
            resolve_due_at=now + timedelta(days=rule.resolve_days),
        )
        try:
            # Two workers filing at once may pick the same number (PostgreSQL); the loser
            # rolls back to the savepoint and takes the next one.
            async with session.begin_nested():
                session.add(ticket)
                await session.flush()
            break
        except IntegrityError:
            if attempt == NUMBER_ATTEMPTS - 1:
                raise
    session.add(
        TicketReporter(ticket_id=ticket.id, member_id=reporter.id, unit_id=unit_id, joined_at=now)
    )
    events = [new_event(ticket, "file", reporter, now, None)]
    department = await department_by_code(session, rule.department)
    if department is not None:
        ticket.department_id = department.id
        ticket.state = S.DISPATCHED
        ticket.admins_stand_in = not await department_online(session, department.id)
        events.append(new_event(ticket, "dispatch", None, now, S.SUBMITTED, department.name))
    session.add_all(events)
    await session.flush()
    await session.refresh(ticket, ["reporters", "department", "unit", "reporter"])
    return ticket, events


async def transition(
    *,
    session: AsyncSession,
    ticket: Ticket,
    action: str,
    actor: Member | None,
    now: datetime,
    note: str = "",
    department: Department | None = None,
    rating: Rating | None = None,
    target: Ticket | None = None,
    category: str | None = None,
) -> TicketEvent:
    """Take `action` on `ticket` if the table allows it from its state and for this actor.

    `route` may change the category (`category`); its deadlines then start again from now.
    """
    rule = ACTIONS.get(action)
    if rule is None:
        raise TicketError("unknown_action", action=action)
    if rule.actor not in actor_kinds(actor, ticket):
        raise NotPermitted(action)
    before = ticket.state
    after = rule.moves.get(before)
    if after is None:
        raise IllegalTransition(action, before)
    note = note.strip()
    if rule.needs_note and not note:
        raise TicketError("note_required", action=action)
    if action == "route":
        if department is None:
            raise TicketError("department_required")
        note = await _dispatch_again(session, ticket, department, category, now) + (
            f"：{note}" if note else ""
        )
    elif action == "sign":
        ticket.signed_at = now
    elif action == "resolve":
        ticket.resolved_at = now
        ticket.resolution = note
    elif action in ("rate", "reopen"):
        if rating is None or (rating is Rating.UNSATISFIED) != (action == "reopen"):
            raise TicketError("rating_required")
        ticket.rating = rating
        note = note or rating.value
        if action == "reopen":
            ticket.resolved_at = None
    elif action == "merge":
        await _merge_into(session, ticket, target, now)
    elif action == "withdraw" and not may_withdraw(ticket):
        raise TicketError("cosigned")
    ticket.state = after
    if after in FINAL_STATES:
        ticket.closed_at = now
    event = new_event(ticket, action, actor, now, before, note)
    session.add(event)
    await session.flush()
    return event


async def _dispatch_again(
    session: AsyncSession,
    ticket: Ticket,
    department: Department,
    category: str | None,
    now: datetime,
) -> str:
    """Route to `department`, maybe as another category; the deadlines restart from now.
    Returns the event's note: the department, and the new category when it changed."""
    note = department.name
    if category is not None and category != ticket.category:
        rule = await current_rule(session, category)
        ticket.category, ticket.committee = rule.category, rule.committee
        note += f"，分类改为{category_label(rule.category)}"
    rule = await current_rule(session, ticket.category)
    ticket.department_id = department.id
    ticket.department = department
    ticket.admins_stand_in = not await department_online(session, department.id)
    ticket.sign_due_at = add_working_days(now, rule.sign_working_days)
    ticket.resolve_due_at = now + timedelta(days=rule.resolve_days)
    ticket.sign_escalated_at = ticket.resolve_escalated_at = None
    return note


def may_withdraw(ticket: Ticket) -> bool:
    """The filer takes a ticket back only while nobody else stands behind it (附议, 合并)."""
    return len(set(ticket.reporter_member_ids())) <= 1


def may_merge_into(ticket: Ticket, target: Ticket | None) -> bool:
    """A ticket merges into another, earlier one that is still open."""
    if target is None or target.id == ticket.id:
        return False
    return target.state not in FINAL_STATES and target.created_at <= ticket.created_at


async def _merge_into(
    session: AsyncSession, ticket: Ticket, target: Ticket | None, now: datetime
) -> None:
    """The target's reporter list grows by this ticket's reporters."""
    if not may_merge_into(ticket, target):
        raise TicketError("bad_target")
    known = set(target.reporter_member_ids())
    for r in ticket.reporters:
        if r.member_id not in known:
            session.add(
                TicketReporter(
                    ticket_id=target.id, member_id=r.member_id, unit_id=r.unit_id, joined_at=now
                )
            )
    ticket.merged_into_id = target.id
    ticket.merged_into = target
    session.add(
        TicketEvent(
            ticket_id=target.id,
            action="merged_in",
            to_state=target.state,
            note=ticket.number,
            at=now,
        )
    )
    await session.flush()
    await session.refresh(target, ["reporters"])


async def cosign(*, session: AsyncSession, ticket: Ticket, member: Member, now: datetime) -> None:
    """附议: another unit's member joins an open ticket instead of filing a duplicate."""
    if ticket.state not in OPEN_STATES:
        raise IllegalTransition("cosign", ticket.state)
    if member.id in ticket.reporter_member_ids():
        raise TicketError("already_reporter")
    session.add(
        TicketReporter(
            ticket_id=ticket.id, member_id=member.id, unit_id=member.home_unit_id, joined_at=now
        )
    )
    session.add(new_event(ticket, "cosign", member, now, ticket.state))
    await session.flush()
    await session.refresh(ticket, ["reporters"])


async def get_ticket(session: AsyncSession, *, number: str = "", ticket_id: int = 0) -> Ticket:
    stmt = select(Ticket)
    stmt = (
        stmt.where(Ticket.number == number.upper())
        if number
        else stmt.where(Ticket.id == ticket_id)
    )
    ticket = await session.scalar(stmt)
    if ticket is None:
        raise TicketError("not_found")
    return ticket


async def find_typed(session: AsyncSession, *, typed: str, viewer: Member) -> Ticket | None:
    """A ticket the viewer may see, from a number however typed: WT-2026-0012, wt20260012,
    2026-0012, or its last digits alone (0012, 12: the newest such ticket the viewer sees)."""
    number = ticket_number(typed)
    if number is not None:
        found = await session.scalar(select(Ticket).where(Ticket.number == number))
        return found if found is not None and can_view(viewer, found) else None
    digits = re.fullmatch(r"\s*#?0*(\d{1,4})\s*号?", typed)
    if digits is None:
        return None
    stmt = select(Ticket).where(Ticket.seq == int(digits.group(1))).order_by(Ticket.year.desc())
    return next((t for t in (await session.execute(stmt)).scalars() if can_view(viewer, t)), None)


async def history(session: AsyncSession, ticket: Ticket) -> list[TicketEvent]:
    stmt = (
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id)
        .order_by(TicketEvent.at, TicketEvent.id)
    )
    return list((await session.execute(stmt)).scalars())


async def reporter_tickets(session: AsyncSession, member: Member) -> list[Ticket]:
    """Tickets a member reported or co-signed, and, for a liaison, the unit's tickets."""
    who = TicketReporter.member_id == member.id
    if member.has_role(Role.LIAISON) and member.home_unit_id is not None:
        who = or_(who, TicketReporter.unit_id == member.home_unit_id)
    ids = select(TicketReporter.ticket_id).where(who)
    stmt = select(Ticket).where(Ticket.id.in_(ids)).order_by(Ticket.created_at.desc(), Ticket.id)
    return list((await session.execute(stmt)).scalars())


async def queue(
    session: AsyncSession,
    *,
    department_id: int | None = None,
    scope: Scope = Scope.COUNTY,
    states: Collection[TicketState] = OPEN_STATES,
) -> list[Ticket]:
    """Open tickets, oldest first, of a department (if given) within the scope."""
    stmt = select(Ticket).where(Ticket.state.in_(list(states)), scope.where(Ticket.alliance_id))
    if department_id is not None:
        stmt = stmt.where(Ticket.department_id == department_id)
    stmt = stmt.order_by(Ticket.created_at, Ticket.id)
    return list((await session.execute(stmt)).scalars())


async def _role_holders(session: AsyncSession, role: Role, **where: object) -> list[int]:
    stmt = select(MemberRole.member_id).where(MemberRole.role == role)
    for column, value in where.items():
        stmt = stmt.where(getattr(MemberRole, column) == value)
    return sorted(set((await session.execute(stmt)).scalars()))


async def officer_ids(session: AsyncSession, department_id: int | None) -> list[int]:
    """Officers of a department."""
    if department_id is None:
        return []
    stmt = (
        select(Member.id)
        .join(MemberRole, MemberRole.member_id == Member.id)
        .where(MemberRole.role == Role.OFFICER, Member.department_id == department_id)
    )
    return sorted(set((await session.execute(stmt)).scalars()))


async def department_online(session: AsyncSession, department_id: int) -> bool:
    """Whether an officer of the department uses the bot (a bound, reachable account)."""
    return bool(await reachable_ids(session, await officer_ids(session, department_id)))


async def offline_departments(session: AsyncSession) -> set[int]:
    """Departments without an officer using the bot: tickets sent there reach nobody."""
    departments = list(await session.scalars(select(Department.id)))
    return {d for d in departments if not await department_online(session, d)}


async def admin_ids(
    session: AsyncSession, alliance_id: int | None, *, supers: str = "always"
) -> list[int]:
    """Admins of an alliance, then the super admins ('always', or 'fallback' when none)."""
    alliance = (
        await _role_holders(session, Role.ALLIANCE_ADMIN, alliance_id=alliance_id)
        if alliance_id is not None
        else []
    )
    if supers == "fallback" and alliance:
        return alliance
    top = await _role_holders(session, Role.SUPER_ADMIN)
    return alliance + [m for m in top if m not in alliance]


async def audience_ids(*, session: AsyncSession, ticket: Ticket, audience: Audience) -> list[int]:
    """The members of `audience` for this ticket."""
    match audience:
        case Audience.ALLIANCE_ADMINS:
            return await admin_ids(session, ticket.alliance_id, supers="fallback")
        case Audience.ALLIANCE_AND_SUPER_ADMINS:
            return await admin_ids(session, ticket.alliance_id)
        case Audience.OFFICERS:
            return await officer_ids(session, ticket.department_id)
        case Audience.REPORTERS:
            return ticket.reporter_member_ids()
        case Audience.FILER:
            return [ticket.reporter_id]
        case Audience.STAND_INS:
            if not ticket.admins_stand_in:
                return []
            return await admin_ids(session, ticket.alliance_id, supers="fallback")


async def told(
    *, session: AsyncSession, ticket: Ticket, event: str, actor: Member | None = None
) -> list[tuple[Audience, list[int]]]:
    """The audiences TOLD of `event` in order, each with its members; `actor` is left out."""
    found = []
    for audience in TOLD[event]:
        ids = await audience_ids(session=session, ticket=ticket, audience=audience)
        found.append((audience, [m for m in ids if actor is None or m != actor.id]))
    return found
