"""/me: who the bot thinks you are."""

from __future__ import annotations

from bot.core import ROLE_NAMES_ZH, Reply, Role
from handlers.context import Context

MOBILE = "流动党员（可参加各联盟活动）"


async def show(ctx: Context) -> list[Reply]:
    """Name, unit, alliances, roles and mobile status."""
    me = ctx.me
    alliances = sorted(
        (m.alliance for m in me.home_unit.memberships) if me.home_unit else (), key=lambda a: a.id
    )
    held = me.roles_in_order()
    roles = [ROLE_NAMES_ZH[Role(r.role)] for r in held] or [ROLE_NAMES_ZH[Role.MEMBER]]
    lines = [f"👤 {me.name}"]
    if me.home_unit:
        lines.append(f"单位：{me.home_unit.name}")
    if me.department:
        lines.append(f"部门：{me.department.name}")
    if alliances:
        lines.append("联盟：" + "、".join(a.name for a in alliances))
    lines.append("身份：" + "、".join(dict.fromkeys(roles)))
    if me.is_mobile:
        lines.append(f"状态：{MOBILE}" + (f"，现在{me.workplace}" if me.workplace else ""))
    return [Reply("\n".join(lines))]
