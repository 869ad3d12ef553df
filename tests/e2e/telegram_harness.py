"""Drives the real bot over loopback: a Bot API emulator (telegram-test-api 4.2.1 wrapped by
telegram_emulator/server.js), the bot as a subprocess (`python -m bot telegram` or
`python -m bot serve`), and users who type, press buttons and read what the bot sent.

A new flow is a few lines: `user.say("/checkin 123456")`, `user.expect()`, `user.press("确认")`,
`user.share_location(lat, lon, live_period=900)`.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
EMULATOR = Path(__file__).resolve().parent / "telegram_emulator"
TOKEN = "123456:TEST-token"
SECRET = "s3cret-webhook-token"
WAIT = 15.0
_injected_ids = itertools.count(900_001)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(probe: Any, what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = probe()
            if value:
                return value
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def install_emulator() -> None:
    """`npm ci` once per clone: node_modules is not committed."""
    if (EMULATOR / "node_modules" / "telegram-test-api").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the Bot API emulator cannot run")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"], cwd=EMULATOR, check=True, capture_output=True
    )


@dataclass
class Emulator:
    url: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=5))

    @property
    def api(self) -> str:
        """What TELEGRAM_API_BASE_URL is set to (PTB appends the token)."""
        return f"{self.url}/bot"

    def post(self, path: str, **body: Any) -> Any:
        response = self.http.post(f"{self.url}{path}", json=body)
        response.raise_for_status()
        return response.json()["result"]

    def bot_call(self, method: str, **params: Any) -> Any:
        return self.post(f"/bot{TOKEN}/{method}", **params)

    def sent_to(self, chat_id: int) -> list[str]:
        """Texts the bot sent to a chat since the last look."""
        items = self.post("/getUpdates", token=TOKEN, chatId=chat_id)
        return [item["message"].get("text", "") for item in items]

    def commands(self) -> list[dict[str, str]]:
        return list(self.http.get(f"{self.url}/_test/commands/{TOKEN}").json()["result"])

    def webhook_log(self) -> list[dict[str, Any]]:
        return list(self.http.get(f"{self.url}/_test/webhookLog").json()["result"])

    def fail_next(self, method: str, code: int, description: str, **parameters: Any) -> None:
        """Make the next `method` call answer with this Bot API error."""
        self.post(
            "/_test/fail",
            method=method,
            error_code=code,
            description=description,
            parameters=parameters or None,
        )


@contextmanager
def running_emulator() -> Any:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the Bot API emulator cannot run")
    install_emulator()
    port = free_port()
    process = subprocess.Popen(
        [node, "server.js", str(port)],
        cwd=EMULATOR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("listening"), "emulator did not start"
        emulator = Emulator(f"http://127.0.0.1:{port}")
        yield emulator
        emulator.http.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@contextmanager
def running_bot(mode: str, database_url: str, emulator: Emulator) -> Any:
    """`python -m bot telegram` (polling) or `python -m bot serve` + setWebhook (webhook)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": emulator.api,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        # The demo data is dated on the tests' frozen clock, the process runs on real time:
        # its reminders would arrive at random in these conversations.
        "SCHEDULER_ENABLED": "false",
    }
    port = free_port()
    command = ["telegram"] if mode == "polling" else ["serve", "--port", str(port)]
    log = tempfile.TemporaryFile("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *command], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: process.poll() is None and emulator.commands(), "setMyCommands")
        if mode == "webhook":
            wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200, "serve")
            emulator.bot_call("setWebhook", url=f"{base}/telegram/webhook", secret_token=SECRET)
        yield base
    except BaseException:
        log.seek(0)
        print(f"--- bot log ({mode}) ---\n{log.read()[-6000:]}")  # shown with the failure
        raise
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


@dataclass
class User:
    """A Telegram user talking to the bot in a private chat through the emulator."""

    emulator: Emulator
    id: int
    first_name: str = "测试"
    inbox: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sender(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": False, "first_name": self.first_name}

    @property
    def chat(self) -> dict[str, Any]:
        return {"id": self.id, "type": "private", "first_name": self.first_name}

    def say(self, text: str, group: int | None = None) -> None:
        """Send a text in the private chat, or in the group chat with id `group`."""
        chat = self.chat if group is None else {"id": group, "type": "group", "title": "红盟群"}
        self.emulator.post(
            "/sendMessage",
            botToken=TOKEN,
            **{"from": self.sender},
            chat=chat,
            date=int(time.time()),
            text=text,
        )

    def press(self, label: str) -> None:
        """Press a button of the latest bot message that shows one with this label."""
        for message in reversed(self.inbox):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if button["text"] == label:
                        return self.press_data(button["callback_data"])
        raise AssertionError(f"no button {label!r} in what the bot sent")

    def press_data(self, data: str) -> None:
        message = {"message_id": 1, "date": int(time.time()), "chat": self.chat}
        self.emulator.post(
            "/sendCallback",
            botToken=TOKEN,
            **{"from": self.sender},
            message=message,
            data=data,
            date=int(time.time()),
        )

    def text_update(self, text: str, update_id: int | None = None) -> dict[str, Any]:
        """A raw update as Telegram would send it (for re-delivery and forged requests)."""
        message = {
            "message_id": 1000 + (update_id or 0) % 1000,
            "date": int(time.time()),
            "chat": self.chat,
            "from": self.sender,
            "text": text,
        }
        return {"update_id": update_id or next(_injected_ids), "message": message}

    def share_location(
        self, latitude: float, longitude: float, live_period: int | None = None
    ) -> dict[str, Any]:
        """Share a pin, or start a live location with `live_period` seconds; returns the
        message, which `move` then edits as Telegram does while a live share lasts."""
        location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
        if live_period is not None:
            location["live_period"] = live_period
        message = {
            "message_id": next(_injected_ids),
            "date": int(time.time()),
            "chat": self.chat,
            "from": self.sender,
            "location": location,
        }
        self.inject({"update_id": next(_injected_ids), "message": message})
        return message

    def move(self, live: dict[str, Any], latitude: float, longitude: float) -> None:
        """A later position of a live share: Telegram sends it as an edited message."""
        location = {**live["location"], "latitude": latitude, "longitude": longitude}
        edited = {**live, "location": location, "edit_date": int(time.time())}
        self.inject({"update_id": next(_injected_ids), "edited_message": edited})

    def inject(self, update: dict[str, Any]) -> None:
        """Deliver a raw update the way the bot receives them (getUpdates or the webhook)."""
        self.emulator.post("/_test/inject", token=TOKEN, update=update)

    def expect(self, count: int = 1, timeout: float = WAIT) -> list[str]:
        """Wait for `count` new messages from the bot; returns their texts."""
        new: list[dict[str, Any]] = []

        def arrived() -> bool:
            new.extend(
                item["message"]
                for item in self.emulator.post("/getUpdates", token=TOKEN, chatId=self.id)
            )
            return len(new) >= count

        wait_until(arrived, f"{count} message(s) to {self.id}", timeout)
        self.inbox += new
        return [m.get("text", "") for m in new]

    def quiet(self, seconds: float = 1.5) -> None:
        """Assert the bot sends this user nothing for a while."""
        time.sleep(seconds)
        extra = self.emulator.post("/getUpdates", token=TOKEN, chatId=self.id)
        assert extra == [], f"unexpected: {[m['message'].get('text') for m in extra]}"
