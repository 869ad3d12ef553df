"""Turns one Incoming into replies, in one transaction.

Order: dedupe → flood control → identity → dialog → route (cancel > dialog step > button >
command/alias > location > NLU intent > help) → role check → handler → button tokens → commit.
A live location's later positions skip flood control and dialogs: they go to the location
route, and a refusal of one is not sent (the share's first position was answered).
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import Button, Incoming, Reply, Role, Route, Step
from bot.core.clock import Clock
from bot.nlu import Parse, parse
from handlers.context import Context
from models.button import Press, issue_token, resolve_token
from models.dialog import Dialog
from models.inbox import InboxEvent
from models.member import find_member
from models.throttle import count_hits, record_hit
from settings import Settings

logger = logging.getLogger(__name__)

NEED_BINDING = "您还没有绑定身份。请发送“绑定 邀请码”（邀请码由所在单位或联盟管理员提供）。"
NO_PERMISSION = "抱歉，您没有使用“{name}”的权限。发送“帮助”查看您可用的功能。"
TOO_FAST = "您发送得太快了，请稍等一分钟再试。"
BUTTON_GONE = "这个按钮已失效，请重新操作。"
INTERNAL_ERROR = "抱歉，系统出了点问题，本次操作未生效，请稍后再试。"
ASK_WHICH = "您是想："
UNKNOWN_COMMAND = "没有“/{command}”这个命令，发送 /help 查看可用命令。"

CANCEL_WORDS = frozenset({"/cancel", "取消", "退出", "算了"})
COMMAND_RE = re.compile(r"^/([A-Za-z_]+)(?:@\w+)?\s*(.*)$", re.S)


@dataclass(frozen=True)
class Target:
    route: Route
    func: Callable[..., Any]
    kwargs: dict[str, Any]


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
        self.by_name = {r.name: r for r in self.routes}
        self.by_alias = {a: r for r in self.routes for a in r.aliases}
        self.by_intent = {r.intent: r for r in self.routes if r.intent}
        self.on_location = next((r for r in self.routes if r.takes_location), None)

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Process one event at most once and return the replies to its sender."""
        now = self.clock.now()
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
        followup = _followup(incoming)
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
        target = self._route(ctx, incoming, press)
        if isinstance(target, list):
            replies = target
        else:
            refusal = self._refusal(target.route, ctx)
            if refusal and followup:
                return []  # answered once, for the share's first position
            replies = refusal or await _call(target.func, ctx, target.kwargs)
        return [await self._tokenize(session, incoming, now, reply) for reply in replies]

    def _route(
        self, ctx: Context, incoming: Incoming, press: Press | None
    ) -> Target | list[Reply]:
        if _followup(incoming):
            # Later positions of a live share go to the location route only: fed into a dialog
            # step, each would repeat that step's question every few seconds.
            if self.on_location is None:
                return []
            route = self.on_location
            return Target(route, route.handler, {"location": incoming.location})
        text = incoming.text.strip()
        if text in CANCEL_WORDS or (press is not None and press.target == "cancel"):
            route = self.by_name["cancel"]
            return Target(route, route.handler, {})
        if press is not None:
            return self._pressed(ctx, press)
        step = self._current_step(ctx)
        if step is not None:
            route, current = step
            return Target(route, current.func, {"text": text, "location": incoming.location})
        command = COMMAND_RE.match(text)
        if command:
            name, args = command.group(1).lower(), command.group(2).strip()
            route = self.by_name.get(name)
            if route is None:
                return [Reply(UNKNOWN_COMMAND.format(command=name))]
            return Target(route, route.handler, _arg_kwargs(route, args))
        head, _, rest = text.partition(" ")
        alias_route = self.by_alias.get(head) or self.by_alias.get(text)
        if alias_route is not None:
            args = rest.strip() if alias_route is self.by_alias.get(head) else ""
            return Target(alias_route, alias_route.handler, _arg_kwargs(alias_route, args))
        if incoming.location is not None and self.on_location is not None and not text:
            return Target(
                self.on_location, self.on_location.handler, {"location": incoming.location}
            )
        if text:
            parsed = self.nlu(text)
            choices = [self.by_intent[i] for i in parsed.alternatives if i in self.by_intent]
            if len(choices) > 1:
                return [_ask_which(choices, text)]
            route = choices[0] if choices else self.by_intent.get(parsed.intent)
            if route is not None:
                return Target(route, route.handler, dict(parsed.slots))
        route = self.by_name["help"]
        return Target(route, route.handler, {"unknown": bool(text)})

    def _current_step(self, ctx: Context) -> tuple[Route, Step] | None:
        """The dialog step waiting for this person's next message, if any."""
        name = ctx.dialog.step
        route = self.by_name.get(ctx.dialog.flow or "")
        if name is None or route is None or name not in route.steps:
            return None
        return route, route.steps[name]

    def _pressed(self, ctx: Context, press: Press) -> Target | list[Reply]:
        """A button names a route, one of its buttons, or a step of its dialog.

        A step's button counts only while the dialog waits at that step: pressed again after
        the dialog moved on or ended (a double tap on "提交"), it does nothing.
        """
        route_name, _, name = press.target.partition(".")
        route = self.by_name.get(route_name)
        if route is None:
            return [Reply(BUTTON_GONE)]
        values = dict(press.values)
        if not name:
            return Target(route, route.handler, values)
        if name in route.buttons:
            return Target(route, route.buttons[name], values)
        if press.target in route.steps and ctx.dialog.step == press.target:
            return Target(route, route.steps[press.target].func, {"text": "", **values})
        return [Reply(BUTTON_GONE)]

    def _refusal(self, route: Route, ctx: Context) -> list[Reply] | None:
        if route.role == Role.ANYONE:
            return None
        if ctx.member is None:
            return [Reply(NEED_BINDING)]
        if not ctx.member.has_role(route.role):
            return [Reply(NO_PERMISSION.format(name=route.title))]
        return None

    async def _tokenize(
        self, session: AsyncSession, incoming: Incoming, now: Any, reply: Reply
    ) -> Reply:
        if not reply.buttons:
            return reply
        buttons = []
        for button in reply.buttons:
            self._check_target(button)
            token = await issue_token(
                session=session,
                platform=incoming.platform,
                user_key=incoming.user_key,
                button=button,
                now=now,
            )
            buttons.append(button.issued(token))
        return replace(reply, buttons=tuple(buttons))

    def _check_target(self, button: Button) -> None:
        """A button must name something registered; a typo fails loudly, never silently."""
        route_name, _, name = button.target.partition(".")
        route = self.by_name.get(route_name)
        known = route is not None and (
            not name or name in route.buttons or button.target in route.steps
        )
        if not known:
            raise LookupError(f"button {button.label!r} names {button.target!r}: not registered")


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


def _followup(incoming: Incoming) -> bool:
    """A later position of a live location share, with nothing typed or pressed."""
    location = incoming.location
    return bool(location and location.followup and not incoming.text and not incoming.action)


def _ask_which(choices: Sequence[Route], text: str) -> Reply:
    """Offer the likely features; a choice runs with the words of the message."""
    buttons = tuple(Button(r.title, r.name, **_words(r, text)) for r in choices)
    return Reply(ASK_WHICH, buttons=buttons)


def _words(route: Route, text: str) -> dict[str, str]:
    return {route.arg: text} if route.arg else {}


def _arg_kwargs(route: Route, args: str) -> dict[str, Any]:
    return {route.arg: args} if route.arg and args else {}


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
