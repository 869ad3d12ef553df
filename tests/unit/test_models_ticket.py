"""The ticket state table: every legal and illegal transition, numbers, deadlines, figures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.core.clock import add_working_days, local_datetime
from models.member import Identity, Member
from models.scope import Scope
from models.ticket import (
    ACTIONS,
    IllegalTransition,
    NotPermitted,
    Rating,
    Ticket,
    TicketError,
    TicketEvent,
    TicketState,
    department_by_code,
    file_ticket,
    transition,
)
from models.ticket_figures import ticket_figures
from tests.conftest import START

ACTOR_ACCOUNT = {"officer": "officer_tax", "admin": "alliance_admin", "reporter": "member"}
LEGAL = [
    (action, before, after)
    for action, rule in ACTIONS.items()
    for before, after in rule.moves.items()
]
ILLEGAL = [
    (action, state)
    for action, rule in ACTIONS.items()
    if rule.moves
    for state in TicketState
    if state not in rule.moves
]


@pytest.fixture
async def session(demo_app: App) -> AsyncIterator[AsyncSession]:
    async with demo_app.sessionmaker() as session, session.begin():
        yield session


async def _account(session: AsyncSession, key: str) -> Member:
    stmt = select(Member).join(Identity).where(Identity.user_key == key)
    member = await session.scalar(stmt)
    assert member is not None
    return member


async def _ticket(session: AsyncSession, category: str = "tax", hours_ago: float = 0) -> Ticket:
    member = await _account(session, "member")
    ticket, _ = await file_ticket(
        session=session,
        reporter=member,
        unit_id=member.home_unit_id,
        text="增值税发票开不出来",
        category=category,
        now=START - timedelta(hours=hours_ago),
    )
    return ticket


async def _options(session: AsyncSession, action: str) -> dict[str, object]:
    options: dict[str, object] = {"note": "说明"}
    if action == "route":
        options["department"] = await department_by_code(session, "tax")
    if action == "rate":
        options["rating"] = Rating.SATISFIED
    if action == "reopen":
        options["rating"] = Rating.UNSATISFIED
    if action == "merge":
        options["target"] = await _ticket(session, hours_ago=5)
    return options


async def _events(session: AsyncSession, ticket: Ticket) -> int:
    stmt = select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
    return int(await session.scalar(stmt) or 0)


@pytest.mark.parametrize(("action", "before", "after"), LEGAL, ids=lambda v: str(v))
async def test_every_legal_transition_moves_and_is_recorded(
    session: AsyncSession, action: str, before: TicketState, after: TicketState
) -> None:
    options = await _options(session, action)
    ticket = await _ticket(session)
    ticket.state = before
    account = ACTOR_ACCOUNT.get(ACTIONS[action].actor)
    actor = await _account(session, account) if account else None
    count = await _events(session, ticket)
    event = await transition(
        session=session, ticket=ticket, action=action, actor=actor, now=START, **options
    )  # type: ignore[arg-type]
    assert ticket.state == after
    assert (event.action, event.from_state, event.to_state) == (action, before, after)
    assert event.actor_id == (actor.id if actor else None)
    assert await _events(session, ticket) == count + 1


@pytest.mark.parametrize("action", [a for a, rule in ACTIONS.items() if rule.moves])
async def test_every_illegal_transition_is_refused_and_changes_nothing(
    session: AsyncSession, action: str
) -> None:
    options = await _options(session, action)
    ticket = await _ticket(session)
    account = ACTOR_ACCOUNT.get(ACTIONS[action].actor)
    actor = await _account(session, account) if account else None
    count = await _events(session, ticket)
    illegal = [state for a, state in ILLEGAL if a == action]
    assert illegal
    for state in illegal:
        ticket.state = state
        with pytest.raises(IllegalTransition):
            await transition(
                session=session, ticket=ticket, action=action, actor=actor, now=START, **options
            )  # type: ignore[arg-type]
        assert ticket.state == state
    assert await _events(session, ticket) == count


@pytest.mark.parametrize(
    ("action", "account"),
    [
        ("sign", "member"),
        ("sign", "alliance_admin"),
        ("resolve", "host"),
        ("route", "officer_tax"),
        ("reject", "member"),
        ("rate", "officer_tax"),
        ("rate", "host"),
    ],
)
async def test_the_wrong_actor_is_refused(
    session: AsyncSession, action: str, account: str
) -> None:
    ticket = await _ticket(session)
    ticket.state = next(iter(ACTIONS[action].moves))
    with pytest.raises(NotPermitted):
        await transition(
            session=session,
            ticket=ticket,
            action=action,
            actor=await _account(session, account),
            now=START,
            **await _options(session, action),  # type: ignore[arg-type]
        )


async def test_officer_of_another_department_may_not_sign(session: AsyncSession) -> None:
    ticket = await _ticket(session, category="finance")
    with pytest.raises(NotPermitted):
        await transition(
            session=session,
            ticket=ticket,
            action="sign",
            actor=await _account(session, "officer_tax"),
            now=START,
        )


async def test_notes_are_required_where_the_table_says_so(session: AsyncSession) -> None:
    ticket = await _ticket(session)
    officer = await _account(session, "officer_tax")
    await transition(session=session, ticket=ticket, action="sign", actor=officer, now=START)
    with pytest.raises(TicketError) as error:
        await transition(
            session=session, ticket=ticket, action="resolve", actor=officer, now=START, note=" "
        )
    assert error.value.reason == "note_required"
    assert ticket.state == TicketState.SIGNED


async def test_numbers_count_per_year_and_tax_is_dispatched_at_once(
    session: AsyncSession,
) -> None:
    first = await _ticket(session)
    second = await _ticket(session, category="other")
    assert first.number == "WT-2026-0005"  # the demo filed four
    assert second.number == "WT-2026-0006"
    assert first.state == TicketState.DISPATCHED and first.department is not None
    assert first.department.code == "tax" and first.committee == "红盟服务"
    assert second.state == TicketState.SUBMITTED and second.department_id is None
    member = await _account(session, "member")
    new_year, _ = await file_ticket(
        session=session,
        reporter=member,
        unit_id=None,
        text="新年第一件",
        category="finance",
        now=local_datetime(2027, 1, 1, 9),
    )
    assert new_year.number == "WT-2027-0001" and new_year.committee == "红盟金融"


async def test_merge_grows_the_earlier_tickets_reporters(session: AsyncSession) -> None:
    earlier = await _ticket(session, hours_ago=3)
    host = await _account(session, "host")
    later, _ = await file_ticket(
        session=session,
        reporter=host,
        unit_id=host.home_unit_id,
        text="发票开不出来",
        category="tax",
        now=START,
    )
    admin = await _account(session, "alliance_admin")
    with pytest.raises(TicketError):
        await transition(
            session=session,
            ticket=earlier,
            action="merge",
            actor=admin,
            now=START,
            note="同一问题",
            target=later,
        )
    await transition(
        session=session,
        ticket=later,
        action="merge",
        actor=admin,
        now=START,
        note="同一问题",
        target=earlier,
    )
    assert later.state == TicketState.MERGED and later.merged_into_id == earlier.id
    assert set(earlier.reporter_member_ids()) == {earlier.reporter_id, host.id}


def test_working_days_skip_the_weekend() -> None:
    friday = local_datetime(2026, 12, 4, 16, 30)
    assert add_working_days(friday, 1) == local_datetime(2026, 12, 7, 16, 30)
    saturday = local_datetime(2026, 12, 5, 10)
    assert add_working_days(saturday, 1) == local_datetime(2026, 12, 7, 10)
    tuesday = local_datetime(2026, 12, 1, 9)
    assert add_working_days(tuesday, 1) == local_datetime(2026, 12, 2, 9)
    assert add_working_days(tuesday, 4) == local_datetime(2026, 12, 7, 9)


async def test_figures_count_states_and_speed(session: AsyncSession) -> None:
    officer = await _account(session, "officer_tax")
    member = await _account(session, "member")
    ticket = await _ticket(session)
    later = START + timedelta(hours=3)
    await transition(session=session, ticket=ticket, action="sign", actor=officer, now=later)
    await transition(
        session=session,
        ticket=ticket,
        action="resolve",
        actor=officer,
        now=START + timedelta(hours=10),
        note="已解决",
    )
    await transition(
        session=session,
        ticket=ticket,
        action="rate",
        actor=member,
        now=START + timedelta(hours=11),
        rating=Rating.BASIC,
    )
    figures = await ticket_figures(session, Scope.of({ticket.alliance_id or 0}))
    # With the demo: finance (dispatched), tax (in progress), tax (closed), other (submitted).
    assert figures.total == 5
    assert figures.by_state[TicketState.CLOSED] == 2
    assert figures.by_category["tax"] == 3
    assert figures.by_department["县税务局"] == 3
    assert figures.resolution_rate == pytest.approx(2 / 5)
    assert figures.median_sign_hours == pytest.approx(2.0)  # demo: 2 h, 2 h; this: 3 h
    assert figures.median_resolve_hours == pytest.approx(7.0)  # demo: 4 h; this: 10 h
    assert figures.ratings == {Rating.SATISFIED: 1, Rating.BASIC: 1}
    assert figures.satisfaction == 1.0
    assert (await ticket_figures(session, Scope.of({999}))).total == 0


async def test_a_number_taken_meanwhile_is_skipped(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    import models.ticket

    real = models.ticket._next_seq
    calls: list[int] = []

    async def stale_then_real(session: AsyncSession, year: int) -> int:
        calls.append(year)
        return 4 if len(calls) == 1 else await real(session, year)  # 0004 is the demo's

    monkeypatch.setattr(models.ticket, "_next_seq", stale_then_real)
    ticket = await _ticket(session)
    assert ticket.number == "WT-2026-0005" and len(calls) == 2
    assert [r.member_id for r in ticket.reporters] == [ticket.reporter_id]
