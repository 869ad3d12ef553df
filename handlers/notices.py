"""/notice (write and send a notice), /notices (mine, unread marked, 收到), /noticestats N."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Button, Flow, Reply, Role
from bot.core.clock import fmt_local
from bot.core.times import parse_when, show_when
from handlers import paging
from handlers.context import Context
from models.button import recent_buttons
from models.member import Member
from models.notice import (
    AudienceKind,
    Notice,
    NoticeError,
    NoticeState,
    acknowledge,
    count_for,
    count_unreachable,
    create_notice,
    get_notice_for,
    notice_stats,
    receipt_of,
    recent_for,
    remind_due,
    resolve_audience,
    send_due,
    sent_by,
    waiting,
)
from models.org import Alliance, Unit
from models.scope import Scope
from settings import Settings

ASK_TEXT = "请输入通知内容（发送“取消”可退出）："
TOO_LONG = "通知内容请控制在 {n} 字以内，请重新输入："
ASK_AUDIENCE = "发给谁？"
AUDIENCES = {
    AudienceKind.ALL: "全体",
    AudienceKind.ALLIANCES: "选择联盟",
    AudienceKind.UNITS: "选择单位",
    AudienceKind.SECRETARIES: "支部书记",
    AudienceKind.MOBILE: "流动党员",
}
ASK_UNIT_KEYWORD = "请输入单位名称中的关键词（例如“鑫源”）："
NO_UNIT = "没有找到名称含“{kw}”的单位，请换个关键词："
PICK = "请点选（可多选），选好后点“选好了”："
PICK_NONE = "请至少选择一项。"
USE_BUTTONS = "请点上面的按钮选择（发送“取消”可退出）。"
ASK_FIX = "要修改哪一项？"
FIX_LABELS = {"text": "通知内容", "audience": "发送对象", "back": "不改了，返回"}
ASK_NEW_TEXT = "请输入修改后的通知内容（原来是：{text}）："
USE_FIX_BUTTONS = "请点“通知内容”或“发送对象”，或点“不改了，返回”。"
EMPTY_AUDIENCE = "这个范围内没有可通知的人，请重新选择：" + ASK_AUDIENCE
PREVIEW = (
    "📢 通知预览\n{text}\n——\n对象：{desc}\n收件人 {n} 人，其中 {u} 人未绑定或无法送达"
    "（计入“无法送达”）。"
)
ASK_TIME = "什么时候发送？例如：明天上午9点、12-05 09:30："
BAD_TIME = "没看懂这个时间，可以这样写：明天上午9点、12月5日下午2点、12-05 09:30："
PAST_TIME = "{time} 已经过去了，请输入一个将来的时间："
CONFIRM = "确认{when}发送给 {n} 人？"
SENT_NOW = (
    "✅ 通知 #{id} 已发出：收件人 {n} 人，其中无法送达 {u} 人。\n"
    "发送“通知统计 {id}”查看送达与确认情况。"
)
SCHEDULED = (
    "🕘 通知 #{id} 将于 {time} 发送。\n"
    "发出前可发送“修改通知 {id}”修改或取消；发出后发送“通知统计 {id}”查看情况。"
)
REMIND_HOURS = 24
CARD = "📢 通知 #{id}（{author}）\n{text}"
REMINDER = "⏰ 提醒：通知 #{id} 您还没有确认收到（{author}）\n{text}"
ACK_LABEL = "收到"
NO_NOTICES = "暂时没有发给您的通知。"
ACKED = "已确认收到通知 #{id}，谢谢！"
ALREADY_ACKED = "您已确认过通知 #{id}。"
ACKED_WHICH = "已确认收到通知 #{id}（{text}），谢谢！"
MORE_WAITING = "\n还有 {n} 条通知未确认，发送“通知”查看。"
NOTHING_TO_ACK = "您没有待确认的通知。发送“通知”查看最近的通知。"
ASK_ID = "请在后面写通知编号，例如：通知统计 3"
ERRORS = {
    "not_found": "没有编号为 {id} 的通知。",
    "forbidden": "您只能查看本联盟的通知情况。",
    "not_recipient": "通知 #{id} 不是发给您的。",
    "not_scheduled": "通知 #{id} 已经发出或取消，不能再修改。",
    "past": "这个时间已经过去了，请输入一个将来的时间：",
}
LIST_HEAD = "📬 我的通知（{total} 条，未读 {unread} 条）："
LIST_TAIL = "点“查看”阅读全文并确认收到。"
DETAIL = "📢 通知 #{id}（{author}，{when}）\n{text}"
NOT_ACKED = "🔴 您还没有确认收到，读完请点“收到”。"
ACKED_AT = "✅ 您已于 {when} 确认收到。"
STATE_SENT = "已送达 {delivered}/{recipients} 人，已确认 {acked} 人（发送“通知统计 {id}”查看名单）"
STATE_SCHEDULED = "🕘 定于 {time} 发送，收件人约 {n} 人。"
STATE_CANCELLED = "已取消，没有发出。"
CHANGE_BUTTONS = {"edit_text": "修改内容", "edit_time": "修改时间", "drop": "取消发送"}
WAITING_IGNORED = "· 已送达未确认（{n} 人，可提醒）：{names}"
WAITING_PENDING = "· 正在发送（{n} 人）：{names}"
WAITING_UNREACHED = "· 未绑定或无法送达（{n} 人，需先绑定）：{names}"
NUMBER_IN_TEXT = re.compile(r"(?:通知|#)\s*#?(\d{1,6})|(\d{1,6})\s*号通知")
MAX_TEXT = 1000
MAX_NAMES = 50
FLOW = Flow("notice")


async def start(ctx: Context) -> list[Reply]:
    """Begin writing a notice."""
    await ctx.dialog.clear()  # nothing of an earlier notice is carried over
    await ctx.dialog.set_state(receive_text)
    return [Reply(ASK_TEXT)]


@FLOW.step("text", free_text=True)
async def receive_text(ctx: Context, text: str = "") -> list[Reply]:
    """Dialog step: the notice's text, then the audience buttons."""
    if not text:
        return [Reply(ASK_TEXT)]
    if len(text) > MAX_TEXT:
        return [Reply(TOO_LONG.format(n=MAX_TEXT))]
    if ctx.dialog.get_data().get("fixing"):  # 修改 → 内容: the audience stays as chosen
        await ctx.dialog.update_data(text=text, fixing=False)
        return await _preview(ctx)
    await ctx.dialog.set_state(choose_audience, text=text)
    return [_audience_menu(ASK_AUDIENCE)]


