"""Feature flows through WeCom's encrypted callbacks and the stand-in WeCom API: a member binds,
checks in with the host's code and by location, reports a problem pressing template-card
buttons, searches resources and pages with a button; the host's attendance sheet goes out as
an uploaded file.

The demo county is loaded at the wall-clock time, so its party day is checking in now.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapters.wecom_api import CALLS_PER_SECOND, WeComTransport
from bot.app import build_app
from bot.demo.activities import VENUE
from bot.ratelimit import RateLimiter
from bot.web import build_web_app, transports_for
from handlers.resources import SUGGESTED
from models.activity import Activity
from models.checkin import CheckIn, CheckInMethod
from models.db import make_engine, make_sessionmaker
from models.files import GPS_IFD, stored_path
from models.followup import create_item
from models.member import Identity, InviteCode, Member
from models.notice import Notice, NoticeRecipient, NoticeState
from models.org import Membership
from models.resource import MatchRequest, MatchState, Resource
from models.ticket import Ticket, TicketState
from settings import Settings, load_settings, use_settings
from tests.e2e.test_wecom import CRYPTO, Live, wait_for
from tests.unit.test_files import photo
from tests.wecom_sim import (
    FakeWeComApi,
    ServerThread,
    event_xml,
    image_xml,
    location_xml,
    text_xml,
    wecom_settings,
)

pytestmark = pytest.mark.e2e
PARTY_DAY = "主题党日：学习党的创新理论"
PROBLEM = "增值税发票开不出来，已经三天了，影响给客户结算"
_msg_ids = iter(range(2_000_000, 3_000_000))


@pytest.fixture
def settings(live_demo_settings: Settings, api: FakeWeComApi) -> Iterator[Settings]:
    api.reset()
    value = load_settings(
        _env_file=None,
        DATABASE_URL=live_demo_settings.DATABASE_URL,
        SCHEDULER_ENABLED=False,  # the sender runs; the sweeps would remind of the demo's days
        **wecom_settings(api.base),
    )
    use_settings(value)
    yield value
    use_settings(live_demo_settings)


@pytest.fixture
def live(settings: Settings) -> Iterator[Live]:
    app = build_app(settings, transports_for(settings))
    wecom = app.sender.transports["wecom"]
    assert isinstance(wecom, WeComTransport)
    # The 3.6 s gap per member (WeCom's hourly cap) is tested in test_wecom.py; here each step
    # of a dialog would wait for it.
    wecom.limiter = RateLimiter(CALLS_PER_SECOND, 0.05)
    server = ServerThread(build_web_app(app)).start()
    yield Live(server.url, app)
    server.stop()


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings)
    yield make_sessionmaker(engine)
    await engine.dispose()


@dataclass
class Person:
    """A WeCom user of the app: what they send goes in as encrypted callbacks; what they get is
    the passive reply, or the messages the stand-in API received for them."""

    live: Live
    api: FakeWeComApi
    user: str
    seen: int = 0
    got: list[dict[str, Any]] = field(default_factory=list)

    async def say(self, text: str) -> str:
        return await self.send(text_xml(self.user, text, next(_msg_ids)))

    async def locate(self, latitude: float, longitude: float) -> str:
        return await self.send(location_xml(self.user, latitude, longitude, next(_msg_ids)))

    async def press(self, label: str) -> str:
        """Press a button of the latest card that shows one with this label."""
        return await self.send(self.press_xml(label))

    def press_xml(self, label: str) -> str:
        """The callback of pressing the button `label` of the latest card that shows it."""
        for message in reversed(self.got):
            card = message.get("template_card") or {}
            for button in card.get("button_list", []):
                if button["text"] == label:
                    return event_xml(
                        self.user,
                        "template_card_event",
                        EventKey=button["key"],
                        TaskId=card["task_id"],
                        CardType="button_interaction",
                    )
        raise AssertionError(f"no button {label!r} in the cards sent to {self.user}")

    async def send(self, xml: str) -> str:
        """Post one callback; its passive reply's text ('' when the answer comes by the API)."""
        response, params = await self.live.post(xml)
        assert response.status_code == 200
        return CRYPTO.open_reply(response.text, params)["Content"] if response.text else ""

    async def expect(self, count: int = 1) -> list[dict[str, Any]]:
        """The next `count` messages message/send carried to this user."""

        def mine() -> list[dict[str, Any]]:
            return [m for m in self.api.sent if self.user in m["touser"].split("|")]

        await wait_for(lambda: len(mine()) >= self.seen + count)
        new = mine()[self.seen :]
        self.seen += len(new)
        self.got += new
        assert len(new) == count, new
        return new


