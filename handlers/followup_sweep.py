"""The 督办 sweep: reminders before the due date and on it, the escalation once to the owner
and the chair when overdue, and to the county after FOLLOWUP_COUNTY_AFTER_WORKING_DAYS
working days. Each stage is recorded once per due date (models.followup.FollowUpAlert) in the
transaction that queues its messages, so a restart neither repeats nor loses one.

When the sweep was behind (the server was down) or one person is owed several messages at
once, they get one message listing everything, not a burst: per item only the latest stage
for that person, then one catch-up message when more than one remains.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.followup_text import Facts, catch_up, facts, messages
from models.followup import STAGES, FollowUp, due_stages, record_stages, stage_times
from models.outbox import enqueue
from settings import Settings

LATE = timedelta(hours=2)  # a stage sent later than this after it fell due was missed


async def sweep(*, session: AsyncSession, now: datetime, settings: Settings) -> int:
    """Queue what has fallen due; returns how many messages were queued."""
    owed: dict[int, list[tuple[str, FollowUp, Facts, object, bool]]] = {}
    for item, stages in await due_stages(session, now, settings):
        record_stages(session, item, stages, now)
        times = stage_times(item, settings)
        f = await facts(session, item, now, settings)
        latest: dict[int, tuple[str, object, bool]] = {}
        missed = len(stages) > 1
        for stage in stages:
            for member_id, _, reply in await messages(
                session=session, item=item, event=stage, f=f, now=now, actor=None
            ):
                latest[member_id] = (stage, reply, missed or now - times[stage] > LATE)
        for member_id, (stage, reply, late) in latest.items():
            owed.setdefault(member_id, []).append((stage, item, f, reply, late))
    queued = 0
    for member_id, rows in owed.items():
        if len(rows) == 1 and not rows[0][4]:
            stage, item, _, reply, _ = rows[0]
            key = f"followup:{item.id}:{stage}:{item.due_on}:{member_id}"
        else:
            rows.sort(key=lambda r: (-STAGES.index(r[0]), r[1].due_on, r[1].id))
            late = any(r[4] for r in rows)
            reply = catch_up([(stage, item, f) for stage, item, f, _, _ in rows], now, late=late)
            what = ",".join(f"{r[1].id}:{r[0]}:{r[1].due_on}" for r in rows)
            key = f"followup-catchup:{member_id}:{hashlib.sha1(what.encode()).hexdigest()[:16]}"
        await enqueue(
            session=session,
            member_id=member_id,
            reply=reply,  # type: ignore[arg-type]
            now=now,
            kind="followup",
            dedupe_key=key,
        )
        queued += 1
    return queued
