"""Shared resource lists (伙伴/管家/千里马/蓝海): resources, their search index and match requests.

Search uses an inverted index (ResourceTerm) filled when a resource is added: jieba terms of
the title weigh more than those of tags, which weigh more than the description's. A query sums
the weights of its terms per resource, so no query scans every resource's text; the same SQL
runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    Text,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from bot import nlu
from models.base import Base, TimestampMixin
from models.member import Member, reachable_ids
from models.org import Alliance, Membership
from models.scope import Scope


class ResourceKind(enum.StrEnum):
    PARTNER = "伙伴"  # partner enterprises: supply, processing, logistics
    STEWARD = "管家"  # services: finance, tax, legal, HR, policy
    TALENT = "千里马"  # experts, skilled workers, positions
    MARKET = "蓝海"  # projects, orders, channels


KIND_HINTS = {
    ResourceKind.PARTNER: "合作企业：供应、加工、物流",
    ResourceKind.STEWARD: "服务：金融、税务、法律、人力、政策",
    ResourceKind.TALENT: "人才：专家、技工、岗位",
    ResourceKind.MARKET: "市场机会：项目、订单、渠道",
}


class MatchState(enum.StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    # Nobody at the provider uses the bot: the requester was given the phone to call.
    REFERRED = "referred"


OPEN_MATCH_STATES = (MatchState.REQUESTED, MatchState.ACCEPTED, MatchState.REFERRED)


TITLE_WEIGHT = 10
TAG_WEIGHT = 4
TEXT_WEIGHT = 1
MAX_TERM = 40
MAX_QUERY_TERMS = 12  # a pasted paragraph still makes one small index lookup
# Words that say which list or that a search is wanted, not what is searched for.
FILLER = frozenset(
    {"资源", "清单", "伙伴", "管家", "千里马", "蓝海", "对接", "企业", "单位", "公司", "找"}
)
KIND_WORDS = {k.value: k for k in ResourceKind} | {f"{k.value}清单": k for k in ResourceKind}


class Resource(TimestampMixin, Base):
    __tablename__ = "resource"
    # Both cover the search filters (list, validity, shared with all), so a search never reads
    # the wide rows: a list's count reads the first; a page of the newest walks the second
    # backwards, and a search's matches are checked against it.
    __table_args__ = (
        Index("ix_resource_kind_visible", "kind", "valid_until", "all_alliances"),
        Index("ix_resource_visible", "id", "kind", "valid_until", "all_alliances"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ResourceKind] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    provider: Mapped[str] = mapped_column(String(100))
    provider_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    contact_member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    contact: Mapped[str] = mapped_column(String(100), default="")
    tags: Mapped[str] = mapped_column(String(200), default="")
    all_alliances: Mapped[bool] = mapped_column(default=True)
    valid_until: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))

    alliances: Mapped[list[ResourceAlliance]] = relationship(
        back_populates="resource", cascade="all, delete-orphan"
    )
    contact_member: Mapped[Member | None] = relationship(foreign_keys=[contact_member_id])


class ResourceAlliance(Base):
    """A resource not visible to all alliances is visible to these."""

    __tablename__ = "resource_alliance"

    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True
    )
    alliance_id: Mapped[int] = mapped_column(
        ForeignKey("alliance.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    resource: Mapped[Resource] = relationship(back_populates="alliances")
    alliance: Mapped[Alliance] = relationship()


class ResourceTerm(Base):
    """The inverted index: one row per (term, resource), weighted by the fields it is in.

    The resource's kind, validity and sharing with all alliances are copied here (by
    add_resource and withdraw_resource), so a search within one list reads only its rows and
    checks what a member may see without reading one resource row per match.
    """

    __tablename__ = "resource_term"
    # Covering index: a search reads (term, kind → resource, weight, visibility) from it alone.
    __table_args__ = (
        Index(
            "ix_resource_term_search",
            "term", "kind", "resource_id", "weight", "all_alliances", "valid_until",
        ),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(MAX_TERM))
    kind: Mapped[ResourceKind] = mapped_column(String(10))
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), index=True
    )
    weight: Mapped[int]
    all_alliances: Mapped[bool] = mapped_column(default=True)
    valid_until: Mapped[datetime | None]


class ResourceWord(Base):
    """Every indexed term once, with how many resources use it: where suggestions come from."""

    __tablename__ = "resource_word"

    term: Mapped[str] = mapped_column(String(MAX_TERM), primary_key=True)
    uses: Mapped[int] = mapped_column(default=0)


class MatchRequest(TimestampMixin, Base):
    """资源对接: a member asks a resource's provider to get in touch."""

    __tablename__ = "match_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), index=True
    )
    requester_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    state: Mapped[MatchState] = mapped_column(String(10), default=MatchState.REQUESTED)
    requested_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]

    resource: Mapped[Resource] = relationship()
    requester: Mapped[Member] = relationship()


