"""ROUTES: the one registration table. The first match wins, in this order.

Each route names its command, Chinese aliases, NLU intent and the role it needs; the help
text's part before '：' is the feature's short name.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core import Role, Route
from bot.scheduler import Sweep
from handlers import binding, housekeeping, profile, resource_admin, resources, start, stats

ROUTES: tuple[Route, ...] = (
    Route(
        "start",
        start.start,
        "开始：欢迎与使用说明",
        aliases=("开始",),
        role=Role.ANYONE,
        menu=False,
    ),
    Route(
        "help",
        start.show_help,
        "帮助：查看可用功能",
        aliases=("帮助", "菜单"),
        intent="help",
        role=Role.ANYONE,
    ),
    Route("cancel", start.cancel, "取消：结束当前操作", aliases=("取消",), role=Role.ANYONE),
    Route(
        "bind",
        binding.run,
        "绑定：用邀请码绑定身份",
        aliases=("绑定", "邀请码"),
        intent="bind",
        role=Role.ANYONE,
        arg="code",
        steps={"bind.code": binding.receive_code},
    ),
    Route(
        "me", profile.show, "我的信息：姓名、单位、联盟与身份", aliases=("我的信息",), intent="me"
    ),
    Route(
        "stats",
        stats.show,
        "统计：联盟矩阵与各项数据",
        aliases=("统计",),
        intent="stats",
        role=Role.ALLIANCE_ADMIN,
    ),
    Route(
        "resources",
        resources.run,
        "资源：搜索伙伴、管家、千里马、蓝海清单并对接",
        aliases=("资源", "资源清单", "共享资源", "伙伴清单", "管家清单", "千里马清单", "蓝海清单"),
        intent="resources",
        arg="words",
        on_button=resources.press,
    ),
    Route("mymatches", resources.mine, "我的对接：资源对接请求与进度", aliases=("我的对接",)),
    Route(
        "addresource",
        resource_admin.start,
        "添加资源：向共享资源清单添加一条资源",
        aliases=("添加资源",),
        role=Role.ALLIANCE_ADMIN,
        steps={resource_admin.STEP: resource_admin.field},
    ),
    Route(
        "matchstats",
        resource_admin.stats,
        "对接统计：各清单、各联盟的资源对接数",
        aliases=("对接统计",),
        role=Role.ALLIANCE_ADMIN,
    ),
)

SWEEPS: tuple[Sweep, ...] = (Sweep("housekeeping", housekeeping.prune, every=timedelta(hours=6)),)
