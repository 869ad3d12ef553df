"""部门与分派 (county): the category → department, committee and deadline table tickets are
dispatched by (models/routing.py), the departments and their officers."""

from __future__ import annotations

from sqlalchemy import or_, select
from starlette.requests import Request
from starlette.responses import Response

from bot.admin.auth import Need, Viewer
from bot.admin.render import Column, Filter, back_to, listing, render
from bot.admin.web import Missing, PageRoute, form_of, int_or
from bot.core import Role
from models.member import Member, MemberRole
from models.org import Department
from models.roster import RosterError, get_member, held, set_roles
from models.routing import (
    COMMITTEES,
    MAX_RESOLVE_DAYS,
    MAX_SIGN_WORKING_DAYS,
    ROUTING,
    RoutingError,
    add_department,
    rename_department,
    routing_table,
    set_rule,
)
from models.scope import Scope

PROBLEMS = {
    "department": "没有这个部门。",
    "committee": "请选择跟进的委员会。",
    "sign_days": f"签收时限应为 1 到 {MAX_SIGN_WORKING_DAYS} 个工作日。",
    "resolve_days": f"办结时限应为 1 到 {MAX_RESOLVE_DAYS} 天。",
    "code": "部门代码用小写英文字母、数字或下划线，2 到 30 位，以字母开头（例如 ecology）。",
    "code_taken": "这个部门代码已经有了。",
    "name": "部门名称不能为空，且不超过 100 字。",
    "category": "没有这个分类。",
}
DONE = {
    "rule": "分派规则已保存：之后的新工单按新规则分派（已有工单不变）。",
    "added": "已新增部门。",
    "renamed": "已更名。",
    "officer": "已设为本部门干部。",
    "removed": "已取消其部门干部身份。",
}


async def page(request: Request, viewer: Viewer, error: str = "", status: int = 200) -> Response:
    session = viewer.session
    table = await routing_table(session)
    departments = list(
        (await session.execute(select(Department).order_by(Department.id))).scalars()
    )
    officers: dict[int, list[str]] = {}
    rows = await session.execute(
        select(Member.department_id, Member.name)
        .join(MemberRole, MemberRole.member_id == Member.id)
        .where(MemberRole.role == Role.OFFICER)
        .order_by(Member.name)
    )
    for department_id, name in rows:
        officers.setdefault(department_id, []).append(name)
    routed: dict[str, list[str]] = {}
    for rule in table.values():
        if rule.department:
            routed.setdefault(rule.department, []).append(rule.label)
    filters = [Filter("q", "部门名称或代码", kind="text")]
    word = request.query_params.get("q", "").strip()

    async def fetch(offset: int, limit: int | None) -> tuple[list[Department], int]:
        found = [d for d in departments if not word or word in d.name or word in d.code]
        end = None if limit is None else offset + limit
        return found[offset:end], len(found)

    columns = (
        Column("代码", lambda d: d.code),
        Column("名称", lambda d: d.name, lambda d: f"/admin/departments/{d.id}"),
        Column("部门干部", lambda d: "、".join(officers.get(d.id, [])) or "（无）"),
        Column("分派到的分类", lambda d: "、".join(routed.get(d.code, []))),
    )
    return await listing(
        request,
        viewer,
        title="部门与分派",
        columns=columns,
        filters=filters,
        fetch=fetch,
        sheet="部门",
        template="departments.html",
        rules=list(table.values()),
        departments=departments,
        committees=COMMITTEES,
        error=error,
        status=status,
        messages=DONE,
    )


async def save_rule(request: Request, viewer: Viewer) -> Response:
    form = form_of(request)
    category = str(request.path_params["category"])
    if category not in ROUTING:
        raise Missing
    try:
        rule = await set_rule(
            session=viewer.session,
            category=category,
            department_code=str(form.get("department", "")) or None,
            committee=str(form.get("committee", "")),
            sign_working_days=int_or(form.get("sign"), 0) or 0,
            resolve_days=int_or(form.get("resolve"), 0) or 0,
            by_id=viewer.member.id,
            now=viewer.now,
        )
    except RoutingError as error:
        return await page(request, viewer, PROBLEMS[error.reason], 400)
    viewer.audit(
        "routing_rule",
        category=category,
        department=rule.department,
        committee=rule.committee,
        sign_working_days=rule.sign_working_days,
        resolve_days=rule.resolve_days,
    )
    return back_to("/admin/departments", "rule")


