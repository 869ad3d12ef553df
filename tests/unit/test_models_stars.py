"""达标创星: two units of one alliance whose December stars differ for documented reasons."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.core.clock import FrozenClock, local_datetime
from models.activity import Activity
from models.checkin import CheckInMethod, check_in
from models.member import Identity, Member
from models.org import Membership
from models.rotation import get_plan
from models.scope import Scope
from models.stars import WEIGHTS, month_bounds, monthly_scores, stars_for
from models.ticket import file_ticket, transition
from models.volunteer import HoursKind, HoursState, ServiceActivity, ServiceHours
from tests.fakes import Chat


def test_star_thresholds() -> None:
    assert [stars_for(x) for x in (100, 85, 84.9, 70, 55, 40, 39.9, 0)] == [5, 5, 4, 4, 3, 2, 1, 1]


async def _console(session, key: str) -> Member:  # type: ignore[no-untyped-def]
    member = await session.scalar(
        select(Member)
        .join(Identity)
        .where(Identity.user_key == key, Identity.platform == "console")
    )
    await session.refresh(member, ["roles"])
    return member


async def test_host_unit_outscores_a_unit_that_stayed_away(chat: Chat, clock: FrozenClock) -> None:
    """A hosted on its turn and all its members came: 20 + 30; its two open tickets from the
    morning of 1 December are past due (0 of 15); no notices were sent in December (10).
    Both units provide two or more resources to the demo's shared lists (5 each), and neither
    owns a decision due in December (10 each, nothing to judge).
    B had no turn (10), none of its members came (0), its one ticket was resolved late (0),
    no notices (10). No volunteer service was held in December: 5 each (neutral).
    A: 80 → 4 stars; B: 40 → 2 stars."""
    start, end = month_bounds(clock.now())
    async with chat.app.sessionmaker() as session, session.begin():
        host = await _console(session, "host")
        officer = await _console(session, "officer_tax")
        a = host.home_unit_id
        alliances = set(
            (
                await session.execute(
                    select(Membership.alliance_id).where(Membership.unit_id == a)
                )
            ).scalars()
        )
        plan = await get_plan(session, min(alliances))
        assert plan is not None and plan.unit_ids[0] == a
        b = int(plan.unit_ids[1])
        acts = (
            await session.execute(
                select(Activity).where(
                    Activity.alliance_id.in_(alliances),
                    Activity.starts_at >= start,
                    Activity.starts_at < end,
                )
            )
        ).scalars()
        people = list(
            (
                await session.execute(
                    select(Member).where(Member.home_unit_id == a, Member.is_party_member)
                )
            ).scalars()
        )
        for activity in acts:
            for m in people:
                await check_in(
                    session=session,
                    activity=activity,
                    member=m,
                    method=CheckInMethod.HOST,
                    now=activity.starts_at + timedelta(minutes=5),
                )
        reporter = await session.scalar(select(Member).where(Member.home_unit_id == b))
        clock.set(local_datetime(2026, 12, 2, 10, 0))
        ticket, _ = await file_ticket(
            session=session,
            reporter=reporter,
            unit_id=b,
            text="厂区用电增容申请没有回音。",
            category="tax",
            now=clock.now(),
        )
        clock.set(local_datetime(2026, 12, 12, 10, 0))  # the 7-day deadline has passed
        for action, note in (("sign", ""), ("resolve", "已协调办理。")):
            await transition(
                session=session,
                ticket=ticket,
                action=action,
                actor=officer,
                now=clock.now(),
                note=note,
            )
        early = await monthly_scores(
            session, Scope.of(alliances), local_datetime(2026, 12, 3, 9, 0)
        )
        clock.set(local_datetime(2026, 12, 20, 10, 0))
        scores = {
            s.unit_id: s for s in await monthly_scores(session, Scope.of(alliances), clock.now())
        }
    sa, sb = scores[a], scores[b]
    # On 3 December A's tickets were still within their deadline: not judged yet.
    assert {s.unit_id: s.tickets for s in early}[a] == 15
    assert (sa.hosting, sa.participation, sa.tickets, sa.notices, sa.resources) == (
        20,
        30,
        0,
        10,
        5,
    )
    assert (sa.decisions, sa.service) == (10, 5)
    assert (sa.total, sa.stars) == (80, 4)
    assert (sb.hosting, sb.participation, sb.tickets, sb.notices, sb.resources) == (
        10,
        0,
        0,
        10,
        5,
    )
    assert (sb.decisions, sb.service) == (10, 5)
    assert (sb.total, sb.stars) == (40, 2)
    [ranking] = await chat.say("host", "品牌排行")
    lines = ranking.splitlines()
    assert lines[0] == "🏅 品牌排行 · 2026 年 12 月（本联盟）"
    assert lines[2] == "   轮办 20 · 参与 30 · 工单 0 · 通知 10 · 资源 5 · 决议 10 · 服务 5"
    assert lines[1].endswith("★★★★☆ 80 分") and "本单位：第 1 名" in lines
    assert any(line.endswith("★★☆☆☆ 40 分") for line in lines)
    [county] = await chat.say("admin", "/ranking")
    assert county.startswith("🏅 品牌排行 · 2026 年 12 月（全县）")


async def test_the_first_days_of_a_month_show_the_last_month(
    chat: Chat, clock: FrozenClock
) -> None:
    """On 1 December at 09:00 nothing of December has been held yet: November is ranked."""
    [early] = await chat.say("host", "品牌排行")
    assert early.splitlines()[:2] == [
        "🏅 品牌排行 · 2026 年 11 月（本联盟）",
        "本月还没有已举办的活动，先显示上月的排行。",
    ]
    clock.set(local_datetime(2026, 12, 1, 11, 30))  # the party day has ended
    [later] = await chat.say("host", "品牌排行")
    assert later.splitlines()[0] == "🏅 品牌排行 · 2026 年 12 月（本联盟）"
    assert "上月" not in later


async def test_a_turn_still_running_is_not_held_against_its_unit(
    chat: Chat, clock: FrozenClock
) -> None:
    """January is B's turn. On 10 January B has not hosted yet (A held an activity): B gets the
    neutral 15, not 0; judged after January ends, B's missed turn counts (0)."""
    async with chat.app.sessionmaker() as session, session.begin():
        host = await _console(session, "host")
        a = host.home_unit_id
        plan = await get_plan(session, min(await _alliances(session, a)))
        assert plan is not None
        b = int(plan.unit_ids[1])
        session.add(
            Activity(
                alliance_id=plan.alliance_id,
                host_unit_id=a,
                title="一月读书会",
                starts_at=local_datetime(2027, 1, 3, 9),
                ends_at=local_datetime(2027, 1, 3, 11),
            )
        )
        await session.flush()
        scope = Scope.of([plan.alliance_id])
        running = {
            s.unit_id: s for s in await monthly_scores(session, scope, local_datetime(2027, 1, 10))
        }
        judged = {
            s.unit_id: s
            for s in await monthly_scores(
                session, scope, local_datetime(2027, 2, 5), month=local_datetime(2027, 1, 10)
            )
        }
    full = WEIGHTS["hosting"]
    assert running[b].hosting == full / 2 and running[a].hosting == full
    assert judged[b].hosting == 0


