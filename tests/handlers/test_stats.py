"""/stats on the demo county reproduces the report's table."""

from __future__ import annotations

from tests.fakes import Chat

COUNTY = [
    "📊 党建红盟矩阵（全县）",
    "产业链：联盟 3 个，成员党组织 16 个，党员 87 名，辐射单位 31 家",
    "行业：联盟 7 个，成员党组织 23 个，党员 142 名，辐射单位 240 家",
    "区域：联盟 4 个，成员党组织 24 个，党员 131 名，辐射单位 91 家",
    "合计：联盟 14 个，成员党组织 63 个，党员 360 名，辐射单位 362 家",
]


async def test_super_admin_sees_the_county_matrix(chat: Chat) -> None:
    [reply, chart] = await chat.replies("admin", "/stats")
    assert reply.text.splitlines()[:5] == COUNTY
    assert chart.text == "📈 数据图（全县）" and chart.image is not None


async def test_alliance_admin_sees_only_their_alliance(chat: Chat) -> None:
    [reply, chart] = await chat.say("alliance_admin", "统计")
    assert chart == "📈 数据图（本联盟）"
    lines = reply.splitlines()
    assert lines[0] == "📊 本联盟数据"
    assert lines[1] == "产业链：联盟 1 个，成员党组织 6 个，党员 30 名，辐射单位 11 家"


async def test_member_may_not_see_stats(chat: Chat) -> None:
    assert await chat.say("member", "/stats") == [
        "抱歉，“统计”只对联盟管理员开放。您可以用“品牌排行”：达标创星本月评分与星级。"
    ]
