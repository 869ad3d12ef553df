"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.telegram_harness import Emulator, running_emulator
from tests.wecom_sim import FakeWeComApi, ServerThread


@pytest.fixture(scope="module")
def api() -> Iterator[FakeWeComApi]:
    """The stand-in WeCom API on 127.0.0.1, recording what it is sent."""
    fake = FakeWeComApi()
    server = ServerThread(fake.asgi(), lifespan="off").start()
    fake.base = f"{server.url}/cgi-bin"
    yield fake
    server.stop()


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A fresh Telegram Bot API emulator (npm telegram-test-api) on 127.0.0.1."""
    with running_emulator() as value:
        yield value


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test item, so fixtures can tell a failed test."""
    outcome = yield
    setattr(item, f"rep_{call.when}", outcome.get_result())  # type: ignore[attr-defined]
