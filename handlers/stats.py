"""/stats: the county's alliance matrix for admins."""

from __future__ import annotations

from bot.context import Context
from bot.core import Reply, Role
from models.org import ALLIANCE_TYPE_ZH
from models.stats import MatrixRow, alliance_matrix

TITLE_COUNTY = "📊 党建红盟矩阵（全县）"
TITLE_ALLIANCE = "📊 本联盟数据"


async def show(ctx: Context) -> list[Reply]:
    """Alliances, member party organisations, party members and units reached, by type."""
    scope = None if ctx.me.has_role(Role.SUPER_ADMIN) else ctx.me.admin_alliance_ids()
    rows = await alliance_matrix(ctx.session, scope)
    lines = [TITLE_COUNTY if scope is None else TITLE_ALLIANCE]
    lines += [_line(row) for row in rows if row.alliances or row.label is None]
    return [Reply("\n".join(lines))]


def _line(row: MatrixRow) -> str:
    label = ALLIANCE_TYPE_ZH[row.label] if row.label else "合计"
    return (
        f"{label}：联盟 {row.alliances} 个，成员党组织 {row.party_orgs} 个，"
        f"党员 {row.party_members} 名，辐射单位 {row.units} 家"
    )
