"""Test doubles: a recording transport and a chat driver over the real dispatcher."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from bot.app import App
from bot.core import Button, Incoming, Location, Reply
from bot.ratelimit import RateLimiter

_ids = itertools.count(1)


@dataclass
class RecordingTransport:
    """Records what the outbox sender delivers, per user."""

    platform: str = "console"
    sent: dict[str, list[Reply]] = field(default_factory=dict)
    limiter: RateLimiter | None = None
    concurrency: int = 1

    async def send(self, user_key: str, reply: Reply) -> None:
        self.sent.setdefault(user_key, []).append(reply)

    def texts(self, user_key: str) -> list[str]:
        return [r.text for r in self.sent.get(user_key, [])]


class Chat:
    """Talks to the dispatcher as console users, like a person at the console would."""

    def __init__(self, app: App, transport: RecordingTransport) -> None:
        self.app = app
        self.transport = transport
        self.last: dict[str, tuple[Button, ...]] = {}

    def event(self, user: str, **fields: object) -> Incoming:
        return Incoming(
            platform="console",
            event_id=f"t{next(_ids)}",
            user_key=user,
            chat_key=user,
            received_at=self.app.clock.now(),
            **fields,  # type: ignore[arg-type]
        )

    async def send(self, event: Incoming) -> list[Reply]:
        replies = await self.app.dispatcher.handle(event)
        for reply in replies:
            self.last[event.user_key] = reply.buttons
        await self.app.sender.drain()
        for user, delivered in self.transport.sent.items():
            if delivered and delivered[-1].buttons:
                self.last.setdefault(user, delivered[-1].buttons)
        return replies

    async def say(self, user: str, text: str) -> list[str]:
        return [r.text for r in await self.send(self.event(user, text=text))]

    async def replies(self, user: str, text: str) -> list[Reply]:
        return await self.send(self.event(user, text=text))

    async def press(self, user: str, label: str) -> list[str]:
        """Press the button with this label on the user's last message that had buttons."""
        buttons = self.last.get(user, ())
        matches = [b for b in buttons if b.label == label]
        assert matches, f"no button {label!r} in {[b.label for b in buttons]}"
        return [r.text for r in await self.send(self.event(user, action=matches[0].token))]

    async def locate(self, user: str, lat: float, lon: float, live: bool = False) -> list[str]:
        event = self.event(user, location=Location(lat, lon, live))
        return [r.text for r in await self.send(event)]

    async def press_received(self, user: str, label: str) -> list[str]:
        """Press the button with this label on the newest message the outbox delivered."""
        for reply in reversed(self.transport.sent.get(user, [])):
            matches = [b for b in reply.buttons if b.label == label]
            if matches:
                return [r.text for r in await self.send(self.event(user, action=matches[0].token))]
        raise AssertionError(f"no delivered button {label!r} for {user}")

    def received(self, user: str) -> list[str]:
        """Texts the outbox delivered to `user` so far."""
        return self.transport.texts(user)


@dataclass
class LimitedPlatform:
    """A fake platform that enforces send limits and answers a breach like Telegram: 429.

    Overall at most `per_second` messages in any one-second window, and `per_chat_interval`
    seconds between two messages to one chat. `slack` allows for two clocks read microseconds
    apart (ours at acquire, the platform's at arrival). Accepted sends are recorded with
    their monotonic time; a breach raises DeliveryError(retry_after=...).
    """

    limiter: RateLimiter | None
    platform: str = "telegram"
    concurrency: int = 30
    per_second: int = 30
    per_chat_interval: float = 1.0
    retry_after: float = 1.0
    slack: float = 0.005
    accepted: list[tuple[float, str, str]] = field(default_factory=list)
    rejected: list[tuple[float, str, str]] = field(default_factory=list)

    async def send(self, user_key: str, reply: Reply) -> None:
        import time

        from bot.outbox import DeliveryError

        now = time.monotonic()
        window = [t for t, _, _ in self.accepted if t > now - 1.0 + self.slack]
        last = max((t for t, k, _ in self.accepted if k == user_key), default=None)
        too_close = last is not None and now - last < self.per_chat_interval - self.slack
        if len(window) >= self.per_second or too_close:
            self.rejected.append((now, user_key, reply.text))
            raise DeliveryError("429 Too Many Requests", retry_after=self.retry_after)
        self.accepted.append((now, user_key, reply.text))
