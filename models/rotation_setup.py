"""Setting up an alliance's rotation: the host order, the period and the chair rotation, from
the console's form or a rotation sheet (models/rotation_import.py), and changed again later.

A plan saved over an existing one takes effect from the old plan's next period (or the new
start date, if later): every period already started keeps the host it had, written down as
an override ("kept") in the new plan's numbering (the old host of the period's middle), back
KEEP_BACK into the past so that last months' 达标创星 still counts the turns people had; what
an earlier replacement kept stays kept, so saving the same plan twice changes nothing.
Overrides and swap requests of the old plan for later periods are dropped. The chair
rotation follows the new plan from its start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import local_datetime
from models.org import Membership
from models.rotation import (
    Period,
    RotationOverride,
    RotationPlan,
    SwapRequest,
    SwapStatus,
    Turn,
    align,
    get_plan,
    period_bounds,
    period_index,
    turns,
)

PERIOD_WORDS = {
    "周": Period.WEEK,
    "月": Period.MONTH,
    "季度": Period.QUARTER,
    "季": Period.QUARTER,
}
PERIOD_WORDS |= {"每周": Period.WEEK, "每月": Period.MONTH, "每季度": Period.QUARTER}
PERIOD_WORDS |= {p.value: p for p in Period}
CHAIR_TERMS = {"月": 1, "季度": 3, "季": 3, "半年": 6, "年": 12, "一年": 12}
CHAIR_TERM_ZH = {1: "月", 3: "季度", 6: "半年", 12: "年"}
KEEP_BACK = timedelta(days=400)
KEPT = "kept"


class PlanError(Exception):
    """`reason`: no_units, not_member (detail: unit ids), duplicate, chair_term, chair_unit."""

    def __init__(self, reason: str, **detail: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass
class PlanDraft:
    """What a plan should be: hosts in order, their period from `starts_on`, the chair list."""

    alliance_id: int
    period: Period
    starts_on: date
    unit_ids: list[int]
    chair_unit_ids: list[int] = field(default_factory=list)
    chair_term_months: int = 12


async def check_draft(session: AsyncSession, draft: PlanDraft) -> None:
    """Every host and chair is a member unit of the alliance, once; raises PlanError."""
    if not draft.unit_ids:
        raise PlanError("no_units")
    members = set(
        await session.scalars(
            select(Membership.unit_id).where(Membership.alliance_id == draft.alliance_id)
        )
    )
    strangers = [u for u in [*draft.unit_ids, *draft.chair_unit_ids] if u not in members]
    if strangers:
        raise PlanError("not_member", units=strangers)
    if len(set(draft.unit_ids)) != len(draft.unit_ids):
        raise PlanError("duplicate")
    if len(set(draft.chair_unit_ids)) != len(draft.chair_unit_ids):
        raise PlanError("duplicate")
    if draft.chair_unit_ids and draft.chair_term_months not in CHAIR_TERM_ZH:
        raise PlanError("chair_term")


def _host_at(rows: list[Turn], moment: datetime) -> int | None:
    return next((t.unit_id for t in rows if t.starts_at <= moment < t.ends_at), None)


async def save_plan(
    *, session: AsyncSession, draft: PlanDraft, now: datetime, by_id: int | None = None
) -> tuple[RotationPlan, bool]:
    """Create the alliance's plan, or replace it from its next period; (plan, replaced?)."""
    await check_draft(session, draft)
    starts_on = align(draft.period, draft.starts_on)
    old = await get_plan(session, draft.alliance_id)
    kept: list[Turn] = []
    freeze_until: datetime | None = None
    if old is not None and old.unit_ids:
        first_start, _ = period_bounds(old, 0)
        if now >= first_start:  # something has started: keep it
            current = period_index(old, now)
            _, next_start = period_bounds(old, current)
            new_start = local_datetime(starts_on.year, starts_on.month, starts_on.day)
            freeze_until = max(next_start, new_start)
            # Periods an earlier replacement kept (they had started then) stay kept.
            last_kept = await session.scalar(
                select(func.max(RotationOverride.period_index)).where(
                    RotationOverride.alliance_id == old.alliance_id,
                    RotationOverride.reason == KEPT,
                )
            )
            if last_kept is not None:
                freeze_until = max(freeze_until, period_bounds(old, last_kept)[1])
            first = period_index(old, now - KEEP_BACK)
            last = period_index(old, freeze_until - timedelta(seconds=1))
            pinned = set(
                await session.scalars(
                    select(RotationOverride.period_index).where(
                        RotationOverride.alliance_id == old.alliance_id
                    )
                )
            )
            kept = [  # before its period 0 the old plan had no host, unless one was kept
                t
                for t in await turns(session, old, first_index=first, count=last - first + 1)
                if t.index >= 0 or t.index in pinned
            ]
    plan = old or RotationPlan(alliance_id=draft.alliance_id)
    plan.period = draft.period
    plan.starts_on = starts_on
    plan.unit_ids = list(draft.unit_ids)
    plan.chair_unit_ids = list(draft.chair_unit_ids)
    plan.chair_starts_on = date(draft.starts_on.year, draft.starts_on.month, 1)  # as given
    plan.chair_term_months = draft.chair_term_months if draft.chair_unit_ids else 12
    if old is None:
        session.add(plan)
    await session.execute(
        delete(RotationOverride).where(RotationOverride.alliance_id == draft.alliance_id)
    )
    await session.execute(
        update(SwapRequest)
        .where(
            SwapRequest.alliance_id == draft.alliance_id,
            SwapRequest.status == SwapStatus.PENDING,
        )
        .values(status=SwapStatus.DECLINED)
    )
    await session.flush()
    if kept and freeze_until is not None:
        await _keep(session, plan, kept, now, freeze_until, by_id)
    return plan, old is not None


