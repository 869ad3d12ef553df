"""Importing members: one row per person, identified by phone; each new member gets an invite.

A phone already stored is left as it is ("已存在"), so importing a file twice adds nothing; it
is a bad row only when the stored member has another name. The invites go to a CSV the office
hands out: 姓名, 手机, 单位, 邀请码, 有效期至.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Role
from bot.core.clock import fmt_local
from models.member import InviteCode, Member, MemberRole, clean_phone, fresh_invite_code
from models.org import Alliance, Department, Unit
from models.scope import Scope
from models.table_import import ImportReport, read_table, row_error, yes_no

COLUMNS = ("姓名", "手机", "单位", "党员", "流动党员", "工作地", "角色", "联盟", "部门")
REQUIRED = ("姓名", "手机", "单位")
INVITE_COLUMNS = ("姓名", "手机", "单位", "邀请码", "有效期至")
ROLE_WORDS: dict[str, Role | None] = {
    "党员": None,  # every member is one; no role row needed
    "联络员": Role.LIAISON,
    "支部书记": Role.SECRETARY,
    "联盟管理员": Role.ALLIANCE_ADMIN,
    "部门干部": Role.OFFICER,
    "县级管理员": Role.SUPER_ADMIN,  # the county office (两新组织工委), from the county's sheet
}
SPLIT_RE = re.compile(r"[、,，;；/\s]+")
NAME_MAX = 50
WORKPLACE_MAX = 100

PROBLEMS = {
    "name": "姓名为空",
    "name_long": "姓名超过 50 字",
    "phone": "手机“{value}”不对，应为 1 开头的 11 位数字",
    "duplicate": "手机 {value} 与第 {row} 行重复",
    "other_name": "手机 {value} 已登记为{name}，与姓名“{given}”不符",
    "unit": "单位为空（部门干部、县级管理员可不填）",
    "unit_unknown": "单位“{value}”不存在（请先 import orgs 导入）",
    "yes_no": "{column}“{value}”应为 是 或 否",
    "mobile_not_party": "流动党员必须是党员",
    "workplace_long": "工作地超过 100 字",
    "role": "角色“{value}”不对，应为 党员、联络员、支部书记、联盟管理员、部门干部 或 县级管理员",
    "alliance_missing": "联盟管理员须填联盟",
    "alliance_unknown": "联盟“{value}”不存在",
    "department_missing": "部门干部须填部门",
    "department_unknown": "部门“{value}”不存在（填部门代码或名称）",
    "unit_scope": "单位“{value}”不在您管理的联盟中",
    "alliance_scope": "联盟“{value}”不在您管理的范围内",
    "officer_scope": "部门干部只能由县级管理员导入",
    "super_scope": "县级管理员只能由县级管理员导入",
}


@dataclass
class Invite:
    name: str
    phone: str
    unit: str
    code: str
    expires_at: datetime


@dataclass
class MemberReport(ImportReport):
    existing: list[int] = field(default_factory=list)  # row numbers of phones already stored
    invites: list[Invite] = field(default_factory=list)


@dataclass
class _Lookups:
    units: dict[str, int]
    alliances: dict[str, int]
    departments: dict[str, int]  # by code and by name
    phones: dict[str, set[str]]  # stored phone -> names
    scope: Scope = Scope.COUNTY
    scope_units: frozenset[int] = frozenset()  # units of the alliances in scope


async def import_members(
    *,
    session: AsyncSession,
    path: Path,
    now: datetime,
    valid_days: int,
    skip_bad_rows: bool = False,
    sheet: str | None = None,
    scope: Scope = Scope.COUNTY,
) -> MemberReport:
    """Check every row, then add the new members with their roles and invite codes.

    `scope`: an alliance admin's upload may name only units and alliances they administer."""
    table = read_table(path, columns=COLUMNS, required=REQUIRED, sheet=sheet)
    lookups = await _lookups(session, scope)
    report = MemberReport(notes=table.notes)
    drafts: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for number, values in table.rows:
        problems, draft = _check(values, lookups)
        phone = draft["phone"]
        if phone in seen:
            problems.append(PROBLEMS["duplicate"].format(value=phone, row=seen[phone]))
        elif phone:
            seen[phone] = number
            names = lookups.phones.get(phone, set())
            if names and draft["name"] and draft["name"] not in names:
                other = "、".join(sorted(names))
                problems.append(
                    PROBLEMS["other_name"].format(value=phone, name=other, given=draft["name"])
                )
        if problems:
            report.errors.append(row_error(number, problems))
        elif phone in lookups.phones:
            report.existing.append(number)
        else:
            drafts.append(draft)
    if report.errors and not skip_bad_rows:
        return report
    codes = set(await session.scalars(select(InviteCode.code)))
    expires_at = now + timedelta(days=valid_days)
    for draft in drafts:
        report.invites.append(await _add(session, draft, codes, expires_at))
    report.imported = len(drafts)
    report.skipped = len(report.errors)
    return report


async def _lookups(session: AsyncSession, scope: Scope) -> _Lookups:
    departments: dict[str, int] = {}
    for d in await session.scalars(select(Department)):
        departments.setdefault(d.name, d.id)
        departments[d.code] = d.id  # a code wins over a name that happens to equal it
    phones: dict[str, set[str]] = {}
    for name, phone in (await session.execute(select(Member.name, Member.phone))).all():
        if phone:
            phones.setdefault(phone, set()).add(name)
    return _Lookups(
        units={u.name: u.id for u in await session.scalars(select(Unit))},
        alliances={a.name: a.id for a in await session.scalars(select(Alliance))},
        departments=departments,
        phones=phones,
        scope=scope,
        scope_units=frozenset(
            await session.scalars(select(Unit.id).where(scope.units_where(Unit.id)))
        ),
    )


