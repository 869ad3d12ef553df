"""Scope: the alliances a view or an authority covers. The county (a super admin's) is one
explicit value, `Scope.COUNTY`, never an empty list or None.

Members hand out their scopes (models.member.Member.admin_scope and friends); queries take a
Scope and filter with `where` / `units_where`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, select, true

from models.org import Membership


@dataclass(frozen=True)
class Scope:
    """Every alliance (`county`), or these alliances (possibly none)."""

    county: bool = False
    alliances: frozenset[int] = frozenset()

    COUNTY: ClassVar[Scope]
    NONE: ClassVar[Scope]

    @staticmethod
    def of(alliance_ids: Iterable[int]) -> Scope:
        return Scope(alliances=frozenset(int(i) for i in alliance_ids))

    def covers(self, alliance_id: int | None) -> bool:
        return self.county or (alliance_id is not None and alliance_id in self.alliances)

    def covers_all(self, alliance_ids: Iterable[int]) -> bool:
        return self.county or self.alliances.issuperset(alliance_ids)

    @property
    def empty(self) -> bool:
        return not self.county and not self.alliances

    def __or__(self, other: Scope) -> Scope:
        if self.county or other.county:
            return Scope.COUNTY
        return Scope(alliances=self.alliances | other.alliances)

    def where(self, alliance_column: Any) -> ColumnElement[bool]:
        """An SQL condition: the row's alliance is in scope."""
        if self.county:
            return true()
        return alliance_column.in_(sorted(self.alliances))

    def units_where(self, unit_column: Any) -> ColumnElement[bool]:
        """An SQL condition: the row's unit belongs to an alliance in scope."""
        if self.county:
            return true()
        in_scope = select(Membership.unit_id).where(
            Membership.alliance_id.in_(sorted(self.alliances))
        )
        return unit_column.in_(in_scope)

    def stored(self) -> list[int]:
        """As a notice keeps its author's scope: [] is the county."""
        return [] if self.county else sorted(self.alliances)

    @staticmethod
    def from_stored(ids: Iterable[int]) -> Scope:
        found = Scope.of(ids)
        return Scope.COUNTY if not found.alliances else found


Scope.COUNTY = Scope(county=True)
Scope.NONE = Scope()
