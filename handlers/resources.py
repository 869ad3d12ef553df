"""Shared resource lists: search, browse, page, and 资源对接 (match requests) with providers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.core import Button, Reply
from bot.core.clock import fmt_local
from handlers import paging
from handlers.context import Context
from models.member import Member
from models.resource import (
    KIND_HINTS,
    KIND_WORDS,
    MAX_QUERY_TERMS,
    MatchState,
    Query,
    Resource,
    ResourceError,
    ResourceKind,
    count_by_kind,
    decide_match,
    get_match,
    get_resource,
    matches_of,
    nearest_terms,
    parse_query,
    request_match,
    search,
)
from models.scope import Scope

PAGE = 5
MENU = "📚 共享资源清单（您可见的有效资源）：\n{lines}\n发送“资源 关键词”搜索，例如：资源 冷链物流"
MENU_LINE = "· {kind}清单 {n} 条 — {hint}"
HEADER = "🔎 {what}：共 {total} 条，第 {first}–{last} 条"
ITEM = "{n}. 【{kind}】{title}\n   {provider}{until}\n   {description}"
UNTIL = " · 有效期至 {date}"
NOTHING = "没有找到{what}。"
NOTHING_AT_ALL = "{what}暂时还没有资源。"
TRY_WORDS = "试试这些词：{words}"
TRY_KINDS = "其他清单里有相关资源：{kinds}"
NO_WORDS = "没看懂要找什么，请换个说法，例如：资源 冷链物流。"
END = "（已经是最后一页）"
MATCH_BUTTON = "我要对接 {n}"
NEXT = "下一页"
PREVIOUS = "上一页"
SUGGESTED = "💡 共享资源清单里也许有能帮上忙的："
ASKED = "✅ 已向“{provider}”发出对接请求（{title}），对方回复后会通知您。"
ASKED_OFFLINE = (
    "✅ 已记录您对“{title}”的对接请求。“{provider}”的联系人暂未使用红盟助手，请直接联系：{contact}"
)
NO_PHONE = "（没有登记电话，请联系联盟管理员协助）"
TO_PROVIDER = (
    "🤝 资源对接请求：{name}（{unit}）想对接您在{kind}清单的“{title}”。\n"
    "联系电话：{phone}。请选择是否同意对接："
)
ACCEPT, DECLINE = "同意对接", "婉拒"
ACCEPTED_TO_REQUESTER = "🎉 “{provider}”已同意您对“{title}”的对接请求，请联系：{contact}"
DECLINED_TO_REQUESTER = "“{provider}”暂时无法对接“{title}”。可以看看其他资源：发送“{kind}清单”。"
ACCEPTED_TO_PROVIDER = "已同意对接，已通知 {name}（{unit}），对方电话：{phone}。"
DECLINED_TO_PROVIDER = "已婉拒，已告知 {name}。"
ERRORS = {
    "gone": "这条资源已过期或不再对您开放。",
    "own": "这是您自己负责的资源，无需对接。",
    "already": "您已对这条资源发出过对接请求，请等待对方回复（发送“我的对接”查看）。",
    "referred": "您已记录过这条资源的对接请求，对方暂未使用红盟助手，请直接联系：{contact}",
    "not_yours": "只有这条资源的联系人才能处理这个对接请求。",
    "decided": "这个对接请求已经处理过了（{state}）。",
    "missing": "没有找到这条资源或对接请求。",
}
STATE_ZH = {
    MatchState.REQUESTED: "待回复",
    MatchState.ACCEPTED: "已同意",
    MatchState.DECLINED: "已婉拒",
    MatchState.REFERRED: "已转线下联系",
}
MY_MATCHES = "🤝 我的对接（{total} 条）：{where}\n{lines}"
WAITING_FOR_ME = "\n有 {n} 条请求等您答复，点下面的按钮同意或婉拒。"
NO_MATCHES = "您还没有对接记录。发送“资源 关键词”找资源，点“我要对接”。"
MADE = "{n}. 我 → {title}（{provider}）：{state}"
MADE_REFERRED = "{n}. 我 → {title}（{provider}）：{state}，请直接联系 {contact}"
RECEIVED = "{n}. {name}（{unit}）→ {title}：{state}"
RECEIVED_WAITING = "{n}. {name}（{unit}，{phone}）→ {title}：待您回复"


async def run(
    ctx: Context, kind: str | None = None, keywords: list[str] | None = None, words: str = ""
) -> list[Reply]:
    """Search the lists with the words given, browse one list, or show the lists."""
    text = words or ctx.incoming.text
    if text.startswith("/"):
        text = words
    query = parse_query(text, kind, keywords or ())
    if query.kind is None and not query.terms:
        if text.strip() and not _named_a_list(text):
            return [Reply(NO_WORDS)]
        return [await _menu(ctx)]
    return await _page(ctx, query, 0)


def _named_a_list(text: str) -> bool:
    return any(word in text for word in ("资源", "清单", "共享"))


async def page(ctx: Context, kind: str = "", terms: str = "", offset: int = 0) -> list[Reply]:
    """Button: a page of a search or of one list."""
    return await _page(ctx, Query(KIND_WORDS.get(kind), tuple(terms.split())), offset)


async def ask_match(ctx: Context, resource: int) -> list[Reply]:
    """Button 我要对接 N: ask the resource's contact for a match."""
    return await _ask(ctx, resource)


