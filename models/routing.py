"""The configurable routing table: problem category → department, committee and deadlines.

Categories are those of INTERFACES.md. ROUTING is the table a new county starts with; the
county changes it in the web console (部门与分派), and a changed row is kept in `routing_rule`
and wins over the default (`routing_table`, `current_rule`). A category without a department
(`other`) stays submitted until an alliance admin routes it by hand.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.org import Department

COMMITTEE_SERVICE = "红盟服务"
COMMITTEE_FINANCE = "红盟金融"
COMMITTEE_BRAND = "红盟品牌"
COMMITTEES = (COMMITTEE_SERVICE, COMMITTEE_FINANCE, COMMITTEE_BRAND)
MAX_SIGN_WORKING_DAYS = 10
MAX_RESOLVE_DAYS = 90


@dataclass(frozen=True)
class RoutingRule:
    category: str
    label: str
    department: str | None
    committee: str
    sign_working_days: int = 1
    resolve_days: int = 7


ROUTING: dict[str, RoutingRule] = {
    rule.category: rule
    for rule in (
        RoutingRule("finance", "融资贷款", "finance", COMMITTEE_FINANCE),
        RoutingRule("tax", "税务发票", "tax", COMMITTEE_SERVICE),
        RoutingRule("labor", "用工社保", "hrss", COMMITTEE_SERVICE),
        RoutingRule("market", "证照品牌", "market", COMMITTEE_BRAND),
        RoutingRule("land", "用地规划", "planning", COMMITTEE_SERVICE, resolve_days=15),
        RoutingRule("legal", "法律纠纷", "justice", COMMITTEE_SERVICE),
        RoutingRule("logistics", "交通物流", "transport", COMMITTEE_SERVICE),
        RoutingRule("talent_tech", "人才科技", "science", COMMITTEE_SERVICE),
        RoutingRule("utilities", "水电气网", "utilities", COMMITTEE_SERVICE, resolve_days=3),
        RoutingRule("other", "其他", None, COMMITTEE_SERVICE),
    )
}


def rule_for(category: str) -> RoutingRule:
    """The rule of a category; an unknown one is treated as `other`."""
    return ROUTING.get(category, ROUTING["other"])


def category_label(category: str) -> str:
    return rule_for(category).label


class RoutingRow(Base):
    """A category's routing as the county changed it (overrides ROUTING)."""

    __tablename__ = "routing_rule"

    category: Mapped[str] = mapped_column(String(20), primary_key=True)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL")
    )
    committee: Mapped[str] = mapped_column(String(20))
    sign_working_days: Mapped[int]
    resolve_days: Mapped[int]
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))


class RoutingError(Exception):
    """`reason`: category, department, committee, sign_days, resolve_days, code, code_taken,
    name."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def routing_table(session: AsyncSession) -> dict[str, RoutingRule]:
    """Every category's rule in force: the stored row if the county changed it, else ROUTING."""
    table = dict(ROUTING)
    rows = await session.execute(
        select(RoutingRow, Department.code).outerjoin(
            Department, Department.id == RoutingRow.department_id
        )
    )
    for row, code in rows.all():
        if row.category in table:
            table[row.category] = dataclasses.replace(
                table[row.category],
                department=code,
                committee=row.committee,
                sign_working_days=row.sign_working_days,
                resolve_days=row.resolve_days,
            )
    return table


async def current_rule(session: AsyncSession, category: str) -> RoutingRule:
    """The rule in force for a category; an unknown one is treated as `other`."""
    table = await routing_table(session)
    return table.get(category, table["other"])


async def set_rule(
    *,
    session: AsyncSession,
    category: str,
    department_code: str | None,
    committee: str,
    sign_working_days: int,
    resolve_days: int,
    by_id: int | None,
    now: datetime,
) -> RoutingRule:
    """Change one category's department, committee and deadlines; raises RoutingError."""
    if category not in ROUTING:
        raise RoutingError("category")
    department = None
    if department_code:
        department = await session.scalar(
            select(Department).where(Department.code == department_code)
        )
        if department is None:
            raise RoutingError("department")
    if committee not in COMMITTEES:
        raise RoutingError("committee")
    if not 1 <= sign_working_days <= MAX_SIGN_WORKING_DAYS:
        raise RoutingError("sign_days")
    if not 1 <= resolve_days <= MAX_RESOLVE_DAYS:
        raise RoutingError("resolve_days")
    row = await session.get(RoutingRow, category)
    if row is None:
        row = RoutingRow(category=category)
        session.add(row)
    row.department_id = department.id if department else None
    row.committee = committee
    row.sign_working_days = sign_working_days
    row.resolve_days = resolve_days
    row.updated_at = now
    row.updated_by_id = by_id
    await session.flush()
    return await current_rule(session, category)


CODE_RE = re.compile(r"[a-z][a-z0-9_]{1,29}")
NAME_MAX = 100


async def add_department(*, session: AsyncSession, code: str, name: str) -> Department:
    """A new department tickets can be routed to; raises RoutingError (code, code_taken, name)."""
    code, name = code.strip().lower(), name.strip()
    if not CODE_RE.fullmatch(code):
        raise RoutingError("code")
    if not name or len(name) > NAME_MAX:
        raise RoutingError("name")
    if await session.scalar(select(Department.id).where(Department.code == code)) is not None:
        raise RoutingError("code_taken")
    department = Department(code=code, name=name)
    session.add(department)
    await session.flush()
    return department


async def rename_department(*, session: AsyncSession, department: Department, name: str) -> None:
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise RoutingError("name")
    department.name = name
    await session.flush()


# Department names as people type them: 人社局 for 县人力资源和社会保障局, 税务 for 县税务局.
DEPARTMENT_AFFIXES = re.compile(r"^(?:县|市|区)+|(?:局|部门|委员会|中心|公司|所|委|办)+$")
# Everyday names that share no characters with the office's name.
DEPARTMENT_SAYINGS = {
    "社保": "人力资源和社会保障",
    "劳动": "人力资源和社会保障",
    "电力": "供电",
    "电业": "供电",
    "环保": "生态环境",
    "工商": "市场监督管理",
    "国土": "自然资源",
}


def department_matches(departments: Iterable[Department], typed: str) -> list[Department]:
    """The departments a typed name means, best rule first: its code or full name; a part of
    its name (税务, 司法局, 金融); a short form made of characters of its name in order,
    starting with its first (人社局, 市监, 住建, 科技局); an everyday name (社保局, 电力)."""
    listed = list(departments)
    typed = typed.strip()
    word = _department_core(typed)
    if not word:
        return []
    word = DEPARTMENT_SAYINGS.get(word, word)
    rules = (
        lambda d: typed.lower() == d.code or typed == d.name,
        lambda d: word in _department_core(d.name),
        lambda d: len(word) >= 2 and _abbreviates(word, _department_core(d.name)),
    )
    for rule in rules:
        found = [d for d in listed if rule(d)]
        if found:
            return found
    return []


def _department_core(name: str) -> str:
    return DEPARTMENT_AFFIXES.sub("", re.sub(r"\s+", "", name))


def _abbreviates(short: str, name: str) -> bool:
    """人社 of 人力资源和社会保障: the first character leads, the others follow in order."""
    if not name or short[0] != name[0]:
        return False
    rest = iter(name[1:])
    return all(char in rest for char in short[1:])
