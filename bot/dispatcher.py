"""Turns one Incoming into replies, in one transaction.

Two doors: `process_stored` for events an adapter stored (the replies become outbox rows in
the event's transaction, and the event is marked done there too), `handle` for callers that
show the replies at once (the console, tests). Transient faults are told apart from failures.

Order: dedupe → text folded (bot.core.text.fold) → flood control → identity → dialog → route
(bot/routing.py: which handler, and the dialog rules) → role check → handler → the dialog
notes (left, how to leave) → button tokens → commit. A live location's later positions skip
flood control and dialogs: they go to the location route, and a refusal of one is not sent
(the share's first position was answered).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import ROLE_NAMES_ZH, Incoming, Reply, Role, Route
from bot.core.clock import Clock
from bot.core.text import fold
from bot.nlu import Parse, parse
from bot.routing import BUTTON_GONE, Router, Target, followup_position, left_note
from handlers.context import Context
from models.button import issue_token, resolve_token
from models.dialog import Dialog
from models.inbox import (
    EventStatus,
    InboxEvent,
    Taken,
    begin_event,
    find_event,
    incoming_payload,
    mark_failed,
)
from models.member import Member, find_member
from models.outbox import OutboxMessage, enqueue_replies
from models.throttle import count_hits, record_hit
from settings import Settings

logger = logging.getLogger(__name__)

NEED_BINDING = "您还没有绑定身份。请发送“绑定 邀请码”（邀请码由所在单位或联盟管理员提供）。"
NO_PERMISSION = "抱歉，“{name}”只对{who}开放。"
TOO_FAST = "您发送得太快了，请稍等一分钟再试。"
INTERNAL_ERROR = "抱歉，系统出了点问题，本次操作未生效，请稍后再试。"
INSTEAD = "您可以用“{title}”：{help}。"
HOW_TO_LEAVE = "（发送“取消”退出）"


SYNC_ATTEMPTS = 3  # handle(): tries of an event hit by a transient fault, 0.5 s then 1 s apart
GROUP_POINTER = "{name}，已私信回复您；如未收到，请先私聊我并发送 /start。"


def is_transient(error: BaseException) -> bool:
    """A fault that may pass if the event is tried again: the database busy or locked, its
    connection lost, a time-out. Anything else (a bug, a broken rule) would fail again."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(error, ConnectionError | TimeoutError)


