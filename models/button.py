"""Button tokens: platforms only ever carry an opaque token; the action stays here.

So a forged or replayed button press from someone else does nothing, and Telegram's 64-byte
callback_data limit never constrains what an action may say.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.core import Button
from models.base import Base

SHARED = "*"


class ButtonToken(Base):
    __tablename__ = "button_token"
    __table_args__ = (Index("ix_button_token_user_created", "platform", "user_key", "created_at"),)

    token: Mapped[str] = mapped_column(String(24), primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    user_key: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(500))
    label: Mapped[str] = mapped_column(String(100), default="", server_default="")
    position: Mapped[int] = mapped_column(default=0, server_default="0")  # in its message
    created_at: Mapped[datetime]


@dataclass(frozen=True)
class Press:
    """What a pressed button runs: its target and the values it carries."""

    target: str
    values: dict[str, Any]


async def issue_token(
    *,
    session: AsyncSession,
    platform: str,
    user_key: str,
    button: Button,
    now: datetime,
    position: int = 0,
) -> str:
    """Keep the button's target and values; the platform only carries the token."""
    token = "b" + secrets.token_urlsafe(12)
    payload = json.dumps({"to": button.target, "v": dict(button.values)}, ensure_ascii=False)
    session.add(
        ButtonToken(
            token=token,
            platform=platform,
            user_key=user_key,
            action=payload,
            label=button.label[:100],
            position=position,
            created_at=now,
        )
    )
    return token


async def resolve_token(
    *, session: AsyncSession, platform: str, user_key: str, token: str
) -> Press | None:
    """The press behind a token, only for the user it was issued to.

    A token issued to user_key '*' (one broadcast card sent to many) works for any user of
    the platform: its handler acts for whoever pressed it, never on someone else's behalf.
    """
    stmt = select(ButtonToken.action).where(
        ButtonToken.token == token,
        ButtonToken.platform == platform,
        ButtonToken.user_key.in_((user_key, SHARED)),
    )
    payload = (await session.execute(stmt)).scalar_one_or_none()
    if payload is None:
        return None
    try:
        data = json.loads(payload)
        return Press(str(data["to"]), dict(data["v"]))
    except (ValueError, KeyError, TypeError):
        return None  # a token of the earlier "route:data" form: that button is gone


@dataclass(frozen=True)
class Shown:
    """A button shown to someone: what it says, what a press runs, when, where in its message."""

    label: str
    press: Press
    at: datetime
    position: int


async def recent_buttons(
    *, session: AsyncSession, platform: str, user_key: str, since: datetime, limit: int = 60
) -> list[Shown]:
    """The buttons last shown to a user, newest message first and in their order, so that what a
    button says (or its number) can also be typed."""
    stmt = (
        select(ButtonToken.label, ButtonToken.action, ButtonToken.created_at, ButtonToken.position)
        .where(
            ButtonToken.platform == platform,
            ButtonToken.user_key == user_key,
            ButtonToken.created_at >= since,
            ButtonToken.label != "",
        )
        .order_by(ButtonToken.created_at.desc(), ButtonToken.position)
        .limit(limit)
    )
    found = []
    for label, payload, at, position in await session.execute(stmt):
        try:
            data = json.loads(payload)
            found.append(Shown(label, Press(str(data["to"]), dict(data["v"])), at, position))
        except (ValueError, KeyError, TypeError):
            continue
    return found


async def prune_tokens(*, session: AsyncSession, before: datetime) -> None:
    await session.execute(delete(ButtonToken).where(ButtonToken.created_at < before))