async def _ask_correction(ctx: Context) -> list[Reply]:
    await ctx.dialog.set_state(correct)
    buttons = (
        Button(FIX_LABELS["text"], "notice.fix", part="text"),
        Button(FIX_LABELS["audience"], "notice.fix", part="audience"),
        Button(FIX_LABELS["back"], "notice.fix", part="back"),
    )
    return [Reply(ASK_FIX, buttons=buttons)]


@FLOW.step("fix")
async def correct(ctx: Context, text: str = "", part: str = "") -> list[Reply]:
    """Dialog step after 修改: a new text, another audience, or back to the preview."""
    if part == "text":
        await ctx.dialog.set_state(receive_text, fixing=True)
        return [Reply(ASK_NEW_TEXT.format(text=_short(ctx.dialog.get_data()["text"])))]
    if part == "audience":
        await ctx.dialog.set_state(choose_audience)
        return [_audience_menu(ASK_AUDIENCE)]
    if part == "back":
        return await _preview(ctx)
    return [Reply(USE_FIX_BUTTONS)]


def _audience_menu(text: str) -> Reply:
    buttons = tuple(
        Button(label, "notice.audience", kind=str(kind)) for kind, label in AUDIENCES.items()
    )
    return Reply(text, buttons=(*buttons, Button("取消", "cancel")))


@FLOW.step("audience")
async def choose_audience(ctx: Context, kind: str = "") -> list[Reply]:
    """Dialog step: everyone, a role, or a choice of alliances / units."""
    if kind not in set(AUDIENCES):
        return [Reply(USE_BUTTONS)]
    chosen = AudienceKind(kind)
    if chosen is AudienceKind.UNITS:
        await ctx.dialog.set_state(pick, kind=chosen, ids=[], options=[])
        return [Reply(ASK_UNIT_KEYWORD)]
    if chosen is AudienceKind.ALLIANCES:
        options = await _alliances(ctx.session, ctx.me.admin_scope())
        await ctx.dialog.set_state(pick, kind=chosen, ids=[], options=options)
        return [_pick_menu(options, [])]
    await ctx.dialog.update_data(kind=chosen, ids=[], options=[])
    return await _preview(ctx)


