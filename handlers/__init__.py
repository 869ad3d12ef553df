"""ROUTES: the one registration table. The first match wins, in this order.

Each route names its command, Chinese aliases, NLU intent and the role it needs; the help
text's part before '：' is the feature's short name.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core import Role, Route
from bot.scheduler import Sweep
from handlers import (
    activities,
    attendance,
    binding,
    checkin,
    housekeeping,
    notices,
    profile,
    report,
    rotation,
    start,
    stats,
    ticket_deadlines,
    tickets,
)

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
        "activities",
        activities.show,
        "活动：近期活动安排",
        aliases=("活动", "近期活动"),
        intent="activities",
        on_button=activities.near,
        steps={"activities.near": activities.receive_location},
    ),
    Route(
        "publish",
        activities.start,
        "发布活动：轮值单位书记或联盟管理员发布活动",
        aliases=("发布活动",),
        role=Role.SECRETARY,
        steps={
            "publish.alliance": activities.got_alliance,
            "publish.title": activities.got_title,
            "publish.start": activities.got_start,
            "publish.end": activities.got_end,
            "publish.place": activities.got_place,
            "publish.geo": activities.got_geo,
            "publish.radius": activities.got_radius,
        },
    ),
    Route(
        "checkin",
        checkin.run,
        "签到：发送签到码或分享位置签到",
        aliases=("签到", "打卡"),
        intent="checkin",
        arg="code",
        takes_location=True,
        steps={"checkin.wait": checkin.receive},
    ),
    Route(
        "code",
        checkin.show_code,
        "签到码：主持人出示本场签到码",
        aliases=("签到码",),
        role=Role.SECRETARY,
        on_button=checkin.show_code,
    ),
    Route(
        "confirm",
        checkin.confirm,
        "确认签到：主持人按姓名为党员签到",
        aliases=("确认签到",),
        role=Role.SECRETARY,
        arg="name",
        on_button=checkin.confirm_button,
    ),
    Route(
        "myrecord",
        attendance.my_record,
        "我的签到：今年的签到记录",
        aliases=("我的签到", "签到记录"),
        intent="my_record",
    ),
    Route(
        "attendance",
        attendance.show,
        "签到情况：谁签到了、签到率与签到表",
        aliases=("签到情况", "出勤"),
        role=Role.SECRETARY,
        arg="activity",
    ),
    Route(
        "rotation",
        rotation.show,
        "轮值：主席单位与活动轮办安排",
        aliases=("轮值", "轮办"),
        intent="rotation",
        on_button=rotation.button,
    ),
    Route(
        "report",
        report.start,
        "吹哨：反映企业遇到的问题",
        aliases=report.ALIASES,
        intent="report",
        arg="text",
        steps={
            "report.text": report.receive_text,
            "report.unit": report.receive_unit,
            "report.category": report.receive_category,
            "report.confirm": report.confirm,
        },
    ),
    Route(
        "myreports",
        report.mine,
        "我的吹哨：查看反映问题的进度",
        aliases=("我的吹哨", "我反映的问题"),
        intent="my_reports",
        arg="ticket",
    ),
    Route(
        "cosign",
        report.cosign_ticket,
        "附议：为同一问题的工单附议",
        aliases=("附议",),
        arg="number",
    ),
    Route(
        "tickets",
        tickets.show,
        "工单：部门待办工单与办理",
        aliases=("工单", "待办工单"),
        arg="number",
        on_button=tickets.press,
        steps={"tickets.note": tickets.note_step, "tickets.merge": tickets.merge_step},
    ),
    Route(
        "ticketstats",
        tickets.figures,
        "工单统计：吹哨工单办理数据",
        aliases=("工单统计",),
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
    Sweep("activity_reminders", activities.remind, every=timedelta(minutes=5)),
    Sweep("rotation_advance", rotation.advance, every=timedelta(minutes=30)),
    Sweep("mobile_summary", attendance.mobile_summary, every=timedelta(hours=6)),
    Sweep("ticket_deadlines", ticket_deadlines.sweep, every=timedelta(minutes=15)),
    Sweep("notices", notices.sweep, every=timedelta(minutes=1)),
)
