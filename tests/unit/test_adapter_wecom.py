"""WeCom adapter: callbacks to core events, replies to API payloads, refused signatures."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from wechatpy.enterprise import parse_message

from bot.adapters.wecom import render, split_text, to_incoming
from bot.adapters.wecom_api import WeComTransport, build_menu
from bot.core import Button, Incoming, Location, Reply, Role, Route
from bot.outbox import DeliveryError
from handlers import ROUTES
from settings import load_settings
from tests.wecom_sim import event_xml, text_xml, wecom_settings

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def incoming(xml: str) -> Incoming | None:
    return to_incoming(parse_message(xml), NOW)


def test_text_message_becomes_text_with_the_msgid_as_event_id() -> None:
    event = incoming(text_xml("zhangsan", " 签到 123456 ", msg_id=777, created=1700000000))
    assert event is not None
    assert (event.platform, event.user_key, event.chat_key) == ("wecom", "zhangsan", "zhangsan")
    assert (event.text, event.event_id, event.received_at) == ("签到 123456", "777", NOW)


def test_a_shared_location_counts_and_automatic_reports_do_not() -> None:
    xml = text_xml("u", "", msg_id=5).replace(
        "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[]]></Content>",
        "<MsgType><![CDATA[location]]></MsgType><Location_X>35.55</Location_X>"
        "<Location_Y>118.46</Location_Y><Scale>15</Scale><Label><![CDATA[x]]></Label>",
    )
    event = incoming(xml)
    assert event is not None and event.location == Location(35.55, 118.46)
    automatic = event_xml("u", "LOCATION", 1700000000, Latitude="35.5", Longitude="118.4")
    assert incoming(automatic) is None


def test_menu_click_becomes_the_route_command() -> None:
    event = incoming(event_xml("u", "click", 1700000000, EventKey="me"))
    assert event is not None
    assert (event.text, event.event_id) == ("/me", "u:1700000000:click:me")


def test_template_card_button_becomes_an_action() -> None:
    xml = event_xml(
        "u",
        "template_card_event",
        1700000001,
        EventKey="bTOKEN123",
        TaskId="abc-0",
        CardType="button_interaction",
        ResponseCode="rc",
    )
    event = incoming(xml)
    assert event is not None
    assert (event.action, event.text) == ("bTOKEN123", "")
    assert event.event_id == "u:1700000001:template_card_event:bTOKEN123"


def test_ignored_events() -> None:
    assert incoming(event_xml("u", "enter_agent", EventKey="")) is None
    assert incoming(event_xml("u", "view", EventKey="https://x")) is None
    subscribed = incoming(event_xml("u", "subscribe"))
    assert subscribed is not None and subscribed.text == "/start"


def test_split_text_keeps_every_piece_under_2048_bytes() -> None:
    lines = [f"第{i}行：党建联盟活动通知内容，请大家准时参加。" for i in range(200)]
    text = "\n".join(lines)
    pieces = split_text(text)
    assert len(pieces) > 1
    assert all(len(p.encode()) <= 2048 for p in pieces)
    assert "\n".join(pieces) == text  # cut between lines, nothing lost


def test_split_text_cuts_one_long_line_between_characters() -> None:
    text = "联" * 1500  # 4500 bytes, no line break
    pieces = split_text(text)
    assert [len(p.encode()) for p in pieces] == [2046, 2046, 408]
    assert "".join(pieces) == text
    assert split_text("短消息") == ["短消息"]


def test_render_text_and_cards() -> None:
    assert render(Reply("你好")) == [{"msgtype": "text", "text": {"content": "你好"}}]
    reply = Reply(
        "请选择类别\n融资、税务或用工",
        buttons=(Button("融资", "x", token="t1"), Button("税务", "x", token="t2")),
    )
    [card] = render(reply, task_id="task")
    assert card["msgtype"] == "template_card"
    body = card["template_card"]
    assert body["card_type"] == "button_interaction"
    assert body["main_title"] == {"title": "请选择类别"}
    assert body["sub_title_text"] == "融资、税务或用工"
    assert body["task_id"] == "task-0"
    assert [(b["text"], b["key"]) for b in body["button_list"]] == [("融资", "t1"), ("税务", "t2")]


def test_render_many_buttons_and_long_text() -> None:
    buttons = tuple(Button(f"选项{i}", "x", token=f"t{i}") for i in range(8))
    text = "很长的说明。" * 100
    payloads = render(Reply(text, buttons=buttons), task_id="x")
    assert [p["msgtype"] for p in payloads] == ["text", "template_card", "template_card"]
    assert payloads[0]["text"]["content"] == text
    assert payloads[1]["template_card"]["main_title"]["title"] == "请选择："
    assert len(payloads[1]["template_card"]["button_list"]) == 6
    assert [b["key"] for b in payloads[2]["template_card"]["button_list"]] == ["t6", "t7"]
    assert payloads[1]["template_card"]["task_id"] != payloads[2]["template_card"]["task_id"]


def test_menu_lists_member_routes_as_clicks() -> None:
    async def nothing(ctx: Any) -> list[Reply]:
        return []

    routes = (
        Route("help", nothing, "帮助", "查看可用功能", role=Role.ANYONE),
        Route("cancel", nothing, "取消", "结束当前操作", role=Role.ANYONE),
        Route("me", nothing, "我的信息", "姓名与单位"),
        Route("checkin", nothing, "活动签到", "扫码或发送签到码"),
        Route("report", nothing, "我要吹哨", "反映企业困难"),
        Route("resources", nothing, "资源清单", "找伙伴管家"),
        Route("stats2", nothing, "统计", "只给管理员", role=Role.ALLIANCE_ADMIN),
        Route("hidden", nothing, "隐藏", "不在菜单", menu=False),
    )
    menu = build_menu(routes)
    assert len(menu["button"]) == 3
    items = [item for group in menu["button"] for item in group["sub_button"]]
    keys = [item["key"] for item in items]
    assert keys == ["help", "me", "checkin", "report", "resources"]
    assert {"type": "click", "name": "我要吹哨", "key": "report"} in items
    assert build_menu(routes[:3]) == {
        "button": [
            {"type": "click", "name": "帮助", "key": "help"},
            {"type": "click", "name": "我的信息", "key": "me"},
        ]
    }


def test_menu_of_the_real_routes_fits_wecom_limits() -> None:
    menu = build_menu(ROUTES)
    assert 1 <= len(menu["button"]) <= 3
    names = {r.name for r in ROUTES if r.role in (Role.ANYONE, Role.MEMBER)}
    for group in menu["button"]:
        items = group.get("sub_button", [group])
        assert len(items) <= 5
        assert all(item["key"] in names for item in items)


class StubClient:
    """Records media uploads and message/send bodies as the WeCom API would receive them."""

    def __init__(self) -> None:
        self.uploads: list[tuple[str, str]] = []
        self.sent: list[dict[str, Any]] = []

    async def upload(self, path: Path, kind: str) -> str:
        self.uploads.append((path.name, kind))
        return f"m{len(self.uploads)}"

    async def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.sent.append(body)
        return {"errcode": 0}


async def test_pictures_and_files_are_uploaded_then_sent_after_the_text(tmp_path: Path) -> None:
    picture, sheet = tmp_path / "code.png", tmp_path / "签到表.xlsx"
    picture.write_bytes(b"\x89PNG")
    sheet.write_bytes(b"PK")
    client = StubClient()
    transport = WeComTransport(load_settings(_env_file=None, **wecom_settings("http://x")))
    transport.client = client  # type: ignore[assignment]
    await transport.send("u1", Reply("本期签到码", image=picture, file=sheet))
    assert client.uploads == [("code.png", "image"), ("签到表.xlsx", "file")]
    assert [(b["msgtype"], b.get(b["msgtype"])) for b in client.sent] == [
        ("text", {"content": "本期签到码"}),
        ("image", {"media_id": "m1"}),
        ("file", {"media_id": "m2"}),
    ]
    client.sent.clear()
    await transport.send("u1", Reply("", file=sheet))  # no empty text before a bare file
    assert [b["msgtype"] for b in client.sent] == ["file"]


async def test_a_missing_attachment_is_a_permanent_failure(tmp_path: Path) -> None:
    client = StubClient()
    transport = WeComTransport(load_settings(_env_file=None, **wecom_settings("http://x")))
    transport.client = client  # type: ignore[assignment]
    with pytest.raises(DeliveryError) as failure:
        await transport.send("u1", Reply("签到表（Excel）", file=tmp_path / "gone.xlsx"))
    assert failure.value.permanent and client.uploads == [] and client.sent == []
