"""通知: the notices the viewer may see with their figures; compose with the chat's audience
choices and a preview (recipients, how many cannot be reached) before sending now or at a
time; receipts per recipient, and 提醒未确认 (models/notice.py, the card of handlers/notices)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from bot.admin.auth import Need, Viewer
from bot.admin.pages.common import alliance_options
from bot.admin.render import Column, Filter, back_to, listing, render
from bot.admin.web import Missing, PageRoute, form_of, int_or
from bot.core.clock import local_datetime
from bot.core.times import show_when
from handlers.notices import AUDIENCES, MAX_TEXT, REMIND_HOURS, card
from models.export import NOTICE_STATE_ZH
from models.member import Member
from models.notice import (
    AudienceKind,
    Notice,
    NoticeError,
    NoticeState,
    count_unreachable,
    create_notice,
    may_see,
    notice_stats,
    receipts,
    remind_now,
    resolve_audience,
)
from models.org import Alliance, Unit

STATUS_ZH = {
    "delivered": "已送达",
    "pending": "待发送",
    "failed": "发送失败",
    "unreachable": "无法送达",
}
DONE = {
    "sent": "通知已发出。",
    "scheduled": "通知已定时，到时自动发送。",
    "reminded": "已提醒未确认且收得到的人（未绑定的人收不到，请另行通知）。",
}
PROBLEMS = {
    "text": f"请填写通知内容（{MAX_TEXT} 字以内）。",
    "kind": "请选择发给谁。",
    "pick": "请至少选择一个联盟或单位。",
    "empty": "这个范围内没有可通知的人，请重新选择。",
    "time": "请填写发送时间（将来的时间）。",
}


async def _visible(viewer: Viewer) -> list[Notice]:
    stmt = select(Notice).order_by(Notice.send_at.desc(), Notice.id.desc())
    return [n for n in (await viewer.session.execute(stmt)).scalars() if may_see(viewer.member, n)]


async def _audience_text(viewer: Viewer, notice: Notice) -> str:
    kind = AudienceKind(notice.audience.get("kind", AudienceKind.ALL))
    ids = [int(i) for i in notice.audience.get("ids", [])]
    if kind is AudienceKind.ALLIANCES and ids:
        names = (
            await viewer.session.execute(select(Alliance.name).where(Alliance.id.in_(ids)))
        ).scalars()
        return "、".join(names)
    if kind is AudienceKind.UNITS and ids:
        names = (await viewer.session.execute(select(Unit.name).where(Unit.id.in_(ids)))).scalars()
        return "、".join(names)
    return AUDIENCES[kind]


async def list_page(request: Request, viewer: Viewer) -> Response:
    filters = [
        Filter(
            "state",
            "状态",
            [("", "全部"), ("sent", "已发送"), ("scheduled", "定时待发"), ("cancelled", "已取消")],
        ),
        Filter("q", "内容中的词", kind="text"),
    ]
    values = {f.name: request.query_params.get(f.name, "").strip() for f in filters}
    authors = dict((await viewer.session.execute(select(Member.id, Member.name))).all())

    async def fetch(offset: int, limit: int | None) -> tuple[list[dict[str, Any]], int]:
        found = [
            n
            for n in await _visible(viewer)
            if (not values["state"] or n.state == values["state"]) and values["q"] in n.text
        ]
        end = None if limit is None else offset + limit
        rows = []
        for n in found[offset:end]:
            figures = await notice_stats(session=viewer.session, notice_id=n.id)
            rows.append(
                {
                    "notice": n,
                    "author": authors.get(n.author_id or 0, ""),
                    "audience": await _audience_text(viewer, n),
                    "figures": figures,
                    "rate": "—" if figures.rate is None else f"{figures.rate:.0%}",
                }
            )
        return rows, len(found)

    columns = (
        Column(
            "编号", lambda r: f"#{r['notice'].id}", lambda r: f"/admin/notices/{r['notice'].id}"
        ),
        Column("发送时间", lambda r: r["notice"].sent_at or r["notice"].send_at),
        Column("状态", lambda r: NOTICE_STATE_ZH[r["notice"].state]),
        Column("发送人", lambda r: r["author"]),
        Column("对象", lambda r: r["audience"]),
        Column(
            "内容",
            lambda r: (
                r["notice"].text if len(r["notice"].text) <= 40 else r["notice"].text[:40] + "…"
            ),
        ),
        Column("收件人", lambda r: r["figures"].recipients),
        Column("送达", lambda r: r["figures"].delivered),
        Column("已确认", lambda r: r["figures"].acknowledged),
        Column("确认率（已确认÷送达）", lambda r: r["rate"]),
    )
    return await listing(
        request,
        viewer,
        title="通知",
        columns=columns,
        filters=filters,
        fetch=fetch,
        sheet="通知",
        template="notices.html",
        messages=DONE,
    )


def _draft(form: Any) -> dict[str, Any]:
    return {
        "text": str(form.get("text", "")).strip(),
        "kind": str(form.get("kind", "")),
        "ids": [i for i in (int_or(v) for v in form.getlist("ids")) if i is not None],
        "when": str(form.get("when", "now")),
        "at": str(form.get("at", "")),
        "remind": str(form.get("remind", "")) == "1",
        "unit_q": str(form.get("unit_q", "")),
    }


async def compose_page(
    request: Request,
    viewer: Viewer,
    error: str = "",
    draft: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    draft = draft or {
        "text": "",
        "kind": "all",
        "ids": [],
        "when": "now",
        "at": "",
        "remind": False,
        "unit_q": "",
    }
    units = await _units(viewer, draft.get("unit_q", "")) if draft.get("unit_q") else []
    chosen_units = []
    if draft["kind"] == AudienceKind.UNITS and draft["ids"]:
        chosen_units = [
            (i, n)
            for i, n in (
                await viewer.session.execute(
                    select(Unit.id, Unit.name).where(
                        Unit.id.in_(draft["ids"]), viewer.scope.units_where(Unit.id)
                    )
                )
            ).all()
        ]
    return render(
        request,
        viewer,
        "notice_new.html",
        status=status,
        title="发通知",
        draft=draft,
        error=error,
        kinds=[(k.value, label) for k, label in AUDIENCES.items()],
        alliances=(await alliance_options(viewer))[1:],
        units=units,
        chosen_units=chosen_units,
        max_text=MAX_TEXT,
        remind_hours=REMIND_HOURS,
    )


async def _units(viewer: Viewer, word: str) -> list[tuple[int, str]]:
    word = word.strip()
    if not word:
        return []
    stmt = select(Unit.id, Unit.name).where(
        Unit.name.contains(word), viewer.scope.units_where(Unit.id)
    )
    return [
        (i, n) for i, n in (await viewer.session.execute(stmt.order_by(Unit.name).limit(30))).all()
    ]


async def unit_choices(request: Request, viewer: Viewer) -> Response:
    """htmx: the units whose name holds the typed word, as check boxes."""
    units = await _units(viewer, request.query_params.get("unit_q", ""))
    return render(request, viewer, "_unit_choices.html", units=units, chosen=[])


async def _checked(
    viewer: Viewer, draft: dict[str, Any]
) -> tuple[str, dict[str, Any] | None, datetime | None]:
    """An error, or the audience and the send time of a valid draft."""
    if not draft["text"] or len(draft["text"]) > MAX_TEXT:
        return PROBLEMS["text"], None, None
    if draft["kind"] not in {k.value for k in AudienceKind}:
        return PROBLEMS["kind"], None, None
    kind = AudienceKind(draft["kind"])
    ids = draft["ids"] if kind in (AudienceKind.ALLIANCES, AudienceKind.UNITS) else []
    if kind is AudienceKind.ALLIANCES:
        ids = [i for i in ids if viewer.scope.covers(i)]
    if kind is AudienceKind.UNITS:
        allowed = set(
            await viewer.session.scalars(
                select(Unit.id).where(Unit.id.in_(ids), viewer.scope.units_where(Unit.id))
            )
        )
        ids = [i for i in ids if i in allowed]
    if kind in (AudienceKind.ALLIANCES, AudienceKind.UNITS) and not ids:
        return PROBLEMS["pick"], None, None
    send_at = None
    if draft["when"] == "later":
        try:
            local = datetime.fromisoformat(draft["at"])
        except ValueError:
            return PROBLEMS["time"], None, None
        send_at = local_datetime(local.year, local.month, local.day, local.hour, local.minute)
        if send_at <= viewer.now:
            return PROBLEMS["time"], None, None
    return "", {"kind": kind.value, "ids": ids}, send_at


async def preview(request: Request, viewer: Viewer) -> Response:
    draft = _draft(form_of(request))
    if form_of(request).get("search") == "1":  # the unit search button (without htmx)
        return await compose_page(request, viewer, draft=draft)
    error, audience, send_at = await _checked(viewer, draft)
    if audience is None:
        return await compose_page(request, viewer, error, draft, 400)
    members = await resolve_audience(session=viewer.session, audience=audience, scope=viewer.scope)
    if not members:
        return await compose_page(request, viewer, PROBLEMS["empty"], draft, 400)
    unreachable = await count_unreachable(session=viewer.session, member_ids=members)
    fake = Notice(id=0, audience=audience)
    return render(
        request,
        viewer,
        "notice_preview.html",
        title="确认发送通知",
        draft=draft,
        recipients=len(members),
        unreachable=unreachable,
        audience=await _audience_text(viewer, fake),
        when=show_when(send_at, viewer.now) if send_at else "立即",
        remind_hours=REMIND_HOURS,
    )


async def send(request: Request, viewer: Viewer) -> Response:
    draft = _draft(form_of(request))
    error, audience, send_at = await _checked(viewer, draft)
    if audience is None:
        return await compose_page(request, viewer, error, draft, 400)
    notice = await create_notice(
        session=viewer.session,
        author=viewer.member,
        text=draft["text"],
        audience=audience,
        now=viewer.now,
        send_at=send_at,
        remind_after_hours=REMIND_HOURS if draft["remind"] else None,
        card=card,
    )
    viewer.audit("notice", notice_id=notice.id, audience=audience, send_at=notice.send_at)
    return back_to(
        f"/admin/notices/{notice.id}", "sent" if notice.state == NoticeState.SENT else "scheduled"
    )


async def _notice(viewer: Viewer, request: Request) -> Notice:
    notice = await viewer.session.get(Notice, int(request.path_params["notice_id"]))
    if notice is None or not may_see(viewer.member, notice):
        raise Missing
    return notice


async def receipts_page(request: Request, viewer: Viewer) -> Response:
    notice = await _notice(viewer, request)
    figures = await notice_stats(session=viewer.session, notice_id=notice.id)
    filters = [Filter("acked", "确认", [("", "全部"), ("0", "未确认"), ("1", "已确认")])]
    wanted = {"1": True, "0": False}.get(request.query_params.get("acked", ""))

    async def fetch(offset: int, limit: int | None) -> tuple[list[Any], int]:
        return await receipts(
            session=viewer.session, notice_id=notice.id, acked=wanted, offset=offset, limit=limit
        )

    columns = (
        Column("姓名", lambda r: r[0].name),
        Column("单位", lambda r: r[0].home_unit.name if r[0].home_unit else ""),
        Column("送达", lambda r: STATUS_ZH[r[2]]),
        Column("确认", lambda r: "已确认" if r[1] else "未确认"),
        Column("确认时间", lambda r: r[1]),
    )
    return await listing(
        request,
        viewer,
        title=f"通知 #{notice.id} 回执",
        columns=columns,
        filters=filters,
        fetch=fetch,
        sheet=f"通知{notice.id}回执",
        template="notice.html",
        notice=notice,
        figures=figures,
        audience=await _audience_text(viewer, notice),
        messages=DONE,
    )


async def remind(request: Request, viewer: Viewer) -> Response:
    notice = await _notice(viewer, request)
    try:
        done = await remind_now(session=viewer.session, notice=notice, now=viewer.now, card=card)
    except NoticeError:
        raise Missing from None
    viewer.audit("notice_remind", notice_id=notice.id, reminded=done.reachable)
    if request.headers.get("HX-Request"):
        return render(
            request,
            viewer,
            "_reminded.html",
            reached=done.reachable,
            unreached=done.unacknowledged - done.reachable,
        )
    return back_to(f"/admin/notices/{notice.id}", "reminded")


PAGES = [
    PageRoute("/notices", list_page, Need.ADMIN),
    PageRoute("/notices/new", compose_page, Need.ADMIN),
    PageRoute("/notices/units", unit_choices, Need.ADMIN),
    PageRoute("/notices/preview", preview, Need.ADMIN, ("POST",)),
    PageRoute("/notices/send", send, Need.ADMIN, ("POST",)),
    PageRoute("/notices/{notice_id:int}", receipts_page, Need.ADMIN),
    PageRoute("/notices/{notice_id:int}/remind", remind, Need.ADMIN, ("POST",)),
]
