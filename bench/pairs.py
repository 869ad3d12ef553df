"""Each hot-path change against the code before it, paired in one process: ratios of medians.

Run: python bench/pairs.py [--users 50] [--rounds 8] [--database-url URL] [--newest-only]

The code before each change is kept here (BEFORE) and swapped in for its blocks. Every round
runs, for each variant in turn (the order rotates from round to round), a block of check-ins
and a block of /help (the fixed per-event path), each by members who have not sent yet, the
whole stored way as bench/breakdown.py. The figures: CPU per event (process, all threads) and
statements per event, medians over the rounds, and each variant's ratio to "before" computed
round by round (so each ratio compares blocks that ran seconds apart) and then its median.

Not a test: pytest collects only tests/.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from collections import defaultdict
from dataclasses import asdict
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from breakdown import COUNTERS, block, instrument, updates_for
from common import (
    START,
    StubRequest,
    add_members,
    bench_settings,
    fresh_demo,
    loadavg,
    machine,
    party_day_code,
    save,
)
from dispatch import Sink, echo, ours, running
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, make_transient_to_detached, selectinload
from sqlalchemy.orm.attributes import set_committed_value

import bot.core
import bot.core.text
import bot.dispatcher
import bot.group_commit
import bot.intake
import bot.outbox
import models.activity
import models.checkin
import models.db
import models.dialog
import models.inbox
import models.meeting
import models.member
import models.outbox
import models.prebuilt
import models.throttle
from bot import nlu
from bot.app import build_app
from bot.core.clock import FrozenClock
from models.activity import Activity
from models.checkin import AlreadyCheckedIn, CheckIn, CheckInMethod, find_checkin
from models.dialog import DialogState
from models.inbox import EventStatus, InboxEvent
from models.meeting import Meeting, MeetingInvitee
from models.member import HOME_LOADED, Identity, Member
from models.org import Membership, Unit
from models.outbox import PRIORITY_BULK, PRIORITY_REPLY, OutboxMessage, OutboxStatus
from models.throttle import ThrottleHit

# ---- the code before each change, verbatim but for endings two versions share -----------------


async def find_member_before(
    session: AsyncSession, *, platform: str, user_key: str
) -> Member | None:
    stmt = (
        select(Member)
        .join(Identity)
        .where(Identity.platform == platform, Identity.user_key == user_key)
        .options(HOME_LOADED.selectinload(Membership.alliance), selectinload(Member.department))
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def find_member_joined(
    session: AsyncSession, *, platform: str, user_key: str
) -> Member | None:
    stmt = (
        select(Member)
        .join(Identity)
        .where(
            Identity.platform == bindparam("platform"), Identity.user_key == bindparam("user_key")
        )
        .options(
            joinedload(Member.home_unit)
            .joinedload(Unit.memberships)
            .joinedload(Membership.alliance),
            joinedload(Member.department),
            joinedload(Member.roles),
        )
    )
    result = await session.execute(stmt, {"platform": platform, "user_key": user_key})
    return result.unique().scalar_one_or_none()


async def record_hit_before(*, session: AsyncSession, kind: str, key: str, now: datetime) -> None:
    session.add(ThrottleHit(kind=kind, key=key, at=now))
    await session.flush()


async def count_hits_before(
    *, session: AsyncSession, kind: str, key: str, now: datetime, window: timedelta
) -> int:
    stmt = select(func.count()).where(
        ThrottleHit.kind == kind, ThrottleHit.key == key, ThrottleHit.at > now - window
    )
    return int((await session.execute(stmt)).scalar_one())


async def claim_events_before(
    *,
    session: AsyncSession,
    now: datetime,
    limit: int,
    worker: str,
    lease: timedelta = timedelta(seconds=60),
    only: list[int] | None = None,
) -> list[InboxEvent]:
    stmt = select(InboxEvent).where(models.inbox._claimable(now))
    if only is not None:
        stmt = stmt.where(InboxEvent.id.in_(only))
    stmt = stmt.order_by(InboxEvent.seq, InboxEvent.id).limit(limit)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=InboxEvent)
    rows = list((await session.execute(stmt)).scalars())
    if rows:
        await session.execute(
            update(InboxEvent)
            .where(InboxEvent.id.in_([r.id for r in rows]))
            .values(claimed_until=now + lease, claimed_by=worker)
        )
    return rows


async def claim_due_before(
    *,
    session: AsyncSession,
    platforms: list[str],
    now: datetime,
    limit: int,
    lease: timedelta = timedelta(minutes=2),
    priorities: tuple[int, int] = (PRIORITY_REPLY, PRIORITY_BULK),
    worker: str = "",
) -> list[OutboxMessage]:
    low, high = priorities
    due = models.outbox._due(platforms, now) & OutboxMessage.priority.between(low, high)
    stmt = (
        select(OutboxMessage)
        .where(due)
        .order_by(OutboxMessage.priority, OutboxMessage.id)
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list((await session.execute(stmt)).scalars())
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


async def first_hit_in_window_before(
    *, session: AsyncSession, kind: str, key: str, now: datetime, window: timedelta
) -> datetime | None:
    stmt = select(func.min(ThrottleHit.at)).where(
        ThrottleHit.kind == kind, ThrottleHit.key == key, ThrottleHit.at > now - window
    )
    return (await session.execute(stmt)).scalar_one()


def activity_loads_before() -> tuple[object, ...]:
    return (selectinload(Activity.alliance), selectinload(Activity.host_unit))


async def check_in_before(
    *,
    session: AsyncSession,
    activity: Activity,
    member: Member,
    method: CheckInMethod,
    now: datetime,
    confirmed_by: Member | None = None,
    distance: float | None = None,
) -> CheckIn:
    first = await find_checkin(session, activity_id=activity.id, member_id=member.id)
    if first is not None:
        raise AlreadyCheckedIn(first, activity)
    row = CheckIn(
        activity_id=activity.id,
        member_id=member.id,
        home_unit_id=member.home_unit_id,
        method=method,
        confirmed_by_id=confirmed_by.id if confirmed_by else None,
        distance_m=round(distance) if distance is not None else None,
        at=now,
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        again = await find_checkin(session, activity_id=activity.id, member_id=member.id)
        assert again is not None
        raise AlreadyCheckedIn(again, activity) from None
    set_committed_value(row, "activity", activity)
    return row


async def attendable_before(
    session: AsyncSession, member: Member, activities: list[Activity]
) -> list[Activity]:
    from models.meeting import invited_to

    invited = await invited_to(session, member.id, [a.id for a in activities])
    return [a for a in activities if member.may_attend(a) or a.id in invited]


async def drain_before(self: Any) -> int:
    sent = 0
    while jobs := (await self._claim(bot.outbox.URGENT[0], bot.outbox.LATER[1]))[0]:
        sent += sum(await self._send_all(jobs))
    return sent


def can_take_before(self: Any, user: str) -> bool:
    return False  # every event waited for the worker's claim


async def store_event_before(sessionmaker: Any, values: dict[str, Any]) -> int | None:
    async with sessionmaker() as session, session.begin():
        row = InboxEvent(**values)
        session.add(row)
        await session.flush()
        return int(row.id)


async def enqueue_replies_before(
    *,
    session: AsyncSession,
    incoming: Any,
    replies: list[Any],
    now: datetime,
    inbox_id: int | None,
    member_id: int | None = None,
    hold_until: datetime | None = None,
    pointer: str = "",
    claimed_by: str = "",
) -> list[OutboxMessage]:
    """The ORM's rows (add_all and flush), claimed as the current code claims them."""
    target = incoming.user_key if incoming.is_group else incoming.chat_key
    addressed = [(target, reply, "reply") for reply in replies]
    if incoming.is_group and replies and pointer:
        addressed.append((incoming.chat_key, bot.core.Reply(pointer), "pointer"))
    due = max(now, hold_until) if hold_until else now
    rows = []
    for user_key, reply, kind in addressed:
        handed = bool(claimed_by) and due <= now and all(b.token for b in reply.buttons)
        rows.append(
            OutboxMessage(
                member_id=member_id,
                platform=incoming.platform,
                user_key=user_key,
                text=reply.text,
                buttons=models.outbox.stored_buttons(reply),
                image=str(reply.image or ""),
                file=str(reply.file or ""),
                kind=kind,
                status=OutboxStatus.SENDING if handed else OutboxStatus.PENDING,
                priority=PRIORITY_REPLY,
                inbox_id=inbox_id,
                created_at=now,
                not_before=due,
                claimed_until=now + models.outbox.SEND_LEASE if handed else None,
                claimed_by=claimed_by if handed else "",
            )
        )
    session.add_all(rows)
    await session.flush()
    return rows