@FLOW.step("pick", free_text=True)
async def pick(
    ctx: Context, text: str = "", toggle: int | None = None, done: bool = False
) -> list[Reply]:
    """Dialog step: toggle alliances or units; typed text searches units."""
    state = ctx.dialog.get_data()
    options, chosen = state["options"], list(state["ids"])
    if toggle is None and not done and text and state["kind"] == AudienceKind.UNITS:
        options = await _units(ctx.session, ctx.me.admin_scope(), text)
        if not options:
            return [Reply(NO_UNIT.format(kw=text))]
        await ctx.dialog.update_data(options=options)
        return [_pick_menu(options, chosen)]
    if done:
        if not chosen:
            return [Reply(PICK_NONE), _pick_menu(options, chosen)]
        return await _preview(ctx)
    if toggle is None:
        return [Reply(USE_BUTTONS)]
    picked = toggle
    if picked not in {o[0] for o in options}:  # only what we offered, within the scope
        return [Reply(USE_BUTTONS)]
    chosen = [i for i in chosen if i != picked] if picked in chosen else [*chosen, picked]
    # JSON keeps only string keys, so names are keyed by str(id).
    names = dict(state.get("names", {})) | {str(o[0]): o[1] for o in options}
    await ctx.dialog.update_data(ids=chosen, names={str(i): names[str(i)] for i in chosen})
    return [_pick_menu(options, chosen)]


def _pick_menu(options: list[list[Any]], chosen: list[int]) -> Reply:
    buttons = [
        Button(("✅" if i in chosen else "") + name, "notice.pick", toggle=i)
        for i, name in options
    ]
    return Reply(PICK, buttons=(*buttons, Button("选好了", "notice.pick", done=True)))


async def _alliances(session: AsyncSession, scope: Scope) -> list[list[Any]]:
    stmt = select(Alliance.id, Alliance.name).where(scope.where(Alliance.id)).order_by(Alliance.id)
    return [[i, name] for i, name in (await session.execute(stmt)).all()]


async def _units(session: AsyncSession, scope: Scope, keyword: str) -> list[list[Any]]:
    stmt = select(Unit.id, Unit.name).where(Unit.name.contains(keyword.strip()))
    stmt = stmt.where(scope.units_where(Unit.id))
    rows = await session.execute(stmt.order_by(Unit.id).limit(12))
    return [[i, name] for i, name in rows.all()]


async def _preview(ctx: Context) -> list[Reply]:
    state = ctx.dialog.get_data()
    audience = {"kind": state["kind"], "ids": state["ids"]}
    members = await resolve_audience(
        session=ctx.session, audience=audience, scope=ctx.me.admin_scope()
    )
    if not members:
        await ctx.dialog.set_state(choose_audience)
        return [_audience_menu(EMPTY_AUDIENCE)]
    unreachable = await count_unreachable(session=ctx.session, member_ids=members)
    await ctx.dialog.set_state(
        choose_when, n=len(members), u=unreachable, send_at=None, awaiting_time=False
    )
    desc = AUDIENCES[AudienceKind(state["kind"])]
    if state["ids"]:
        desc = "、".join(str(v) for v in state.get("names", {}).values())
    text = PREVIEW.format(text=state["text"], desc=desc, n=len(members), u=unreachable)
    buttons = (
        Button("立即发送", "notice.when", when="now"),
        Button("定时发送", "notice.when", when="later"),
        Button("修改", "notice.when", when="change"),
        Button("取消", "cancel"),
    )
    return [Reply(text, buttons=buttons)]


@FLOW.step("when")
async def choose_when(ctx: Context, text: str = "", when: str = "") -> list[Reply]:
    """Dialog step: send now, or at a typed local time."""
    state = ctx.dialog.get_data()
    if when == "later":
        await ctx.dialog.update_data(awaiting_time=True)
        return [Reply(ASK_TIME)]
    if when == "now":
        return await _ask_confirm(ctx, None)
    if when == "change":
        return await _ask_correction(ctx)
    if not when and text and state.get("awaiting_time"):
        typed = parse_when(text, ctx.now)
        if typed is None or not typed.has_time:
            return [Reply(BAD_TIME)]
        if typed.moment <= ctx.now:
            return [Reply(PAST_TIME.format(time=show_when(typed.moment, ctx.now)))]
        return await _ask_confirm(ctx, typed.moment)
    return [Reply(USE_BUTTONS)]


