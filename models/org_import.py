"""Importing alliances, member units and their memberships: one row per (alliance, unit).

What exists already is left as it is, so importing a file twice adds nothing; a row that
contradicts what exists (another alliance type, unit type or party-org flag) is a bad row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.org import ALLIANCE_TYPE_ZH, Alliance, AllianceType, Membership, Unit, UnitKind
from models.scope import Scope
from models.table_import import ImportReport, read_table, row_error, yes_no

COLUMNS = ("联盟", "联盟类型", "单位", "单位类型", "有党组织")
ALLIANCE_TYPES = {zh: kind for kind, zh in ALLIANCE_TYPE_ZH.items()}
UNIT_KINDS = {"企业": UnitKind.ENTERPRISE, "社会组织": UnitKind.SOCIAL_ORG}
UNIT_KIND_ZH = {kind: zh for zh, kind in UNIT_KINDS.items()}
NAME_MAX = 100

PROBLEMS = {
    "alliance": "联盟为空",
    "alliance_type": "联盟类型“{value}”不对，应为 产业链、行业 或 区域",
    "alliance_type_missing": "新联盟“{value}”缺少联盟类型（产业链、行业 或 区域）",
    "alliance_type_differs": "联盟“{name}”已是{old}类型，与“{new}”不符",
    "unit_kind": "单位类型“{value}”不对，应为 企业 或 社会组织",
    "unit_kind_missing": "新单位“{value}”缺少单位类型（企业 或 社会组织）",
    "unit_kind_differs": "单位“{name}”已是{old}，与“{new}”不符",
    "party": "有党组织“{value}”应为 是 或 否",
    "party_missing": "新单位“{value}”缺少有党组织（是 或 否）",
    "party_differs": "单位“{name}”已登记为{old}党组织，与“{new}”不符",
    "long": "{column}超过 100 字",
    "alliance_scope": "联盟“{value}”不在您管理的范围内",
    "alliance_new": "新建联盟“{value}”须由县级管理员导入",
}


@dataclass
class OrgReport(ImportReport):
    alliances: int = 0
    units: int = 0
    memberships: int = 0


@dataclass
class _Known:
    """An alliance or unit as stored, or as a good earlier row of the file will create it."""

    kind: str
    has_party_org: bool | None = None
    id: int | None = None


async def import_orgs(
    *,
    session: AsyncSession,
    path: Path,
    skip_bad_rows: bool = False,
    sheet: str | None = None,
    scope: Scope = Scope.COUNTY,
) -> OrgReport:
    """Check every row, then add the missing alliances, units and memberships.

    `scope`: an alliance admin may add units to the alliances they administer only."""
    table = read_table(path, columns=COLUMNS, required=COLUMNS, sheet=sheet)
    alliances = {a.name: _Known(a.type, id=a.id) for a in await session.scalars(select(Alliance))}
    units = {
        u.name: _Known(u.kind, u.has_party_org, u.id) for u in await session.scalars(select(Unit))
    }
    links = set(
        (
            await session.execute(
                select(Alliance.name, Unit.name).join(Membership.alliance).join(Membership.unit)
            )
        ).all()
    )
    report = OrgReport(notes=table.notes)
    good: list[tuple[str, str]] = []
    for number, values in table.rows:
        alliance, unit = values.get("联盟", ""), values.get("单位", "")
        problems = _check_scope(alliance, alliances, scope) or (
            _check_alliance(values, alliances) + _check_unit(values, units)
        )
        if problems:
            report.errors.append(row_error(number, problems))
            continue
        _remember(values, alliances, units)
        good.append((alliance, unit))
    if report.errors and not skip_bad_rows:
        return report
    for alliance, unit in good:
        await _add(session, report, alliances, units, links, alliance, unit)
    report.imported = len(good)
    report.skipped = len(report.errors)
    return report


def _check_scope(name: str, alliances: dict[str, _Known], scope: Scope) -> list[str]:
    if scope.county or not name:
        return []
    known = alliances.get(name)
    if known is None or known.id is None:
        return [PROBLEMS["alliance_new"].format(value=name)]
    return [] if scope.covers(known.id) else [PROBLEMS["alliance_scope"].format(value=name)]


def _check_alliance(values: dict[str, str], alliances: dict[str, _Known]) -> list[str]:
    name, type_text = values.get("联盟", ""), values.get("联盟类型", "")
    if not name:
        return [PROBLEMS["alliance"]]
    if len(name) > NAME_MAX:
        return [PROBLEMS["long"].format(column="联盟")]
    known = alliances.get(name)
    if not type_text:
        return [] if known else [PROBLEMS["alliance_type_missing"].format(value=name)]
    kind = ALLIANCE_TYPES.get(type_text)
    if kind is None:
        return [PROBLEMS["alliance_type"].format(value=type_text)]
    if known and known.kind != kind:
        old = ALLIANCE_TYPE_ZH[AllianceType(known.kind)]
        return [PROBLEMS["alliance_type_differs"].format(name=name, old=old, new=type_text)]
    return []


def _check_unit(values: dict[str, str], units: dict[str, _Known]) -> list[str]:
    name = values.get("单位", "")
    kind_text, party_text = values.get("单位类型", ""), values.get("有党组织", "")
    if not name:
        return []  # a row may create an alliance alone
    if len(name) > NAME_MAX:
        return [PROBLEMS["long"].format(column="单位")]
    known = units.get(name)
    problems = []
    kind = UNIT_KINDS.get(kind_text)
    if not kind_text and not known:
        problems.append(PROBLEMS["unit_kind_missing"].format(value=name))
    elif kind_text and kind is None:
        problems.append(PROBLEMS["unit_kind"].format(value=kind_text))
    elif kind and known and known.kind != kind:
        old = UNIT_KIND_ZH[UnitKind(known.kind)]
        problems.append(PROBLEMS["unit_kind_differs"].format(name=name, old=old, new=kind_text))
    party = yes_no(party_text)
    if not party_text and not known:
        problems.append(PROBLEMS["party_missing"].format(value=name))
    elif party_text and party is None:
        problems.append(PROBLEMS["party"].format(value=party_text))
    elif party is not None and known and known.has_party_org != party:
        old = "有" if known.has_party_org else "无"
        problems.append(PROBLEMS["party_differs"].format(name=name, old=old, new=party_text))
    return problems


def _remember(
    values: dict[str, str], alliances: dict[str, _Known], units: dict[str, _Known]
) -> None:
    """A good row's new alliance or unit is known to the rows after it."""
    name = values["联盟"]
    if name not in alliances:
        alliances[name] = _Known(ALLIANCE_TYPES[values["联盟类型"]])
    unit = values.get("单位", "")
    if unit and unit not in units:
        units[unit] = _Known(UNIT_KINDS[values["单位类型"]], yes_no(values["有党组织"]))


async def _add(
    session: AsyncSession,
    report: OrgReport,
    alliances: dict[str, _Known],
    units: dict[str, _Known],
    links: set[tuple[str, str]],
    alliance: str,
    unit: str,
) -> None:
    a = alliances[alliance]
    if a.id is None:
        row = Alliance(name=alliance, type=AllianceType(a.kind))
        session.add(row)
        await session.flush()
        a.id = row.id
        report.alliances += 1
    if not unit:
        return
    u = units[unit]
    if u.id is None:
        unit_row = Unit(name=unit, kind=UnitKind(u.kind), has_party_org=bool(u.has_party_org))
        session.add(unit_row)
        await session.flush()
        u.id = unit_row.id
        report.units += 1
    if (alliance, unit) not in links:
        session.add(Membership(alliance_id=a.id, unit_id=u.id))
        links.add((alliance, unit))
        report.memberships += 1
