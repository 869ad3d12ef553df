"""Browser tests: Playwright driving Debian's chromium-headless-shell against a real
`python -m bot serve` on 127.0.0.1, with the chat done through `python -m bot console`.

Playwright's own browser download is not used: the binary is CHROMIUM_PATH, else
`chromium-headless-shell` on the PATH (apt-get install chromium-headless-shell). Without it
the tests skip, saying so; with REQUIRE_BROWSER=1 (.ci/run sets it) they fail instead.
Screenshots of each page at a phone and a desk width go to tests/output/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.cli import ROOT, demo_env, run_bot

SHOTS = ROOT / "tests" / "output" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1366, "height": 900}
LINK_RE = re.compile(r"(http://127\.0\.0\.1:\d+/admin/login\?t=[\w-]+)")


def chromium_path() -> str | None:
    given = os.environ.get("CHROMIUM_PATH")
    if given:
        return given if Path(given).exists() else None
    return shutil.which("chromium-headless-shell") or next(
        (p for p in ("/usr/bin/chromium-headless-shell", "/usr/bin/chromium") if Path(p).exists()),
        None,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module. Not for the session: Playwright's sync API keeps an event
    loop running in this thread while it is open, and the async tests after it need theirs."""
    path = chromium_path()
    why = ""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        why = (
            "the Python package playwright is not installed (pip install -r requirements-dev.txt)"
        )
    if not why and path is None:
        why = "chromium-headless-shell is not installed (apt-get install chromium-headless-shell)"
    if why:
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"browser tests required but {why}")
        pytest.skip(why)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path)
        yield launched
        launched.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base: str
    env: dict[str, str]

    def chat(self, user: str, *lines: str) -> str:
        """What `python -m bot console --user USER` prints for these lines."""
        return run_bot(["console", "--user", user], self.env, "".join(f"{x}\n" for x in lines))

    def cli(self, *args: str) -> str:
        return run_bot(list(args), self.env)

    def link(self, user: str) -> str:
        found = LINK_RE.findall(self.chat(user, "后台"))
        assert found, f"no login link for {user}"
        return found[-1]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A demo county behind `python -m bot serve` (reset for each test)."""
    port = free_port()
    env = demo_env(tmp_path)
    env |= {
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "SCHEDULER_ENABLED": "false",
        "TELEGRAM_BOT_USERNAME": "hongmeng_demo_bot",  # invite sheets show QR codes
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)
        yield Server(base, env)
    finally:
        process.terminate()
        process.wait(timeout=10)


def shoot(page: Any, name: str) -> None:
    """The page as it is now, at a phone width and at a desk width (whole page)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    for label, size in (("phone", PHONE), ("desk", DESK)):
        page.set_viewport_size(size)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(before)


def logged_in(browser: Any, server: Server, user: str) -> Any:
    """A page logged in as `user` from the link the console chat sends (phone width)."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    page.goto(server.link(user))
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r".*/admin/(tickets)?$"))
    return page