async def identity(db: async_sessionmaker[AsyncSession], user: str, account: str) -> int:
    """Bind a WeCom user to a demo console account; its member id."""
    async with db() as session, session.begin():
        member_id = await session.scalar(
            select(Identity.member_id).where(
                Identity.platform == "console", Identity.user_key == account
            )
        )
        assert member_id is not None
        session.add(Identity(platform="wecom", user_key=user, member_id=member_id))
    return int(member_id)


async def checkins(db: async_sessionmaker[AsyncSession], member_id: int) -> list[Any]:
    async with db() as session:
        stmt = (
            select(Activity.title, CheckIn.method, CheckIn.distance_m)
            .join(Activity)
            .where(CheckIn.member_id == member_id)
        )
        return [tuple(row) for row in (await session.execute(stmt)).all()]


def checked_in(reply: str, method: str) -> bool:
    pattern = rf"✅ 签到成功：《{PARTY_DAY}》\n时间：\d\d:\d\d · 方式：{method}"
    return re.fullmatch(pattern, reply) is not None


def buttons(message: dict[str, Any]) -> list[str]:
    return [b["text"] for b in message["template_card"]["button_list"]]


async def test_bind_check_in_report_and_search_resources_by_card_buttons(
    live: Live, api: FakeWeComApi, db: async_sessionmaker[AsyncSession]
) -> None:
    async with db() as session:
        invite = await session.scalar(select(InviteCode).where(InviteCode.used_at.is_(None)))
        assert invite is not None
        name = await session.scalar(select(Member.name).where(Member.id == invite.member_id))
    newcomer = Person(live, api, "xiaozhang")
    host, member = Person(live, api, "shuji"), Person(live, api, "laoli")
    await identity(db, host.user, "host")
    member_id = await identity(db, member.user, "member")

    assert (await newcomer.say(f"绑定 {invite.code}")).startswith(f"绑定成功！欢迎您，{name}")

    # The host's code comes as a card (it has a refresh button); the newcomer types it.
    assert await host.say("签到码") == ""
    [card] = await host.expect()
    shown = card["template_card"]["main_title"]["title"]
    code = re.fullmatch(rf"《{PARTY_DAY}》签到码：(\d{{6}})", shown)
    assert code and buttons(card) == ["🔄 刷新签到码"], card
    assert checked_in(await newcomer.say(f"签到 {code.group(1)}"), "签到码")
    assert await checkins(db, invite.member_id) == [(PARTY_DAY, CheckInMethod.CODE, None)]

    # By location, sent from the chat: too far first, then at the venue.
    far = await member.locate(VENUE[0] + 0.01, VENUE[1])
    assert far.startswith(f"您距离《{PARTY_DAY}》地点约 1.1 公里，超出签到范围（500 米）")
    assert await checkins(db, member_id) == []
    assert checked_in(await member.locate(VENUE[0] + 0.002, VENUE[1]), "位置")
    assert await checkins(db, member_id) == [(PARTY_DAY, CheckInMethod.LOCATION, 222)]

    # The whistle dialog: every choice a template-card button.
    assert (await newcomer.say("吹哨")).startswith("请用一两句话说说遇到的问题")
    assert await newcomer.say(PROBLEM) == ""
    [unit] = await newcomer.expect()
    assert unit["template_card"]["main_title"]["title"].startswith("这个问题涉及哪个单位？")
    [home] = buttons(unit)
    assert await newcomer.press(home) == ""
    first, more = await newcomer.expect(2)  # ten categories: six buttons a card
    assert first["template_card"]["main_title"]["title"].startswith("建议分类：税务发票")
    assert len(buttons(first) + buttons(more)) == 10 and buttons(first)[0] == "✅ 税务发票"
    assert await newcomer.press("✅ 税务发票") == ""
    [confirm] = await newcomer.expect()
    summary = confirm["template_card"]["sub_title_text"]
    assert summary.endswith(f"分类：税务发票\n问题：{PROBLEM}") and buttons(confirm) == [
        "提交",
        "取消",
    ]
    assert await newcomer.press("提交") == ""
    done, suggested = await newcomer.expect(2)  # filed; resources that may help, as a card
    filed = done["text"]["content"]
    assert suggested["template_card"]["main_title"]["title"] == SUGGESTED
    assert buttons(suggested) == ["我要对接 1", "我要对接 2", "我要对接 3"]
    number = re.search(r"工单号 (WT-\d{4}-\d{4})", filed)
    assert number and filed.startswith("🚩 吹哨成功！"), filed
    async with db() as session:
        rows = await session.execute(
            select(Ticket.number, Ticket.category, Ticket.text, Ticket.state).where(
                Ticket.reporter_id == invite.member_id
            )
        )
        assert [tuple(r) for r in rows] == [
            (number.group(1), "tax", PROBLEM, TicketState.DISPATCHED)
        ]

    # The shared resources: the page's text, then a card of its buttons; 下一页 pages on.
    assert await newcomer.say("资源 冷链物流") == ""
    first, card = await newcomer.expect(2)
    page = first["text"]["content"]
    found = re.match(r"🔎 资源清单里与“冷链 物流”相关的资源：共 (\d+) 条，第 1–5 条", page)
    assert found and int(found.group(1)) > 5, page
    assert buttons(card) == [*(f"我要对接 {n}" for n in range(1, 6)), "下一页"]
    assert await newcomer.press("下一页") == ""
    second, *_ = await newcomer.expect(3)  # the page; 7 buttons (上一页 too) on two cards
    page = second["text"]["content"]
    assert f"共 {found.group(1)} 条，第 6–" in page
    sixth = re.search(r"^6\. 【\w+】(.+)$", page, re.M)
    assert sixth and sixth.group(1) not in first["text"]["content"], page
    assert (await newcomer.press("我要对接 6")).startswith("✅ 已")
    async with db() as session:
        rows = await session.execute(
            select(Resource.title, MatchRequest.state)
            .join(Resource)
            .where(MatchRequest.requester_id == invite.member_id)
        )
        assert [tuple(r) for r in rows] == [(sixth.group(1), MatchState.REQUESTED)]
    # The resource's contact is the host: the request reaches them, with the choice as a card.
    request, choice = await host.expect(2)
    assert request["text"]["content"].startswith("🤝 资源对接请求：")
    assert buttons(choice) == ["同意对接", "婉拒"]

    # The host's attendance sheet: the summary, then the .xlsx uploaded and sent as a file.
    assert await host.say("/attendance") == ""
    text, caption, sheet = await host.expect(3)
    assert text["text"]["content"].startswith(f"📊 《{PARTY_DAY}》签到情况")
    assert "已签到 2 人" in text["text"]["content"]
    assert caption["text"]["content"] == "签到表（Excel）"
    [upload] = api.uploads
    assert upload["type"] == "file" and upload["filename"].endswith(".xlsx")
    assert sheet == {
        "touser": host.user,
        "agentid": 1000002,
        "msgtype": "file",
        "file": {"media_id": upload["media_id"]},
        "enable_duplicate_check": 1,  # a re-send after a crash is dropped by WeCom
        "duplicate_check_interval": 600,
    }
    workbook = load_workbook(io.BytesIO(upload["content"]))
    rows = list(workbook.active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert any(name in row for row in rows)


async def test_a_command_leaves_a_dialog_and_a_typed_received_acknowledges(
    live: Live, api: FakeWeComApi, db: async_sessionmaker[AsyncSession]
) -> None:
    member = Person(live, api, "laoli")
    member_id = await identity(db, member.user, "member")
    async with db() as session, session.begin():
        now = live.app.clock.now()
        notice = Notice(
            text="本周五下午召开联席会议，请各单位书记参加。",
            audience={"kind": "units", "ids": []},
            scope=[],
            state=NoticeState.SENT,
            created_at=now,
            send_at=now,
            sent_at=now,
        )
        session.add(notice)
        await session.flush()
        session.add(NoticeRecipient(notice_id=notice.id, member_id=member_id))
        notice_id = notice.id
    assert (await member.say("吹哨")).startswith("请用一两句话说说遇到的问题")
    me = await member.say("/me")  # a command in the middle of the dialog
    assert me.startswith("（已退出“吹哨”）👤 ")
    acked = await member.say("收到")  # typed instead of pressing the card's button
    assert acked.startswith(f"已确认收到通知 #{notice_id}（本周五下午召开联席会议")
    async with db() as session:
        acked_at = await session.scalar(
            select(NoticeRecipient.acked_at).where(
                NoticeRecipient.notice_id == notice_id, NoticeRecipient.member_id == member_id
            )
        )
    assert acked_at is not None


async def _answer_all(person: Person, xml: str) -> str:
    """The passive reply, or else the messages message/send carried up to a card or a last
    line, as text (a card's title and body; its buttons can then be pressed)."""
    passive = await person.send(xml)
    if passive:
        return passive
    texts: list[str] = []
    while True:
        [message] = await person.expect(1)
        card = message.get("template_card")
        if card is not None:
            texts += [card["main_title"]["title"], card.get("sub_title_text", "")]
            return "\n".join(t for t in texts if t)
        texts.append(str(message["text"]["content"]))
        if not texts[-1].endswith(("：", "？")):
            return "\n".join(texts)


async def test_a_picture_sent_in_the_app_is_downloaded_after_the_answer_and_stored(
    live: Live, api: FakeWeComApi, db: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await identity(db, "wx-photo", "member")
    member = Person(live, api, "wx-photo")
    picture = photo()
    api.media["img-1"] = picture
    taken = await _answer_all(member, image_xml("wx-photo", "img-1", next(_msg_ids)))
    assert taken.startswith("收到照片"), taken
    sha = hashlib.sha256(picture).hexdigest()
    assert stored_path(settings, sha, ".jpg").read_bytes() == picture
    lost = await _answer_all(member, image_xml("wx-photo", "expired-id", 4_000_001))
    assert lost == "没能收到这张照片（图片4000001.jpg），请再发送一次。（未保存）"


async def test_a_picture_as_evidence_is_shown_to_the_chair_without_its_location(
    live: Live, api: FakeWeComApi, db: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    member_id = await identity(db, "wx-owner", "member")
    await identity(db, "wx-chair", "host")
    async with db() as session, session.begin():
        owner = await session.get(Member, member_id)
        assert owner is not None
        alliance_id = await session.scalar(
            select(Membership.alliance_id).where(Membership.unit_id == owner.home_unit_id)
        )
        item = await create_item(
            session=session,
            source="meeting",
            source_id=None,
            alliance_id=alliance_id,
            title="整理成员单位融资需求清单",
            due_on=date.today() + timedelta(days=10),
            now=datetime.now(UTC),
            owner_member_id=member_id,
        )
        number = item.number
    member = Person(live, api, "wx-owner")
    picture = photo()
    api.media["img-evidence"] = picture
    offered = await _answer_all(member, image_xml("wx-owner", "img-evidence", next(_msg_ids)))
    assert offered.startswith("收到照片。要作为哪项督办事项的完成凭证？"), offered
    asked = await _answer_all(member, member.press_xml(number))
    assert asked.startswith("请简要说明完成情况"), asked
    preview = await _answer_all(member, text_xml("wx-owner", "清单已整理", next(_msg_ids)))
    assert f"请确认完成 {number}" in preview, preview
    done = await _answer_all(member, member.press_xml("确认完成"))
    assert done == f"🎉 {number} 已完成，已告知主席单位。", done

    def to_chair() -> list[dict[str, Any]]:
        return [m for m in api.sent if m["touser"] == "wx-chair" and m["msgtype"] == "image"]

    await wait_for(lambda: bool(to_chair()))
    [image] = to_chair()
    [shared] = [u for u in api.uploads if u["media_id"] == image["image"]["media_id"]]
    assert GPS_IFD not in Image.open(io.BytesIO(shared["content"])).getexif()  # no location
    sha = hashlib.sha256(picture).hexdigest()
    assert [p.name for p in settings.files_dir.rglob(f"{sha}.jpg")] == [f"{sha}.jpg"]  # once