async def _ask_confirm(ctx: Context, moment: datetime | None) -> list[Reply]:
    await ctx.dialog.set_state(confirm, send_at=moment.isoformat() if moment else None)
    when = f"于 {show_when(moment, ctx.now)} " if moment else "立即"
    buttons = (
        Button("确认发送", "notice.confirm", remind=False),
        Button(f"发送，{REMIND_HOURS} 小时后提醒未确认者", "notice.confirm", remind=True),
        Button("修改", "notice.confirm", change=True),
        Button("取消", "cancel"),
    )
    n = ctx.dialog.get_data()["n"]
    return [Reply(CONFIRM.format(when=when, n=n), buttons=buttons)]


@FLOW.step("confirm")
async def confirm(ctx: Context, remind: bool | None = None, change: bool = False) -> list[Reply]:
    """Dialog step: create the notice; it is sent now or by the sweep at its time (修改: back
    to correct the text or the audience first)."""
    if change:
        return await _ask_correction(ctx)
    if remind is None:
        return [Reply(USE_BUTTONS)]
    state = ctx.dialog.get_data()
    send_at = datetime.fromisoformat(state["send_at"]) if state.get("send_at") else None
    notice = await create_notice(
        session=ctx.session,
        author=ctx.me,
        text=state["text"],
        audience={"kind": state["kind"], "ids": state["ids"]},
        now=ctx.now,
        send_at=send_at,
        remind_after_hours=REMIND_HOURS if remind else None,
        card=card,
    )
    await ctx.dialog.clear()
    ctx.audit("notice", notice_id=notice.id, audience=notice.audience)
    if notice.state == NoticeState.SCHEDULED:
        return [Reply(SCHEDULED.format(id=notice.id, time=show_when(notice.send_at, ctx.now)))]
    figures = await notice_stats(session=ctx.session, notice_id=notice.id)
    return [Reply(SENT_NOW.format(id=notice.id, n=figures.recipients, u=figures.unreachable))]


async def show(ctx: Context, notice: str = "") -> list[Reply]:
    """通知 N: that notice in full; 通知: mine, unread first and marked, a 查看 button each
    (收到 is pressed on the full text); admins also see those they sent."""
    number = notice_number(notice, ctx.incoming.text)
    if number is not None:
        return await _detail(ctx, number)
    return await _listing(ctx, 0)


def notice_number(arg: str, text: str) -> int | None:
    """The notice number after the command or alias (通知 3), or in free text (通知#3, 3号通知)."""
    found = re.search(r"\d{1,6}", arg)
    if found:
        return int(found.group(0))
    typed = NUMBER_IN_TEXT.search(text)
    return int(typed.group(1) or typed.group(2)) if typed else None


async def page(ctx: Context, offset: int = 0) -> list[Reply]:
    """Button 上一页 / 下一页 of /notices."""
    return await _listing(ctx, offset)


async def view(ctx: Context, notice: int) -> list[Reply]:
    """Button 查看 #N: the notice in full."""
    return await _detail(ctx, notice)


