"""Requests to the Bot API spread over several small connection pools.

httpcore's pool, on every request and every response finished, looks at each of its
connections (an idle one is asked whether its socket is still open: a poll and a getpeername),
so its CPU per request grows with the pool: with 40 replies in flight to a Bot API answering
after 200 ms, the pool took more of the bot's CPU than everything else together, and 80 in
flight halved the replies sent per second. Each request here goes to the pool with the fewest
in flight, so each pool stays small however many are in flight.
"""

from __future__ import annotations

from typing import Any

from telegram.request import BaseRequest, HTTPXRequest, RequestData

POOL_CONNECTIONS = 8


class SpreadRequest(BaseRequest):
    def __init__(self, in_flight: int, pool_connections: int = POOL_CONNECTIONS) -> None:
        count = max(1, -(-in_flight // pool_connections))  # enough pools for `in_flight`
        self._pools = [HTTPXRequest(connection_pool_size=pool_connections) for _ in range(count)]
        self._busy = [0] * count

    @property
    def read_timeout(self) -> float | None:
        return self._pools[0].read_timeout

    async def initialize(self) -> None:
        for pool in self._pools:
            await pool.initialize()

    async def shutdown(self) -> None:
        for pool in self._pools:
            await pool.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        chosen = min(range(len(self._pools)), key=self._busy.__getitem__)
        self._busy[chosen] += 1
        try:
            return await self._pools[chosen].do_request(
                url,
                method,
                request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        finally:
            self._busy[chosen] -= 1
