"""Fixtures: settings on a temp database migrated once, a frozen clock, the app and a chat.

With DATABASE_URL set to PostgreSQL in the environment, the same tests run there: template
databases are migrated (and loaded with the demo) once, and each test gets a fresh clone.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import App, build_app
from bot.core.clock import Clock, FrozenClock, local_datetime
from models.db import make_engine, make_sessionmaker
from models.migrate import upgrade
from settings import Settings, load_settings, use_settings
from tests.fakes import Chat, RecordingTransport

START = local_datetime(2026, 12, 1, 9, 0)  # a Tuesday morning in Asia/Shanghai
POSTGRES_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = POSTGRES_URL.startswith(("postgresql", "postgres"))


def make_settings(url: str, **overrides: Any) -> Settings:
    return load_settings(_env_file=None, DATABASE_URL=url, **overrides)


async def _load_demo(settings: Settings, extras: bool = False) -> dict[str, Any]:
    """The demo county; `extras`: with the data that changes other features' figures and
    sweeps (bot.demo EXTRA_SEEDERS: the quarter of meetings), for the tests of that data."""
    from bot.demo import load_demo

    engine = make_engine(settings)
    use_settings(settings)  # the seeders store files where these settings say
    try:
        await load_demo(make_sessionmaker(engine), START, extras=extras)
    finally:
        use_settings(None)
        await engine.dispose()
    return {}


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Migrated databases each test starts from a copy of: 'empty', 'demo' and 'full' (the
    demo with its extras, as `python -m bot demo` loads it).

    SQLite: files copied per test. PostgreSQL: template databases, cloned per test with
    CREATE DATABASE ... TEMPLATE, which is much faster than emptying and reloading the demo.
    """
    if ON_POSTGRES:
        empty, demo, full = _pg_url("tpl_empty"), _pg_url("tpl_demo"), _pg_url("tpl_full")
        for name in (demo, full):
            _pg_admin(f'DROP DATABASE IF EXISTS "{_pg_name(name)}" WITH (FORCE)')
        _pg_recreate(empty, template="template0")
        upgrade(make_settings(empty))
        _pg_recreate(demo, template=_pg_name(empty))
        _pg_recreate(full, template=_pg_name(empty))
        asyncio.run(_load_demo(make_settings(demo)))
        files = str(tmp_path_factory.mktemp("templates") / "files")
        asyncio.run(_load_demo(make_settings(full, FILES_DIR=files), extras=True))
        return {"empty": empty, "demo": demo, "full": full}
    folder = tmp_path_factory.mktemp("templates")
    empty_file = folder / "empty.db"
    upgrade(make_settings(f"sqlite:///{empty_file}"))
    demo_file, full_file = folder / "demo.db", folder / "full.db"
    shutil.copy(empty_file, demo_file)
    shutil.copy(empty_file, full_file)
    asyncio.run(_load_demo(make_settings(f"sqlite:///{demo_file}")))
    extras = make_settings(f"sqlite:///{full_file}", FILES_DIR=str(folder / "files"))
    asyncio.run(_load_demo(extras, extras=True))
    return {"empty": str(empty_file), "demo": str(demo_file), "full": str(full_file)}


def _pg_url(suffix: str) -> str:
    """A database beside the one DATABASE_URL names, on the same server."""
    base, _, name = POSTGRES_URL.rpartition("/")
    return f"{base}/{name.split('?')[0]}_{suffix}"


def _pg_name(url: str) -> str:
    return url.rpartition("/")[2]


def _pg_admin(sql: str) -> None:
    import psycopg

    server = POSTGRES_URL.split("://", 1)[1].rpartition("/")[0]
    with psycopg.connect(f"postgresql://{server}/postgres", autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _pg_recreate(url: str, template: str) -> None:
    name = _pg_name(url)
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def _database(templates: dict[str, str], tmp_path: Path, kind: str) -> Settings:
    if ON_POSTGRES:
        url = _pg_url("run")
        _pg_recreate(url, template=_pg_name(templates[kind]))
        return make_settings(url, FILES_DIR=str(tmp_path / "files"))
    path = tmp_path / "test.db"
    shutil.copy(templates[kind], path)
    return make_settings(f"sqlite:///{path}", FILES_DIR=str(tmp_path / "files"))


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


@pytest.fixture(autouse=True)
def private_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Files the bot sends go to this test's own folder (handlers.files)."""
    import handlers.files

    monkeypatch.setattr(handlers.files, "BASE", tmp_path)
    return handlers.files.folder()


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


@pytest.fixture
def full_settings(templates: dict[str, str], tmp_path: Path) -> Iterator[Settings]:
    """The demo county with its extras (a quarter of meetings), as `python -m bot demo`."""
    value = _database(templates, tmp_path, "full")
    use_settings(value)
    yield value
    use_settings(None)


@pytest.fixture
async def full_chat(
    full_settings: Settings, clock: FrozenClock, transport: RecordingTransport
) -> AsyncIterator[Chat]:
    """A chat over the full demo county (with its quarter of meetings)."""
    app = build_app(full_settings, {"console": transport}, clock)
    yield Chat(app, transport)
    await app.close()
