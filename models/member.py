"""Members, their roles, platform identities and invite codes, with the binding rules."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ForeignKey,
    String,
    UniqueConstraint,
    bindparam,
    func,
    inspect,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from bot.core import Role, role_rank
from models.base import Base, TimestampMixin
from models.org import Alliance, Department, Membership, Unit
from models.prebuilt import loaded, run_prebuilt
from models.scope import Scope
from models.throttle import Lockout
from settings import Settings

if TYPE_CHECKING:
    from models.activity import Activity

# A role implies the roles listed here; SUPER_ADMIN implies every role.
IMPLIED_ROLES: dict[Role, frozenset[Role]] = {
    Role.ALLIANCE_ADMIN: frozenset({Role.LIAISON, Role.SECRETARY}),
    Role.SECRETARY: frozenset({Role.LIAISON}),
}


class Member(TimestampMixin, Base):
    """A person known to the alliance; party members and officers alike."""

    __tablename__ = "member"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(20), default="")
    home_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    is_party_member: Mapped[bool] = mapped_column(default=True)
    is_mobile: Mapped[bool] = mapped_column(default=False)
    workplace: Mapped[str] = mapped_column(String(100), default="")
    # Someone who left: no unit, no roles, no bound accounts; `left_unit_id` keeps where from.
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    left_at: Mapped[datetime | None]
    left_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))

    home_unit: Mapped[Unit | None] = relationship(foreign_keys=[home_unit_id])
    department: Mapped[Department | None] = relationship()
    roles: Mapped[list[MemberRole]] = relationship(
        back_populates="member", cascade="all, delete-orphan", lazy="selectin"
    )
    identities: Mapped[list[Identity]] = relationship(back_populates="member")

    def has_role(self, role: Role) -> bool:
        """The one permission check: does this member hold `role`, directly or implied?"""
        if role in (Role.ANYONE, Role.MEMBER):
            return True
        held = {r.role for r in self.roles}
        if Role.SUPER_ADMIN in held:
            return True
        return role in held or any(role in IMPLIED_ROLES.get(h, ()) for h in held)

    def roles_in_order(self) -> list[MemberRole]:
        """The roles held, as every list shows them (ROLE_ORDER; any other role last)."""
        return sorted(self.roles, key=lambda r: (role_rank(r.role), r.alliance_id or 0))

    def admin_scope(self) -> Scope:
        """The alliances this member administers: the county for a super admin."""
        if self.has_role(Role.SUPER_ADMIN):
            return Scope.COUNTY
        return Scope.of(
            r.alliance_id for r in self.roles if r.role == Role.ALLIANCE_ADMIN and r.alliance_id
        )

    def administers(self, alliance_id: int | None) -> bool:
        return self.admin_scope().covers(alliance_id)

    def home_alliances(self) -> frozenset[int]:
        """Alliances of the home unit (load it with HOME_LOADED)."""
        if self.home_unit_id is None:
            return frozenset()
        unit = None if "home_unit" in inspect(self).unloaded else self.home_unit
        if unit is None or "memberships" in inspect(unit).unloaded:
            raise RuntimeError("load the member with models.member.HOME_LOADED")
        return frozenset(m.alliance_id for m in unit.memberships)

    def visible_scope(self) -> Scope:
        """What the member sees: the home unit's alliances and those administered."""
        return Scope.of(self.home_alliances()) | self.admin_scope()

    def attend_scope(self) -> Scope:
        """Whose activities the member may check in to: mobile members any alliance's."""
        return Scope.COUNTY if self.is_mobile else Scope.of(self.home_alliances())

    def may_attend(self, activity: Activity) -> bool:
        return self.attend_scope().covers(activity.alliance_id)

    def may_manage(self, activity: Activity) -> bool:
        """The host unit's secretary, the alliance's admin, or the super admin."""
        if self.administers(activity.alliance_id):
            return True
        return (
            self.has_role(Role.SECRETARY)
            and activity.host_unit_id is not None
            and activity.host_unit_id == self.home_unit_id
        )