async def _alliances(session, unit_id: int) -> set[int]:  # type: ignore[no-untyped-def]
    rows = await session.execute(
        select(Membership.alliance_id).where(Membership.unit_id == unit_id)
    )
    return set(rows.scalars())


async def test_volunteer_service_counts_against_a_third_of_the_party_members(
    chat: Chat, clock: FrozenClock
) -> None:
    """A December activity of the host's alliance made a service: a third of A's party members
    served (10 of 10); B's members did not (0); a unit of an alliance with no service held in
    December keeps the neutral 5."""
    start, _ = month_bounds(clock.now())
    clock.set(local_datetime(2026, 12, 20, 10, 0))
    async with chat.app.sessionmaker() as session, session.begin():
        host = await _console(session, "host")
        a = host.home_unit_id
        alliance = min(
            (
                await session.execute(
                    select(Membership.alliance_id).where(Membership.unit_id == a)
                )
            ).scalars()
        )
        plan = await get_plan(session, alliance)
        assert plan is not None
        b = int(plan.unit_ids[1])
        activity = await session.scalar(
            select(Activity)
            .where(
                Activity.alliance_id == alliance,
                Activity.starts_at >= start,
                Activity.ends_at <= clock.now(),
            )
            .order_by(Activity.starts_at)
            .limit(1)
        )
        assert activity is not None
        session.add(ServiceActivity(activity_id=activity.id))
        people = list(
            (
                await session.execute(
                    select(Member)
                    .where(Member.home_unit_id == a, Member.is_party_member)
                    .order_by(Member.id)
                )
            ).scalars()
        )
        served = -(-len(people) // 3)  # a third, rounded up
        for m in people[:served]:
            session.add(
                ServiceHours(
                    activity_id=activity.id,
                    member_id=m.id,
                    home_unit_id=a,
                    kind=HoursKind.SIGNED,
                    state=HoursState.COUNTED,
                    signed_in_at=activity.starts_at,
                    signed_out_at=activity.ends_at,
                    minutes=90,
                    created_at=activity.ends_at,
                )
            )
        await session.flush()
        scores = {s.unit_id: s for s in await monthly_scores(session, Scope.COUNTY, clock.now())}
        elsewhere = [
            s
            for s in scores.values()
            if alliance
            not in set(
                (
                    await session.execute(
                        select(Membership.alliance_id).where(Membership.unit_id == s.unit_id)
                    )
                ).scalars()
            )
        ]
    assert scores[a].service == WEIGHTS["service"] == 10
    assert scores[b].service == 0
    assert elsewhere and {s.service for s in elsewhere} == {5}