async def create(request: Request, viewer: Viewer) -> Response:
    form = form_of(request)
    try:
        department = await add_department(
            session=viewer.session, code=str(form.get("code", "")), name=str(form.get("name", ""))
        )
    except RoutingError as error:
        return await page(request, viewer, PROBLEMS[error.reason], 400)
    viewer.audit(
        "department_add", department_id=department.id, code=department.code, name=department.name
    )
    return back_to(f"/admin/departments/{department.id}", "added")


async def _department(viewer: Viewer, request: Request) -> Department:
    found = await viewer.session.get(Department, int(request.path_params["department_id"]))
    if found is None:
        raise Missing
    return found


async def detail_page(
    request: Request, viewer: Viewer, error: str = "", status: int = 200
) -> Response:
    department = await _department(viewer, request)
    officers = list(
        (
            await viewer.session.execute(
                select(Member)
                .join(MemberRole, MemberRole.member_id == Member.id)
                .where(MemberRole.role == Role.OFFICER, Member.department_id == department.id)
                .order_by(Member.name)
            )
        ).scalars()
    )
    word = request.query_params.get("find", "").strip()
    found: list[Member] = []
    if word:
        found = list(
            (
                await viewer.session.execute(
                    select(Member)
                    .where(
                        Member.active.is_(True),
                        or_(Member.name.contains(word), Member.phone == word),
                    )
                    .order_by(Member.name)
                    .limit(20)
                )
            ).scalars()
        )
    return render(
        request,
        viewer,
        "department.html",
        status=status,
        title=department.name,
        department=department,
        officers=officers,
        found=found,
        find=word,
        error=error,
        messages=DONE,
    )


async def rename(request: Request, viewer: Viewer) -> Response:
    department = await _department(viewer, request)
    before = department.name
    try:
        await rename_department(
            session=viewer.session,
            department=department,
            name=str(form_of(request).get("name", "")),
        )
    except RoutingError as error:
        return await detail_page(request, viewer, PROBLEMS[error.reason], 400)
    viewer.audit(
        "department_rename", department_id=department.id, before=before, after=department.name
    )
    return back_to(f"/admin/departments/{department.id}", "renamed")


async def _officer(request: Request, viewer: Viewer, *, make: bool) -> Response:
    department = await _department(viewer, request)
    member = await get_member(
        session=viewer.session,
        scope=Scope.COUNTY,
        member_id=int_or(form_of(request).get("member"), 0) or 0,
    )
    if member is None:
        raise Missing
    officer = (Role.OFFICER, None)
    wanted = held(member) | {officer} if make else held(member) - {officer}
    try:
        await set_roles(
            session=viewer.session,
            member=member,
            by=viewer.member,
            wanted=wanted,
            department_id=department.id if make else None,
        )
    except RosterError as error:
        return await detail_page(request, viewer, PROBLEMS.get(error.reason, "操作未完成。"), 400)
    viewer.audit(
        "officer_add" if make else "officer_remove",
        department=department.code,
        member_id=member.id,
        name=member.name,
    )
    return back_to(f"/admin/departments/{department.id}", "officer" if make else "removed")


async def add_officer(request: Request, viewer: Viewer) -> Response:
    return await _officer(request, viewer, make=True)


async def remove_officer(request: Request, viewer: Viewer) -> Response:
    return await _officer(request, viewer, make=False)


PAGES = [
    PageRoute("/departments", page, Need.COUNTY),
    PageRoute("/departments", create, Need.COUNTY, ("POST",)),
    PageRoute("/departments/routing/{category}", save_rule, Need.COUNTY, ("POST",)),
    PageRoute("/departments/{department_id:int}", detail_page, Need.COUNTY),
    PageRoute("/departments/{department_id:int}/rename", rename, Need.COUNTY, ("POST",)),
    PageRoute("/departments/{department_id:int}/officers", add_officer, Need.COUNTY, ("POST",)),
    PageRoute(
        "/departments/{department_id:int}/officers/remove", remove_officer, Need.COUNTY, ("POST",)
    ),
]
