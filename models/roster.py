"""A member's life after the import: edit, move, roles, unbind a lost phone, leave, come
back, and fresh invite codes (one by one or for everyone not yet bound).

Used by the web console and `python -m bot invites`. Who may change what follows the admin's
scope (Member.admin_scope): an alliance admin manages the members of their alliances' units
and may give the roles 联络员, 支部书记 and their alliances' 联盟管理员; the county (super admin)
manages everyone and every role, 部门干部 included. Functions raise RosterError(reason); the
caller words it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, delete, exists, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.core import Role, role_rank
from models.member import (
    HOME_LOADED,
    Identity,
    InviteCode,
    Member,
    MemberRole,
    clean_phone,
    fresh_invite_code,
)
from models.org import Alliance, Department, Membership, Unit
from models.scope import Scope

NAME_MAX = 50
WORKPLACE_MAX = 100
ADMIN_ROLES = frozenset({Role.ALLIANCE_ADMIN, Role.SUPER_ADMIN})

RolePair = tuple[Role, int | None]  # (role, alliance id for an alliance admin)


class RosterError(Exception):
    """`reason`: name, phone, phone_taken, unit, unit_scope, mobile_not_party, workplace,
    role_scope, department, self, inactive, active, not_found."""

    def __init__(self, reason: str, **detail: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class IssuedInvite:
    member_id: int
    name: str
    phone: str
    unit: str
    alliances: str
    code: str
    expires_at: datetime


def deep_link(bot_username: str, code: str) -> str:
    """The Telegram link that opens the bot and binds with `code` (empty without a username)."""
    return f"https://t.me/{bot_username}?start={code}" if bot_username else ""


def in_scope(scope: Scope) -> ColumnElement[bool]:
    """Members an admin of `scope` manages: of units in scope (or, having left, from one)."""
    if scope.county:
        return true()
    return or_(scope.units_where(Member.home_unit_id), scope.units_where(Member.left_unit_id))


@dataclass(frozen=True)
class MemberFilter:
    alliance_id: int | None = None
    unit_id: int | None = None
    text: str = ""  # part of the name, the phone or the unit's name
    bound: bool | None = None
    role: Role | None = None
    active: bool = True


def _filtered(scope: Scope, wanted: MemberFilter) -> Select[tuple[Member]]:
    stmt = select(Member).where(in_scope(scope), Member.active.is_(wanted.active))
    unit = Member.home_unit_id if wanted.active else Member.left_unit_id
    if wanted.alliance_id is not None:
        units = select(Membership.unit_id).where(Membership.alliance_id == wanted.alliance_id)
        stmt = stmt.where(unit.in_(units))
    if wanted.unit_id is not None:
        stmt = stmt.where(unit == wanted.unit_id)
    if wanted.text.strip():
        word = wanted.text.strip()
        units = select(Unit.id).where(Unit.name.contains(word))
        stmt = stmt.where(
            or_(Member.name.contains(word), Member.phone.contains(word), unit.in_(units))
        )
    if wanted.bound is not None:
        has = exists().where(Identity.member_id == Member.id)
        stmt = stmt.where(has if wanted.bound else ~has)
    if wanted.role is not None:
        held = select(MemberRole.member_id).where(MemberRole.role == wanted.role)
        stmt = stmt.where(Member.id.in_(held))
    return stmt


async def find_members(
    *,
    session: AsyncSession,
    scope: Scope,
    wanted: MemberFilter = MemberFilter(),
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[Member], int]:
    """Members in scope matching the filter, by unit then name, and how many match."""
    stmt = _filtered(scope, wanted)
    total = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    stmt = (
        stmt.outerjoin(Unit, Unit.id == Member.home_unit_id)
        .order_by(Unit.name, Member.name, Member.id)
        .options(
            HOME_LOADED.selectinload(Membership.alliance),
            selectinload(Member.department),
            selectinload(Member.identities),
        )
        .offset(offset)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await session.execute(stmt)).scalars()), int(total)


async def get_member(*, session: AsyncSession, scope: Scope, member_id: int) -> Member | None:
    """The member if the admin of `scope` manages them, else None (never another's member)."""
    stmt = (
        select(Member)
        .where(Member.id == member_id, in_scope(scope))
        .options(
            HOME_LOADED.selectinload(Membership.alliance),
            selectinload(Member.department),
            selectinload(Member.identities),
        )
    )
    return await session.scalar(stmt)


async def _unit_in_scope(session: AsyncSession, scope: Scope, unit_id: int) -> Unit:
    unit = await session.get(Unit, unit_id)
    if unit is None:
        raise RosterError("unit")
    allowed = await session.scalar(
        select(Unit.id).where(Unit.id == unit_id, scope.units_where(Unit.id))
    )
    if allowed is None:
        raise RosterError("unit_scope")
    return unit


async def _phone_free(session: AsyncSession, phone: str, member_id: int | None) -> None:
    other = await session.scalar(
        select(Member.name).where(Member.phone == phone, Member.id != (member_id or 0))
    )
    if other is not None:
        raise RosterError("phone_taken", name=other)


def _clean_fields(
    name: str, phone: str, is_party_member: bool, is_mobile: bool, workplace: str
) -> tuple[str, str, str]:
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise RosterError("name")
    cleaned = clean_phone(phone)
    if cleaned is None:
        raise RosterError("phone", value=phone)
    if is_mobile and not is_party_member:
        raise RosterError("mobile_not_party")
    workplace = workplace.strip()
    if len(workplace) > WORKPLACE_MAX:
        raise RosterError("workplace")
    return name, cleaned, workplace


async def update_member(
    *,
    session: AsyncSession,
    member: Member,
    by: Member,
    name: str,
    phone: str,
    unit_id: int | None,
    is_party_member: bool,
    is_mobile: bool,
    workplace: str,
) -> dict[str, tuple[object, object]]:
    """Edit or move a member; returns {field: (before, after)} of what changed."""
    if not member.active:
        raise RosterError("inactive")
    scope = by.admin_scope()
    name, phone, workplace = _clean_fields(name, phone, is_party_member, is_mobile, workplace)
    await _phone_free(session, phone, member.id)
    if unit_id is None and not scope.county:
        raise RosterError("unit")
    if unit_id is not None and unit_id != member.home_unit_id:
        await _unit_in_scope(session, scope, unit_id)
    changed: dict[str, tuple[object, object]] = {}
    for field, value in (
        ("name", name),
        ("phone", phone),
        ("home_unit_id", unit_id),
        ("is_party_member", is_party_member),
        ("is_mobile", is_mobile),
        ("workplace", workplace),
    ):
        before = getattr(member, field)
        if before != value:
            changed[field] = (before, value)
            setattr(member, field, value)
    await session.flush()
    if "home_unit_id" in changed:
        await session.refresh(member, ["home_unit"])
    return changed


async def add_member(
    *,
    session: AsyncSession,
    by: Member,
    name: str,
    phone: str,
    unit_id: int | None,
    is_party_member: bool = True,
    is_mobile: bool = False,
    workplace: str = "",
    now: datetime,
    valid_days: int,
) -> tuple[Member, IssuedInvite]:
    """A new member of a unit in scope (the county may leave the unit empty for an officer),
    with an invite code."""
    scope = by.admin_scope()
    name, phone, workplace = _clean_fields(name, phone, is_party_member, is_mobile, workplace)
    await _phone_free(session, phone, None)
    if unit_id is None and not scope.county:
        raise RosterError("unit")
    if unit_id is not None:
        await _unit_in_scope(session, scope, unit_id)
    member = Member(
        name=name,
        phone=phone,
        home_unit_id=unit_id,
        is_party_member=is_party_member,
        is_mobile=is_mobile,
        workplace=workplace,
    )
    session.add(member)
    await session.flush()
    found = await get_member(session=session, scope=Scope.COUNTY, member_id=member.id)
    assert found is not None
    return found, await issue_invite(session=session, member=found, now=now, valid_days=valid_days)


def grantable(by: Member, alliance_ids: Iterable[int]) -> set[RolePair]:
    """The (role, alliance) pairs `by` may give or take away, for these alliances."""
    scope = by.admin_scope()
    pairs: set[RolePair] = {(Role.LIAISON, None), (Role.SECRETARY, None)}
    pairs |= {(Role.ALLIANCE_ADMIN, a) for a in alliance_ids if scope.covers(a)}
    if scope.county:
        pairs |= {(Role.OFFICER, None), (Role.SUPER_ADMIN, None)}
    return pairs if not scope.empty else set()


def held(member: Member) -> set[RolePair]:
    return {(r.role, r.alliance_id) for r in member.roles}


async def set_roles(
    *,
    session: AsyncSession,
    member: Member,
    by: Member,
    wanted: set[RolePair],
    department_id: int | None = None,
) -> tuple[set[RolePair], set[RolePair]]:
    """Give `member` exactly the `wanted` roles among those `by` may give; others are kept.

    An officer needs a department. Nobody takes away their own admin roles (so that a county
    is never left without one by a slip). Returns (added, removed).
    """
    if not member.active:
        raise RosterError("inactive")
    alliance_ids = [a for (a,) in (await session.execute(select(Alliance.id))).all()]
    allowed = grantable(by, alliance_ids)
    if wanted - allowed:
        raise RosterError("role_scope")
    current = held(member)
    added = wanted - current
    removed = (current & allowed) - wanted
    if member.id == by.id and any(role in ADMIN_ROLES for role, _ in removed):
        raise RosterError("self")
    officer = (Role.OFFICER, None)
    if officer in wanted:
        if department_id is None or await session.get(Department, department_id) is None:
            raise RosterError("department")
        member.department_id = department_id
    elif officer in removed:
        member.department_id = None
    for role in list(member.roles):
        if (role.role, role.alliance_id) in removed:
            member.roles.remove(role)
    for role, alliance_id in sorted(added, key=lambda p: (role_rank(p[0]), p[1] or 0)):
        member.roles.append(MemberRole(role=role, alliance_id=alliance_id))
    await session.flush()
    await session.refresh(member, ["department"])
    return added, removed


async def unbind(
    *, session: AsyncSession, member: Member, identity_id: int | None = None
) -> list[str]:
    """Remove a bound account (a lost phone), or all of them; returns the platforms removed.

    The member binds again with a fresh invite code."""
    stmt = select(Identity).where(Identity.member_id == member.id)
    if identity_id is not None:
        stmt = stmt.where(Identity.id == identity_id)
    found = list((await session.execute(stmt)).scalars())
    for identity in found:
        await session.delete(identity)
    await session.flush()
    await session.refresh(member, ["identities"])
    return [i.platform for i in found]


async def _expire_codes(session: AsyncSession, member_ids: list[int], now: datetime) -> None:
    await session.execute(
        update(InviteCode)
        .where(
            InviteCode.member_id.in_(member_ids),
            InviteCode.used_at.is_(None),
            InviteCode.expires_at > now,
        )
        .values(expires_at=now)
    )


async def deactivate(*, session: AsyncSession, member: Member, by: Member, now: datetime) -> None:
    """Someone who left: off their unit, roles and accounts, their codes void.

    Check-ins, tickets and receipts stay; the member no longer counts in figures, audiences
    or lists, and can be brought back (`reactivate`)."""
    if not member.active:
        raise RosterError("inactive")
    if member.id == by.id:
        raise RosterError("self")
    await unbind(session=session, member=member)
    await _expire_codes(session, [member.id], now)
    await session.execute(delete(MemberRole).where(MemberRole.member_id == member.id))
    member.active = False
    member.left_at = now
    member.left_unit_id = member.home_unit_id
    member.home_unit_id = None
    member.department_id = None
    await session.flush()
    await session.refresh(member, ["roles", "home_unit", "department"])


async def reactivate(*, session: AsyncSession, member: Member, by: Member) -> None:
    """Back in their former unit (it must be in `by`'s scope), without roles or accounts."""
    if member.active:
        raise RosterError("active")
    if member.left_unit_id is not None:
        await _unit_in_scope(session, by.admin_scope(), member.left_unit_id)
    elif not by.admin_scope().county:
        raise RosterError("unit_scope")
    member.active = True
    member.home_unit_id = member.left_unit_id
    member.left_unit_id = None
    member.left_at = None
    await session.flush()
    await session.refresh(member, ["home_unit"])


def _issued(member: Member, code: InviteCode) -> IssuedInvite:
    unit = member.home_unit
    alliances = "、".join(m.alliance.name for m in unit.memberships) if unit else ""
    where = unit.name if unit else (member.department.name if member.department else "")
    return IssuedInvite(
        member.id, member.name, member.phone, where, alliances, code.code, code.expires_at
    )


async def issue_invite(
    *, session: AsyncSession, member: Member, now: datetime, valid_days: int
) -> IssuedInvite:
    """A fresh code for one member; their earlier unused codes stop working."""
    [invite] = await _issue(session, [member], now, valid_days)
    return invite


async def issue_invites(
    *,
    session: AsyncSession,
    scope: Scope,
    now: datetime,
    valid_days: int,
    alliance_id: int | None = None,
    unbound_only: bool = False,
) -> list[IssuedInvite]:
    """Fresh codes for every active member in scope (of one alliance, or only the unbound)."""
    wanted = MemberFilter(alliance_id=alliance_id, bound=False if unbound_only else None)
    members, _ = await find_members(session=session, scope=scope, wanted=wanted)
    return await _issue(session, members, now, valid_days)


async def _issue(
    session: AsyncSession, members: list[Member], now: datetime, valid_days: int
) -> list[IssuedInvite]:
    if any(not m.active for m in members):
        raise RosterError("inactive")
    await _expire_codes(session, [m.id for m in members], now)
    taken = set(await session.scalars(select(InviteCode.code)))
    expires_at = now + timedelta(days=valid_days)
    rows = []
    for member in members:
        code = InviteCode(
            code=fresh_invite_code(taken), member_id=member.id, expires_at=expires_at
        )
        session.add(code)
        rows.append((member, code))
    await session.flush()
    loaded = {
        m.id: m
        for m in (
            await session.execute(
                select(Member)
                .where(Member.id.in_([m.id for m in members]))
                .options(
                    HOME_LOADED.selectinload(Membership.alliance), selectinload(Member.department)
                )
            )
        ).scalars()
    }
    return [_issued(loaded[m.id], code) for m, code in rows]