def _check(values: dict[str, str], lookups: _Lookups) -> tuple[list[str], dict[str, Any]]:
    problems: list[str] = []
    name = values.get("姓名", "")
    if not name:
        problems.append(PROBLEMS["name"])
    elif len(name) > NAME_MAX:
        problems.append(PROBLEMS["name_long"])
    raw_phone = values.get("手机", "")
    phone = clean_phone(raw_phone) or ""
    if not phone:
        problems.append(PROBLEMS["phone"].format(value=raw_phone))
    flags: dict[str, bool | None] = {}
    for column, default in (("党员", True), ("流动党员", False)):
        text = values.get(column, "")
        flags[column] = yes_no(text) if text else default
        if flags[column] is None:
            problems.append(PROBLEMS["yes_no"].format(column=column, value=text))
    if flags["流动党员"] and flags["党员"] is False:
        problems.append(PROBLEMS["mobile_not_party"])
    workplace = values.get("工作地", "")
    if len(workplace) > WORKPLACE_MAX:
        problems.append(PROBLEMS["workplace_long"])
    roles, role_problems = _roles(values, lookups)
    problems += role_problems
    officer = any(r == Role.OFFICER for r, _ in roles)
    unitless = officer or any(r == Role.SUPER_ADMIN for r, _ in roles)  # no unit needed
    unit = values.get("单位", "")
    if not unit and not unitless:
        problems.append(PROBLEMS["unit"])
    elif unit and unit not in lookups.units:
        problems.append(PROBLEMS["unit_unknown"].format(value=unit))
    elif unit and lookups.units[unit] not in lookups.scope_units:
        problems.append(PROBLEMS["unit_scope"].format(value=unit))
    draft = {
        "name": name,
        "phone": phone,
        "unit": unit,
        "home_unit_id": lookups.units.get(unit),
        # Only officers belong to a department (tickets are routed to it).
        "department_id": lookups.departments.get(values.get("部门", "")) if officer else None,
        "is_party_member": bool(flags["党员"]),
        "is_mobile": bool(flags["流动党员"]),
        "workplace": workplace,
        "roles": roles,
    }
    return problems, draft


def _roles(
    values: dict[str, str], lookups: _Lookups
) -> tuple[list[tuple[Role, int | None]], list[str]]:
    """(role, alliance id) pairs to store, and the problems found."""
    problems: list[str] = []
    roles: list[tuple[Role, int | None]] = []
    for word in (w for w in SPLIT_RE.split(values.get("角色", "")) if w):
        if word not in ROLE_WORDS:
            problems.append(PROBLEMS["role"].format(value=word))
            continue
        role = ROLE_WORDS[word]
        if role == Role.ALLIANCE_ADMIN:
            names = [n for n in SPLIT_RE.split(values.get("联盟", "")) if n]
            if not names:
                problems.append(PROBLEMS["alliance_missing"])
            for n in names:
                if n in lookups.alliances and not lookups.scope.covers(lookups.alliances[n]):
                    problems.append(PROBLEMS["alliance_scope"].format(value=n))
                elif n in lookups.alliances:
                    roles.append((role, lookups.alliances[n]))
                else:
                    problems.append(PROBLEMS["alliance_unknown"].format(value=n))
        elif role == Role.OFFICER:
            department = values.get("部门", "")
            if not lookups.scope.county:
                problems.append(PROBLEMS["officer_scope"])
            elif not department:
                problems.append(PROBLEMS["department_missing"])
            elif department not in lookups.departments:
                problems.append(PROBLEMS["department_unknown"].format(value=department))
            roles.append((role, None))
        elif role == Role.SUPER_ADMIN and not lookups.scope.county:
            problems.append(PROBLEMS["super_scope"])
        elif role is not None:
            roles.append((role, None))
    return list(dict.fromkeys(roles)), problems


async def _add(
    session: AsyncSession, draft: dict[str, Any], codes: set[str], expires_at: datetime
) -> Invite:
    member = Member(
        name=draft["name"],
        phone=draft["phone"],
        home_unit_id=draft["home_unit_id"],
        department_id=draft["department_id"],
        is_party_member=draft["is_party_member"],
        is_mobile=draft["is_mobile"],
        workplace=draft["workplace"],
    )
    session.add(member)
    await session.flush()
    for role, alliance_id in draft["roles"]:
        session.add(MemberRole(member_id=member.id, role=role, alliance_id=alliance_id))
    code = fresh_invite_code(codes)
    session.add(InviteCode(code=code, member_id=member.id, expires_at=expires_at))
    return Invite(draft["name"], draft["phone"], draft["unit"], code, expires_at)


def invites_path(path: Path) -> Path:
    """Where the invites of an import of `path` go: FILE.invites.csv next to it."""
    return path.with_name(path.name + ".invites.csv")


def write_invites(path: Path, invites: list[Invite]) -> None:
    """Append the invites to a CSV Excel opens as UTF-8; earlier runs' codes are kept."""
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", encoding="utf-8-sig" if new else "utf-8", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(INVITE_COLUMNS)
        for i in invites:
            until = fmt_local(i.expires_at, "%Y-%m-%d %H:%M")
            writer.writerow([i.name, i.phone, i.unit, i.code, until])
