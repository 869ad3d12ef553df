"""Fixtures: settings on a temp database migrated once, a frozen clock, the app and a chat.

With DATABASE_URL set to PostgreSQL in the environment, the same tests run there: the schema
is migrated once and every table is emptied before each test.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.app import App, build_app
from bot.clock import Clock, FrozenClock, local_datetime
from models.base import Base
from models.db import make_engine, make_sessionmaker
from models.migrate import upgrade
from settings import Settings, load_settings, use_settings
from tests.fakes import Chat, RecordingTransport

START = local_datetime(2026, 12, 1, 9, 0)  # a Tuesday morning in Asia/Shanghai
POSTGRES_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = POSTGRES_URL.startswith(("postgresql", "postgres"))


def make_settings(url: str, **overrides: Any) -> Settings:
    return load_settings(_env_file=None, DATABASE_URL=url, **overrides)


async def _load_demo(settings: Settings, now: datetime = START) -> dict[str, Any]:
    from models.demo import load_demo

    engine = make_engine(settings)
    try:
        await load_demo(make_sessionmaker(engine), now)
    finally:
        await engine.dispose()
    return {}


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Migrated databases to copy from: 'empty' and 'demo' (SQLite); PostgreSQL migrates once."""
    if ON_POSTGRES:
        settings = make_settings(POSTGRES_URL)
        asyncio.run(_reset_postgres(settings, drop=True))
        upgrade(settings)
        return {}
    folder = tmp_path_factory.mktemp("templates")
    empty = folder / "empty.db"
    upgrade(make_settings(f"sqlite:///{empty}"))
    demo = folder / "demo.db"
    shutil.copy(empty, demo)
    asyncio.run(_load_demo(make_settings(f"sqlite:///{demo}")))
    return {"empty": str(empty), "demo": str(demo)}


async def _reset_postgres(settings: Settings, drop: bool = False) -> None:
    engine = make_engine(settings)
    async with engine.begin() as conn:
        if drop:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        else:
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()


def _database(templates: dict[str, str], tmp_path: Path, kind: str) -> Settings:
    if ON_POSTGRES:
        settings = make_settings(POSTGRES_URL)
        asyncio.run(_reset_postgres(settings))
        if kind == "demo":
            asyncio.run(_load_demo(settings))
        return settings
    path = tmp_path / "test.db"
    shutil.copy(templates[kind], path)
    return make_settings(f"sqlite:///{path}")


@pytest.fixture
def settings(templates: dict[str, str], tmp_path: Path) -> Iterator[Settings]:
    """An empty, migrated database."""
    value = _database(templates, tmp_path, "empty")
    use_settings(value)
    yield value
    use_settings(None)


@pytest.fixture
def demo_settings(templates: dict[str, str], tmp_path: Path) -> Iterator[Settings]:
    """A migrated database holding the demo county."""
    value = _database(templates, tmp_path, "demo")
    use_settings(value)
    yield value
    use_settings(None)


async def _move_activities(settings: Settings, delta: timedelta) -> None:
    from models.activity import Activity

    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            for activity in (await session.execute(select(Activity))).scalars():
                activity.starts_at += delta
                activity.ends_at += delta
    finally:
        await engine.dispose()


@pytest.fixture
def live_demo_settings(templates: dict[str, str], tmp_path: Path) -> Iterator[Settings]:
    """The demo county with its activities moved from START to the wall-clock time, for real
    processes that run on it (the party day is checking in now, as after `demo --reset`)."""
    value = _database(templates, tmp_path, "demo")
    asyncio.run(_move_activities(value, Clock().now() - START))
    use_settings(value)
    yield value
    use_settings(None)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def transport() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
async def app(
    settings: Settings, clock: FrozenClock, transport: RecordingTransport
) -> AsyncIterator[App]:
    value = build_app(settings, {"console": transport}, clock)
    yield value
    await value.close()


@pytest.fixture
async def demo_app(
    demo_settings: Settings, clock: FrozenClock, transport: RecordingTransport
) -> AsyncIterator[App]:
    value = build_app(demo_settings, {"console": transport}, clock)
    yield value
    await value.close()


@pytest.fixture
def chat(demo_app: App, transport: RecordingTransport) -> Chat:
    """A chat over the demo county, as its console accounts."""
    return Chat(demo_app, transport)