class Dispatcher:
    def __init__(
        self,
        routes: Sequence[Route],
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock | None = None,
        nlu: Callable[[str], Parse] = parse,
    ) -> None:
        self.routes = tuple(routes)
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.clock = clock or Clock()
        self.nlu = nlu
        self.router = Router(self.routes, nlu)

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Process one event at most once and return the replies to its sender.

        For callers that show the replies themselves, at once (the console, tests): the event
        is recorded done in its transaction and its replies are returned, not queued. Platform
        events are stored first and go through `process_stored` instead.
        """
        incoming = replace(incoming, text=fold(incoming.text))
        for attempt in range(1, SYNC_ATTEMPTS + 1):
            now = self.clock.now()
            try:
                async with self.sessionmaker() as session, session.begin():
                    await _one_at_a_time(session, incoming)
                    session.add(_inbox_row(incoming, now))
                    await session.flush()
                    replies, _ = await self._process(session, incoming, now)
                    return replies
            except IntegrityError as error:
                # Another worker holding the same event blocks our insert until it commits,
                # then we land here: that is a duplicate. Any other conflict is a failed event.
                if await self._seen(incoming):
                    logger.info(
                        "duplicate event %s:%s ignored", incoming.platform, incoming.event_id
                    )
                    return []
                return await self._failed(incoming, now, error)
            except Exception as error:
                if is_transient(error) and attempt < SYNC_ATTEMPTS:
                    logger.warning("event %s: %s; trying again", incoming.event_id, error)
                    await asyncio.sleep(0.5 * attempt)
                    continue
                return await self._failed(incoming, now, error)
        raise AssertionError("unreachable")

    async def process_stored(
        self, event_id: int, *, taken: Taken | None = None, sender: str = ""
    ) -> list[OutboxMessage] | None:
        """Process a stored event: its effects, its replies (as outbox rows, first in line)
        and its done mark commit together. Returns the reply rows; None when the event is
        not pending any more.

        `taken`: the event as the worker that wrote it holds it (taken at once, not claimed,
        so not read back); it raises NotFirstOfUser (and nothing is applied) while an earlier
        event of its user is pending. `sender`: the running outbox sender that will be
        handed the rows (they are written claimed by it)."""
        now = self.clock.now()
        async with self.sessionmaker() as session, session.begin():
            if taken is None:
                event = await session.get(InboxEvent, event_id, populate_existing=True)
                if event is None or event.status != EventStatus.PENDING:
                    return None
                incoming, hold = event.incoming(), event.passive_until
            else:
                incoming, hold = taken.incoming, taken.passive_until
            incoming = replace(incoming, text=fold(incoming.text))
            await _one_at_a_time(session, incoming)
            if not await begin_event(
                session=session, event_id=event_id, now=now, first_of_user=taken is not None
            ):
                return None
            replies, member = await self._process(session, incoming, now)
            return await enqueue_replies(
                session=session,
                incoming=incoming,
                replies=replies,
                now=now,
                inbox_id=event_id,
                member_id=member.id if member else None,
                hold_until=hold,
                pointer=GROUP_POINTER.format(name=incoming.display_name or "您"),
                claimed_by=sender,
            )

    async def fail_stored(self, event_id: int, error: BaseException, attempts: int) -> bool:
        """Give up on a stored event: failed, with its error; its sender is told once (not
        again when a replay fails). Returns whether the event was marked."""
        now = self.clock.now()
        text = f"{type(error).__name__}: {error}"
        logger.error("event %s failed for good: %s", event_id, text, exc_info=error)
        async with self.sessionmaker() as session, session.begin():
            event = await session.get(InboxEvent, event_id, populate_existing=True)
            if event is None or event.status != EventStatus.PENDING:
                return False
            tell = await mark_failed(
                session=session, event_id=event_id, attempts=attempts, error=text, now=now
            )
            if tell:
                await enqueue_replies(
                    session=session,
                    incoming=event.incoming(),
                    replies=[Reply(INTERNAL_ERROR)],
                    now=now,
                    inbox_id=event_id,
                )
            return True

    async def _failed(self, incoming: Incoming, now: Any, error: BaseException) -> list[Reply]:
        logger.error(
            "handler failed for %s:%s", incoming.platform, incoming.event_id, exc_info=error
        )
        await self._mark_failed(incoming, now, error)
        return [Reply(INTERNAL_ERROR)]

    async def _seen(self, incoming: Incoming) -> bool:
        async with self.sessionmaker() as session:
            found = await find_event(
                session=session, platform=incoming.platform, event_id=incoming.event_id
            )
            return found is not None

    async def _mark_failed(self, incoming: Incoming, now: Any, error: BaseException) -> None:
        """A failed event is recorded, with its error, so that a re-delivery does not fail
        again and `python -m bot events replay` can try it once the fault is fixed."""
        row = _inbox_row(incoming, now)
        row.status = EventStatus.FAILED
        row.payload = incoming_payload(incoming)
        row.error = f"{type(error).__name__}: {error}"[:2000]
        row.attempts = 1
        row.told_at = now
        try:
            async with self.sessionmaker() as session, session.begin():
                await _one_at_a_time(session, incoming)
                session.add(row)
        except IntegrityError:
            pass
        except Exception:
            logger.exception("could not record the failed event %s", incoming.event_id)

    async def _process(
        self, session: AsyncSession, incoming: Incoming, now: Any
    ) -> tuple[list[Reply], Member | None]:
        followup = followup_position(incoming)
        if not followup:  # a live share's positions come from the platform, not the user
            sender = incoming.sender
            await record_hit(session=session, kind="message", key=sender, now=now)
            recent = await count_hits(
                session=session, kind="message", key=sender, now=now, window=timedelta(minutes=1)
            )
            limit = self.settings.MESSAGES_PER_MINUTE
            if recent > limit:
                return ([Reply(TOO_FAST)] if recent == limit + 1 else []), None

        member = await find_member(session, platform=incoming.platform, user_key=incoming.user_key)
        replies = await self._route(session, incoming, now, member, followup)
        first = 0  # buttons are numbered across the replies of one event (typed "3" picks one)
        tokenized = []
        for reply in replies:
            tokenized.append(await self._tokenize(session, incoming, now, reply, first))
            first += len(reply.buttons)
        return tokenized, member

    async def _route(
        self,
        session: AsyncSession,
        incoming: Incoming,
        now: Any,
        member: Member | None,
        followup: bool,
    ) -> list[Reply]:
        dialog = Dialog(
            session,
            incoming.platform,
            incoming.user_key,
            now,
            timedelta(minutes=self.settings.DIALOG_TIMEOUT_MINUTES),
        )
        await dialog.load()
        ctx = Context(
            session=session,
            incoming=incoming,
            member=member,
            now=now,
            settings=self.settings,
            dialog=dialog,
            routes=self.routes,
        )
        press = None
        if incoming.action:
            press = await resolve_token(
                session=session,
                platform=incoming.platform,
                user_key=incoming.user_key,
                token=incoming.action,
            )
            if press is None:
                return [Reply(BUTTON_GONE)]
        target = await self.router.route(ctx, incoming, press)
        if isinstance(target, list):
            return target
        refusal = self._refusal(target.route, ctx)
        if refusal and followup:
            return []  # answered once, for the share's first position
        if target.left is not None and not refusal:
            await dialog.clear()
        before = (dialog.step, dialog.get_data())
        replies = refusal or await _call(target.func, ctx, target.kwargs)
        return _noted(replies, target, before == (dialog.step, dialog.get_data()))

    def _refusal(self, route: Route, ctx: Context) -> list[Reply] | None:
        if route.role == Role.ANYONE:
            return None
        if ctx.member is None:
            return [Reply(NEED_BINDING)]
        if not ctx.member.has_role(route.role):
            text = NO_PERMISSION.format(name=route.title, who=ROLE_NAMES_ZH[route.role])
            instead = self.router.by_name.get(route.instead or "")
            if instead is not None and ctx.member.has_role(instead.role):
                text += INSTEAD.format(title=instead.title, help=instead.help)
            return [Reply(text)]
        return None

    async def _tokenize(
        self, session: AsyncSession, incoming: Incoming, now: Any, reply: Reply, first: int = 0
    ) -> Reply:
        if not reply.buttons:
            return reply
        buttons = []
        for position, button in enumerate(reply.buttons):
            self.router.check_target(button)
            token = await issue_token(
                session=session,
                platform=incoming.platform,
                user_key=incoming.user_key,
                button=button,
                now=now,
                position=first + position,
            )
            buttons.append(button.issued(token))
        return replace(reply, buttons=tuple(buttons))


USER_LOCK_SPACE = 0x484D  # advisory locks with two keys: apart from the scheduler's one-key lock


async def _one_at_a_time(session: AsyncSession, incoming: Incoming) -> None:
    """One user's events run one after another, even on different workers.

    Two workers could otherwise both read the same dialog state or failure count and both
    act on it. SQLite already runs one write transaction at a time; PostgreSQL takes a lock
    on the user that the transaction's end releases.
    """
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return
    key = incoming.sender
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"),
        {"space": USER_LOCK_SPACE, "key": key},
    )


def _inbox_row(incoming: Incoming, now: Any) -> InboxEvent:
    return InboxEvent(
        platform=incoming.platform,
        event_id=incoming.event_id,
        user_key=incoming.user_key,
        received_at=now,
        status=EventStatus.DONE,
        done_at=now,
    )


def _noted(replies: list[Reply], target: Target, unmoved: bool) -> list[Reply]:
    """Say when a message left a dialog; a prompt repeated at a step that did not move (the
    answer was refused) says how to leave."""
    if not replies:
        return replies
    if target.left is not None:
        first = replies[0]
        replies = [replace(first, text=f"{left_note(target.left)}{first.text}"), *replies[1:]]
    last = replies[-1]
    if target.at_step and unmoved and "取消" not in last.text:
        replies = [*replies[:-1], replace(last, text=f"{last.text}{HOW_TO_LEAVE}")]
    return replies


@cache
def _accepted(func: Callable[..., Any]) -> frozenset[str] | None:
    """The keywords a handler takes; None when it takes any (**kwargs). Read once per handler."""
    parameters = inspect.signature(func).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters)


async def _call(func: Callable[..., Any], ctx: Context, kwargs: dict[str, Any]) -> list[Reply]:
    """Call a handler with the keywords it accepts (slots it does not take are dropped)."""
    accepted = _accepted(func)
    if accepted is not None:
        kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    result: list[Reply] = await func(ctx, **kwargs)
    return result