class MemberRole(Base):
    """A role held by a member; alliance admins hold it for one alliance."""

    __tablename__ = "member_role"
    __table_args__ = (UniqueConstraint("member_id", "role", "alliance_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(String(20))
    alliance_id: Mapped[int | None] = mapped_column(ForeignKey("alliance.id"))

    member: Mapped[Member] = relationship(back_populates="roles")


class Identity(TimestampMixin, Base):
    """A platform account (console, telegram, wecom) bound to a member."""

    __tablename__ = "identity"
    __table_args__ = (UniqueConstraint("platform", "user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    user_key: Mapped[str] = mapped_column(String(100))
    chat_key: Mapped[str] = mapped_column(String(100), default="")
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    unreachable: Mapped[bool] = mapped_column(default=False)

    member: Mapped[Member] = relationship(back_populates="identities")


async def reachable_ids(session: AsyncSession, member_ids: Iterable[int]) -> set[int]:
    """Those of these members with a bound account that messages can reach."""
    wanted = sorted(set(member_ids))
    found: set[int] = set()
    for start in range(0, len(wanted), 500):
        rows = await session.scalars(
            select(Identity.member_id).where(
                Identity.member_id.in_(wanted[start : start + 500]),
                Identity.unreachable.is_(False),
            )
        )
        found.update(rows)
    return found


class InviteCode(TimestampMixin, Base):
    """A one-time code that binds a platform identity to a member."""

    __tablename__ = "invite_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    member: Mapped[Member] = relationship()


class BindError(Exception):
    """Binding failed; `reason` is one of: unknown, used, expired, already_bound, locked.

    `left`: the wrong attempts still allowed (0 when this one paused binding); `until`: when a
    pause ends.
    """

    def __init__(self, reason: str, *, left: int | None = None, until: datetime | None = None):
        super().__init__(reason)
        self.reason = reason
        self.left = left
        self.until = until


def new_invite_code() -> str:
    return f"{secrets.randbelow(10**8):08d}"


def fresh_invite_code(taken: set[str]) -> str:
    """A code not in `taken` (added to it) without a leading 0, which Excel would drop."""
    code = new_invite_code()
    while code in taken or code.startswith("0"):
        code = new_invite_code()
    taken.add(code)
    return code


PHONE_RE = re.compile(r"1\d{10}")
PHONE_NOISE_RE = re.compile(r"[\s\-－—()（）]+")
COUNTRY_RE = re.compile(r"^(?:\+?86|0086)(?=1\d{10}$)")


def clean_phone(text: str) -> str | None:
    """A mobile number however typed (１３９ 0123-4567, +86 139…) as 11 digits, else None."""
    digits = PHONE_NOISE_RE.sub("", unicodedata.normalize("NFKC", text))
    digits = COUNTRY_RE.sub("", digits)
    return digits if PHONE_RE.fullmatch(digits) else None


# Load with a member whose scopes are asked: home_alliances() reads the home unit's alliances.
HOME_LOADED = selectinload(Member.home_unit).selectinload(Unit.memberships)


async def find_member(session: AsyncSession, *, platform: str, user_key: str) -> Member | None:
    """The member bound to a platform identity, with their roles, department, home unit and
    its alliances loaded (what handlers and permission checks read)."""
    params = {"platform": platform, "user_key": user_key}
    rows, _ = await run_prebuilt(session, _sender_statement(), params)
    return _sender_of(session, rows) if rows else None


# Every event loads its sender: one statement, run on the driver (models.prebuilt), each
# part built from its columns. Through the ORM's joined loading the same cost ~600 Python
# calls of loader set-up per event, more than the rest of a /help.
_SENDER_PARTS = (Member, Unit, Membership, Alliance, Department, MemberRole)


@cache
def _sender_statement() -> Any:
    member, unit, membership, alliance, department, role = (
        part.__table__ for part in _SENDER_PARTS
    )
    identity = Identity.__table__
    joined = (
        identity.join(member, member.c.id == identity.c.member_id)
        .outerjoin(unit, unit.c.id == member.c.home_unit_id)
        .outerjoin(membership, membership.c.unit_id == unit.c.id)
        .outerjoin(alliance, alliance.c.id == membership.c.alliance_id)
        .outerjoin(department, department.c.id == member.c.department_id)
        .outerjoin(role, role.c.member_id == member.c.id)
    )
    return (
        select(*member.c, *unit.c, *membership.c, *alliance.c, *department.c, *role.c)
        .select_from(joined)
        .where(
            identity.c.platform == bindparam("platform"),
            identity.c.user_key == bindparam("user_key"),
        )
        .order_by(membership.c.id, role.c.id)
    )


@cache
def _sender_spans() -> tuple[tuple[type[Base], int, int], ...]:
    """Where each part's columns are in a row of _sender_statement."""
    spans, start = [], 0
    for part in _SENDER_PARTS:
        width = len(part.__table__.columns)
        spans.append((part, start, start + width))
        start += width
    return tuple(spans)


def _sender_of(session: AsyncSession, rows: list[Any]) -> Member:
    """The member and their parts from the joined rows (one per membership and role)."""
    found: list[dict[int, Any]] = [{} for _ in _SENDER_PARTS]
    for row in rows:
        for (part, begin, end), objects in zip(_sender_spans(), found, strict=True):
            values = row[begin:end]
            if values[0] is not None and values[0] not in objects:  # id first; None: outer
                objects[values[0]] = loaded(session, part, values)
    members, units, memberships, alliances, departments, roles = found
    member = next(iter(members.values()))
    for membership in memberships.values():
        set_committed_value(membership, "alliance", alliances[membership.alliance_id])
    unit = units.get(member.home_unit_id) if member.home_unit_id is not None else None
    if unit is not None:
        set_committed_value(unit, "memberships", list(memberships.values()))
    set_committed_value(member, "home_unit", unit)
    set_committed_value(member, "department", departments.get(member.department_id))
    set_committed_value(member, "roles", list(roles.values()))
    return member


def bind_lockout(settings: Settings) -> Lockout:
    """Wrong invite codes allowed before binding pauses (BIND_FAILURES_ALLOWED, _LOCK_MINUTES)."""
    window = timedelta(minutes=settings.BIND_LOCK_MINUTES)
    return Lockout("bind", settings.BIND_FAILURES_ALLOWED, window)


async def bind_with_code(
    *,
    session: AsyncSession,
    platform: str,
    user_key: str,
    chat_key: str,
    code: str,
    now: datetime,
    lockout: Lockout,
) -> Member:
    """Bind with an invite code, counting wrong ones: too many pause binding for a while."""
    key = f"{platform}:{user_key}"
    until = await lockout.locked_until(session=session, key=key, now=now)
    if until is not None:
        raise BindError("locked", until=until)
    try:
        return await bind_identity(
            session=session,
            platform=platform,
            user_key=user_key,
            chat_key=chat_key,
            code=code,
            now=now,
        )
    except BindError as error:
        left = await lockout.fail(session=session, key=key, now=now)
        if left == 0:
            raise BindError("locked", until=now + lockout.window) from error
        raise BindError(error.reason, left=left) from error


async def bind_identity(
    *, session: AsyncSession, platform: str, user_key: str, chat_key: str, code: str, now: datetime
) -> Member:
    """Bind a platform identity to the member an invite code was made for."""
    # Codes are compared without case: 1a2b3c4d typed for 1A2B3C4D binds.
    stmt = select(InviteCode).where(func.upper(InviteCode.code) == code.strip().upper())
    invite = (await session.execute(stmt)).scalar_one_or_none()
    if invite is None:
        raise BindError("unknown")
    if invite.used_at is not None:
        raise BindError("used")
    if invite.expires_at <= now:
        raise BindError("expired")
    existing = (
        await session.execute(
            select(Identity).where(Identity.platform == platform, Identity.user_key == user_key)
        )
    ).scalar_one_or_none()
    if existing is not None:
        raise BindError("already_bound")
    invite.used_at = now
    session.add(
        Identity(
            platform=platform, user_key=user_key, chat_key=chat_key, member_id=invite.member_id
        )
    )
    await session.flush()
    member = await find_member(session, platform=platform, user_key=user_key)
    assert member is not None
    return member