async def decide(ctx: Context, match: int, accept: bool) -> list[Reply]:
    """Button: the contact accepts or declines a match request."""
    return await _decide(ctx, match, accept=accept)


async def _menu(ctx: Context) -> Reply:
    counts = await count_by_kind(
        session=ctx.session, terms=(), scope=ctx.me.visible_scope(), now=ctx.now
    )
    lines = [
        MENU_LINE.format(kind=k, n=counts.get(k, 0), hint=KIND_HINTS[k]) for k in ResourceKind
    ]
    buttons = tuple(Button(f"{k}清单", "resources.page", kind=str(k)) for k in ResourceKind)
    return Reply(MENU.format(lines="\n".join(lines)), buttons=buttons)


def _what(query: Query) -> str:
    where = f"{query.kind}清单" if query.kind else "资源清单"
    return f"{where}里与“{' '.join(query.terms)}”相关的资源" if query.terms else where


async def _page(ctx: Context, query: Query, offset: int) -> list[Reply]:
    scope = ctx.me.visible_scope()
    page = await search(
        session=ctx.session, query=query, scope=scope, now=ctx.now, offset=offset, limit=PAGE
    )
    if not page.items:
        return [await _nothing(ctx, query, scope, page.total)]
    lines = [
        HEADER.format(
            what=_what(query), total=page.total, first=offset + 1, last=offset + len(page.items)
        )
    ]
    lines += [_item(offset + i, r) for i, r in enumerate(page.items, 1)]
    buttons = [
        Button(MATCH_BUTTON.format(n=offset + i), "resources.match", resource=r.id)
        for i, r in enumerate(page.items, 1)
    ]
    if offset:
        buttons.append(_page_button(PREVIOUS, query.kind, query.terms, max(0, offset - PAGE)))
    if offset + PAGE < page.total:
        buttons.append(_page_button(NEXT, query.kind, query.terms, offset + PAGE))
    elif offset:
        lines.append(END)
    return [Reply("\n".join(lines), buttons=tuple(buttons))]


async def suggest(ctx: Context, text: str, extra_terms: Sequence[str] = ()) -> list[Reply]:
    """Up to three visible resources matching a text (shown when a problem is reported)."""
    parsed = parse_query(text)
    query = Query(None, tuple(dict.fromkeys([*parsed.terms, *extra_terms]))[:MAX_QUERY_TERMS])
    if not query.terms:
        return []
    scope = ctx.me.visible_scope()
    page = await search(session=ctx.session, query=query, scope=scope, now=ctx.now, limit=3)
    if not page.items:
        return []
    lines = [SUGGESTED] + [_item(i, r) for i, r in enumerate(page.items, 1)]
    buttons = tuple(
        Button(MATCH_BUTTON.format(n=i), "resources.match", resource=r.id)
        for i, r in enumerate(page.items, 1)
    )
    return [Reply("\n".join(lines), buttons=buttons)]


def _page_button(label: str, kind: str | None, terms: Sequence[str], offset: int = 0) -> Button:
    return Button(
        label, "resources.page", kind=kind or "", terms=" ".join(terms)[:400], offset=offset
    )


def _item(n: int, resource: Resource) -> str:
    until = ""
    if resource.valid_until is not None:
        # Stored as the moment validity ends: midnight after the last valid day.
        last_day = resource.valid_until - timedelta(seconds=1)
        until = UNTIL.format(date=fmt_local(last_day, "%Y-%m-%d"))
    description = resource.description[:40] + ("…" if len(resource.description) > 40 else "")
    return ITEM.format(
        n=n,
        kind=resource.kind,
        title=resource.title,
        provider=resource.provider,
        until=until,
        description=description or resource.tags,
    ).rstrip()


async def _nothing(ctx: Context, query: Query, scope: Scope, total: int) -> Reply:
    if total or not query.terms:
        return Reply(END if total else NOTHING_AT_ALL.format(what=_what(query)))
    lines = [NOTHING.format(what=_what(query))]
    counts = await count_by_kind(session=ctx.session, terms=query.terms, scope=scope, now=ctx.now)
    others = [k for k in ResourceKind if counts.get(k) and k != query.kind]
    buttons = [_page_button(f"{k}清单 {counts[k]} 条", k, query.terms) for k in others]
    if others:
        lines.append(TRY_KINDS.format(kinds="、".join(f"{k}清单 {counts[k]} 条" for k in others)))
    else:
        near = await nearest_terms(session=ctx.session, terms=query.terms)
        if near:
            lines.append(TRY_WORDS.format(words="、".join(near)))
            buttons += [_page_button(w, query.kind, [w]) for w in near]
    return Reply("\n".join(lines), buttons=tuple(buttons))


