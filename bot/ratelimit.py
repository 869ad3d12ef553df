"""The one helper for outbound send rates: an overall rate plus a minimum gap per chat."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

YIELD = 0.005  # seconds a non-urgent caller waits while an urgent one is in line


class RateLimiter:
    """`acquire(key)` waits until one more message may go out, overall and to `key`.

    Overall: at most `per_second` messages in any `window` seconds (a sliding log); a window a
    little over one second leaves room for the jitter between our send and the platform's
    receipt, which otherwise lets a strict platform count 31 in one of its seconds.
    Per key: at least `per_key_interval` seconds between two messages to the same key.
    Urgent callers (direct replies) go first: while one waits only for the overall rate, the
    others let it take the next slot.
    """

    def __init__(
        self,
        per_second: float,
        per_key_interval: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        window: float = 1.0,
    ) -> None:
        self.per_second = per_second
        self.per_key_interval = per_key_interval
        self.window = window
        self._clock = clock
        self._sent: list[float] = []
        self._last_by_key: dict[str, float] = {}
        self._paused_until = 0.0
        self._lock = asyncio.Lock()
        self._urgent: set[object] = set()  # urgent waiters whose own key is free

    def pause(self, seconds: float) -> None:
        """Stop everything for a while (a platform said: retry after N seconds)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def acquire(self, key: str = "", urgent: bool = False) -> None:
        me = object()
        try:
            while True:
                async with self._lock:
                    wait = self._wait_needed(key)
                    if urgent:
                        if self._key_wait(key) <= 0:
                            self._urgent.add(me)
                        else:
                            self._urgent.discard(me)
                    elif self._urgent:
                        wait = max(wait, YIELD)
                    if wait <= 0:
                        now = self._clock()
                        self._sent.append(now)
                        if key:
                            self._last_by_key[key] = now
                        return
                await asyncio.sleep(wait)
        finally:
            self._urgent.discard(me)

    async def acquire_many(self, keys: Sequence[str]) -> None:
        """One message to many keys at once (a batched send): one overall slot, every key's gap."""
        while True:
            async with self._lock:
                wait = max([self._wait_needed(""), *(self._wait_needed(k) for k in keys)])
                if self._urgent:
                    wait = max(wait, YIELD)
                if wait <= 0:
                    now = self._clock()
                    self._sent.append(now)
                    for key in keys:
                        self._last_by_key[key] = now
                    return
            await asyncio.sleep(wait)

    def _key_wait(self, key: str) -> float:
        if key and self.per_key_interval and key in self._last_by_key:
            return self._last_by_key[key] + self.per_key_interval - self._clock()
        return 0.0

    def _wait_needed(self, key: str) -> float:
        now = self._clock()
        waits = [self._paused_until - now]
        cutoff = now - self.window
        while self._sent and self._sent[0] <= cutoff:
            self._sent.pop(0)
        if self.per_second and len(self._sent) >= self.per_second:
            waits.append(self._sent[0] + self.window - now)
        if key and self.per_key_interval and key in self._last_by_key:
            waits.append(self._last_by_key[key] + self.per_key_interval - now)
        return max(waits)
