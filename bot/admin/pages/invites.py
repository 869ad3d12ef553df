"""花名册 · 邀请码: fresh invite codes for everyone (not yet bound) in the viewer's scope or one
alliance, as a printable sheet with a QR code per member for the Telegram deep link
(t.me/BOT?start=CODE, models/roster.deep_link) and as .xlsx; a sheet is shown to the admin who
issued it (the audit row of the issue keeps which codes it made)."""

from __future__ import annotations

from typing import Any

import segno
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from bot.admin.auth import Need, Viewer
from bot.admin.pages.common import alliance_options
from bot.admin.render import back_to, render, xlsx_response
from bot.admin.web import Missing, PageRoute, form_of, int_or
from bot.core.clock import fmt_local
from models.audit import AuditLog
from models.export import INVITE_HEAD, invite_rows
from models.member import InviteCode
from models.roster import IssuedInvite, deep_link, get_member, issue_invites


def _flag(value: Any) -> bool:
    return str(value) in ("1", "on", "true", "是")


def _alliances_of(member: Any) -> str:
    unit = member.home_unit
    return "、".join(m.alliance.name for m in unit.memberships) if unit else ""


def invite_card(viewer: Viewer, invite: IssuedInvite) -> dict[str, Any]:
    link = deep_link(viewer.settings.TELEGRAM_BOT_USERNAME, invite.code)
    qr = segno.make(link, error="m").svg_inline(scale=4, border=2) if link else ""
    return {
        "name": invite.name,
        "unit": invite.unit,
        "alliances": invite.alliances,
        "code": invite.code,
        "until": fmt_local(invite.expires_at, "%Y-%m-%d %H:%M"),
        "link": link,
        "qr": qr,
    }


async def invites_page(request: Request, viewer: Viewer) -> Response:
    return render(
        request,
        viewer,
        "invites.html",
        title="花名册 · 邀请码",
        tab="invites",
        alliances=(await alliance_options(viewer, first="我管理的全部联盟")),
        bot=viewer.settings.TELEGRAM_BOT_USERNAME,
    )


async def invites_issue(request: Request, viewer: Viewer) -> Response:
    """Fresh codes for everyone (not yet bound) in scope or one alliance: a printable sheet."""
    form = form_of(request)
    alliance_id = int_or(form.get("alliance"))
    if alliance_id is not None and not viewer.scope.covers(alliance_id):
        raise Missing
    invites = await issue_invites(
        session=viewer.session,
        scope=viewer.scope,
        now=viewer.now,
        valid_days=viewer.settings.INVITE_VALID_DAYS,
        alliance_id=alliance_id,
        unbound_only=_flag(form.get("unbound")),
    )
    if not invites:
        return render(
            request,
            viewer,
            "invites.html",
            status=400,
            title="花名册 · 邀请码",
            tab="invites",
            alliances=await alliance_options(viewer, first="我管理的全部联盟"),
            bot=viewer.settings.TELEGRAM_BOT_USERNAME,
            error="没有需要生成邀请码的成员。",
        )
    codes = dict(
        (
            await viewer.session.execute(
                select(InviteCode.code, InviteCode.id).where(
                    InviteCode.code.in_([i.code for i in invites])
                )
            )
        ).all()
    )
    batch = viewer.audit(
        "invites",
        alliance_id=alliance_id,
        unbound=_flag(form.get("unbound")),
        count=len(invites),
        invites=[codes[i.code] for i in invites],
    )
    await viewer.session.flush()
    return back_to(f"/admin/roster/invites/{batch.id}")


async def invites_sheet(request: Request, viewer: Viewer) -> Response:
    """The codes one issue made, to print (a QR code each) or as .xlsx."""
    batch = await viewer.session.get(AuditLog, int(request.path_params["batch"]))
    if batch is None or batch.member_id != viewer.member.id or not batch.detail.get("invites"):
        raise Missing  # a sheet is shown to the admin who issued it
    ids = [int(i) for i in batch.detail.get("invites", [])]
    rows = (
        await viewer.session.execute(
            select(InviteCode).where(InviteCode.id.in_(ids)).order_by(InviteCode.id)
        )
    ).scalars()
    invites = []
    for code in rows:
        member = await get_member(
            session=viewer.session, scope=viewer.scope, member_id=code.member_id
        )
        if member is not None:
            invites.append(
                IssuedInvite(
                    member.id,
                    member.name,
                    member.phone,
                    member.home_unit.name
                    if member.home_unit
                    else (member.department.name if member.department else ""),
                    _alliances_of(member),
                    code.code,
                    code.expires_at,
                )
            )
    if request.query_params.get("format") == "xlsx":
        stamp = fmt_local(batch.at, "%Y%m%d-%H%M")
        return xlsx_response(
            f"邀请码-{stamp}.xlsx",
            "邀请码",
            INVITE_HEAD,
            invite_rows(invites, viewer.settings.TELEGRAM_BOT_USERNAME),
        )
    return render(
        request,
        viewer,
        "invite_sheet.html",
        title="邀请码（可打印）",
        batch=batch,
        cards=[invite_card(viewer, i) for i in invites],
        bot=viewer.settings.TELEGRAM_BOT_USERNAME,
    )


PAGES = [
    PageRoute("/roster/invites", invites_page, Need.ADMIN),
    PageRoute("/roster/invites", invites_issue, Need.ADMIN, ("POST",)),
    PageRoute("/roster/invites/{batch:int}", invites_sheet, Need.ADMIN),
]