def _unit(member: Member) -> str:
    if member.home_unit is not None:
        return member.home_unit.name
    return member.department.name if member.department else "未登记单位"


async def _ask(ctx: Context, resource_id: int) -> list[Reply]:
    resource = await get_resource(session=ctx.session, resource_id=resource_id)
    if resource is None:
        return [Reply(ERRORS["missing"])]
    try:
        match = await request_match(
            session=ctx.session, resource=resource, requester=ctx.me, now=ctx.now
        )
    except ResourceError as error:
        return [Reply(ERRORS[error.reason].format(contact=contact_of(resource)))]
    ctx.audit("resource_match", resource_id=resource.id, match_id=match.id)
    if match.state == MatchState.REFERRED or resource.contact_member_id is None:
        offline = ASKED_OFFLINE.format(
            title=resource.title, provider=resource.provider, contact=contact_of(resource)
        )
        return [Reply(offline)]
    text = TO_PROVIDER.format(
        name=ctx.me.name,
        unit=_unit(ctx.me),
        kind=resource.kind,
        title=resource.title,
        phone=ctx.me.phone or "未登记",
    )
    buttons = (
        Button(ACCEPT, "resources.decide", match=match.id, accept=True),
        Button(DECLINE, "resources.decide", match=match.id, accept=False),
    )
    await ctx.notify(
        resource.contact_member_id,
        Reply(text, buttons=buttons),
        kind="resource_match",
        ref_id=match.id,
    )
    return [Reply(ASKED.format(provider=resource.provider, title=resource.title))]


async def _decide(ctx: Context, match_id: int, accept: bool) -> list[Reply]:
    match = await get_match(session=ctx.session, match_id=match_id)
    if match is None:
        return [Reply(ERRORS["missing"])]
    try:
        await decide_match(
            session=ctx.session, match=match, member=ctx.me, accept=accept, now=ctx.now
        )
    except ResourceError as error:
        return [Reply(ERRORS[error.reason].format(state=STATE_ZH[match.state]))]
    resource, requester = match.resource, match.requester
    names = {"provider": resource.provider, "title": resource.title, "kind": resource.kind}
    contact = resource.contact or f"{ctx.me.name} {ctx.me.phone}".strip()
    note = ACCEPTED_TO_REQUESTER if accept else DECLINED_TO_REQUESTER
    await ctx.notify(
        requester.id,
        Reply(note.format(contact=contact, **names)),
        kind="resource_match",
        ref_id=match.id,
    )
    ctx.audit("resource_match_decided", match_id=match.id, state=str(match.state))
    who = {"name": requester.name, "unit": _unit(requester), "phone": requester.phone or "未登记"}
    return [Reply((ACCEPTED_TO_PROVIDER if accept else DECLINED_TO_PROVIDER).format(**who))]


def contact_of(resource: Resource) -> str:
    """Who to call at the provider: the listed contact, else the contact member's name and
    phone; said plainly when there is no phone."""
    if resource.contact:
        return resource.contact
    person = resource.contact_member
    if person is not None and person.phone:
        return f"{person.name} {person.phone}"
    return resource.provider + NO_PHONE


async def mine(ctx: Context) -> list[Reply]:
    """Match requests the sender made or received, with their state; those waiting for the
    sender's answer first, with 同意 / 婉拒."""
    return await _mine(ctx, 0)


async def mine_page(ctx: Context, offset: int = 0) -> list[Reply]:
    """Button 上一页 / 下一页 of 我的对接."""
    return await _mine(ctx, offset)


async def _mine(ctx: Context, offset: int) -> list[Reply]:
    matches = await matches_of(session=ctx.session, member=ctx.me)
    if not matches:
        return [Reply(NO_MATCHES)]
    shown, offset = paging.window(matches, offset)
    lines, buttons = [], []
    for n, m in enumerate(shown, offset + 1):
        state = STATE_ZH[m.state]
        names = {"n": n, "title": m.resource.title, "state": state}
        if m.requester_id == ctx.me.id:
            template = MADE_REFERRED if m.state == MatchState.REFERRED else MADE
            lines.append(
                template.format(
                    **names, provider=m.resource.provider, contact=contact_of(m.resource)
                )
            )
            continue
        who = {"name": m.requester.name, "unit": _unit(m.requester)}
        if m.state == MatchState.REQUESTED:
            lines.append(
                RECEIVED_WAITING.format(**names, **who, phone=m.requester.phone or "未登记")
            )
            buttons += [
                Button(f"同意 {n}", "resources.decide", match=m.id, accept=True),
                Button(f"婉拒 {n}", "resources.decide", match=m.id, accept=False),
            ]
        else:
            lines.append(RECEIVED.format(**names, **who))
    text = MY_MATCHES.format(
        total=len(matches),
        where=paging.where(offset, len(shown), len(matches)),
        lines="\n".join(lines),
    )
    if buttons:
        text += WAITING_FOR_ME.format(n=len(buttons) // 2)
    buttons += paging.buttons("mymatches.page", offset, len(matches))
    return [Reply(text, tuple(buttons))]
