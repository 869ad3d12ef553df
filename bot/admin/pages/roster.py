"""花名册: members (edit, move, roles, unbind, leave and come back, a fresh invite code) and
the alliances and their units, through models/roster.py within the viewer's scope; invite
sheets are in pages/invites.py, uploads in pages/imports.py."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response

from bot.admin.auth import Need, Viewer
from bot.admin.pages.common import alliance_options, units_in_scope
from bot.admin.pages.invites import invite_card
from bot.admin.render import Column, Filter, back_to, listing, render
from bot.admin.web import Missing, PageRoute, form_of, int_or
from bot.core import ROLE_NAMES_ZH, ROLE_ORDER, Role, role_rank
from models.member import InviteCode, Member
from models.org import ALLIANCE_TYPE_ZH, Alliance, Department, Membership, Unit
from models.org_import import UNIT_KIND_ZH
from models.roster import (
    IssuedInvite,
    MemberFilter,
    RosterError,
    add_member,
    deactivate,
    find_members,
    get_member,
    grantable,
    held,
    issue_invite,
    reactivate,
    set_roles,
    unbind,
    update_member,
)

PLATFORM_ZH = {"telegram": "Telegram", "wecom": "企业微信", "console": "控制台"}
PROBLEMS = {
    "name": "姓名不能为空，且不超过 50 字。",
    "phone": "手机号不对：应为 1 开头的 11 位数字。",
    "phone_taken": "这个手机号已登记为{name}。",
    "unit": "请选择所在单位。",
    "unit_scope": "这个单位不在您管理的联盟中。",
    "mobile_not_party": "流动党员必须是党员。",
    "workplace": "工作地不超过 100 字。",
    "role_scope": "您不能授予这个身份。",
    "department": "部门干部须选择部门。",
    "self": "不能取消或停用您自己的管理员身份，请由其他管理员操作。",
    "inactive": "这名成员已停用，请先恢复。",
    "active": "这名成员在册，无需恢复。",
}
DONE = {
    "saved": "已保存。",
    "roles": "身份已更新。",
    "unbound": "已解绑。请为其重新生成邀请码后再绑定。",
    "invite": "已生成新的邀请码，旧的未用邀请码已作废。",
    "left": "已停用：已解绑、取消身份，邀请码作废；签到、工单等记录保留。",
    "back": "已恢复到原单位（身份和绑定需重新设置）。",
    "added": "已新增成员，并生成邀请码。",
}
BOUND = [("", "全部"), ("1", "已绑定"), ("0", "未绑定")]
STATUS = [("", "在册"), ("left", "已停用")]
ROLE_FILTER = [("", "全部身份")] + [(r.value, ROLE_NAMES_ZH[r]) for r in ROLE_ORDER]


def roles_text(member: Member, names: dict[int, str]) -> str:
    parts = []
    for r in member.roles_in_order():
        label = ROLE_NAMES_ZH[Role(r.role)]
        if r.alliance_id:
            label += f"（{names.get(r.alliance_id, '')}）"
        parts.append(label)
    return "、".join(parts) or "党员"


def alliances_of(member: Member) -> str:
    unit = member.home_unit
    return "、".join(m.alliance.name for m in unit.memberships) if unit else ""


async def alliance_names(viewer: Viewer) -> dict[int, str]:
    return dict((await viewer.session.execute(select(Alliance.id, Alliance.name))).all())


def _filter_of(values: dict[str, str]) -> MemberFilter:
    bound = {"1": True, "0": False}.get(values.get("bound", ""))
    role = Role(values["role"]) if values.get("role") in {r.value for r in Role} else None
    return MemberFilter(
        alliance_id=int_or(values.get("alliance")),
        text=values.get("q", ""),
        bound=bound,
        role=role,
        active=values.get("status") != "left",
    )


async def members_page(request: Request, viewer: Viewer) -> Response:
    names = await alliance_names(viewer)
    filters = [
        Filter("alliance", "联盟", await alliance_options(viewer)),
        Filter("q", "姓名、手机或单位", kind="text"),
        Filter("bound", "绑定", BOUND),
        Filter("role", "身份", ROLE_FILTER),
        Filter("status", "状态", STATUS),
    ]
    columns = (
        Column("姓名", lambda m: m.name, lambda m: f"/admin/roster/members/{m.id}"),
        Column("手机", lambda m: m.phone),
        Column(
            "单位",
            lambda m: (
                m.home_unit.name if m.home_unit else (m.department.name if m.department else "")
            ),
        ),
        Column("联盟", alliances_of),
        Column("身份", lambda m: roles_text(m, names)),
        Column("流动党员", lambda m: m.is_mobile),
        Column(
            "绑定",
            lambda m: (
                "、".join(PLATFORM_ZH.get(i.platform, i.platform) for i in m.identities)
                or "未绑定"
            ),
        ),
    )
    values = {f.name: request.query_params.get(f.name, "").strip() for f in filters}
    wanted = _filter_of(values)

    async def fetch(offset: int, limit: int | None) -> tuple[list[Member], int]:
        return await find_members(
            session=viewer.session, scope=viewer.scope, wanted=wanted, offset=offset, limit=limit
        )

    return await listing(
        request,
        viewer,
        title="花名册 · 成员",
        columns=columns,
        filters=filters,
        fetch=fetch,
        sheet="成员",
        template="roster.html",
        tab="members",
    )


async def units_page(request: Request, viewer: Viewer) -> Response:
    filters = [
        Filter("alliance", "联盟", await alliance_options(viewer)),
        Filter("q", "单位名称", kind="text"),
    ]
    values = {f.name: request.query_params.get(f.name, "").strip() for f in filters}
    counts = dict(
        (
            await viewer.session.execute(
                select(Member.home_unit_id, func.count())
                .where(Member.is_party_member.is_(True), Member.active.is_(True))
                .group_by(Member.home_unit_id)
            )
        ).all()
    )
    columns = (
        Column("联盟", lambda r: r[0].name),
        Column("联盟类型", lambda r: ALLIANCE_TYPE_ZH[r[0].type]),
        Column(
            "单位", lambda r: r[1].name, lambda r: "/admin/roster?" + urlencode({"q": r[1].name})
        ),
        Column("单位类型", lambda r: UNIT_KIND_ZH[r[1].kind]),
        Column("有党组织", lambda r: r[1].has_party_org),
        Column("党员", lambda r: counts.get(r[1].id, 0)),
    )

    async def fetch(offset: int, limit: int | None) -> tuple[list[Any], int]:
        stmt = (
            select(Alliance, Unit)
            .join(Membership, Membership.alliance_id == Alliance.id)
            .join(Unit, Unit.id == Membership.unit_id)
            .where(viewer.scope.where(Alliance.id))
        )
        if values["alliance"]:
            stmt = stmt.where(Alliance.id == int_or(values["alliance"], 0))
        if values["q"]:
            stmt = stmt.where(Unit.name.contains(values["q"]))
        total = await viewer.session.scalar(select(func.count()).select_from(stmt.subquery()))
        stmt = stmt.order_by(Alliance.id, Unit.name).offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [tuple(r) for r in (await viewer.session.execute(stmt)).all()], int(total or 0)

    return await listing(
        request,
        viewer,
        title="花名册 · 联盟与单位",
        columns=columns,
        filters=filters,
        fetch=fetch,
        sheet="联盟与单位",
        template="roster.html",
        tab="units",
    )


async def _member(viewer: Viewer, request: Request) -> Member:
    found = await get_member(
        session=viewer.session, scope=viewer.scope, member_id=int(request.path_params["member_id"])
    )
    if found is None:
        raise Missing
    return found


async def _role_choices(viewer: Viewer, member: Member) -> list[tuple[str, str, bool]]:
    """(value, label, checked) of the roles this viewer may give this member."""
    names = await alliance_names(viewer)
    mine = held(member)
    choices = []
    pairs = grantable(viewer.member, names)
    for role, alliance_id in sorted(pairs, key=lambda p: (role_rank(p[0]), p[1] or 0)):
        label = ROLE_NAMES_ZH[role] + (f"（{names[alliance_id]}）" if alliance_id else "")
        choices.append((f"{role.value}:{alliance_id or ''}", label, (role, alliance_id) in mine))
    return choices


async def detail_page(
    request: Request,
    viewer: Viewer,
    error: str = "",
    status: int = 200,
    invite: IssuedInvite | None = None,
) -> Response:
    member = await _member(viewer, request)
    names = await alliance_names(viewer)
    departments = list(
        (await viewer.session.execute(select(Department).order_by(Department.id))).scalars()
    )
    left_unit = (
        await viewer.session.get(Unit, member.left_unit_id) if member.left_unit_id else None
    )
    return render(
        request,
        viewer,
        "member.html",
        status=status,
        title=member.name,
        member=member,
        roles=roles_text(member, names),
        alliances=alliances_of(member),
        units=await units_in_scope(viewer),
        choices=await _role_choices(viewer, member),
        departments=departments,
        identities=[
            (i.id, PLATFORM_ZH.get(i.platform, i.platform), i.created_at)
            for i in member.identities
        ],
        left_unit=left_unit,
        error=error,
        invite=invite_card(viewer, invite) if invite else None,
        messages=DONE,
        is_self=member.id == viewer.member.id,
    )


def _problem(error: RosterError) -> str:
    return PROBLEMS.get(error.reason, "操作未完成。").format(**error.detail)


def _flag(value: Any) -> bool:
    return str(value) in ("1", "on", "true", "是")


async def edit(request: Request, viewer: Viewer) -> Response:
    member = await _member(viewer, request)
    form = form_of(request)
    try:
        changed = await update_member(
            session=viewer.session,
            member=member,
            by=viewer.member,
            name=str(form.get("name", "")),
            phone=str(form.get("phone", "")),
            unit_id=int_or(form.get("unit")),
            is_party_member=_flag(form.get("party")),
            is_mobile=_flag(form.get("mobile")),
            workplace=str(form.get("workplace", "")),
        )
    except RosterError as error:
        return await detail_page(request, viewer, _problem(error), status=400)
    if changed:
        viewer.audit("member_edit", member_id=member.id, name=member.name, changed=changed)
    return back_to(f"/admin/roster/members/{member.id}", "saved")


async def roles(request: Request, viewer: Viewer) -> Response:
    member = await _member(viewer, request)
    form = form_of(request)
    wanted = set()
    for value in form.getlist("role"):
        role_text, _, alliance = str(value).partition(":")
        if role_text in {r.value for r in Role}:
            wanted.add((Role(role_text), int_or(alliance)))
    try:
        added, removed = await set_roles(
            session=viewer.session,
            member=member,
            by=viewer.member,
            wanted=wanted,
            department_id=int_or(form.get("department")),
        )
    except RosterError as error:
        return await detail_page(request, viewer, _problem(error), status=400)
    viewer.audit(
        "member_roles",
        member_id=member.id,
        name=member.name,
        added=sorted(map(list, added)),
        removed=sorted(map(list, removed)),
    )
    return back_to(f"/admin/roster/members/{member.id}", "roles")


async def unbind_account(request: Request, viewer: Viewer) -> Response:
    member = await _member(viewer, request)
    identity = int_or(form_of(request).get("identity"))
    platforms = await unbind(session=viewer.session, member=member, identity_id=identity)
    viewer.audit("member_unbind", member_id=member.id, name=member.name, platforms=platforms)
    return back_to(f"/admin/roster/members/{member.id}", "unbound")


async def reissue(request: Request, viewer: Viewer) -> Response:
    """A fresh code for one member; htmx puts the card (code and QR) in place."""
    member = await _member(viewer, request)
    try:
        invite = await issue_invite(
            session=viewer.session,
            member=member,
            now=viewer.now,
            valid_days=viewer.settings.INVITE_VALID_DAYS,
        )
    except RosterError as error:
        return await detail_page(request, viewer, _problem(error), status=400)
    await viewer.session.flush()
    code = await viewer.session.scalar(select(InviteCode.id).where(InviteCode.code == invite.code))
    batch = viewer.audit("invite", member_id=member.id, name=member.name, invites=[code])
    await viewer.session.flush()
    card = invite_card(viewer, invite) | {"batch": batch.id}
    if request.headers.get("HX-Request"):
        return render(request, viewer, "_invite.html", invite=card)
    return await detail_page(request, viewer, invite=invite)


async def leave(request: Request, viewer: Viewer) -> Response:
    member = await _member(viewer, request)
    try:
        await deactivate(session=viewer.session, member=member, by=viewer.member, now=viewer.now)
    except RosterError as error:
        return await detail_page(request, viewer, _problem(error), status=400)
    viewer.audit("member_leave", member_id=member.id, name=member.name)
    return back_to(f"/admin/roster/members/{member.id}", "left")


async def come_back(request: Request, viewer: Viewer) -> Response:
    member = await _member(viewer, request)
    try:
        await reactivate(session=viewer.session, member=member, by=viewer.member)
    except RosterError as error:
        return await detail_page(request, viewer, _problem(error), status=400)
    viewer.audit("member_back", member_id=member.id, name=member.name)
    return back_to(f"/admin/roster/members/{member.id}", "back")


async def new_page(
    request: Request, viewer: Viewer, error: str = "", status: int = 200
) -> Response:
    form = form_of(request) if request.method == "POST" else {}
    return render(
        request,
        viewer,
        "member_new.html",
        status=status,
        title="新增成员",
        units=await units_in_scope(viewer),
        error=error,
        form=form,
    )


async def create(request: Request, viewer: Viewer) -> Response:
    form = form_of(request)
    try:
        member, invite = await add_member(
            session=viewer.session,
            by=viewer.member,
            name=str(form.get("name", "")),
            phone=str(form.get("phone", "")),
            unit_id=int_or(form.get("unit")),
            is_party_member=_flag(form.get("party")),
            is_mobile=_flag(form.get("mobile")),
            workplace=str(form.get("workplace", "")),
            now=viewer.now,
            valid_days=viewer.settings.INVITE_VALID_DAYS,
        )
    except RosterError as error:
        return await new_page(request, viewer, _problem(error), status=400)
    code = await viewer.session.scalar(select(InviteCode.id).where(InviteCode.code == invite.code))
    viewer.audit("member_add", member_id=member.id, name=member.name, invites=[code])
    return back_to(f"/admin/roster/members/{member.id}", "added")


PAGES = [
    PageRoute("/roster", members_page, Need.ADMIN),
    PageRoute("/roster/units", units_page, Need.ADMIN),
    PageRoute("/roster/members/new", new_page, Need.ADMIN),
    PageRoute("/roster/members/new", create, Need.ADMIN, ("POST",)),
    PageRoute("/roster/members/{member_id:int}", detail_page, Need.ADMIN),
    PageRoute("/roster/members/{member_id:int}/edit", edit, Need.ADMIN, ("POST",)),
    PageRoute("/roster/members/{member_id:int}/roles", roles, Need.ADMIN, ("POST",)),
    PageRoute("/roster/members/{member_id:int}/unbind", unbind_account, Need.ADMIN, ("POST",)),
    PageRoute("/roster/members/{member_id:int}/invite", reissue, Need.ADMIN, ("POST",)),
    PageRoute("/roster/members/{member_id:int}/leave", leave, Need.ADMIN, ("POST",)),
    PageRoute("/roster/members/{member_id:int}/back", come_back, Need.ADMIN, ("POST",)),
]