class ResourceError(Exception):
    """A rule about resources was broken; `reason` names which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- terms -------------------------------------------------------------------------------


def terms_of(text: str, skip: frozenset[str] = frozenset()) -> list[str]:
    """Search terms of a text: jieba keywords, plus the shorter words inside each."""
    out: list[str] = []
    for word in nlu.keywords(text):
        if word in skip:
            continue
        for term in (word, *nlu.segment(word)):
            term = term.strip().lower()[:MAX_TERM]
            if term and term not in out and term not in skip and (len(term) > 1 or term.isascii()):
                if re.search(r"\w", term):
                    out.append(term)
    return out


def index_terms(title: str, description: str, tags: str) -> dict[str, int]:
    """Each term with its weight: summed over the fields it appears in (once per field)."""
    weights: dict[str, int] = {}
    for text, weight in ((title, TITLE_WEIGHT), (tags, TAG_WEIGHT), (description, TEXT_WEIGHT)):
        for term in terms_of(text):
            weights[term] = weights.get(term, 0) + weight
    return weights


@dataclass(frozen=True)
class Query:
    """What a member searches for: a list (or all) and terms (none = browse)."""

    kind: ResourceKind | None
    terms: tuple[str, ...]


def parse_query(text: str, kind: str | None = None, keywords: Sequence[str] = ()) -> Query:
    """The list named by `kind` or in the text, and the search terms without filler words."""
    found = KIND_WORDS.get(kind or "")
    if found is None:
        found = next((k for word, k in KIND_WORDS.items() if word in text), None)
    terms: list[str] = []
    for source in [*keywords, text]:
        for term in terms_of(source, FILLER | set(KIND_WORDS)):
            if term not in terms:
                terms.append(term)
    return Query(found, tuple(terms[:MAX_QUERY_TERMS]))


# --- adding ------------------------------------------------------------------------------


async def add_resource(
    *,
    session: AsyncSession,
    kind: ResourceKind,
    title: str,
    provider: str,
    now: datetime,
    description: str = "",
    contact: str = "",
    tags: str = "",
    alliance_ids: Iterable[int] | None = None,
    valid_until: datetime | None = None,
    provider_unit_id: int | None = None,
    contact_member_id: int | None = None,
    created_by_id: int | None = None,
) -> Resource:
    """Add a resource and its index terms; alliance_ids None means visible to all."""
    ids = sorted(set(alliance_ids)) if alliance_ids is not None else None
    resource = Resource(
        kind=kind,
        title=title.strip(),
        description=description.strip(),
        provider=provider.strip(),
        provider_unit_id=provider_unit_id,
        contact_member_id=contact_member_id,
        contact=contact.strip(),
        tags=tags.strip(),
        all_alliances=ids is None,
        valid_until=valid_until,
        created_by_id=created_by_id,
        created_at=now,
        alliances=[ResourceAlliance(alliance_id=a) for a in ids or ()],
    )
    session.add(resource)
    await session.flush()
    weights = index_terms(resource.title, resource.description, tags)
    session.add_all(
        ResourceTerm(
            term=term,
            kind=kind,
            resource_id=resource.id,
            weight=weight,
            all_alliances=resource.all_alliances,
            valid_until=valid_until,
        )
        for term, weight in weights.items()
    )
    await _count_words(session, list(weights))
    return resource


async def _count_words(session: AsyncSession, terms: list[str]) -> None:
    if not terms:
        return
    known = set(
        await session.scalars(select(ResourceWord.term).where(ResourceWord.term.in_(terms)))
    )
    if known:
        await session.execute(
            update(ResourceWord)
            .where(ResourceWord.term.in_(sorted(known)))
            .values(uses=ResourceWord.uses + 1)
        )
    session.add_all(ResourceWord(term=t, uses=1) for t in terms if t not in known)
    await session.flush()


# --- searching ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    total: int
    items: list[Resource]


def _filters(
    kind: ResourceKind | None,
    scope: Scope,
    now: datetime,
    table: type[Resource] | type[ResourceTerm] = Resource,
) -> list:
    """Valid resources of the list (if any) that the scope (a member's visible_scope) sees,
    checked on Resource or on the copy of its columns in ResourceTerm."""
    resource_id = Resource.id if table is Resource else ResourceTerm.resource_id
    conditions: list = [or_(table.valid_until.is_(None), table.valid_until > now)]
    if kind is not None:
        conditions.append(table.kind == kind)
    if not scope.county:
        shared = select(ResourceAlliance.resource_id).where(
            scope.where(ResourceAlliance.alliance_id)
        )
        conditions.append(or_(table.all_alliances.is_(True), resource_id.in_(shared)))
    return conditions


async def search(
    *,
    session: AsyncSession,
    query: Query,
    scope: Scope,
    now: datetime,
    offset: int = 0,
    limit: int = 5,
) -> Page:
    """One page of visible, valid resources: best matches first, or newest first to browse."""
    if not query.terms:
        return await _browse(session, _filters(query.kind, scope, now), offset, limit)
    scored = (
        select(ResourceTerm.resource_id.label("rid"), func.sum(ResourceTerm.weight).label("s"))
        .where(
            ResourceTerm.term.in_(query.terms),
            *_filters(query.kind, scope, now, ResourceTerm),
        )
        .group_by(ResourceTerm.resource_id)
        .subquery()
    )
    stmt = select(scored.c.rid, func.count().over().label("total")).order_by(
        scored.c.s.desc(), scored.c.rid
    )
    # Every match is scored to rank them anyway, so one pass gives the page and, through the
    # window count, the number of all matches.
    rows = (await session.execute(stmt.offset(offset).limit(limit))).all()
    if not rows:
        # Past the last page the window count is lost with the rows: count them apart.
        count = select(func.count()).select_from(stmt.subquery())
        return Page((await session.scalar(count) or 0) if offset else 0, [])
    return Page(int(rows[0][1]), await _load(session, [row[0] for row in rows]))


async def _browse(session: AsyncSession, conditions: list, offset: int, limit: int) -> Page:
    """Newest first: the page reads only its own rows, and the total is counted apart.

    A window count here would make the database read and sort every visible resource for
    one page; newest first is index order, and the count reads one index."""
    stmt = select(Resource.id).where(*conditions).order_by(Resource.id.desc())
    ids = list(await session.scalars(stmt.offset(offset).limit(limit)))
    if not ids and not offset:
        return Page(0, [])
    total = await session.scalar(select(func.count()).select_from(Resource).where(*conditions))
    return Page(total or 0, await _load(session, ids))


async def _load(session: AsyncSession, ids: list[int]) -> list[Resource]:
    """The resources with these ids, in that order."""
    if not ids:
        return []
    loaded = await session.scalars(select(Resource).where(Resource.id.in_(ids)))
    by_id = {r.id: r for r in loaded}
    return [by_id[i] for i in ids]


async def count_by_kind(
    *, session: AsyncSession, terms: Sequence[str], scope: Scope, now: datetime
) -> dict[ResourceKind, int]:
    """How many visible resources of each list match the terms (all of them if none)."""
    if terms:
        stmt = select(ResourceTerm.kind, func.count(ResourceTerm.resource_id.distinct())).where(
            ResourceTerm.term.in_(terms), *_filters(None, scope, now, ResourceTerm)
        )
        rows = await session.execute(stmt.group_by(ResourceTerm.kind))
    else:
        stmt = select(Resource.kind, func.count()).where(*_filters(None, scope, now))
        rows = await session.execute(stmt.group_by(Resource.kind))
    return {ResourceKind(kind): n for kind, n in rows.all()}


async def nearest_terms(
    *, session: AsyncSession, terms: Sequence[str], limit: int = 5
) -> list[str]:
    """Known words sharing characters with the query's, most used first (for no result)."""
    chars = sorted({c for t in terms for c in t if not c.isascii()} | {t for t in terms if t})
    if not chars:
        return []
    stmt = (
        select(ResourceWord.term)
        .where(or_(*[ResourceWord.term.like(f"%{c}%") for c in chars[:8]]))
        .where(func.length(ResourceWord.term) > 1, ResourceWord.term.not_in(list(terms)))
        .order_by(ResourceWord.uses.desc(), ResourceWord.term)
        .limit(limit + len(FILLER))
    )
    found = await session.scalars(stmt)
    return [t for t in found if t not in FILLER][:limit]


# --- matchmaking -------------------------------------------------------------------------


async def get_resource(*, session: AsyncSession, resource_id: int) -> Resource | None:
    return await session.scalar(
        select(Resource)
        .where(Resource.id == resource_id)
        .options(selectinload(Resource.alliances), selectinload(Resource.contact_member))
    )


async def request_match(
    *,
    session: AsyncSession,
    resource: Resource,
    requester: Member,
    now: datetime,
) -> MatchRequest:
    """Record a match request; raises ResourceError: gone, own, already.

    When the resource's contact does not use the bot (no contact member, or not bound) the
    request is REFERRED at once: the requester calls the contact instead of waiting."""
    scope = requester.visible_scope()
    visible = resource.all_alliances or any(
        scope.covers(a.alliance_id) for a in resource.alliances
    )
    if not visible or (resource.valid_until is not None and resource.valid_until <= now):
        raise ResourceError("gone")
    if resource.contact_member_id == requester.id:
        raise ResourceError("own")
    open_one = await session.scalar(
        select(MatchRequest).where(
            MatchRequest.resource_id == resource.id,
            MatchRequest.requester_id == requester.id,
            MatchRequest.state.in_(OPEN_MATCH_STATES),
        )
    )
    if open_one is not None:
        raise ResourceError("referred" if open_one.state == MatchState.REFERRED else "already")
    online = resource.contact_member_id is not None and bool(
        await reachable_ids(session, [resource.contact_member_id])
    )
    match = MatchRequest(
        resource_id=resource.id,
        requester_id=requester.id,
        requested_at=now,
        created_at=now,
        state=MatchState.REQUESTED if online else MatchState.REFERRED,
        decided_at=None if online else now,
    )
    session.add(match)
    await session.flush()
    return match


async def get_match(*, session: AsyncSession, match_id: int) -> MatchRequest | None:
    return await session.scalar(
        select(MatchRequest)
        .where(MatchRequest.id == match_id)
        .options(
            selectinload(MatchRequest.resource),
            selectinload(MatchRequest.requester).selectinload(Member.home_unit),
            selectinload(MatchRequest.requester).selectinload(Member.department),
        )
    )


async def decide_match(
    *, session: AsyncSession, match: MatchRequest, member: Member, accept: bool, now: datetime
) -> MatchRequest:
    """The provider's contact accepts or declines; raises ResourceError: not_yours, decided."""
    if match.resource.contact_member_id != member.id:
        raise ResourceError("not_yours")
    if match.state != MatchState.REQUESTED:
        raise ResourceError("decided")
    match.state = MatchState.ACCEPTED if accept else MatchState.DECLINED
    match.decided_at = now
    await session.flush()
    return match


async def matches_of(
    *, session: AsyncSession, member: Member, limit: int = 200
) -> list[MatchRequest]:
    """Match requests a member made or received as a contact, those waiting for the member's
    answer first, then newest first."""
    stmt = (
        select(MatchRequest)
        .join(Resource)
        .where(
            or_(MatchRequest.requester_id == member.id, Resource.contact_member_id == member.id)
        )
        .options(
            selectinload(MatchRequest.resource),
            selectinload(MatchRequest.requester).selectinload(Member.home_unit),
            selectinload(MatchRequest.requester).selectinload(Member.department),
            selectinload(MatchRequest.resource).selectinload(Resource.contact_member),
        )
        .order_by(MatchRequest.id.desc())
        .limit(limit)
    )
    found = list(await session.scalars(stmt))
    waiting = [
        m
        for m in found
        if m.state == MatchState.REQUESTED and m.resource.contact_member_id == member.id
    ]
    return waiting + [m for m in found if m not in waiting]


@dataclass(frozen=True)
class MatchFigures:
    """Requested and accepted counts per list and per requester's alliance."""

    by_kind: dict[ResourceKind, tuple[int, int]]
    by_alliance: list[tuple[str, int, int]]


async def match_figures(*, session: AsyncSession, scope: Scope) -> MatchFigures:
    """Match counts, restricted to requesters of the alliances in scope."""
    accepted = func.sum(case((MatchRequest.state == MatchState.ACCEPTED, 1), else_=0))
    in_scope = select(Membership.unit_id).where(scope.where(Membership.alliance_id))
    kind_rows = await session.execute(
        select(Resource.kind, func.count(MatchRequest.id), accepted)
        .join(Resource, Resource.id == MatchRequest.resource_id)
        .join(Member, Member.id == MatchRequest.requester_id)
        .where(Member.home_unit_id.in_(in_scope))
        .group_by(Resource.kind)
    )
    by_kind = {ResourceKind(k): (int(n), int(a or 0)) for k, n, a in kind_rows.all()}
    alliance_rows = await session.execute(
        select(Alliance.name, func.count(MatchRequest.id), accepted)
        .select_from(MatchRequest)
        .join(Member, Member.id == MatchRequest.requester_id)
        .join(Membership, Membership.unit_id == Member.home_unit_id)
        .join(Alliance, Alliance.id == Membership.alliance_id)
        .where(scope.where(Alliance.id))
        .group_by(Alliance.id, Alliance.name)
        .order_by(Alliance.id)
    )
    by_alliance = [(name, int(n), int(a or 0)) for name, n, a in alliance_rows.all()]
    return MatchFigures(by_kind, by_alliance)


async def list_figures(
    session: AsyncSession, scope: Scope, now: datetime
) -> list[tuple[str, int, int]]:
    """Per list: valid resources visible to the scope, and matches its members requested."""
    counts = await count_by_kind(session=session, terms=(), scope=scope, now=now)
    matches = await match_figures(session=session, scope=scope)
    return [
        (f"{kind}清单", counts.get(kind, 0), matches.by_kind.get(kind, (0, 0))[0])
        for kind in ResourceKind
    ]


async def provided_by_units(
    session: AsyncSession, unit_ids: Collection[int], now: datetime
) -> dict[int, int]:
    """unit → how many valid resources it provides to the shared lists."""
    rows = await session.execute(
        select(Resource.provider_unit_id, func.count(Resource.id))
        .where(Resource.provider_unit_id.in_(list(unit_ids)), *_filters(None, Scope.COUNTY, now))
        .group_by(Resource.provider_unit_id)
    )
    return {int(unit): int(n) for unit, n in rows.all()}


async def withdraw_resource(*, session: AsyncSession, resource: Resource, now: datetime) -> None:
    """下架: the resource stops being listed now (its valid-until becomes now)."""
    if resource.valid_until is not None and resource.valid_until <= now:
        raise ResourceError("expired")
    resource.valid_until = now
    await session.execute(
        update(ResourceTerm).where(ResourceTerm.resource_id == resource.id).values(valid_until=now)
    )
    await session.flush()