async def process_stored_before(
    self: Any, event_id: int, *, taken: Any = None, sender: str = ""
) -> list[OutboxMessage] | None:
    """The event read back even when its worker holds it."""
    from dataclasses import replace

    now = self.clock.now()
    async with self.sessionmaker() as session, session.begin():
        event = await session.get(InboxEvent, event_id, populate_existing=True)
        if event is None or event.status != models.inbox.EventStatus.PENDING:
            return None
        incoming = event.incoming()
        incoming = replace(incoming, text=bot.core.text.fold(incoming.text))
        await bot.dispatcher._one_at_a_time(session, incoming)
        if not await models.inbox.begin_event(
            session=session, event_id=event_id, now=now, first_of_user=taken is not None
        ):
            return None
        replies, member = await self._process(session, incoming, now)
        return await bot.dispatcher.enqueue_replies(
            session=session,
            incoming=incoming,
            replies=replies,
            now=now,
            inbox_id=event_id,
            member_id=member.id if member else None,
            hold_until=event.passive_until,
            pointer=bot.dispatcher.GROUP_POINTER.format(name=incoming.display_name or "您"),
            claimed_by=sender,
        )


async def write_marks_before(self: Any, marks: list[tuple[int, dict[str, object]]]) -> None:
    """Each mark an ORM UPDATE built per call (then, one mark per transaction)."""
    async with self.sessionmaker() as session, session.begin():
        for row_id, values in marks:
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values)
            )
    for row_id, _ in marks:
        self._held.pop(row_id, None)


