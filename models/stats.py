"""Figures computed from the data: the alliance matrix of the report's table, activities,
mobile members, notices and resources for /stats and the weekly digest.

Ticket figures come from models.ticket_figures (ticket_figures), overdue tickets from
models.ticket_deadlines (overdue); they are not recomputed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.activity import Activity, live
from models.checkin import CheckIn, attendance
from models.meeting import meeting_activity_ids
from models.member import Member
from models.notice import Notice, NoticeRecipient, delivery
from models.org import Alliance, AllianceType, Membership, Unit
from models.scope import Scope
from models.ticket import Ticket
from models.ticket_deadlines import overdue


@dataclass(frozen=True)
class MatrixRow:
    """One row: alliances, member party organisations, party members, units reached."""

    label: AllianceType | None
    alliances: int
    party_orgs: int
    party_members: int
    units: int


async def alliance_matrix(session: AsyncSession, scope: Scope = Scope.COUNTY) -> list[MatrixRow]:
    """A row per alliance type, then the totals (label None); distinct units and members."""
    rows = [await _row(session, t, scope) for t in AllianceType]
    rows.append(await _row(session, None, scope))
    return rows


async def _row(session: AsyncSession, kind: AllianceType | None, scope: Scope) -> MatrixRow:
    alliances = select(Alliance.id).where(scope.where(Alliance.id))
    if kind is not None:
        alliances = alliances.where(Alliance.type == kind)
    units = select(Membership.unit_id).where(Membership.alliance_id.in_(alliances))
    n_alliances = await session.scalar(select(func.count()).select_from(alliances.subquery()))
    n_units = await session.scalar(
        select(func.count(distinct(Membership.unit_id))).where(
            Membership.alliance_id.in_(alliances)
        )
    )
    n_orgs = await session.scalar(
        select(func.count(Unit.id)).where(Unit.id.in_(units), Unit.has_party_org.is_(True))
    )
    n_members = await session.scalar(
        select(func.count(Member.id)).where(
            Member.home_unit_id.in_(units), Member.is_party_member.is_(True)
        )
    )
    return MatrixRow(kind, n_alliances or 0, n_orgs or 0, n_members or 0, n_units or 0)


def _scope_units(scope: Scope) -> Select[tuple[int]]:
    """Units belonging to an alliance in scope."""
    return select(Membership.unit_id).where(scope.where(Membership.alliance_id))


@dataclass(frozen=True)
class ActivityFigures:
    """Activities that ended in the period; the rate counts the alliance's own party members."""

    held: int
    expected: int
    present: int
    guests: int

    @property
    def rate(self) -> float | None:
        return self.present / self.expected if self.expected else None


async def activity_figures(
    session: AsyncSession,
    scope: Scope,
    *,
    until: datetime,
    since: datetime | None = None,
) -> ActivityFigures:
    """Sums models.activity.attendance over the activities held (ended) in the period."""
    stmt = select(Activity).where(Activity.ends_at <= until, live())
    if since is not None:
        stmt = stmt.where(Activity.ends_at > since)
    stmt = stmt.where(scope.where(Activity.alliance_id))
    stmt = stmt.where(Activity.id.not_in(meeting_activity_ids()))  # meetings: meeting_figures
    held = expected = present = guests = 0
    for activity in (await session.execute(stmt.order_by(Activity.id))).scalars():
        figures = await attendance(session, activity)
        held += 1
        expected += figures.expected
        present += len(figures.present) - len(figures.guests)
        guests += len(figures.guests)
    return ActivityFigures(held, expected, present, guests)


@dataclass(frozen=True)
class MobileFigures:
    members: int
    active: int  # mobile members with at least one check-in in the period
    checkins: int


async def mobile_figures(
    session: AsyncSession,
    scope: Scope,
    *,
    until: datetime,
    since: datetime | None = None,
) -> MobileFigures:
    """Mobile members whose home unit is in scope, and their check-ins anywhere."""
    members = select(Member.id).where(
        Member.is_mobile.is_(True), Member.home_unit_id.in_(_scope_units(scope))
    )
    checkins = select(CheckIn.member_id).where(CheckIn.member_id.in_(members), CheckIn.at <= until)
    if since is not None:
        checkins = checkins.where(CheckIn.at > since)
    rows = list((await session.execute(checkins)).scalars())
    total = await session.scalar(select(func.count()).select_from(members.subquery()))
    return MobileFigures(total or 0, len(set(rows)), len(rows))


@dataclass(frozen=True)
class NoticeFigures:
    """Receipts (人次) of sent notices: `delivered` reached an account (or was acknowledged),
    `unreached` never could (not bound, or every send failed); the rate is acknowledged ÷
    delivered."""

    notices: int
    recipients: int
    delivered: int
    unreached: int
    acknowledged: int

    @property
    def rate(self) -> float | None:
        return self.acknowledged / self.delivered if self.delivered else None


async def notice_figures(
    session: AsyncSession,
    scope: Scope,
    *,
    until: datetime,
    since: datetime | None = None,
) -> NoticeFigures:
    """Sent notices reaching members in scope; receipts (NoticeRecipient) of those members,
    with what the outbox says reached them."""
    stmt = (
        select(NoticeRecipient.notice_id, NoticeRecipient.member_id, NoticeRecipient.acked_at)
        .join(Notice, Notice.id == NoticeRecipient.notice_id)
        .where(Notice.sent_at.is_not(None), Notice.sent_at <= until)
    )
    if since is not None:
        stmt = stmt.where(Notice.sent_at > since)
    if not scope.county:
        members = select(Member.id).where(Member.home_unit_id.in_(_scope_units(scope)))
        stmt = stmt.where(NoticeRecipient.member_id.in_(members))
    rows = (await session.execute(stmt)).all()
    reach = await delivery(session=session, notice_ids={n for n, _, _ in rows})
    # An acknowledgement proves the notice reached its reader, whatever the outbox says.
    statuses = [
        "delivered" if at is not None else reach.get((n, m), "unreachable") for n, m, at in rows
    ]
    return NoticeFigures(
        notices=len({n for n, _, _ in rows}),
        recipients=len(rows),
        delivered=statuses.count("delivered"),
        unreached=statuses.count("unreachable") + statuses.count("failed"),
        acknowledged=sum(1 for _, _, at in rows if at is not None),
    )


@dataclass(frozen=True)
class ResourceRow:
    """One list of the resources feature (需求/资源/项目…): items and matches made."""

    label: str
    items: int
    matches: int


async def resource_figures(
    session: AsyncSession, scope: Scope, now: datetime
) -> list[ResourceRow]:
    """Per shared list: valid resources visible to the scope and matches its members asked."""
    from models.resource import list_figures

    return [ResourceRow(*row) for row in await list_figures(session, scope, now)]


async def overdue_tickets(
    session: AsyncSession, scope: Scope, now: datetime
) -> list[tuple[Ticket, str]]:
    """models.ticket_deadlines.overdue limited to the scope."""
    return [(t, kind) for t, kind in await overdue(session, now) if scope.covers(t.alliance_id)]
