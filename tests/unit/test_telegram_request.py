"""Bot API requests spread over small connection pools (bot.adapters.telegram_request)."""

from __future__ import annotations

import asyncio
import time

from telegram import Bot

from bot.adapters.telegram_request import SpreadRequest
from tests.fake_botapi import TOKEN, start_fake

DELAY = 0.5


async def test_sends_in_flight_go_at_once_with_no_pool_over_its_size() -> None:
    fake, server = start_fake(limits=False, delay=DELAY)
    request = SpreadRequest(24, pool_connections=8)
    bot = Bot(TOKEN, base_url=fake.api, request=request)
    try:
        async with bot:
            started = time.monotonic()
            await asyncio.gather(*(bot.send_message(9000 + i, f"回复{i}") for i in range(24)))
            took = time.monotonic() - started
            pools = [len(p._client._transport._pool.connections) for p in request._pools]
    finally:
        server.stop()
    assert sorted(m.chat_id for m in fake.messages()) == [9000 + i for i in range(24)]
    assert took < 1.9 * DELAY  # one round trip for all 24, not one per 8
    assert pools == [8, 8, 8]
