"""Turns one Incoming into replies, in one transaction.

Order: dedupe → text folded (bot.core.text.fold) → flood control → identity → dialog → route
(bot/routing.py: which handler, and the dialog rules) → role check → handler → the dialog
notes (left, how to leave) → button tokens → commit. A live location's later positions skip
flood control and dialogs: they go to the location route, and a refusal of one is not sent
(the share's first position was answered).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import ROLE_NAMES_ZH, Incoming, Reply, Role, Route
from bot.core.clock import Clock
from bot.core.text import fold
from bot.nlu import Parse, parse
from bot.routing import BUTTON_GONE, Router, Target, followup_position, left_note
from handlers.context import Context
from models.button import issue_token, resolve_token
from models.dialog import Dialog
from models.inbox import InboxEvent
from models.member import find_member
from models.throttle import count_hits, record_hit
from settings import Settings

logger = logging.getLogger(__name__)

NEED_BINDING = "您还没有绑定身份。请发送“绑定 邀请码”（邀请码由所在单位或联盟管理员提供）。"
NO_PERMISSION = "抱歉，“{name}”只对{who}开放。"
TOO_FAST = "您发送得太快了，请稍等一分钟再试。"
INTERNAL_ERROR = "抱歉，系统出了点问题，本次操作未生效，请稍后再试。"
INSTEAD = "您可以用“{title}”：{help}。"
HOW_TO_LEAVE = "（发送“取消”退出）"


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
        """Process one event at most once and return the replies to its sender."""
        now = self.clock.now()
        incoming = replace(incoming, text=fold(incoming.text))
        try:
            async with self.sessionmaker() as session, session.begin():
                await _one_at_a_time(session, incoming)
                session.add(_inbox_row(incoming, now))
                await session.flush()
                return await self._process(session, incoming, now)
        except IntegrityError:
            # Another worker holding the same event blocks our insert until it commits, then
            # we land here: that is a duplicate. Any other conflict is a failed event.
            if await self._seen(incoming):
                logger.info("duplicate event %s:%s ignored", incoming.platform, incoming.event_id)
                return []
            return await self._failed(incoming, now)
        except Exception:
            return await self._failed(incoming, now)

    async def _failed(self, incoming: Incoming, now: Any) -> list[Reply]:
        logger.exception("handler failed for %s:%s", incoming.platform, incoming.event_id)
        await self._mark_seen(incoming, now)
        return [Reply(INTERNAL_ERROR)]

    async def _seen(self, incoming: Incoming) -> bool:
        from sqlalchemy import select

        async with self.sessionmaker() as session:
            stmt = select(InboxEvent.id).where(
                InboxEvent.platform == incoming.platform, InboxEvent.event_id == incoming.event_id
            )
            return (await session.execute(stmt)).first() is not None

    async def _mark_seen(self, incoming: Incoming, now: Any) -> None:
        """A failed event is still recorded so that a re-delivery does not fail again."""
        try:
            async with self.sessionmaker() as session, session.begin():
                await _one_at_a_time(session, incoming)
                session.add(_inbox_row(incoming, now))
        except IntegrityError:
            pass

    async def _process(self, session: AsyncSession, incoming: Incoming, now: Any) -> list[Reply]:
        followup = followup_position(incoming)
        if not followup:  # a live share's positions come from the platform, not the user
            sender = f"{incoming.platform}:{incoming.user_key}"
            await record_hit(session=session, kind="message", key=sender, now=now)
            recent = await count_hits(
                session=session, kind="message", key=sender, now=now, window=timedelta(minutes=1)
            )
            limit = self.settings.MESSAGES_PER_MINUTE
            if recent > limit:
                return [Reply(TOO_FAST)] if recent == limit + 1 else []

        member = await find_member(session, platform=incoming.platform, user_key=incoming.user_key)
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
            replies = target
        else:
            refusal = self._refusal(target.route, ctx)
            if refusal and followup:
                return []  # answered once, for the share's first position
            if target.left is not None and not refusal:
                await dialog.clear()
            before = (dialog.step, dialog.get_data())
            replies = refusal or await _call(target.func, ctx, target.kwargs)
            replies = _noted(replies, target, before == (dialog.step, dialog.get_data()))
        first = 0  # buttons are numbered across the replies of one event (typed "3" picks one)
        tokenized = []
        for reply in replies:
            tokenized.append(await self._tokenize(session, incoming, now, reply, first))
            first += len(reply.buttons)
        return tokenized

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
    key = f"{incoming.platform}:{incoming.user_key}"
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
