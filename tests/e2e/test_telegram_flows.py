"""Feature flows through the real Telegram bot and the Bot API emulator: bind, check in with
the host's code, report a problem by pressing buttons, search resources and page with a button,
the attendance sheet as a document, and check-in by live location (a plain pin refused, a live
share's later positions not flooding).

The demo county is loaded at the wall-clock time, so its party day is checking in now.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from bot.core.clock import Clock
from bot.demo.activities import VENUE
from bot.dispatcher import TOO_FAST
from handlers.checkin import LIVE_ONLY
from handlers.resources import SUGGESTED
from models.activity import Activity
from models.checkin import CheckIn, CheckInMethod
from models.member import Identity, Member
from models.notice import Notice, NoticeRecipient, NoticeState
from models.resource import MatchRequest, MatchState, Resource
from models.ticket import Ticket, TicketState
from settings import Settings
from tests.e2e.telegram_harness import Emulator, User, running_bot
from tests.e2e.test_telegram import Db, newcomer

pytestmark = pytest.mark.e2e
PARTY_DAY = "主题党日：学习党的创新理论"
PROBLEM = "增值税发票开不出来，已经三天了，影响给客户结算"


@pytest.fixture
def db(live_demo_settings: Settings) -> Db:
    return Db(live_demo_settings)


def as_telegram(db: Db, user: User, account: str) -> int:
    """Bind a Telegram user to a demo console account (the host, a member); its member id."""

    async def work(session: Any) -> int:
        member_id = await session.scalar(
            select(Identity.member_id).where(
                Identity.platform == "console", Identity.user_key == account
            )
        )
        session.add(
            Identity(
                platform="telegram",
                user_key=str(user.id),
                chat_key=str(user.id),
                member_id=member_id,
            )
        )
        return int(member_id)

    return int(db.run(work))


def checkins(db: Db, member_id: int) -> list[tuple[str, CheckInMethod, int | None]]:
    async def work(session: Any) -> list[tuple[str, CheckInMethod, int | None]]:
        stmt = (
            select(Activity.title, CheckIn.method, CheckIn.distance_m)
            .join(Activity)
            .where(CheckIn.member_id == member_id)
        )
        return [tuple(row) for row in (await session.execute(stmt)).all()]

    return list(db.run(work))


def tickets(db: Db, member_id: int) -> list[tuple[str, str, str, TicketState]]:
    async def work(session: Any) -> list[tuple[str, str, str, TicketState]]:
        stmt = select(Ticket.number, Ticket.category, Ticket.text, Ticket.state).where(
            Ticket.reporter_id == member_id
        )
        return [tuple(row) for row in (await session.execute(stmt)).all()]

    return list(db.run(work))


@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_bind_check_in_report_a_problem_and_search_resources(
    mode: str, emulator: Emulator, db: Db, live_demo_settings: Settings
) -> None:
    invite, name = newcomer(db)
    user, host = User(emulator, id=60_001), User(emulator, id=60_002, first_name="书记")
    host_id = as_telegram(db, host, "host")
    with running_bot(mode, live_demo_settings.DATABASE_URL, emulator):
        user.say(f"/bind {invite}")
        assert user.expect()[0].startswith(f"绑定成功！欢迎您，{name}")
        member_id = db.identity(user).member_id  # type: ignore[union-attr]

        # The host shows the code on Telegram; the newcomer types it.
        host.say("/code")
        shown = host.expect()[0]
        code = re.search(r"签到码：(\d{6})", shown)
        assert code and PARTY_DAY in shown, shown
        assert host.inbox[-1]["reply_markup"]["inline_keyboard"][0][0]["text"] == "🔄 刷新签到码"
        user.say(f"签到 {code.group(1)}")
        assert checked_in(user.expect(), "签到码")
        assert checkins(db, member_id) == [(PARTY_DAY, CheckInMethod.CODE, None)]

        # The whistle dialog, every choice a button press.
        user.say("吹哨")
        assert user.expect()[0].startswith("请用一两句话说说遇到的问题")
        user.say(PROBLEM)
        assert user.expect()[0].startswith("这个问题涉及哪个单位？")
        [home] = buttons(user)
        assert home.startswith("本单位：")
        user.press(home)
        assert user.expect()[0].startswith("建议分类：税务发票（转县税务局，红盟服务跟进）")
        assert len(buttons(user)) == 10
        user.press("✅ 税务发票")
        assert user.expect()[0] == f"请确认：\n单位：{home[4:]}\n分类：税务发票\n问题：{PROBLEM}"
        assert buttons(user) == ["提交", "取消"]
        assert tickets(db, member_id) == []
        user.press("提交")
        filed, suggested = user.expect(2)  # filed; then resources that may help
        assert suggested.startswith(SUGGESTED) and len(buttons(user)) == 3
        number = re.search(r"工单号 (WT-\d{4}-\d{4})", filed)
        assert number and filed.startswith("🚩 吹哨成功！"), filed
        assert tickets(db, member_id) == [
            (number.group(1), "tax", PROBLEM, TicketState.DISPATCHED)
        ]
        # The dialog is over: its old buttons do nothing now.
        user.press("提交")
        assert user.expect() == ["这个按钮已失效，请重新操作。"]
        assert len(tickets(db, member_id)) == 1

        # The shared resources: search, the next page by its button, ask for a match.
        user.say("资源 冷链物流")
        [first] = user.expect()
        found = re.match(r"🔎 资源清单里与“冷链 物流”相关的资源：共 (\d+) 条，第 1–5 条", first)
        assert found and int(found.group(1)) > 5, first
        assert buttons(user) == [*(f"我要对接 {n}" for n in range(1, 6)), "下一页"]
        user.press("下一页")
        [second] = user.expect()
        assert second.startswith(
            f"🔎 资源清单里与“冷链 物流”相关的资源：共 {found.group(1)} 条，第 6–"
        )
        sixth = re.search(r"^6\. 【\w+】(.+)$", second, re.M)
        assert sixth and sixth.group(1) not in first, second
        # The resource's contact (made the host) is asked on Telegram and accepts.
        be_contact(db, sixth.group(1), host_id)
        user.press("我要对接 6")
        assert user.expect()[0].startswith(f"✅ 已向“{provider(db, sixth.group(1))}”发出对接请求")
        assert matches(db, member_id) == [(sixth.group(1), MatchState.REQUESTED)]
        [request] = host.expect()
        assert request.startswith(f"🤝 资源对接请求：{name}（") and sixth.group(1) in request
        host.press("同意对接")
        assert host.expect()[0].startswith(f"已同意对接，已通知 {name}")
        assert user.expect()[0].startswith(f"🎉 “{provider(db, sixth.group(1))}”已同意")
        assert matches(db, member_id) == [(sixth.group(1), MatchState.ACCEPTED)]

        # The host's attendance sheet arrives as an .xlsx document.
        host.say("/attendance")
        summary, sheet = host.expect(2)
        assert summary.startswith(f"📊 《{PARTY_DAY}》签到情况"), summary
        assert "已签到 1 人" in summary and f"✅ {name} " in summary
        assert (host.inbox[-1]["kind"], sheet) == ("sendDocument", "签到表（Excel）")
        document = host.inbox[-1]["document_file"]
        assert document["name"].endswith(".xlsx") and document["size"] > 1000


def test_live_location_checks_in_and_its_updates_do_not_flood(
    emulator: Emulator, db: Db, live_demo_settings: Settings
) -> None:
    user = User(emulator, id=60_003)
    member_id = as_telegram(db, user, "member")
    far = (VENUE[0] + 0.01, VENUE[1])  # about 1.1 km north: outside the 500 m radius
    with running_bot("webhook", live_demo_settings.DATABASE_URL, emulator):
        user.share_location(*VENUE)  # a plain pin could be sent from anywhere
        assert user.expect() == [LIVE_ONLY]

        live = user.share_location(*far, live_period=900)
        assert user.expect()[0].startswith(f"您距离《{PARTY_DAY}》地点约 1.1 公里")
        assert checkins(db, member_id) == []
        # Walking in: Telegram edits the live location every few seconds; far positions are
        # not answered again, the first one inside the radius checks the member in.
        for step in range(4):
            user.move(live, far[0] - 0.001 * step, far[1])
        user.move(live, VENUE[0] + 0.002, VENUE[1])
        assert checked_in(user.expect(), "位置")
        assert checkins(db, member_id) == [(PARTY_DAY, CheckInMethod.LOCATION, 222)]
        # More updates than MESSAGES_PER_MINUTE: no "too fast", no "already checked in".
        for _ in range(live_demo_settings.MESSAGES_PER_MINUTE + 5):
            user.move(live, VENUE[0], VENUE[1])
        user.say("/me")
        [me] = user.expect()
        assert me != TOO_FAST and member_name(db, member_id) in me
        user.quiet(1.0)
    assert len(checkins(db, member_id)) == 1


def matches(db: Db, member_id: int) -> list[tuple[str, MatchState]]:
    async def work(session: Any) -> list[tuple[str, MatchState]]:
        stmt = (
            select(Resource.title, MatchRequest.state)
            .join(Resource)
            .where(MatchRequest.requester_id == member_id)
        )
        return [tuple(row) for row in (await session.execute(stmt)).all()]

    return list(db.run(work))


def be_contact(db: Db, title: str, member_id: int) -> None:
    async def work(session: Any) -> None:
        found = await session.execute(select(Resource).where(Resource.title == title))
        found.scalar_one().contact_member_id = member_id

    db.run(work)


def provider(db: Db, title: str) -> str:
    return str(db.scalar(select(Resource.provider).where(Resource.title == title)))


def buttons(user: User) -> list[str]:
    markup = user.inbox[-1].get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


def checked_in(replies: list[str], method: str) -> bool:
    pattern = rf"✅ 签到成功：《{PARTY_DAY}》\n时间：\d\d:\d\d · 方式：{method}"
    return len(replies) == 1 and re.fullmatch(pattern, replies[0]) is not None


def member_name(db: Db, member_id: int) -> str:
    return str(db.scalar(select(Member.name).where(Member.id == member_id)))


def test_a_command_leaves_a_dialog_and_a_typed_received_acknowledges(
    emulator: Emulator, db: Db, live_demo_settings: Settings
) -> None:
    user = User(emulator, id=60_004)
    member_id = as_telegram(db, user, "member")
    notice_id = notice_for(db, member_id, "本周五下午召开联席会议，请各单位书记参加。")
    with running_bot("webhook", live_demo_settings.DATABASE_URL, emulator):
        user.say("吹哨")
        assert user.expect()[0].startswith("请用一两句话说说遇到的问题")
        user.say("/me")  # a command in the middle of the dialog
        [me] = user.expect()
        assert me.startswith("（已退出“吹哨”）👤 ") and member_name(db, member_id) in me
        user.say("收到")  # typed instead of pressing the card's button
        [acked] = user.expect()
        assert acked.startswith(f"已确认收到通知 #{notice_id}（本周五下午召开联席会议")
    assert acknowledged(db, notice_id, member_id)


def notice_for(db: Db, member_id: int, text: str) -> int:
    """A notice to one member, recorded as sent (its card is not what this test is about)."""

    async def work(session: Any) -> int:
        notice = Notice(
            author_id=None,
            text=text,
            audience={"kind": "units", "ids": []},
            scope=[],
            state=NoticeState.SENT,
            created_at=Clock().now(),
            send_at=Clock().now(),
            sent_at=Clock().now(),
        )
        session.add(notice)
        await session.flush()
        session.add(NoticeRecipient(notice_id=notice.id, member_id=member_id))
        return int(notice.id)

    return int(db.run(work))


def acknowledged(db: Db, notice_id: int, member_id: int) -> bool:
    found = db.scalar(
        select(NoticeRecipient.acked_at).where(
            NoticeRecipient.notice_id == notice_id, NoticeRecipient.member_id == member_id
        )
    )
    return found is not None
