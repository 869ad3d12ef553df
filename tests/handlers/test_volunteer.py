"""志愿服务 transcripts over the demo county: a service of the host's alliance on 12月01日
10:00-12:00 (2 hours planned) of the team 冷链先锋志愿服务队 led by the host. Sign-in with the
check-in code, 签退 with the same code; a stay below 60 % does not count; no sign-out flags the
leader; 补录 capped at the plan, approved by another admin (never by the one who added it) or
declined with a reason; /myhours with the star level; the certificate as a .docx."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from docx import Document
from sqlalchemy import select

from bot.app import build_app
from bot.core import Attachment
from bot.core.clock import FrozenClock
from bot.scheduler import run_all
from handlers import SWEEPS
from models.activity import Activity
from models.checkin import CheckIn
from models.files import store_upload
from models.member import Identity, Member
from models.volunteer import (
    HoursKind,
    HoursState,
    ServiceActivity,
    ServiceHours,
    TeamMember,
    VolunteerTeam,
    star_of,
)
from settings import Settings
from tests.conftest import START
from tests.fakes import Chat, RecordingTransport
from tests.unit.test_files import photo

SERVICE = "志愿服务：冷链企业安全宣传"
TEAM = "冷链先锋志愿服务队"


async def member_of(chat: Chat, user: str) -> Member:
    async with chat.app.sessionmaker() as session:
        found = await session.scalar(
            select(Member).join(Identity).where(Identity.user_key == user)
        )
    assert found is not None
    return found


@pytest.fixture
async def service(chat: Chat) -> Activity:
    """The host's team and a 2-hour service of the host's alliance starting at 10:00."""
    host = await member_of(chat, "host")
    async with chat.app.sessionmaker() as session, session.begin():
        party_day = await session.scalar(select(Activity).order_by(Activity.id).limit(1))
        assert party_day is not None
        team = VolunteerTeam(
            alliance_id=party_day.alliance_id, name=TEAM, leader_id=host.id, created_at=START
        )
        session.add(team)
        await session.flush()
        session.add(TeamMember(team_id=team.id, member_id=host.id, joined_at=START))
        activity = Activity(
            alliance_id=party_day.alliance_id,
            host_unit_id=host.home_unit_id,
            title=SERVICE,
            place="冷链物流园",
            starts_at=START + timedelta(hours=1),
            ends_at=START + timedelta(hours=3),
        )
        session.add(activity)
        await session.flush()
        session.add(ServiceActivity(activity_id=activity.id, team_id=team.id))
    return activity


async def code_of(chat: Chat, title: str) -> str:
    for text in await chat.say("host", "签到码"):
        if f"《{title}》签到码" in text or f"《{title}》签退码" in text:
            found = re.search(r"码：(\d{6})", text)
            assert found
            return found.group(1)
    raise AssertionError(f"no code for {title}")


async def hours_rows(chat: Chat) -> list[ServiceHours]:
    async with chat.app.sessionmaker() as session:
        return list(
            (await session.execute(select(ServiceHours).order_by(ServiceHours.id))).scalars()
        )


async def sweep(settings: Settings, clock: FrozenClock) -> RecordingTransport:
    transport = RecordingTransport()
    app = build_app(settings, {"console": transport}, clock)
    try:
        chosen = [s for s in SWEEPS if s.id == "service_signouts"]
        await run_all(chosen, app.sessionmaker, clock, settings)
        await app.sender.drain()
    finally:
        await app.close()
    return transport


async def test_signed_in_and_out_counts_and_a_short_stay_does_not(
    chat: Chat, clock: FrozenClock, service: Activity
) -> None:
    clock.advance(minutes=60)  # 10:00
    code = await code_of(chat, SERVICE)
    assert (await chat.say("member", f"签到 {code}"))[0].startswith(f"✅ 签到成功：《{SERVICE}》")
    [signed] = await chat.say("mobile", f"签到 {code}")
    assert signed.startswith(f"✅ 签到成功：《{SERVICE}》")  # mobile members too
    clock.advance(minutes=30)  # 10:30: the mobile member leaves early
    code = await code_of(chat, SERVICE)
    assert await chat.say("mobile", f"签退 {code}") == [
        f"《{SERVICE}》12:00 结束。现在签退，服务 30 分钟，不足计划时长的 60%（需 1.2 小时），"
        "本次不计时长，签退后不能重签。确定现在签退吗？"
    ]
    # 确认签退 typed: the button of the warning, not the leader's 确认签退 feature.
    assert await chat.say("mobile", "确认签退") == [
        f"已签退《{SERVICE}》，但服务 30 分钟，不足计划时长的 60%（需 1.2 小时），本次不计时长。"
        "如有特殊情况，请联系联盟管理员补录。"
    ]
    clock.advance(minutes=80)  # 11:50
    assert await chat.say("member", "签退") == [
        "请发送主持人出示的 6 位签到码完成签退（发送“取消”退出）。"
    ]
    assert await chat.say("member", "123") == [
        "签退码就是本场的 6 位签到码，请核对后重新发送。（发送“取消”退出）"
    ]
    code = await code_of(chat, SERVICE)
    assert await chat.say("member", code) == [
        f"✅ 签退成功：《{SERVICE}》\n服务 1.8 小时，计入志愿时长 1.8 小时。"
    ]
    assert await chat.say("member", f"签退 {code}") == [
        f"您已于 12月01日 11:50 签退过《{SERVICE}》，无需重复签退。"
    ]
    rows = await hours_rows(chat)
    assert [(r.state, r.minutes) for r in rows] == [
        (HoursState.TOO_SHORT, 30),
        (HoursState.COUNTED, 110),
    ]
    [mine] = await chat.say("member", "我的志愿时长")
    assert mine.splitlines()[:3] == [
        "我的志愿服务时长",
        "累计 1.8 小时 · 今年 1.8 小时",
        "星级：尚未评星（再服务 98.2 小时可达一星志愿者）",
    ]
    assert f"《{SERVICE}》1.8 小时 ✅" in mine
    [theirs] = await chat.say("mobile", "志愿时长")
    assert "服务 30 分钟，不足规定时长，不计" in theirs


async def test_signing_out_without_signing_in_is_refused(
    chat: Chat, clock: FrozenClock, service: Activity
) -> None:
    clock.advance(minutes=70)
    code = await code_of(chat, SERVICE)
    assert await chat.say("member", f"签退{code}") == [
        f"您没有签到《{SERVICE}》，不能签退。签到后才能计入志愿时长。"
    ]
    assert await hours_rows(chat) == []


async def test_no_sign_out_means_no_hours_and_the_leader_is_told_once(
    chat: Chat, clock: FrozenClock, service: Activity, demo_settings: Settings
) -> None:
    clock.advance(minutes=60)
    code = await code_of(chat, SERVICE)
    await chat.say("member", f"签到 {code}")
    clock.advance(hours=3)  # 13:00: the window (until 13:00) has closed
    first = await sweep(demo_settings, clock)
    member = await member_of(chat, "member")
    assert first.texts("host") == [
        f"《{SERVICE}》结束后有 1 人未签退，本次不计时长：{member.name}。"
        "如确实参加，请联系联盟管理员补录。"
    ]
    assert first.texts("member") == [
        f"您参加的《{SERVICE}》没有签退，本次不计志愿时长。如确实参加，请联系联盟管理员补录。"
    ]
    clock.advance(minutes=15)
    again = await sweep(demo_settings, clock)
    assert again.sent == {}
    [row] = await hours_rows(chat)
    assert (row.state, row.minutes, row.kind) == (HoursState.NO_SIGNOUT, 0, HoursKind.SIGNED)


async def test_host_confirms_a_sign_out_by_name(
    chat: Chat, clock: FrozenClock, service: Activity
) -> None:
    clock.advance(minutes=60)
    code = await code_of(chat, SERVICE)
    await chat.say("member", f"签到 {code}")
    member = await member_of(chat, "member")
    clock.advance(minutes=30)  # 10:30: too early to count, so the host is asked first
    assert await chat.say("host", f"确认签退 {member.name}") == [
        f"《{SERVICE}》12:00 结束。现在为 {member.name} 签退，服务不足计划时长的 60%，"
        "本次不计时长，签退后不能重签。确定吗？"
    ]
    await chat.say("host", "取消")
    assert await hours_rows(chat) == []
    clock.advance(minutes=90)
    assert await chat.say("member", f"确认签退 {member.name}") == [
        "您现在没有可以确认签退的志愿服务。"
    ]
    assert await chat.say("host", f"确认签退 {member.name}") == [
        f"已为 {member.name} 确认签退《{SERVICE}》：计入 2 小时。"
    ]
    assert chat.received("member")[-1] == f"服务队长已为您确认签退《{SERVICE}》：计入 2 小时。"


def evidence(chat: Chat) -> Attachment:
    return store_upload(
        data=photo(), name="签到表.jpg", sent_as="photo", settings=chat.app.settings
    )


async def add_hours(chat: Chat, name: str, hours: str, reason: str) -> list[str]:
    """alliance_admin 补录 through the dialog, up to the preview."""
    [pick] = await chat.say("alliance_admin", "补录")
    assert pick == "为哪场志愿服务补录时长？"
    [ask] = await chat.press("alliance_admin", f"{SERVICE}（12月01日（周二））")
    assert ask.endswith("请发送要补录的党员姓名。")
    await chat.say("alliance_admin", name)
    await chat.say("alliance_admin", hours)
    assert await chat.say("alliance_admin", reason) == [
        "请发送一张照片或一个文件作为凭证（现场照片、签到表等）。"
    ]
    event = chat.event("alliance_admin", attachments=(evidence(chat),))
    return [r.text for r in await chat.send(event)]


async def test_hours_added_by_hand_are_capped_approved_by_another_admin_and_counted(
    chat: Chat, clock: FrozenClock, service: Activity
) -> None:
    clock.advance(hours=4)  # 13:00, the service has ended
    member = await member_of(chat, "member")
    assert await chat.say("alliance_admin", "补录时长") == ["为哪场志愿服务补录时长？"]
    await chat.press("alliance_admin", f"{SERVICE}（12月01日（周二））")
    assert await chat.say("alliance_admin", member.name) == [
        f"为 {member.name} 补录多少小时？（最多 2 小时，即活动计划时长）"
    ]
    assert await chat.say("alliance_admin", "3小时") == [
        "补录时长不能超过活动计划时长（2 小时）。（发送“取消”退出）"
    ]
    await chat.say("alliance_admin", "取消")
    [preview] = await add_hours(chat, member.name, "1.5", "手机没电未能签退，队长可证明")
    assert preview.startswith(f"请确认补录：\n党员：{member.name}\n服务：《{SERVICE}》")
    assert (
        "时长：1.5 小时\n原因：手机没电未能签退，队长可证明\n凭证：照片（签到表.jpg）" in preview
    )
    assert await chat.press("alliance_admin", "确认") == [
        f"已提交补录（{member.name} · 1.5 小时），等待另一位管理员审核。"
    ]
    assert chat.received("admin")[-1].startswith("有一条志愿时长补录待审核")
    [row] = await hours_rows(chat)
    assert (row.kind, row.state, row.minutes) == (HoursKind.MANUAL, HoursState.PENDING, 90)

    [own] = await chat.say("alliance_admin", "时长审核")
    assert "（您提交的，需另一位管理员审核）" in own
    assert [b.label for b in chat.last["alliance_admin"]] == []

    [queue] = await chat.say("admin", "时长审核")
    assert queue.startswith("待审核的志愿时长补录（1 条）")
    [detail] = await chat.press("admin", "审核 1")
    assert detail.startswith(f"补录 #{row.id}\n党员：{member.name}")
    assert await chat.press("admin", "通过") == [
        f"已通过：{member.name} ·《{SERVICE}》· 1.5 小时。"
    ]
    assert chat.received("member")[-1].startswith(
        f"您在《{SERVICE}》补录的 1.5 小时志愿时长已审核通过并计入"
    )
    [mine] = await chat.say("member", "我的时长")
    assert "累计 1.5 小时" in mine and "补录 1.5 小时 ✅" in mine
    [row] = await hours_rows(chat)
    assert (
        row.state == HoursState.APPROVED
        and row.decided_by_id == (await member_of(chat, "admin")).id
    )
    [figures, _] = await chat.say("alliance_admin", "统计")
    assert "\n志愿服务（今年）：1.5 小时，1 人，1 场；待审核补录 0 条\n" in figures
    assert "\n承诺（今年）：公示 0 项，已兑现 0 项，待审核 0 项，退回修改 0 项\n" in figures


async def test_hours_added_by_hand_declined_with_a_reason_stay_on_record(
    chat: Chat, clock: FrozenClock, service: Activity
) -> None:
    clock.advance(hours=4)
    member = await member_of(chat, "member")
    await add_hours(chat, member.name, "2", "现场参加但未签到")
    await chat.press("alliance_admin", "确认")
    await chat.say("admin", "待审时长")
    await chat.press("admin", "审核 1")
    assert await chat.press("admin", "不通过") == [
        f"请写明不通过的原因（会告知 {member.name} 和提交人）。"
    ]
    [preview] = await chat.say("admin", "签到表上没有本人签名")
    assert preview.endswith("原因：签到表上没有本人签名")
    assert await chat.press("admin", "确认不通过") == [f"已不通过：{member.name} ·《{SERVICE}》。"]
    assert chat.received("member")[-1] == (
        f"您在《{SERVICE}》的志愿时长补录未通过：签到表上没有本人签名"
    )
    assert chat.received("alliance_admin")[-1].endswith("未通过：签到表上没有本人签名")
    [row] = await hours_rows(chat)
    assert (row.state, row.decline_reason) == (HoursState.DECLINED, "签到表上没有本人签名")
    [mine] = await chat.say("member", "我的志愿时长")
    assert "累计 0 分钟" in mine and "补录 2 小时 未通过：签到表上没有本人签名" in mine
    assert await chat.say("admin", "时长审核") == ["没有待审核的补录。"]


async def test_the_certificate_is_a_numbered_document(
    chat: Chat, clock: FrozenClock, service: Activity
) -> None:
    assert await chat.say("member", "志愿服务证明") == [
        "您还没有计入的志愿服务时长，暂不能开具证明。"
    ]
    clock.advance(minutes=60)
    code = await code_of(chat, SERVICE)
    await chat.say("member", f"签到 {code}")
    clock.advance(minutes=120)
    await chat.say("member", f"签退 {await code_of(chat, SERVICE)}")
    await chat.say("member", "我的志愿时长")
    [reply] = await chat.send(chat.event("member", action=chat.last["member"][0].token))
    assert (
        reply.text
        == "志愿服务记录证明（编号 ZYFW-2026-00001）：累计 2 小时。可打印后交单位盖章使用。"
    )
    assert reply.file is not None and Path(reply.file).name.startswith("志愿服务记录证明-")
    document = Document(str(reply.file))
    text = "\n".join(p.text for p in document.paragraphs)
    member = await member_of(chat, "member")
    assert f"兹证明 {member.name} 同志（中共党员" in text
    assert "累计志愿服务时长 2.0 小时" in text and "证明编号：ZYFW-2026-00001" in text
    cells = [c.text for c in document.tables[0].rows[1].cells]
    assert cells == ["2026年12月1日", SERVICE, "冷链物流园", "2.0", "签到签退"]


async def test_teams_are_set_up_joined_and_an_activity_made_a_service(
    chat: Chat, clock: FrozenClock, service: Activity
) -> None:
    host = await member_of(chat, "host")
    assert await chat.say("alliance_admin", f"新建服务队 食安宣传志愿服务队 队长 {host.name}") == [
        f"已建立“食安宣传志愿服务队”（食品产业链党建红色联盟），队长：{host.name}。"
        "党员发送“志愿服务队”即可加入。"
    ]
    [listing] = await chat.say("member", "志愿服务队")
    assert f"冷链先锋志愿服务队（食品产业链党建红色联盟）\n   队长：{host.name} · 1 人" in listing
    assert await chat.press("member", f"加入{TEAM}") == [
        f"已加入“{TEAM}”。参加本队的志愿服务，签到并签退后计入时长。"
    ]
    [pick] = await chat.say("host", "设为志愿服务")
    assert pick.startswith("要把哪场活动设为志愿服务？")
    await chat.press("host", "党建联席会议（12月04日）")
    assert await chat.press("host", "食安宣传志愿服务队") == [
        "《党建联席会议》已设为志愿服务（食安宣传志愿服务队）。"
        "参加者签到后，结束时发送“签退 签到码”；服务满计划时长的 60% 计入志愿时长。"
    ]
    async with chat.app.sessionmaker() as session:
        services = list((await session.execute(select(ServiceActivity))).scalars())
        members = list((await session.execute(select(TeamMember))).scalars())
    assert len(services) == 2 and len(members) == 3
    [refused] = await chat.say("member", "新建服务队 某某队")
    assert "新建服务队" in refused and "管理员" in refused


def test_star_levels_come_from_the_threshold_table() -> None:
    assert star_of(0) == (None, (100, "一星志愿者"))
    assert star_of(120) == ("一星志愿者", (300, "二星志愿者"))
    assert star_of(1600) == ("五星志愿者", None)


async def test_the_checkin_rows_are_those_of_the_check_in_machinery(
    chat: Chat, clock: FrozenClock, service: Activity
) -> None:
    clock.advance(minutes=60)
    code = await code_of(chat, SERVICE)
    await chat.say("member", f"签到 {code}")
    async with chat.app.sessionmaker() as session:
        [row] = list(
            (
                await session.execute(select(CheckIn).where(CheckIn.activity_id == service.id))
            ).scalars()
        )
    assert row.at == START + timedelta(hours=1)


async def test_a_sign_out_typed_too_early_is_asked_first_and_can_be_called_off(
    chat: Chat, clock: FrozenClock, service: Activity
) -> None:
    clock.advance(minutes=60)
    code = await code_of(chat, SERVICE)
    await chat.say("member", f"签到 {code}")
    [asked] = await chat.say("member", f"签退 {code}")
    assert asked.endswith("确定现在签退吗？")
    await chat.say("member", "取消")
    assert await hours_rows(chat) == []
    clock.advance(minutes=100)
    [done] = await chat.say("member", f"签退 {await code_of(chat, SERVICE)}")
    assert done.startswith("✅ 签退成功") and "1.7 小时" in done


def test_hours_are_read_however_typed() -> None:
    from handlers.hours_review import parse_minutes

    typed = ["2", "1.5", "２小时", "两小时", "一个半小时", "90分钟", "1小时30分", "abc"]
    assert [parse_minutes(t) for t in typed] == [120, 90, 120, 120, 90, 90, 90, None]


async def test_no_hours_are_added_by_hand_where_some_already_count(
    chat: Chat, clock: FrozenClock, service: Activity
) -> None:
    clock.advance(minutes=60)
    await chat.say("member", f"签到 {await code_of(chat, SERVICE)}")
    clock.advance(minutes=120)
    await chat.say("member", f"签退 {await code_of(chat, SERVICE)}")
    clock.advance(hours=1)
    member = await member_of(chat, "member")
    await chat.say("alliance_admin", "补录")
    await chat.press("alliance_admin", f"{SERVICE}（12月01日（周二））")
    assert await chat.say("alliance_admin", member.name) == [
        f"这位党员在《{SERVICE}》已有计入的时长，不能再补录。请发送另一位党员的姓名。"
        "（发送“取消”退出）"
    ]


async def test_the_host_may_still_sign_someone_out_early_after_the_warning(
    chat: Chat, clock: FrozenClock, service: Activity
) -> None:
    clock.advance(minutes=60)
    await chat.say("member", f"签到 {await code_of(chat, SERVICE)}")
    member = await member_of(chat, "member")
    clock.advance(minutes=30)
    await chat.say("host", f"代签退 {member.name}")
    assert await chat.press("host", "确认签退") == [
        f"已为 {member.name} 确认签退《{SERVICE}》：服务 30 分钟，不足 60%，不计时长。"
    ]
    [row] = await hours_rows(chat)
    assert (row.state, row.minutes) == (HoursState.TOO_SHORT, 30)
