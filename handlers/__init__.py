"""ROUTES: the one registration table. The first match wins, in this order.

Each route names its command, Chinese aliases, NLU intent and the role it needs; the help
text's part before '：' is the feature's short name.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core import Role, Route
from bot.scheduler import Sweep
from handlers import binding, housekeeping, notices, profile, start, stats

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
        "notice",
        notices.start,
        "发通知：向全体、联盟、单位或支部书记发送通知",
        aliases=("发通知", "发布通知"),
        role=Role.ALLIANCE_ADMIN,
        steps={
            "notice.text": notices.receive_text,
            "notice.audience": notices.choose_audience,
            "notice.pick": notices.pick,
            "notice.when": notices.choose_when,
            "notice.confirm": notices.confirm,
        },
    ),
    Route(
        "notices",
        notices.show,
        "通知：最近的通知，未读标红，点“收到”确认",
        aliases=("通知", "我的通知"),
        intent="notices",
        on_button=notices.ack,
    ),
    Route(
        "noticestats",
        notices.stats,
        "通知统计：送达、确认与未确认名单",
        aliases=("通知统计",),
        role=Role.ALLIANCE_ADMIN,
        arg="notice_id",
    ),
)

SWEEPS: tuple[Sweep, ...] = (
    Sweep("housekeeping", housekeeping.prune, every=timedelta(hours=6)),
    Sweep("notices", notices.sweep, every=timedelta(minutes=1)),
)
