"""总览: the /stats figures for the viewer's scope, with charts drawn as SVG, and this month's
达标创星 stars (models/stars.py)."""

from __future__ import annotations

from collections import Counter

from starlette.requests import Request
from starlette.responses import Response

from bot.admin.auth import Need, Viewer
from bot.admin.render import render
from bot.admin.web import PageRoute
from bot.core.clock import to_local
from handlers.partnership_figures import figures as partnership_figures
from handlers.results_lines import overview as results_overview
from models.org import ALLIANCE_TYPE_ZH
from models.stars import monthly_scores
from models.stats import (
    activity_figures,
    alliance_matrix,
    mobile_figures,
    notice_figures,
    overdue_tickets,
    resource_figures,
)
from models.ticket_figures import ticket_figures
from models.volunteer import year_figures

STAR_ROWS = 10


def bars(values: dict[str, float | None], *, as_rate: bool) -> list[tuple[str, float, str]]:
    """(label, share of the longest bar 0..1, text) for an SVG bar chart."""
    top = max([v or 0 for v in values.values()] + [1e-9]) if not as_rate else 1.0
    shown = []
    for label, value in values.items():
        text = "—" if value is None else (f"{value:.0%}" if as_rate else f"{value:g}")
        shown.append((label, min(1.0, (value or 0) / top), text))
    return shown


async def page(request: Request, viewer: Viewer) -> Response:
    scope, session, now = viewer.scope, viewer.session, viewer.now
    matrix = [
        (ALLIANCE_TYPE_ZH[r.label] if r.label else "合计", r)
        for r in await alliance_matrix(session, scope)
        if r.alliances or r.label is None
    ]
    acts = await activity_figures(session, scope, until=now)
    mobile = await mobile_figures(session, scope, until=now)
    tickets = await ticket_figures(session, scope)
    late = {t.id for t, _ in await overdue_tickets(session, scope, now)}
    notices = await notice_figures(session, scope, until=now)
    resources = await resource_figures(session, scope, now)
    scores = await monthly_scores(session, scope, now)
    stars = Counter(s.stars for s in scores)
    counts = bars(
        {
            "活动": acts.held,
            "工单": tickets.total,
            "通知": notices.notices,
            "流动党员签到": mobile.checkins,
        },
        as_rate=False,
    )
    rates = bars(
        {
            "活动参与率": acts.rate,
            "通知确认率": notices.rate,
            "工单办结率": tickets.resolution_rate,
            "工单满意度": tickets.satisfaction,
        },
        as_rate=True,
    )
    return render(
        request,
        viewer,
        "overview.html",
        title="总览",
        where="全县" if scope.county else "本联盟",
        matrix=matrix,
        acts=acts,
        mobile=mobile,
        tickets=tickets,
        late=len(late),
        notices=notices,
        resources=resources,
        counts=counts,
        rates=rates,
        top=scores[:STAR_ROWS],
        stars=[(n, stars.get(n, 0)) for n in range(5, 0, -1)],
        star_bars=bars({"★" * n: stars.get(n, 0) for n in range(5, 0, -1)}, as_rate=False),
        results=await results_overview(session, scope, now),
        partnership=await partnership_figures(session, scope, now),
        service=await year_figures(session, scope=scope, year=to_local(now).year),
    )


PAGES = [PageRoute("/", page, Need.ADMIN)]
