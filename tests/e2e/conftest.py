"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.wecom_sim import FakeWeComApi, ServerThread


@pytest.fixture(scope="module")
def api() -> Iterator[FakeWeComApi]:
    """The stand-in WeCom API on 127.0.0.1, recording what it is sent."""
    fake = FakeWeComApi()
    server = ServerThread(fake.asgi(), lifespan="off").start()
    fake.base = f"{server.url}/cgi-bin"
    yield fake
    server.stop()
