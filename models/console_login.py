"""Logging in to the web console by the chat identity: one-time links and the session secret.

An admin (or a department officer, for the ticket queue) sends `/admin` in chat and gets a
link with a random token, valid LINK_MINUTES and usable once; only its SHA-256 is stored. The
console turns it into a signed session cookie, signed with a secret kept in `key_value` so
that every worker shares it (or CONSOLE_SECRET when set).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, selectinload

from bot.core import Role
from models.base import Base
from models.kv import KeyValue, get_value
from models.member import HOME_LOADED, Member
from settings import Settings

LINK_MINUTES = 10
SECRET_KEY = "console:secret"
SECRET_YEARS = 100


class ConsoleLogin(Base):
    """A one-time login link: who it is for, until when, and when it was used."""

    __tablename__ = "console_login"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class LoginError(Exception):
    """`reason`: unknown, used, expired, not_allowed (the member may no longer log in)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def may_use_console(member: Member) -> bool:
    """Admins (of an alliance or the county) and department officers; not someone who left."""
    if not member.active:
        return False
    return not member.admin_scope().empty or member.has_role(Role.OFFICER)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def issue_login(*, session: AsyncSession, member: Member, now: datetime) -> str:
    """A fresh one-time token for `member`; raises LoginError('not_allowed')."""
    if not may_use_console(member):
        raise LoginError("not_allowed")
    token = secrets.token_urlsafe(24)
    session.add(
        ConsoleLogin(
            token_hash=_hash(token),
            member_id=member.id,
            created_at=now,
            expires_at=now + timedelta(minutes=LINK_MINUTES),
        )
    )
    await session.flush()
    return token


async def check_login(*, session: AsyncSession, token: str, now: datetime) -> None:
    """Raise LoginError if the token could not log in now; nothing is marked (a link
    preview fetching the page must not use the link up)."""
    row = await session.scalar(select(ConsoleLogin).where(ConsoleLogin.token_hash == _hash(token)))
    if row is None:
        raise LoginError("unknown")
    if row.used_at is not None:
        raise LoginError("used")
    if row.expires_at <= now:
        raise LoginError("expired")


async def redeem_login(*, session: AsyncSession, token: str, now: datetime) -> Member:
    """The member a token was issued to; marks it used (once, even with two workers racing)."""
    digest = _hash(token.strip())
    marked = await session.execute(
        update(ConsoleLogin)
        .where(
            ConsoleLogin.token_hash == digest,
            ConsoleLogin.used_at.is_(None),
            ConsoleLogin.expires_at > now,
        )
        .values(used_at=now)
    )
    row = await session.scalar(select(ConsoleLogin).where(ConsoleLogin.token_hash == digest))
    if row is None:
        raise LoginError("unknown")
    if marked.rowcount != 1:  # type: ignore[attr-defined]
        raise LoginError("used" if row.used_at is not None else "expired")
    member = await console_member(session=session, member_id=row.member_id)
    if member is None:
        raise LoginError("not_allowed")
    return member


async def console_member(*, session: AsyncSession, member_id: int) -> Member | None:
    """The member of a console session, loaded for scope checks; None if they may not log in."""
    stmt = (
        select(Member)
        .where(Member.id == member_id)
        .options(HOME_LOADED, selectinload(Member.department))
    )
    member = await session.scalar(stmt)
    return member if member is not None and may_use_console(member) else None


async def console_secret(*, session: AsyncSession, settings: Settings, now: datetime) -> str:
    """The key console cookies are signed with: CONSOLE_SECRET, else one made once and kept."""
    if settings.CONSOLE_SECRET:
        return settings.CONSOLE_SECRET
    value = await get_value(session=session, key=SECRET_KEY, now=now)
    if value is not None:
        return value
    try:  # two workers starting at once: the first insert wins, the other reads it
        async with session.begin_nested():
            session.add(
                KeyValue(
                    key=SECRET_KEY,
                    value=secrets.token_urlsafe(48),
                    expires_at=now + timedelta(days=365 * SECRET_YEARS),
                )
            )
            await session.flush()
    except IntegrityError:
        pass
    value = await get_value(session=session, key=SECRET_KEY, now=now)
    assert value is not None
    return value
