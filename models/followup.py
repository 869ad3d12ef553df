"""督办事项: one follow-up engine for whatever was promised — meeting decisions now, project
milestones and pledges later (`source`, `source_id` say where an item came from).

An item has an owner (a member, or a unit whose secretary and liaisons answer for it), a due
date, progress notes with evidence, and a status: open, done, extended, cancelled. Overdue is
computed (an open or extended item whose due date has passed), never stored. Items are never
deleted; they are finished or, by an admin, cancelled with a reason.

What may be done is the table ACTIONS (who, from which statuses, to which); who is told of each
event is TOLD beside it (the wording is the handlers'). The reminder and escalation stages the
sweep sends are `due_stages`; each stage is recorded once per due date in FollowUpAlert.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import ForeignKey, String, UniqueConstraint, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.core import Attachment, Role
from bot.core.clock import add_working_days, local_datetime, to_local
from models.base import Base
from models.member import Member, MemberRole
from models.org import Unit
from models.rotation import alliance_admins, chair_unit_id, get_plan
from models.scope import Scope
from settings import Settings


class Status(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    EXTENDED = "extended"
    CANCELLED = "cancelled"


ACTIVE = frozenset({Status.OPEN, Status.EXTENDED})


class Actor(enum.StrEnum):
    OWNER = "owner"  # the owner member, or a secretary/liaison of the owner unit
    ADMIN = "admin"  # an admin of the item's alliance, or the super admin


@dataclass(frozen=True)
class Action:
    actor: Actor
    moves: dict[Status, Status] = field(default_factory=dict)
    needs_note: bool = False


def _stay() -> dict[Status, Status]:
    return {s: s for s in ACTIVE}


def _to(status: Status) -> dict[Status, Status]:
    return {s: status for s in ACTIVE}


# What may be done: action → who, and the moves it allows from each status.
ACTIONS: dict[str, Action] = {
    "progress": Action(Actor.OWNER, _stay(), needs_note=True),  # 更新进度
    "done": Action(Actor.OWNER, _to(Status.DONE), needs_note=True),  # 完成
    "extend": Action(Actor.OWNER, _stay(), needs_note=True),  # 申请延期 (a request)
    "coordinate": Action(Actor.OWNER, _stay()),  # 需要协调: a 吹哨 ticket is filed
    "approve": Action(Actor.ADMIN, _to(Status.EXTENDED)),  # 同意延期: the new due date holds
    "decline": Action(Actor.ADMIN, _stay()),  # 不同意延期
    "cancel": Action(Actor.ADMIN, _to(Status.CANCELLED), needs_note=True),  # 撤销
}


class Audience(enum.StrEnum):
    OWNERS = "owners"  # the owner member, or the owner unit's secretaries and liaisons
    CHAIR = "chair"  # the chair unit's secretary; the alliance admins when there is none
    ADMINS = "admins"  # the alliance admins, else the super admins
    COUNTY = "county"  # the super admins (the county's 两新组织工委)


A = Audience
# Who is told of each event: the actions above, "assign" (a closed meeting hands the item to
# its owner), and the sweep's stages "before", "due" (reminders), "overdue" (once, to the
# owner and the chair) and "county" (once, after FOLLOWUP_COUNTY_AFTER_WORKING_DAYS).
# The member whose message caused the event is not told.
TOLD: dict[str, tuple[Audience, ...]] = {
    "assign": (A.OWNERS,),
    "progress": (A.CHAIR,),
    "done": (A.CHAIR,),
    "extend": (A.ADMINS,),
    "coordinate": (A.CHAIR,),
    "approve": (A.OWNERS,),
    "decline": (A.OWNERS,),
    "cancel": (A.OWNERS,),
    "before": (A.OWNERS,),
    "due": (A.OWNERS,),
    "overdue": (A.OWNERS, A.CHAIR),
    "county": (A.COUNTY,),
}
STAGES = ("before", "due", "overdue", "county")
REMIND_HOUR = 9  # local time of every reminder and escalation


class FollowUp(Base):
    """One 督办事项."""

    __tablename__ = "followup"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))  # "decision" (meeting_decision.id)
    source_id: Mapped[int | None]
    alliance_id: Mapped[int | None] = mapped_column(ForeignKey("alliance.id"), index=True)
    title: Mapped[str]
    owner_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    owner_member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    due_on: Mapped[date]
    first_due_on: Mapped[date]
    needs_departments: Mapped[bool] = mapped_column(default=False)
    status: Mapped[Status] = mapped_column(String(10), index=True, default=Status.OPEN)
    progress: Mapped[str] = mapped_column(default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), unique=True)

    owner_unit: Mapped[Unit | None] = relationship(lazy="selectin")
    owner_member: Mapped[Member | None] = relationship(
        lazy="selectin", foreign_keys=[owner_member_id]
    )

    @property
    def number(self) -> str:
        return f"DB-{self.id:04d}"

    def overdue_days(self, today: date) -> int:
        """Days past the due date (0 when not overdue, or no longer active)."""
        if self.status not in ACTIVE or today <= self.due_on:
            return 0
        return (today - self.due_on).days

    def done_on_time(self) -> bool:
        return (
            self.status == Status.DONE
            and self.done_at is not None
            and to_local(self.done_at).date() <= self.due_on
        )


class FollowUpEvent(Base):
    """One line of an item's history, with the evidence sent with it."""

    __tablename__ = "followup_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("followup.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(default="")
    due_on: Mapped[date | None]  # an approved extension's new due date
    file_sha256: Mapped[str] = mapped_column(String(64), default="")
    file_suffix: Mapped[str] = mapped_column(String(10), default="")
    file_kind: Mapped[str] = mapped_column(String(10), default="")
    file_name: Mapped[str] = mapped_column(String(100), default="")
    at: Mapped[datetime]

    actor: Mapped[Member | None] = relationship(lazy="selectin")