async def _listing(ctx: Context, offset: int) -> list[Reply]:
    total, unread = await count_for(session=ctx.session, member=ctx.me)
    if total and offset >= total:
        offset = (total - 1) // paging.SIZE * paging.SIZE
    rows = await recent_for(
        session=ctx.session, member=ctx.me, limit=paging.SIZE, offset=max(offset, 0)
    )
    head = LIST_HEAD.format(total=total, unread=unread) + paging.where(offset, len(rows), total)
    lines = [head] if rows else [NO_NOTICES]
    buttons = []
    for item, acked_at in rows:
        mark = "✅已收到" if acked_at else "🔴未读"
        when = fmt_local(item.sent_at or item.send_at)
        lines.append(f"#{item.id} {when} {mark}\n  {_short(item.text)}")
        buttons.append(Button(f"查看 #{item.id}", "notices.view", notice=item.id))
    buttons += paging.buttons("notices.page", offset, total)
    if ctx.me.has_role(Role.ALLIANCE_ADMIN) and offset == 0:
        mine = await sent_by(session=ctx.session, member=ctx.me)
        lines += ["", "我发出的："] if mine else []
        for item in mine:
            if item.state == NoticeState.SCHEDULED:
                lines.append(f"#{item.id} 定于 {fmt_local(item.send_at)} 发送")
                buttons.append(Button(f"查看 #{item.id}", "notices.view", notice=item.id))
            elif item.state == NoticeState.CANCELLED:
                lines.append(f"#{item.id} 已取消，未发出")
            else:
                f = await notice_stats(session=ctx.session, notice_id=item.id)
                lines.append(f"#{item.id} 已确认 {f.acknowledged}/{f.delivered}（送达）")
    if rows:
        lines.append(LIST_TAIL)
    return [Reply("\n".join(lines), buttons=tuple(buttons))]


async def _detail(ctx: Context, notice_id: int) -> list[Reply]:
    """The full text, with 收到 for a recipient who has not acknowledged; for its author or
    an admin who follows it up, the figures or (scheduled) 修改 / 取消发送."""
    notice = await ctx.session.get(Notice, notice_id)
    if notice is None:
        return [Reply(ERRORS["not_found"].format(id=notice_id))]
    receipt = await receipt_of(session=ctx.session, notice_id=notice.id, member=ctx.me)
    try:
        followed = await get_notice_for(session=ctx.session, notice_id=notice.id, viewer=ctx.me)
    except NoticeError:
        followed = None
    if receipt is None and followed is None:
        return [Reply(ERRORS["not_recipient"].format(id=notice.id))]
    author = await _author(ctx, notice)
    when = fmt_local(notice.sent_at or notice.send_at)
    lines = [DETAIL.format(id=notice.id, author=author, when=when, text=notice.text)]
    buttons: list[Button] = []
    if receipt is not None:
        if receipt.acked_at is None:
            lines.append(NOT_ACKED)
            buttons.append(Button(ACK_LABEL, "notices.ack", notice=notice.id))
        else:
            lines.append(ACKED_AT.format(when=fmt_local(receipt.acked_at)))
    if followed is not None:
        lines.append(await _state_line(ctx, notice))
        if notice.state == NoticeState.SCHEDULED:
            buttons += [
                Button(label, f"notice.{name}", notice=notice.id)
                for name, label in CHANGE_BUTTONS.items()
            ]
    return [Reply("\n".join(lines), tuple(buttons))]


async def _state_line(ctx: Context, notice: Notice) -> str:
    if notice.state == NoticeState.CANCELLED:
        return STATE_CANCELLED
    if notice.state == NoticeState.SCHEDULED:
        members = await resolve_audience(
            session=ctx.session, audience=notice.audience, scope=Scope.from_stored(notice.scope)
        )
        return STATE_SCHEDULED.format(time=show_when(notice.send_at, ctx.now), n=len(members))
    f = await notice_stats(session=ctx.session, notice_id=notice.id)
    return STATE_SENT.format(
        delivered=f.delivered, recipients=f.recipients, acked=f.acknowledged, id=notice.id
    )


async def _author(ctx: Context, notice: Notice) -> str:
    if notice.author_id is None:
        return "红盟"
    author = await ctx.session.get(Member, notice.author_id)
    return author.name if author else "红盟"


def _short(text: str, n: int = 30) -> str:
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= n else first[:n] + "…"


async def ack(ctx: Context, notice: int) -> list[Reply]:
    """The 收到 button: acknowledge for whoever pressed it, if the notice was for them."""
    notice_id = notice
    try:
        fresh = await acknowledge(
            session=ctx.session, notice_id=notice_id, member=ctx.me, now=ctx.now
        )
    except NoticeError as error:
        return [Reply(ERRORS[error.reason].format(id=notice_id))]
    return [Reply((ACKED if fresh else ALREADY_ACKED).format(id=notice_id))]


