"""Roles: what a member may do, and their Chinese names."""

from __future__ import annotations

import enum
from collections.abc import Mapping


class Role(enum.StrEnum):
    """What a member may do. ANYONE needs no binding."""

    ANYONE = "anyone"
    MEMBER = "member"
    LIAISON = "liaison"
    SECRETARY = "secretary"
    OFFICER = "officer"
    ALLIANCE_ADMIN = "alliance_admin"
    SUPER_ADMIN = "super_admin"


ROLE_NAMES_ZH: Mapping[Role, str] = {
    Role.ANYONE: "访客",
    Role.MEMBER: "党员",
    Role.LIAISON: "联络员",
    Role.SECRETARY: "支部书记",
    Role.OFFICER: "部门干部",
    Role.ALLIANCE_ADMIN: "联盟管理员",
    Role.SUPER_ADMIN: "县级管理员",
}

# The roles a member can be given, in the order every list shows them (forms, the console's
# roster, /me and exports), so one member's roles read the same everywhere.
ROLE_ORDER = (Role.LIAISON, Role.SECRETARY, Role.ALLIANCE_ADMIN, Role.OFFICER, Role.SUPER_ADMIN)
_RANK = {role: i for i, role in enumerate(ROLE_ORDER)}


def role_rank(role: str) -> int:
    """Where `role` comes in ROLE_ORDER; any other role after them all."""
    return _RANK.get(Role(role), len(_RANK))