async def _keep(
    session: AsyncSession,
    plan: RotationPlan,
    kept: list[Turn],
    now: datetime,
    freeze_until: datetime,
    by_id: int | None,
) -> None:
    """The new plan's periods before `freeze_until` keep the old plan's hosts."""
    first = period_index(plan, max(now - KEEP_BACK, kept[0].starts_at))
    last = period_index(plan, freeze_until - timedelta(seconds=1))
    for index in range(first, last + 1):
        start, end = period_bounds(plan, index)
        # The period running now keeps today's host; others the host of their middle.
        moment = now if start <= now < end else max(start + (end - start) / 2, kept[0].starts_at)
        host = _host_at(kept, min(moment, freeze_until - timedelta(seconds=1)))
        if host is None:
            continue
        session.add(
            RotationOverride(
                alliance_id=plan.alliance_id,
                period_index=index,
                unit_id=host,
                reason=KEPT,
                set_by_id=by_id,
                at=now,
            )
        )
    await session.flush()


async def swap_periods(
    *,
    session: AsyncSession,
    plan: RotationPlan,
    first: int,
    second: int,
    by_id: int | None,
    now: datetime,
) -> tuple[int, int]:
    """An admin exchanges the hosts of two coming periods; returns their new hosts."""
    from models.rotation import RotationError

    if min(first, second) < period_index(plan, now):
        raise RotationError("past")
    low = min(first, second)
    rows = {
        t.index: t
        for t in await turns(session, plan, first_index=low, count=abs(first - second) + 1)
    }
    a, b = rows[first].unit_id, rows[second].unit_id
    if a == b:
        raise RotationError("same_unit")
    for index, unit in ((first, b), (second, a)):
        row = await session.scalar(
            select(RotationOverride).where(
                RotationOverride.alliance_id == plan.alliance_id,
                RotationOverride.period_index == index,
            )
        )
        if row is None:
            row = RotationOverride(alliance_id=plan.alliance_id, period_index=index)
            session.add(row)
        row.unit_id, row.reason, row.set_by_id, row.at = unit, "admin", by_id, now
    await session.flush()
    return b, a
