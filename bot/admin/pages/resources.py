"""资源: the shared lists (伙伴/管家/千里马/蓝海) as the viewer's alliances see them, with the
match requests each resource had; the county can take a resource off the lists (下架)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from starlette.requests import Request
from starlette.responses import Response

from bot.admin.auth import Need, Viewer
from bot.admin.render import Column, Filter, back_to, listing, render
from bot.admin.web import Missing, PageRoute
from models.resource import (
    MatchRequest,
    Resource,
    ResourceAlliance,
    ResourceError,
    ResourceKind,
    withdraw_resource,
)

VALID = [("", "有效的"), ("expired", "已过期或下架"), ("all", "全部")]
DONE = {"withdrawn": "已下架：不再出现在资源搜索中。"}


def _visible(viewer: Viewer) -> Any:
    stmt = select(Resource)
    if not viewer.scope.county:
        shared = select(ResourceAlliance.resource_id).where(
            viewer.scope.where(ResourceAlliance.alliance_id)
        )
        stmt = stmt.where(or_(Resource.all_alliances.is_(True), Resource.id.in_(shared)))
    return stmt


async def list_page(request: Request, viewer: Viewer) -> Response:
    filters = [
        Filter(
            "kind",
            "清单",
            [("", "全部清单")] + [(k.value, f"{k.value}清单") for k in ResourceKind],
        ),
        Filter("valid", "有效期", VALID),
        Filter("q", "标题、提供单位或标签", kind="text"),
    ]
    values = {f.name: request.query_params.get(f.name, "").strip() for f in filters}
    now = viewer.now

    async def fetch(offset: int, limit: int | None) -> tuple[list[Any], int]:
        stmt = _visible(viewer)
        if values["kind"]:
            stmt = stmt.where(Resource.kind == values["kind"])
        live = or_(Resource.valid_until.is_(None), Resource.valid_until > now)
        if values["valid"] == "":
            stmt = stmt.where(live)
        elif values["valid"] == "expired":
            stmt = stmt.where(~live)
        if values["q"]:
            word = values["q"]
            stmt = stmt.where(
                or_(
                    Resource.title.contains(word),
                    Resource.provider.contains(word),
                    Resource.tags.contains(word),
                )
            )
        total = await viewer.session.scalar(select(func.count()).select_from(stmt.subquery()))
        stmt = stmt.order_by(Resource.kind, Resource.id).offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        found = list((await viewer.session.execute(stmt)).scalars())
        asked = dict(
            (
                await viewer.session.execute(
                    select(MatchRequest.resource_id, func.count())
                    .where(MatchRequest.resource_id.in_([r.id for r in found]))
                    .group_by(MatchRequest.resource_id)
                )
            ).all()
        )
        return [(r, asked.get(r.id, 0)) for r in found], int(total or 0)

    columns = (
        Column("清单", lambda r: f"{r[0].kind}清单"),
        Column("标题", lambda r: r[0].title, lambda r: f"/admin/resources/{r[0].id}"),
        Column("提供单位", lambda r: r[0].provider),
        Column("联系方式", lambda r: r[0].contact),
        Column("标签", lambda r: r[0].tags),
        Column("可见范围", lambda r: "全部联盟" if r[0].all_alliances else "指定联盟"),
        Column("有效期至", lambda r: r[0].valid_until),
        Column("对接请求", lambda r: r[1]),
    )
    return await listing(
        request,
        viewer,
        title="共享资源",
        columns=columns,
        filters=filters,
        fetch=fetch,
        sheet="资源清单",
        messages=DONE,
    )


async def detail_page(request: Request, viewer: Viewer) -> Response:
    resource = await viewer.session.scalar(
        _visible(viewer).where(Resource.id == int(request.path_params["resource_id"]))
    )
    if resource is None:
        raise Missing
    asked = await viewer.session.scalar(
        select(func.count()).where(MatchRequest.resource_id == resource.id)
    )
    live = resource.valid_until is None or resource.valid_until > viewer.now
    return render(
        request,
        viewer,
        "resource.html",
        title=resource.title,
        resource=resource,
        asked=asked or 0,
        live=live,
    )


async def withdraw(request: Request, viewer: Viewer) -> Response:
    resource = await viewer.session.get(Resource, int(request.path_params["resource_id"]))
    if resource is None:
        raise Missing
    try:
        await withdraw_resource(session=viewer.session, resource=resource, now=viewer.now)
    except ResourceError:
        return back_to("/admin/resources")
    viewer.audit("resource_withdraw", resource_id=resource.id, title=resource.title)
    return back_to("/admin/resources", "withdrawn")


PAGES = [
    PageRoute("/resources", list_page, Need.ADMIN),
    PageRoute("/resources/{resource_id:int}", detail_page, Need.ADMIN),
    PageRoute("/resources/{resource_id:int}/withdraw", withdraw, Need.COUNTY, ("POST",)),
]
