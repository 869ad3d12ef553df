"""审计日志: who did what, when, in the console (console.*) and in chat; the county sees all,
an alliance admin what the members of their alliances did."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, or_, select
from starlette.requests import Request
from starlette.responses import Response

from bot.admin.auth import Need, Viewer
from bot.admin.render import Column, Filter, listing
from bot.admin.web import PageRoute
from models.audit import AuditLog
from models.member import Member
from models.roster import in_scope

ACTION_ZH = {
    "console.login": "登录后台",
    "console.logout": "退出后台",
    "console.member_edit": "修改成员",
    "console.member_add": "新增成员",
    "console.member_roles": "调整身份",
    "console.member_unbind": "解绑账号",
    "console.member_leave": "停用成员",
    "console.member_back": "恢复成员",
    "console.invite": "重发邀请码",
    "console.invites": "批量生成邀请码",
    "console.import_members": "导入成员",
    "console.import_orgs": "导入联盟与单位",
    "console.import_departments": "导入部门",
    "console.import_resources": "导入资源",
    "console.import_rotation": "导入轮值表",
    "console.rotation_save": "设置轮值",
    "console.rotation_override": "调整轮值",
    "console.rotation_swap": "交换轮值",
    "console.routing_rule": "修改分派规则",
    "console.department_add": "新增部门",
    "console.department_rename": "部门更名",
    "console.officer_add": "设部门干部",
    "console.officer_remove": "取消部门干部",
    "console.notice": "发通知",
    "console.notice_remind": "提醒未确认",
    "console.activity_edit": "修改活动",
    "console.activity_cancel": "取消活动",
    "console.resource_withdraw": "下架资源",
    "console_link": "获取后台登录链接（聊天）",
    "bind": "绑定身份（聊天）",
    "notice": "发通知（聊天）",
    "activity_publish": "发布活动（聊天）",
    "rotation_override": "调整轮值（聊天）",
    "checkin_confirm": "代签到（聊天）",
    "ticket_filed": "吹哨（聊天）",
    "resource_added": "添加资源（聊天）",
    "resource_match": "资源对接（聊天）",
    "resource_match_decided": "对接答复（聊天）",
}
for _action in ("sign", "update", "resolve", "return", "route", "reject", "merge"):
    ACTION_ZH[f"console.ticket_{_action}"] = "工单办理"


def action_label(action: str) -> str:
    return ACTION_ZH.get(action, action)


KEY_ZH = {
    "name": "姓名",
    "member_id": "成员",
    "ticket": "工单",
    "what": "操作",
    "note": "说明",
    "alliance": "联盟",
    "alliance_id": "联盟",
    "changed": "改动",
    "platform": "平台",
    "platforms": "平台",
    "notice_id": "通知",
    "audience": "对象",
    "send_at": "发送时间",
    "reminded": "提醒人数",
    "file": "文件",
    "sheet": "工作表",
    "imported": "导入",
    "skipped": "跳过",
    "errors": "有误的行",
    "invites": "邀请码",
    "count": "人数",
    "title": "名称",
    "activity_id": "活动",
    "category": "分类",
    "department": "部门",
    "committee": "委员会",
    "sign_working_days": "签收时限",
    "resolve_days": "办结时限",
    "label": "轮值期",
    "unit_id": "单位",
}


def detail_text(detail: dict[str, Any]) -> str:
    """key：value；… with the keys in Chinese where they are known."""
    parts = []
    for key, value in detail.items():
        if key == "invites" and isinstance(value, list):
            value = f"{len(value)} 个"
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{KEY_ZH.get(key, key)}：{shown}")
    return "；".join(parts)[:500]


async def page(request: Request, viewer: Viewer) -> Response:
    options = [("", "全部操作"), ("console", "后台的操作"), ("chat", "聊天中的操作")]
    options += sorted(
        {(a, ACTION_ZH[a]) for a in ACTION_ZH if not a.startswith("console.ticket_")},
        key=lambda o: o[1],
    )
    options.append(("ticket", "工单办理"))
    filters = [Filter("action", "操作", options), Filter("q", "姓名", kind="text")]
    values = {f.name: request.query_params.get(f.name, "").strip() for f in filters}

    async def fetch(offset: int, limit: int | None) -> tuple[list[Any], int]:
        stmt = select(AuditLog, Member.name).outerjoin(Member, Member.id == AuditLog.member_id)
        if not viewer.scope.county:
            stmt = stmt.where(or_(in_scope(viewer.scope), AuditLog.member_id == viewer.member.id))
        action = values["action"]
        if action == "console":
            stmt = stmt.where(AuditLog.action.startswith("console."))
        elif action == "chat":
            stmt = stmt.where(~AuditLog.action.startswith("console."))
        elif action == "ticket":
            stmt = stmt.where(AuditLog.action.startswith("console.ticket_"))
        elif action:
            stmt = stmt.where(AuditLog.action == action)
        if values["q"]:
            stmt = stmt.where(Member.name.contains(values["q"]))
        total = await viewer.session.scalar(select(func.count()).select_from(stmt.subquery()))
        stmt = stmt.order_by(AuditLog.at.desc(), AuditLog.id.desc()).offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [tuple(r) for r in (await viewer.session.execute(stmt)).all()], int(total or 0)

    columns = (
        Column("时间", lambda r: r[0].at),
        Column("谁", lambda r: r[1] or "系统"),
        Column("操作", lambda r: action_label(r[0].action)),
        Column("详情", lambda r: detail_text(r[0].detail)),
    )
    return await listing(
        request,
        viewer,
        title="审计日志",
        columns=columns,
        filters=filters,
        fetch=fetch,
        sheet="审计日志",
    )


PAGES = [PageRoute("/audit", page, Need.ADMIN)]