async def store_event_in_a_session(sessionmaker: Any, values: dict[str, Any]) -> int | None:
    async with sessionmaker() as session, session.begin():
        return await models.inbox.insert_pending(session=session, values=values)


async def write_marks_in_a_session(self: Any, marks: list[tuple[int, dict[str, object]]]) -> None:
    async with self.sessionmaker() as session, session.begin():
        for row_id, values in marks:
            await models.outbox.update_row(session=session, row_id=row_id, **values)
    for row_id, _ in marks:
        self._held.pop(row_id, None)


def taking_before(self: Any) -> str:
    return ""  # every reply row waited for the sender's claim


@cache
def begin_statement_before(first_of_user: bool) -> Any:
    stmt = update(InboxEvent).where(
        InboxEvent.id == bindparam("the_id"), InboxEvent.status == EventStatus.PENDING
    )
    if first_of_user:
        stmt = stmt.where(models.inbox._first_of_user())
    done_at = bindparam("the_time", type_=InboxEvent.__table__.c.done_at.type)
    return stmt.values(status=EventStatus.DONE, done_at=done_at, claimed_until=None, claimed_by="")


INSERT_HIT_BEFORE = insert(ThrottleHit)
COUNT_HITS_BEFORE = select(func.count()).where(
    ThrottleHit.kind == bindparam("kind"),
    ThrottleHit.key == bindparam("key"),
    ThrottleHit.at > bindparam("since"),
)
FIRST_HIT_BEFORE = select(func.min(ThrottleHit.at)).where(
    ThrottleHit.kind == bindparam("kind"),
    ThrottleHit.key == bindparam("key"),
    ThrottleHit.at > bindparam("since"),
)


async def dialog_load_before(self: Any) -> None:
    stmt = select(DialogState).where(
        DialogState.platform == self._platform, DialogState.user_key == self._user_key
    )
    await keep_unexpired(self, (await self._session.execute(stmt)).scalar_one_or_none())


async def keep_unexpired(self: Any, row: DialogState | None) -> None:
    """Dialog.load's ending, as it was then and is now: an expired row is dropped."""
    if row is not None and row.expires_at <= self._now:
        await self._session.delete(row)
        await self._session.flush()
        row = None
    self._row = row


async def open_activities_before(
    session: AsyncSession, *, now: datetime, opens_before_minutes: int
) -> list[Activity]:
    stmt = (
        select(Activity)
        .where(
            Activity.starts_at <= now + timedelta(minutes=opens_before_minutes),
            Activity.ends_at > now,
            models.activity.live(),
        )
        .order_by(Activity.starts_at, Activity.id)
        .options(*models.activity.activity_loads())
    )
    return list((await session.execute(stmt)).scalars())


