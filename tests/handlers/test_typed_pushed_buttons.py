"""Buttons that came in a message from someone else (through the outbox) can be typed too, on a
clock that moves while the message is sent (the sender issues its tokens at one moment)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from bot.core.clock import FrozenClock
from models.ticket import Ticket, TicketState
from tests.conftest import START
from tests.fakes import Chat
from tests.handlers.test_report import COMPLAINT, file


class TickingClock(FrozenClock):
    """Each reading is a little later, as on a real server."""

    def now(self) -> datetime:
        return self.advance(microseconds=50)


@pytest.fixture
def clock() -> FrozenClock:
    return TickingClock(START)


async def test_typing_a_rating_pushed_with_the_resolution_takes_that_rating(chat: Chat) -> None:
    number = await file(chat, "member", COMPLAINT)
    await chat.press_received("officer_tax", "签收")
    await chat.press("officer_tax", "办结")
    await chat.say("officer_tax", "已重置开票系统密码")
    await chat.say("officer_tax", "确认办结")
    assert chat.received("member")[-1].startswith(f"请为 {number} 的办理评价")
    # 满意 is also inside 不满意: it must be the button that says exactly that.
    assert await chat.say("member", "满意") == [f"感谢您的评价！{number} 已关闭。"]
    async with chat.app.sessionmaker() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
    assert ticket is not None and ticket.state == TicketState.CLOSED
    assert ticket.rating == "satisfied"