async def ack_latest(ctx: Context, quiet: bool = False) -> list[Reply]:
    """Typed 收到: acknowledge the notice whose 收到 button this person was shown last (the one
    just opened), else the newest one not acknowledged yet."""
    rows = await recent_for(session=ctx.session, member=ctx.me)
    waiting = [notice for notice, acked_at in rows if acked_at is None]
    if not waiting:
        return [Reply("好的 👌" if quiet else NOTHING_TO_ACK)]
    shown = await _last_shown_ack(ctx)
    if quiet and shown is None:
        return [Reply("好的 👌")]  # 收到，谢谢 after something else is not about a notice
    notice = next((n for n in waiting if n.id == shown), waiting[0])
    await acknowledge(session=ctx.session, notice_id=notice.id, member=ctx.me, now=ctx.now)
    text = ACKED_WHICH.format(id=notice.id, text=_short(notice.text, 20))
    _, unread = await count_for(session=ctx.session, member=ctx.me)
    if unread:
        text += MORE_WAITING.format(n=unread)
    return [Reply(text)]


async def _last_shown_ack(ctx: Context) -> int | None:
    recent = await recent_buttons(
        session=ctx.session,
        platform=ctx.platform,
        user_key=ctx.user_key,
        since=ctx.now - timedelta(minutes=30),
    )
    return next(
        (int(s.press.values["notice"]) for s in recent if s.press.target == "notices.ack"), None
    )


async def stats(ctx: Context, notice_id: str = "") -> list[Reply]:
    """Delivered, failed, unreachable and acknowledged figures, and who has not acknowledged:
    those it never reached (to get bound) apart from those who did not answer (to chase).

    Without a number (通知统计, 上次那条通知谁没确认): the latest notice the sender sent."""
    typed = notice_id or ("" if ctx.incoming.text.startswith("/") else ctx.incoming.text)
    found = re.search(r"\d+", typed)
    if found is None:
        latest = await sent_by(session=ctx.session, member=ctx.me, limit=1)
        if not latest:
            return [Reply(ASK_ID)]
        found_id = latest[0].id
    else:
        found_id = int(found.group(0))
    raw = str(found_id)
    try:
        notice = await get_notice_for(session=ctx.session, notice_id=int(raw), viewer=ctx.me)
    except NoticeError as error:
        return [Reply(ERRORS[error.reason].format(id=raw))]
    if notice.state == NoticeState.SCHEDULED:
        return [Reply(f"通知 #{notice.id} 定于 {fmt_local(notice.send_at)} 发送，尚未发出。")]
    if notice.state == NoticeState.CANCELLED:
        return [Reply(f"通知 #{notice.id} 已取消，没有发出。")]
    f = await notice_stats(session=ctx.session, notice_id=notice.id)
    groups = await waiting(session=ctx.session, notice_id=notice.id)
    count = len(groups.unreached) + len(groups.pending) + len(groups.ignored)
    lines = [
        f"📊 通知 #{notice.id}（{fmt_local(notice.sent_at or notice.send_at)}）",
        f"收件人：{f.recipients} 人",
        f"已送达：{f.delivered}",
        f"发送失败：{f.failed}",
        f"无法送达：{f.unreachable}",
        *([f"待发送：{f.pending}"] if f.pending else []),
        f"已确认收到：{f.acknowledged}",
        f"未确认（{count} 人）：" + ("" if count else "无"),
    ]
    for label, people in (
        (WAITING_IGNORED, groups.ignored),
        (WAITING_PENDING, groups.pending),
        (WAITING_UNREACHED, groups.unreached),
    ):
        if people:
            lines.append(label.format(n=len(people), names=_names(people)))
    return [Reply("\n".join(lines))]


def _names(people: list[Member]) -> str:
    names = "、".join(m.name for m in people[:MAX_NAMES])
    return names + (f" 等 {len(people)} 人" if len(people) > MAX_NAMES else "")


def card(notice: Notice, author: str, reminder: bool) -> Reply:
    """What a recipient gets: the notice with its 收到 button (acked for whoever presses it)."""
    text = (REMINDER if reminder else CARD).format(
        id=notice.id, author=author or "红盟", text=notice.text
    )
    return Reply(text, buttons=(Button(ACK_LABEL, "notices.ack", notice=notice.id),))


async def sweep(*, session: AsyncSession, now: datetime, settings: Settings) -> None:
    """Send scheduled notices that are due, and the one reminder to non-acknowledgers."""
    await send_due(session=session, now=now, card=card)
    await remind_due(session=session, now=now, card=card)
