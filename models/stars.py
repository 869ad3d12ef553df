"""达标创星: a monthly score per member unit from measurable facts, turned into 1–5 stars.

Only units with a party organisation are scored (they host and send party members). The
month ranked is the current local calendar month once an activity of the scope has been held
(has ended) in it; until then, the last complete month (so the first days of a month do not
collapse every score). Facts are judged as of now: what has not happened yet is not held
against a unit. For the month M, a unit U of the alliances in scope scores (0–100 points):

- Hosting, 20: for each alliance of U whose rotation gives U a turn starting in M, U should
  host at least one activity of that alliance starting in M. A turn is judged once it has
  ended or U has hosted in it. H = 20 × turns hosted / turns judged. With no judged turn: 20
  if U hosted any activity in M anyway, else 10 (neutral). Meetings (党建联席会议, 发展联议)
  are not activities here, for hosting or participation: they are convened by the chair unit
  and attended by invitees, and count in the decisions term (models.meeting_figures).
- Participation, 30: P = 30 × check-ins of U's party members at activities of U's alliances
  that started in M and have ended ÷ (U's party members × those activities). 0 when nothing
  was held.
- Tickets answered on time, 15: of the tickets filed by U in M (not rejected, merged or
  withdrawn) that are resolved or past their resolve deadline when scored (a ticket still
  within its deadline is not judged yet), the share resolved by the deadline.
  T = 15 × on time / judged; 15 when none is judged.
- Notices acknowledged, 10: N = 10 × receipts of U's members acknowledged ÷ receipts, for
  notices sent in M; 10 when none were sent to U.
- Resources shared, 5: R = 0.5 when the unit provides one valid resource to the shared
  lists (伙伴/管家/千里马/蓝海), 1 for two or more.
- Decisions carried out, 10: of the 督办事项 owned by U (meeting decisions handed to the unit)
  due in M and not cancelled, those done or past their due date when scored are judged;
  D = 10 × done by the due date in force (an approved extension moves it) ÷ judged; 10 when
  none is judged.
- Volunteer service (亮身份、践承诺), 10: U's party members with counted service hours
  (signed in and out above the share of the plan, or an approved 补录) at services of U's
  alliances that started in M, against a third of U's party members:
  S = 10 × min(1, served ÷ (party members ÷ 3)). 5 (neutral) when no service of U's
  alliances was held in M. (Points are not a term: they are made of these same facts.)

Stars: ≥ 85 ★★★★★, ≥ 70 ★★★★, ≥ 55 ★★★, ≥ 40 ★★, else ★. Ties in 品牌排行 are broken by
the unit's name so the order is stable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import local_datetime, to_local
from models.activity import Activity, live
from models.checkin import CheckIn
from models.followup import FollowUp, Status
from models.meeting import meeting_activity_ids
from models.member import Member
from models.notice import Notice, NoticeRecipient
from models.org import Membership, Unit
from models.rotation import RotationPlan, period_index, turns
from models.scope import Scope
from models.ticket import UNCOUNTED_STATES, Ticket
from models.volunteer import COUNTING, ServiceActivity, ServiceHours

WEIGHTS = {
    "hosting": 20,
    "participation": 30,
    "tickets": 15,
    "notices": 10,
    "resources": 5,
    "decisions": 10,
    "service": 10,
}
SERVICE_TARGET_SHARE = 1 / 3  # of a unit's party members serving in a month: the full term
STAR_THRESHOLDS = ((85, 5), (70, 4), (55, 3), (40, 2))


@dataclass(frozen=True)
class UnitScore:
    unit_id: int
    name: str
    hosting: float
    participation: float
    tickets: float
    notices: float
    resources: float
    decisions: float = float(WEIGHTS["decisions"])
    service: float = WEIGHTS["service"] / 2

    @property
    def total(self) -> float:
        return (
            self.hosting
            + self.participation
            + self.tickets
            + self.notices
            + self.resources
            + self.decisions
            + self.service
        )

    @property
    def stars(self) -> int:
        return stars_for(self.total)


def stars_for(total: float) -> int:
    for floor, stars in STAR_THRESHOLDS:
        if total >= floor:
            return stars
    return 1


def month_bounds(moment: datetime) -> tuple[datetime, datetime]:
    """UTC start and end of the local calendar month containing `moment`."""
    local = to_local(moment)
    start = local_datetime(local.year, local.month, 1)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return start, local_datetime(year, month, 1)


async def _units(session: AsyncSession, scope: Scope) -> dict[int, tuple[str, set[int]]]:
    """Scored units: name and the alliances (in scope) they belong to."""
    stmt = select(Unit.id, Unit.name, Membership.alliance_id).join(Membership)
    stmt = stmt.where(Unit.has_party_org.is_(True), scope.where(Membership.alliance_id))
    result: dict[int, tuple[str, set[int]]] = {}
    for unit_id, name, alliance_id in await session.execute(stmt):
        result.setdefault(unit_id, (name, set()))[1].add(alliance_id)
    return result


async def _turns(
    session: AsyncSession, alliances: set[int], start: datetime, end: datetime
) -> set[tuple[int, int, datetime]]:
    """(alliance, unit, turn's end) of the rotation turns starting within [start, end)."""
    plans = select(RotationPlan).where(RotationPlan.alliance_id.in_(alliances))
    found = set()
    for plan in (await session.execute(plans)).scalars():
        first = max(period_index(plan, start), 0)
        count = period_index(plan, end) - first + 1
        for turn in await turns(session, plan, first_index=first, count=count):
            if start <= turn.starts_at < end:
                found.add((plan.alliance_id, turn.unit_id, turn.ends_at))
    return found


async def _activities(
    session: AsyncSession, alliances: set[int], start: datetime, end: datetime
) -> list[tuple[int, int, int | None, datetime]]:
    stmt = select(
        Activity.id, Activity.alliance_id, Activity.host_unit_id, Activity.ends_at
    ).where(
        Activity.alliance_id.in_(alliances),
        Activity.starts_at >= start,
        Activity.starts_at < end,
        live(),
        Activity.id.not_in(meeting_activity_ids()),  # meetings count in `decisions`
    )
    return [tuple(row) for row in await session.execute(stmt)]  # type: ignore[misc]


async def _party_members(session: AsyncSession, unit_ids: Collection[int]) -> Counter[int]:
    stmt = (
        select(Member.home_unit_id, func.count())
        .where(Member.home_unit_id.in_(list(unit_ids)), Member.is_party_member.is_(True))
        .group_by(Member.home_unit_id)
    )
    return Counter({u: n for u, n in await session.execute(stmt)})


async def _checkins(session: AsyncSession, activity_ids: list[int]) -> Counter[tuple[int, int]]:
    """(activity, home unit) → check-ins by party members."""
    stmt = (
        select(CheckIn.activity_id, CheckIn.home_unit_id, func.count())
        .join(Member, Member.id == CheckIn.member_id)
        .where(CheckIn.activity_id.in_(activity_ids), Member.is_party_member.is_(True))
        .group_by(CheckIn.activity_id, CheckIn.home_unit_id)
    )
    return Counter({(a, u): n for a, u, n in await session.execute(stmt)})


async def _ticket_shares(
    session: AsyncSession, unit_ids: Collection[int], start: datetime, end: datetime, now: datetime
) -> dict[int, tuple[int, int]]:
    """unit → (judged, resolved on time) for tickets filed in [start, end), judged at `now`."""
    stmt = select(Ticket.unit_id, Ticket.resolved_at, Ticket.resolve_due_at).where(
        Ticket.unit_id.in_(list(unit_ids)),
        Ticket.created_at >= start,
        Ticket.created_at < end,
        Ticket.state.not_in(list(UNCOUNTED_STATES)),
    )
    result: dict[int, tuple[int, int]] = {}
    for unit_id, resolved, due in await session.execute(stmt):
        if resolved is None and due > now:
            continue
        filed, on_time = result.get(unit_id, (0, 0))
        result[unit_id] = (filed + 1, on_time + int(resolved is not None and resolved <= due))
    return result


async def _receipts(
    session: AsyncSession, unit_ids: Collection[int], start: datetime, end: datetime
) -> dict[int, tuple[int, int]]:
    """unit → (receipts, acknowledged) for notices sent in [start, end)."""
    stmt = (
        select(Member.home_unit_id, NoticeRecipient.acked_at)
        .join(NoticeRecipient, NoticeRecipient.member_id == Member.id)
        .join(Notice, Notice.id == NoticeRecipient.notice_id)
        .where(
            Member.home_unit_id.in_(list(unit_ids)), Notice.sent_at >= start, Notice.sent_at < end
        )
    )
    result: dict[int, tuple[int, int]] = {}
    for unit_id, acked in await session.execute(stmt):
        total, done = result.get(unit_id, (0, 0))
        result[unit_id] = (total + 1, done + int(acked is not None))
    return result


async def resources_shared(
    session: AsyncSession, unit_ids: Collection[int], moment: datetime
) -> dict[int, float]:
    """unit → 0..1: half for one valid resource it shares, full for two or more."""
    from models.resource import provided_by_units

    provided = await provided_by_units(session, unit_ids, moment)
    return {unit: min(1.0, count / 2) for unit, count in provided.items()}


async def _decision_shares(
    session: AsyncSession, unit_ids: Collection[int], start: datetime, end: datetime, now: datetime
) -> dict[int, tuple[int, int]]:
    """unit → (judged, done on time) for the unit's follow-up items due within [start, end)."""
    first, last, today = to_local(start).date(), to_local(end).date(), to_local(now).date()
    stmt = select(FollowUp).where(
        FollowUp.owner_unit_id.in_(list(unit_ids)),
        FollowUp.due_on >= first,
        FollowUp.due_on < last,
        FollowUp.status != Status.CANCELLED,
    )
    result: dict[int, tuple[int, int]] = {}
    for item in (await session.execute(stmt)).scalars():
        if item.status != Status.DONE and item.due_on >= today:
            continue
        judged, on_time = result.get(item.owner_unit_id or 0, (0, 0))
        result[item.owner_unit_id or 0] = (judged + 1, on_time + int(item.done_on_time()))
    return result


async def _service(
    session: AsyncSession, alliances: set[int], start: datetime, end: datetime, now: datetime
) -> tuple[set[int], Counter[int]]:
    """Alliances that held a service starting in [start, end) and ended by `now`, and home
    unit → party members with counted hours at those services."""
    held = select(Activity.id, Activity.alliance_id).join(
        ServiceActivity, ServiceActivity.activity_id == Activity.id
    )
    held = held.where(
        Activity.alliance_id.in_(alliances),
        Activity.starts_at >= start,
        Activity.starts_at < end,
        Activity.ends_at <= now,
        live(),
    )
    services = {a: alliance for a, alliance in await session.execute(held)}
    if not services:
        return set(), Counter()
    stmt = (
        select(ServiceHours.home_unit_id, func.count(func.distinct(ServiceHours.member_id)))
        .join(Member, Member.id == ServiceHours.member_id)
        .where(
            ServiceHours.activity_id.in_(list(services)),
            ServiceHours.state.in_(COUNTING),
            Member.is_party_member.is_(True),
        )
        .group_by(ServiceHours.home_unit_id)
    )
    return set(services.values()), Counter({u: n for u, n in await session.execute(stmt)})


async def ranked_month(
    session: AsyncSession, scope: Scope, now: datetime
) -> tuple[datetime, bool]:
    """A moment in the month to rank: this month once an activity of the scope has been held
    (ended) in it, else the last complete month (then True)."""
    start, _ = month_bounds(now)
    held = await session.scalar(
        select(Activity.id)
        .where(
            Activity.starts_at >= start,
            Activity.ends_at <= now,
            live(),
            Activity.id.not_in(meeting_activity_ids()),
            scope.where(Activity.alliance_id),
        )
        .limit(1)
    )
    if held is not None:
        return now, False
    return start - timedelta(seconds=1), True


async def monthly_scores(
    session: AsyncSession, scope: Scope, moment: datetime, month: datetime | None = None
) -> list[UnitScore]:
    """Scores of the units in scope for the month containing `month` (default: `moment`'s),
    judged as of `moment`, best first."""
    start, end = month_bounds(month or moment)
    units = await _units(session, scope)
    alliances = set().union(*(a for _, a in units.values())) if units else set()
    due = await _turns(session, alliances, start, end)
    acts = [a for a in await _activities(session, alliances, start, end) if a[3] <= moment]
    members = await _party_members(session, units)
    came = await _checkins(session, [a for a, _, _, _ in acts])
    tickets = await _ticket_shares(session, units, start, end, moment)
    receipts = await _receipts(session, units, start, end)
    shared = await resources_shared(session, units, moment)
    carried = await _decision_shares(session, units, start, end, moment)
    serving, served = await _service(session, alliances, start, end, moment)
    w = WEIGHTS
    scores = []
    for unit_id, (name, mine) in units.items():
        hosted = {a for _, a, host, _ in acts if host == unit_id}
        # A turn still running that the unit has not hosted yet is not judged yet.
        owed = {
            a
            for a, u, ends in due
            if u == unit_id and a in mine and (ends <= moment or a in hosted)
        }
        if owed:
            hosting = w["hosting"] * len(owed & hosted) / len(owed)
        else:
            hosting = w["hosting"] if hosted else w["hosting"] / 2
        held = [a for a, alliance, _, _ in acts if alliance in mine]
        seats = members[unit_id] * len(held)
        present = sum(came[(a, unit_id)] for a in held)
        filed, on_time = tickets.get(unit_id, (0, 0))
        sent, acked = receipts.get(unit_id, (0, 0))
        judged, kept = carried.get(unit_id, (0, 0))
        if mine & serving:
            wanted = members[unit_id] * SERVICE_TARGET_SHARE
            service = w["service"] * min(1.0, served[unit_id] / wanted) if wanted else 0.0
        else:
            service = w["service"] / 2
        scores.append(
            UnitScore(
                unit_id=unit_id,
                name=name,
                hosting=hosting,
                participation=w["participation"] * present / seats if seats else 0.0,
                tickets=w["tickets"] * on_time / filed if filed else float(w["tickets"]),
                notices=w["notices"] * acked / sent if sent else float(w["notices"]),
                resources=w["resources"] * shared.get(unit_id, 0.0),
                decisions=w["decisions"] * kept / judged if judged else float(w["decisions"]),
                service=service,
            )
        )
    return sorted(scores, key=lambda s: (-s.total, s.name))
