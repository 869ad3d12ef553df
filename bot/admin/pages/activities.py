"""活动: the activities of the viewer's alliances; one that has not ended can be edited or
called off (models/activity.py), and those who heard of it are told (models.activity.who_is_told,
the same audience as the chat's /activity)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response

from bot.admin.auth import Need, Viewer
from bot.admin.pages.common import alliance_options, tell
from bot.admin.render import Column, Filter, back_to, listing, render
from bot.admin.web import Missing, PageRoute, form_of, int_or
from bot.core.clock import local_datetime, to_local
from handlers.activities import line_of
from models.activity import (
    CHANGE_KIND,
    Activity,
    ActivityError,
    activity_loads,
    cancel_activity,
    edit_activity,
    get_activity,
    live,
    who_is_told,
)
from models.checkin import CheckIn

CHANGED = "📅 活动有变动：{line}"
CANCELLED = "❌ 活动取消：{line}"
CANCEL_WHY = "\n原因：{reason}"
WHEN = [("", "未结束"), ("past", "已结束"), ("all", "全部")]
PROBLEMS = {
    "not_manager": "只有本联盟管理员或承办单位书记可以修改这个活动。",
    "ended": "活动已经结束，不能再修改或取消。",
    "cancelled": "活动已经取消了。",
    "past": "新的开始时间已经过去了。",
    "bad_end": "结束时间要晚于开始时间。",
    "title": "活动名称请写 2 到 50 个字。",
    "place": "地点请写 1 到 50 个字。",
    "bad_time": "请填写开始和结束时间。",
}
DONE = {
    "saved": "已保存，并通知了已收到提醒、已签到的党员和联盟管理员。",
    "unchanged": "没有改动。",
    "cancelled": "活动已取消，并通知了已收到提醒、已签到的党员和联盟管理员。",
}


async def list_page(request: Request, viewer: Viewer) -> Response:
    filters = [
        Filter("when", "时间", WHEN),
        Filter("alliance", "联盟", await alliance_options(viewer)),
        Filter("q", "活动名称", kind="text"),
    ]
    values = {f.name: request.query_params.get(f.name, "").strip() for f in filters}
    now = viewer.now

    async def fetch(offset: int, limit: int | None) -> tuple[list[Any], int]:
        stmt = select(Activity).where(viewer.scope.where(Activity.alliance_id), live())
        if values["when"] == "":
            stmt = stmt.where(Activity.ends_at > now)
        elif values["when"] == "past":
            stmt = stmt.where(Activity.ends_at <= now)
        if values["alliance"]:
            stmt = stmt.where(Activity.alliance_id == int_or(values["alliance"], 0))
        if values["q"]:
            stmt = stmt.where(Activity.title.contains(values["q"]))
        total = await viewer.session.scalar(select(func.count()).select_from(stmt.subquery()))
        order = Activity.starts_at if values["when"] == "" else Activity.starts_at.desc()
        stmt = stmt.order_by(order, Activity.id).options(*activity_loads()).offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        found = list((await viewer.session.execute(stmt)).scalars())
        came = dict(
            (
                await viewer.session.execute(
                    select(CheckIn.activity_id, func.count())
                    .where(CheckIn.activity_id.in_([a.id for a in found]))
                    .group_by(CheckIn.activity_id)
                )
            ).all()
        )
        return [(a, came.get(a.id, 0)) for a in found], int(total or 0)

    columns = (
        Column("活动", lambda r: r[0].title, lambda r: f"/admin/activities/{r[0].id}"),
        Column("联盟", lambda r: r[0].alliance.name),
        Column("承办单位", lambda r: r[0].host_unit.name if r[0].host_unit else ""),
        Column("开始", lambda r: r[0].starts_at),
        Column("结束", lambda r: r[0].ends_at),
        Column("地点", lambda r: r[0].place),
        Column("签到人数", lambda r: r[1]),
    )
    return await listing(
        request,
        viewer,
        title="活动",
        columns=columns,
        filters=filters,
        fetch=fetch,
        sheet="活动",
        messages=DONE,
    )


async def _activity(viewer: Viewer, request: Request) -> Activity:
    activity = await get_activity(viewer.session, int(request.path_params["activity_id"]))
    if activity is None or not viewer.scope.covers(activity.alliance_id):
        raise Missing
    return activity


def _local_input(moment: datetime) -> str:
    return to_local(moment).strftime("%Y-%m-%dT%H:%M")


async def detail_page(
    request: Request, viewer: Viewer, error: str = "", status: int = 200
) -> Response:
    activity = await _activity(viewer, request)
    came = await viewer.session.scalar(
        select(func.count()).where(CheckIn.activity_id == activity.id)
    )
    return render(
        request,
        viewer,
        "activity.html",
        status=status,
        title=activity.title,
        activity=activity,
        came=came or 0,
        start=_local_input(activity.starts_at),
        end=_local_input(activity.ends_at),
        ended=activity.ends_at <= viewer.now,
        cancelled=activity.cancelled_at is not None,
        told=len((await who_is_told(viewer.session, activity, viewer.member.id)).everyone),
        error=error,
        messages=DONE,
    )


def _moment(text: str) -> datetime | None:
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        return None
    return local_datetime(local.year, local.month, local.day, local.hour, local.minute)


async def save(request: Request, viewer: Viewer) -> Response:
    activity = await _activity(viewer, request)
    form = form_of(request)
    starts_at, ends_at = _moment(str(form.get("start", ""))), _moment(str(form.get("end", "")))
    if starts_at is None or ends_at is None:
        return await detail_page(request, viewer, PROBLEMS["bad_time"], 400)
    title, place = str(form.get("title", "")).strip(), str(form.get("place", "")).strip()
    if not 2 <= len(title) <= 50:
        return await detail_page(request, viewer, PROBLEMS["title"], 400)
    if not 1 <= len(place) <= 50:
        return await detail_page(request, viewer, PROBLEMS["place"], 400)
    try:
        changed = await edit_activity(
            session=viewer.session,
            activity=activity,
            actor=viewer.member,
            now=viewer.now,
            title=title,
            place=place,
            starts_at=starts_at,
            ends_at=ends_at,
        )
    except ActivityError as error:
        return await detail_page(request, viewer, PROBLEMS[error.reason], 400)
    if not changed:
        return back_to(f"/admin/activities/{activity.id}", "unchanged")
    told = await who_is_told(viewer.session, activity, viewer.member.id)
    await tell(
        viewer,
        told.everyone,
        CHANGED.format(line=line_of(activity, now=viewer.now)),
        kind=CHANGE_KIND,
        ref_id=activity.id,
    )
    viewer.audit("activity_edit", activity_id=activity.id, title=activity.title, changed=changed)
    return back_to(f"/admin/activities/{activity.id}", "saved")


async def cancel(request: Request, viewer: Viewer) -> Response:
    activity = await _activity(viewer, request)
    reason = str(form_of(request).get("reason", "")).strip()
    line = line_of(activity, now=viewer.now)
    try:
        await cancel_activity(
            session=viewer.session,
            activity=activity,
            actor=viewer.member,
            now=viewer.now,
            reason=reason,
        )
    except ActivityError as error:
        return await detail_page(request, viewer, PROBLEMS[error.reason], 400)
    told = await who_is_told(viewer.session, activity, viewer.member.id)
    note = CANCELLED.format(line=line) + (CANCEL_WHY.format(reason=reason) if reason else "")
    await tell(viewer, told.everyone, note, kind=CHANGE_KIND, ref_id=activity.id)
    viewer.audit("activity_cancel", activity_id=activity.id, title=activity.title, line=line)
    return back_to("/admin/activities", "cancelled")


PAGES = [
    PageRoute("/activities", list_page, Need.ADMIN),
    PageRoute("/activities/{activity_id:int}", detail_page, Need.ADMIN),
    PageRoute("/activities/{activity_id:int}", save, Need.ADMIN, ("POST",)),
    PageRoute("/activities/{activity_id:int}/cancel", cancel, Need.ADMIN, ("POST",)),
]