async def invited_to_before(
    session: AsyncSession, member_id: int, activity_ids: list[int]
) -> set[int]:
    if not activity_ids:
        return set()
    stmt = (
        select(Meeting.activity_id)
        .join(MeetingInvitee, MeetingInvitee.meeting_id == Meeting.id)
        .where(MeetingInvitee.member_id == member_id, Meeting.activity_id.in_(activity_ids))
    )
    return set((await session.execute(stmt)).scalars())


async def insert_new_before(session: AsyncSession, values: dict[str, Any]) -> CheckIn | None:
    row = CheckIn(**values)
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


def incoming_payload_before(incoming: Any) -> dict[str, Any]:
    data = asdict(incoming)
    data["received_at"] = incoming.received_at.isoformat()
    return data


def begin_immediate_before(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


async def run_prebuilt_before(
    session: AsyncSession, statement: Any, params: dict[str, Any]
) -> tuple[list[Any], int]:
    """The same prebuilt statements through the session, as each call site ran them."""
    result = await session.execute(statement, params)
    returns = statement.is_select or bool(getattr(statement, "_returning", ()))
    rows = list(result) if returns else []
    return rows, getattr(result, "rowcount", -1)


async def run_prebuilt_through_aiosqlite(
    session: AsyncSession, statement: Any, params: dict[str, Any]
) -> tuple[list[Any], int]:
    """run_prebuilt asking the session for its connection each time, each statement through
    aiosqlite's cursor (four awaited calls)."""
    if isinstance(session, models.prebuilt.DriverTransaction):  # the store, the marks
        dialect, driver = session.dialect, session.driver
    else:
        connection = await session.connection()
        dialect = connection.dialect
        driver = connection.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    compiled, args = models.prebuilt._bound(statement, dialect, params)
    try:
        return await models.prebuilt._through_driver(driver, compiled, args)
    except compiled.errors as error:
        raise DBAPIError.instance(compiled.sql, args, error, compiled.errors) from error


FIND_STATE_BEFORE = select(DialogState).where(
    DialogState.platform == bindparam("platform"), DialogState.user_key == bindparam("user_key")
)


async def dialog_load_built_once(self: Any) -> None:
    params = {"platform": self._platform, "user_key": self._user_key}
    row = (await self._session.execute(FIND_STATE_BEFORE, params)).scalar_one_or_none()
    await keep_unexpired(self, row)


async def insert_on_conflict_before(
    session: AsyncSession, values: dict[str, Any]
) -> CheckIn | None:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    stmt = models.checkin._insert_or_nothing(dialect)
    new_id = (await session.execute(stmt, values)).scalar_one_or_none()
    if new_id is None:
        return None
    row = CheckIn(id=new_id, **values)
    make_transient_to_detached(row)
    session.add(row)
    return row


async def add_alone(self: Any, item: Any) -> None:
    """Each sent mark written at once in a transaction of its own."""
    await self._write([item])


# change name → the (module, attribute, code before) it replaced
CHANGES: dict[str, list[tuple[Any, str, Any]]] = {
    "sender in one joined prebuilt query": [
        (bot.dispatcher, "find_member", find_member_before),
        (models.member, "find_member", find_member_before),
    ],
    "flood counter and lock-out in prebuilt Core statements": [
        (bot.dispatcher, "record_hit", record_hit_before),
        (bot.dispatcher, "count_hits", count_hits_before),
        (models.throttle, "record_hit", record_hit_before),
        (models.throttle, "count_hits", count_hits_before),
        (models.throttle, "first_hit_in_window", first_hit_in_window_before),
    ],
    "inbox and outbox claims prebuilt": [
        (bot.intake, "claim_events", claim_events_before),
        (models.inbox, "claim_events", claim_events_before),
        (bot.outbox, "claim_due", claim_due_before),
        (models.outbox, "claim_due", claim_due_before),
    ],
    "check-in: activity joined, insert finds a repeat, invitations only if needed": [
        (models.activity, "activity_loads", activity_loads_before),
        (models.checkin, "check_in", check_in_before),
        (models.checkin, "attendable", attendable_before),
    ],
    "SQLite calls inline, not in aiosqlite's thread": [(models.db, "INLINE_STATEMENTS", False)],
    "a new event taken at once by the running worker, no claim": [
        (bot.intake.EventWorker, "_can_take", can_take_before),
    ],
    # drain() is used only while the sender is not running; `ours` runs it now, so this entry
    # no longer measures anything (its gain was measured before, with drain in `ours`).
    "the sender claims again only if its claim was full or it was nudged": [
        (bot.outbox.OutboxSender, "drain", drain_before),
    ],
    "stored events and reply rows written with Core inserts, not the ORM's flush": [
        (bot.intake, "store_event", store_event_before),
        (bot.dispatcher, "enqueue_replies", enqueue_replies_before),
    ],
    "an event taken at once is not read back": [
        (bot.dispatcher.Dispatcher, "process_stored", process_stored_before),
    ],
    "reply rows handed to the running sender, no claim": [
        (bot.outbox.OutboxSender, "taking", taking_before),
    ],
    "the sender's mark after a send: a prebuilt Core UPDATE": [
        (bot.outbox.OutboxSender, "_write_marks", write_marks_before),
    ],
    "inbox done-mark, flood counter and lock-out on the table, not the ORM entity": [
        (models.inbox, "_begin_statement", begin_statement_before),
        (models.throttle, "_INSERT_HIT", INSERT_HIT_BEFORE),
        (models.throttle, "_COUNT_HITS", COUNT_HITS_BEFORE),
        (models.throttle, "_FIRST_HIT", FIRST_HIT_BEFORE),
    ],
    "dialog, open activities and invitations: statements built once": [
        (models.dialog.Dialog, "load", dialog_load_before),
        (models.activity, "open_activities", open_activities_before),
        (models.checkin, "open_activities", open_activities_before),
        (models.meeting, "invited_to", invited_to_before),
    ],
    # Builds on the check-in change above (its code before has no _insert_new): alone it
    # measures nothing; "all but" gives its gain.
    "check-in row: INSERT … ON CONFLICT DO NOTHING, no savepoint": [
        (models.checkin, "_insert_new", insert_new_before),
    ],
    "a stored event's payload field by field, not asdict()": [
        (models.inbox, "incoming_payload", incoming_payload_before),
    ],
    "sessions closed without a task of their own": [
        (models.db.Session, "__aexit__", AsyncSession.__aexit__),
    ],
    "SQLite's BEGIN IMMEDIATE on the driver's cursor": [
        (models.db, "begin_immediate", begin_immediate_before),
    ],
    "fixed per-event statements run on the driver, compiled once": [
        (models.inbox, "run_prebuilt", run_prebuilt_before),
        (models.throttle, "run_prebuilt", run_prebuilt_before),
        (models.outbox, "run_prebuilt", run_prebuilt_before),
    ],
    "dialog state read and check-in row written on the driver": [
        (models.dialog.Dialog, "load", dialog_load_built_once),
        (models.checkin, "_insert_new", insert_on_conflict_before),
    ],
    # One event at a time here: nothing finishes together, so this measures what the wait
    # of one loop turn costs a lone send; what it gains shows under load (bench/latency.py).
    "sent marks of sends that finish together written in one transaction": [
        (bot.group_commit.GroupCommit, "add", add_alone),
    ],
    "sender's parts built from one statement on the driver, not the ORM's joined loading": [
        (bot.dispatcher, "find_member", find_member_joined),
        (models.member, "find_member", find_member_joined),
    ],
    "prebuilt statements: the connection kept for the transaction, SQLite's run on sqlite3": [
        (module, "run_prebuilt", run_prebuilt_through_aiosqlite)
        for module in (
            models.inbox,
            models.throttle,
            models.outbox,
            models.member,
            models.dialog,
            models.checkin,
        )
    ],
    "the store and the sender's marks in a transaction on the driver, no session": [
        (bot.intake, "store_event", store_event_in_a_session),
        (bot.outbox.OutboxSender, "_write_marks", write_marks_in_a_session),
    ],
}
NEWEST = list(CHANGES)[-3:]  # also measured as "all changes but" each: its share of the rest
CURRENT = {(m, name): getattr(m, name) for parts in CHANGES.values() for m, name, _ in parts}


def use(applied: set[str]) -> None:
    """Swap in the code before every change not in `applied`, the current code for the rest.
    An attribute several changes replaced in turn gets the code after the last applied one
    (the next change's code before, or the current code), or the first code before."""
    chains: dict[tuple[Any, str], list[tuple[str, Any]]] = defaultdict(list)
    for change, parts in CHANGES.items():
        for module, name, before in parts:
            chains[(module, name)].append((change, before))
    for (module, name), chain in chains.items():
        value = chain[0][1]
        for i, (change, _) in enumerate(chain):
            if change in applied:
                value = chain[i + 1][1] if i + 1 < len(chain) else CURRENT[(module, name)]
        setattr(module, name, value)


def variants(newest_only: bool = False) -> dict[str, set[str]]:
    """before; each change alone (unless newest_only); all of them; all but each newest."""
    found: dict[str, set[str]] = {"before": set()}
    for change in [] if newest_only else CHANGES:
        found[f"+ {change}"] = {change}
    if len(CHANGES) > 1:
        found["all changes"] = set(CHANGES)
        for change in NEWEST:
            found[f"all but: {change}"] = set(CHANGES) - {change}
    return found


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = bench_settings(args.database_url)
    await fresh_demo(settings)
    chosen = variants(args.newest_only)
    per_block = args.users
    needed = per_block * len(chosen) * (args.rounds + 1)
    keys = await add_members(settings, needed)
    _, code = await party_day_code(settings, START)
    nlu.warm_up()
    app = build_app(settings, {}, FrozenClock(START))
    instrument(app.engine)
    sink = Sink()
    mine = ours(app, StubRequest(gate=sink))
    baseline = echo(StubRequest())
    kinds = (("check-in", f"签到 {code}"), ("help", "/help"))
    cpu: dict[str, dict[str, list[float]]] = {k: defaultdict(list) for k, _ in kinds}
    stmts: dict[str, dict[str, list[float]]] = {k: defaultdict(list) for k, _ in kinds}
    names = list(chosen)
    loads = [loadavg()]
    next_user, next_id = 0, 1
    unanswered = 0  # events of a block beyond its replies: not stored, or failed silently
    async with mine, baseline, running(app):
        for rnd in range(args.rounds + 1):  # round 0 warms every variant up
            order = names[rnd % len(names) :] + names[: rnd % len(names)]
            for name in order:
                use(chosen[name])
                # The sender's group commit holds the mark writer it was built with.
                app.sender._sent_marks._write = app.sender._write_marks
                users = keys[next_user : next_user + per_block]
                next_user += per_block
                for kind, text in kinds:
                    raw, _ = updates_for(kind, text, users, next_id, None)  # type: ignore[arg-type]
                    next_id += len(raw)
                    sent = sink.sent
                    figures = await block(mine, raw)
                    unanswered += max(0, len(raw) - (sink.sent - sent))
                    if rnd:
                        cpu[kind][name].append(figures["cpu_ms"])
                        stmts[kind][name].append(figures["statements"])
            loads.append(loadavg())
    use(set(CHANGES))
    await app.close()
    if sink.errors or unanswered:  # a variant whose events fail measures its failure
        raise SystemExit(
            f"{sink.errors} error replies, {unanswered} events unanswered: no figures kept"
        )
    out: dict[str, Any] = {}
    for kind, _ in kinds:
        base = cpu[kind]["before"]
        out[kind] = {
            name: {
                "cpu_ms_per_event_median": round(statistics.median(cpu[kind][name]), 3),
                "statements_per_event": round(statistics.median(stmts[kind][name]), 2),
                "ratio_cpu_to_before_median": round(
                    statistics.median(a / b for a, b in zip(cpu[kind][name], base, strict=True)),
                    3,
                ),
            }
            for name in names
        }
    return {
        "database": "postgresql" if args.database_url else "sqlite",
        "machine": machine(),
        "users_per_block": per_block,
        "rounds": args.rounds,
        "newest_only": args.newest_only,
        "kinds": out,
        "hops_counted": COUNTERS.hops > 0,
        "loadavg": loads,
    }


def show(result: dict[str, Any]) -> None:
    rounds, users = result["rounds"], result["users_per_block"]
    print(f"\npaired, {result['database']}, {rounds} rounds × {users} members per block")
    for kind, rows in result["kinds"].items():
        print(f"{kind}:")
        for name, r in rows.items():
            print(
                f"  {name[:60]:<62} cpu {r['cpu_ms_per_event_median']:>8} ms  "
                f"stmts {r['statements_per_event']:>6}  ×before {r['ratio_cpu_to_before_median']}"
            )


async def main(args: argparse.Namespace) -> None:
    result = await run(args)
    save(f"pairs-{result['database']}" + ("-newest" if args.newest_only else ""), result)
    show(result)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50, help="members per block")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--newest-only",
        action="store_true",
        help="only before, all changes and all but each of the newest (their ratios, sooner)",
    )
    asyncio.run(main(parser.parse_args()))