class ExtensionState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class ExtensionRequest(Base):
    """申请延期: a new due date and a reason, for the alliance admin to approve."""

    __tablename__ = "followup_extension"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("followup.id", ondelete="CASCADE"), index=True)
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    old_due_on: Mapped[date]
    new_due_on: Mapped[date]
    reason: Mapped[str]
    state: Mapped[ExtensionState] = mapped_column(String(10), default=ExtensionState.PENDING)
    asked_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]


class FollowUpAlert(Base):
    """A reminder or escalation stage sent for an item and its due date: each once."""

    __tablename__ = "followup_alert"
    __table_args__ = (UniqueConstraint("item_id", "stage", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("followup.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(10))
    due_on: Mapped[date]
    at: Mapped[datetime]


class FollowUpError(Exception):
    """A follow-up rule was broken. reason: not_permitted, illegal, note_required, bad_date,
    not_later, pending, no_request, has_ticket."""

    def __init__(self, reason: str, **detail: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def today_of(now: datetime) -> date:
    return to_local(now).date()


def actor_kinds(member: Member, item: FollowUp) -> set[Actor]:
    kinds: set[Actor] = set()
    if member.administers(item.alliance_id):
        kinds.add(Actor.ADMIN)
    if member.id == item.owner_member_id or (
        item.owner_member_id is None
        and item.owner_unit_id is not None
        and member.home_unit_id == item.owner_unit_id
        and member.has_role(Role.LIAISON)
    ):
        kinds.add(Actor.OWNER)
    return kinds


def can_view(member: Member, item: FollowUp) -> bool:
    """Owners and admins, and the members of the item's alliance (decisions are not secret)."""
    return bool(actor_kinds(member, item)) or member.visible_scope().covers(item.alliance_id)


def allowed(member: Member, item: FollowUp) -> list[str]:
    """The actions this member may take on the item now (the buttons)."""
    kinds = actor_kinds(member, item)
    return [
        name
        for name, rule in ACTIONS.items()
        if rule.actor in kinds and item.status in rule.moves and name not in ("approve", "decline")
    ]


def check(member: Member, item: FollowUp, action: str) -> Action:
    """The rule for `action`, if this member may take it on the item as it is now."""
    rule = ACTIONS[action]
    if rule.actor not in actor_kinds(member, item):
        raise FollowUpError("not_permitted")
    if item.status not in rule.moves:
        raise FollowUpError("illegal", status=item.status)
    return rule


async def create_item(
    *,
    session: AsyncSession,
    source: str,
    source_id: int | None,
    alliance_id: int | None,
    title: str,
    due_on: date,
    now: datetime,
    owner_unit_id: int | None = None,
    owner_member_id: int | None = None,
    needs_departments: bool = False,
    created_by: Member | None = None,
) -> FollowUp:
    item = FollowUp(
        source=source,
        source_id=source_id,
        alliance_id=alliance_id,
        title=title.strip(),
        owner_unit_id=owner_unit_id,
        owner_member_id=owner_member_id,
        due_on=due_on,
        first_due_on=due_on,
        needs_departments=needs_departments,
        status=Status.OPEN,
        created_by_id=created_by.id if created_by else None,
        created_at=now,
    )
    session.add(item)
    await session.flush()
    await session.refresh(item, ["owner_unit", "owner_member"])
    return item


def _event(
    item: FollowUp,
    action: str,
    actor: Member | None,
    now: datetime,
    note: str = "",
    attachment: Attachment | None = None,
    due_on: date | None = None,
) -> FollowUpEvent:
    evidence = attachment if attachment is not None and attachment.ok else None
    return FollowUpEvent(
        item_id=item.id,
        actor_id=actor.id if actor else None,
        action=action,
        note=note,
        due_on=due_on,
        file_sha256=evidence.sha256 if evidence else "",
        file_suffix=evidence.suffix if evidence else "",
        file_kind=evidence.kind if evidence else "",
        file_name=evidence.name[:100] if evidence else "",
        at=now,
    )


async def act(
    *,
    session: AsyncSession,
    item: FollowUp,
    action: str,
    actor: Member,
    now: datetime,
    note: str = "",
    attachment: Attachment | None = None,
) -> FollowUpEvent:
    """更新进度, 完成 (note and optional evidence) or 撤销, if the table allows it."""
    if action not in ("progress", "done", "cancel"):
        raise FollowUpError("illegal", status=item.status)
    rule = check(actor, item, action)
    note = note.strip()
    if rule.needs_note and not note:
        raise FollowUpError("note_required")
    item.status = rule.moves[item.status]
    if action in ("progress", "done"):
        item.progress = note
    if action == "done":
        item.done_at = now
    event = _event(item, action, actor, now, note, attachment)
    session.add(event)
    await session.flush()
    return event


async def pending_request(session: AsyncSession, item: FollowUp) -> ExtensionRequest | None:
    stmt = select(ExtensionRequest).where(
        ExtensionRequest.item_id == item.id, ExtensionRequest.state == ExtensionState.PENDING
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def request_extension(
    *,
    session: AsyncSession,
    item: FollowUp,
    actor: Member,
    new_due_on: date,
    reason: str,
    now: datetime,
) -> ExtensionRequest:
    """申请延期: one pending request at a time, to a date later than the current due date."""
    check(actor, item, "extend")
    if await pending_request(session, item) is not None:
        raise FollowUpError("pending")
    if new_due_on <= item.due_on or new_due_on <= today_of(now):
        raise FollowUpError("not_later")
    if not reason.strip():
        raise FollowUpError("note_required")
    request = ExtensionRequest(
        item_id=item.id,
        asked_by_id=actor.id,
        old_due_on=item.due_on,
        new_due_on=new_due_on,
        reason=reason.strip(),
        asked_at=now,
    )
    session.add(request)
    session.add(_event(item, "extend", actor, now, reason.strip(), due_on=new_due_on))
    await session.flush()
    return request


async def decide_extension(
    *,
    session: AsyncSession,
    request: ExtensionRequest,
    item: FollowUp,
    actor: Member,
    approve: bool,
    now: datetime,
) -> FollowUpEvent:
    """同意 moves the due date (reminders start again for it); 不同意 keeps the old one."""
    action = "approve" if approve else "decline"
    rule = check(actor, item, action)
    if request.state != ExtensionState.PENDING or request.item_id != item.id:
        raise FollowUpError("no_request")
    request.state = ExtensionState.APPROVED if approve else ExtensionState.DECLINED
    request.decided_by_id = actor.id
    request.decided_at = now
    item.status = rule.moves[item.status]
    if approve:
        item.due_on = request.new_due_on
    event = _event(item, action, actor, now, request.reason, due_on=request.new_due_on)
    session.add(event)
    await session.flush()
    return event


async def link_ticket(
    *,
    session: AsyncSession,
    item: FollowUp,
    ticket_id: int,
    ticket_number: str,
    actor: Member,
    now: datetime,
) -> FollowUpEvent:
    """需要协调: the ticket filed for this item, linked both ways (item.ticket_id, ticket text)."""
    check(actor, item, "coordinate")
    if item.ticket_id is not None:
        raise FollowUpError("has_ticket")
    item.ticket_id = ticket_id
    event = _event(item, "coordinate", actor, now, ticket_number)
    session.add(event)
    await session.flush()
    return event


async def get_item(session: AsyncSession, item_id: int) -> FollowUp | None:
    return await session.get(FollowUp, item_id)


async def item_for_ticket(session: AsyncSession, ticket_id: int) -> FollowUp | None:
    """The item a 需要协调 ticket was filed for (the link from the ticket's side)."""
    return await session.scalar(select(FollowUp).where(FollowUp.ticket_id == ticket_id))


async def history(session: AsyncSession, item: FollowUp) -> list[FollowUpEvent]:
    stmt = (
        select(FollowUpEvent)
        .where(FollowUpEvent.item_id == item.id)
        .order_by(FollowUpEvent.at, FollowUpEvent.id)
    )
    return list((await session.execute(stmt)).scalars())


def _sorted(items: list[FollowUp], today: date) -> list[FollowUp]:
    """Overdue first (longest overdue first), then open by due date, then finished ones."""
    return sorted(
        items,
        key=lambda i: (
            i.status not in ACTIVE,
            -i.overdue_days(today),
            i.due_on.toordinal() * (1 if i.status in ACTIVE else -1),
            i.id,
        ),
    )


async def owned_items(
    session: AsyncSession, member: Member, now: datetime, *, finished: bool = False
) -> list[FollowUp]:
    """The member's items (and, for a secretary or liaison, the unit's), overdue first."""
    who = FollowUp.owner_member_id == member.id
    if member.home_unit_id is not None and member.has_role(Role.LIAISON):
        who = or_(
            who,
            (FollowUp.owner_unit_id == member.home_unit_id) & FollowUp.owner_member_id.is_(None),
        )
    stmt = select(FollowUp).where(who)
    if not finished:
        stmt = stmt.where(FollowUp.status.in_(list(ACTIVE)))
    return _sorted(list((await session.execute(stmt)).scalars()), today_of(now))


async def items_in(
    session: AsyncSession, scope: Scope, now: datetime, *, overdue_only: bool = False
) -> list[FollowUp]:
    """Active items of the alliances in scope (or only the overdue ones), overdue first."""
    stmt = select(FollowUp).where(
        FollowUp.status.in_(list(ACTIVE)), scope.where(FollowUp.alliance_id)
    )
    if overdue_only:
        stmt = stmt.where(FollowUp.due_on < today_of(now))
    return _sorted(list((await session.execute(stmt)).scalars()), today_of(now))


async def items_by_source(
    session: AsyncSession, source: str, source_ids: Collection[int]
) -> dict[int, FollowUp]:
    if not source_ids:
        return {}
    stmt = select(FollowUp).where(
        FollowUp.source == source, FollowUp.source_id.in_(list(source_ids))
    )
    return {int(i.source_id or 0): i for i in (await session.execute(stmt)).scalars()}


async def pending_requests(session: AsyncSession, scope: Scope) -> list[ExtensionRequest]:
    stmt = (
        select(ExtensionRequest)
        .join(FollowUp, FollowUp.id == ExtensionRequest.item_id)
        .where(ExtensionRequest.state == ExtensionState.PENDING, scope.where(FollowUp.alliance_id))
        .order_by(ExtensionRequest.asked_at)
    )
    return list((await session.execute(stmt)).scalars())


async def owner_ids(session: AsyncSession, item: FollowUp) -> list[int]:
    """Who answers for the item: its member, or its unit's secretaries and liaisons."""
    if item.owner_member_id is not None:
        return [item.owner_member_id]
    if item.owner_unit_id is None:
        return []
    return await unit_liaison_ids(session, item.owner_unit_id)


async def unit_liaison_ids(session: AsyncSession, unit_id: int) -> list[int]:
    """Members of the unit who answer for it: secretaries and liaisons (roles that imply
    them, such as an alliance admin's, count)."""
    stmt = select(Member).where(Member.home_unit_id == unit_id).order_by(Member.id)
    people = (await session.execute(stmt)).scalars()
    return [m.id for m in people if m.roles and m.has_role(Role.LIAISON)]


async def _super_admin_ids(session: AsyncSession) -> list[int]:
    stmt = select(MemberRole.member_id).where(MemberRole.role == Role.SUPER_ADMIN)
    return sorted(set((await session.execute(stmt)).scalars()))


async def chair_ids(session: AsyncSession, alliance_id: int | None, now: datetime) -> list[int]:
    """The chair unit's secretary now; the alliance's admins when no chair is set."""
    if alliance_id is None:
        return await _super_admin_ids(session)
    plan = await get_plan(session, alliance_id)
    unit_id = chair_unit_id(plan, now) if plan else None
    if unit_id is not None:
        stmt = (
            select(Member.id)
            .join(MemberRole, MemberRole.member_id == Member.id)
            .where(Member.home_unit_id == unit_id, MemberRole.role == Role.SECRETARY)
            .order_by(Member.id)
            .limit(1)
        )
        found = await session.scalar(stmt)
        if found is not None:
            return [found]
    return [m.id for m in await alliance_admins(session, alliance_id)] or await _super_admin_ids(
        session
    )


async def audience_ids(
    *, session: AsyncSession, item: FollowUp, audience: Audience, now: datetime
) -> list[int]:
    match audience:
        case Audience.OWNERS:
            return await owner_ids(session, item)
        case Audience.CHAIR:
            return await chair_ids(session, item.alliance_id, now)
        case Audience.ADMINS:
            found = (
                [m.id for m in await alliance_admins(session, item.alliance_id)]
                if item.alliance_id is not None
                else []
            )
            return found or await _super_admin_ids(session)
        case Audience.COUNTY:
            return await _super_admin_ids(session)


async def told(
    *, session: AsyncSession, item: FollowUp, event: str, now: datetime, actor: Member | None
) -> list[tuple[Audience, list[int]]]:
    """The audiences TOLD of `event`, each with its members; `actor` is left out."""
    found = []
    for audience in TOLD[event]:
        ids = await audience_ids(session=session, item=item, audience=audience, now=now)
        found.append((audience, [m for m in ids if actor is None or m != actor.id]))
    return found


def stage_times(item: FollowUp, settings: Settings) -> dict[str, datetime]:
    """When each sweep stage falls due for the item's current due date (UTC)."""
    due = item.due_on
    before = due - timedelta(days=settings.FOLLOWUP_REMIND_DAYS_BEFORE)
    after = due + timedelta(days=1)
    overdue = local_datetime(after.year, after.month, after.day, REMIND_HOUR)
    return {
        "before": local_datetime(before.year, before.month, before.day, REMIND_HOUR),
        "due": local_datetime(due.year, due.month, due.day, REMIND_HOUR),
        "overdue": overdue,
        "county": add_working_days(overdue, settings.FOLLOWUP_COUNTY_AFTER_WORKING_DAYS),
    }


async def due_stages(
    session: AsyncSession, now: datetime, settings: Settings
) -> list[tuple[FollowUp, list[str]]]:
    """Active items with the stages that have fallen due and were not yet recorded, in order.

    A stage that fell due before the item existed is not owed (an item due tomorrow gets no
    "three days before" reminder), except the escalations, which always are.
    """
    items = (
        await session.execute(
            select(FollowUp)
            .where(FollowUp.status.in_(list(ACTIVE)))
            .order_by(FollowUp.due_on, FollowUp.id)
        )
    ).scalars()
    sent = {
        (item_id, stage, due)
        for item_id, stage, due in await session.execute(
            select(FollowUpAlert.item_id, FollowUpAlert.stage, FollowUpAlert.due_on)
        )
    }
    found = []
    for item in items:
        times = stage_times(item, settings)
        stages = [
            stage
            for stage in STAGES
            if times[stage] <= now
            and (item.id, stage, item.due_on) not in sent
            and (stage in ("overdue", "county") or times[stage] > item.created_at)
        ]
        if stages:
            found.append((item, stages))
    return found


ESCALATIONS = ("overdue", "county")


def record_stages(session: AsyncSession, item: FollowUp, stages: list[str], now: datetime) -> None:
    """The stages as sent (each once per due date); an escalation also enters the history."""
    session.add_all(
        FollowUpAlert(item_id=item.id, stage=stage, due_on=item.due_on, at=now) for stage in stages
    )
    session.add_all(
        _event(item, "escalate", None, now, stage) for stage in stages if stage in ESCALATIONS
    )
