"""Shared pieces of the benchmarks: the machine, databases, members and a stubbed Bot API.

Not a test: nothing here is collected by pytest (testpaths = tests).
"""

from __future__ import annotations

import atexit
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("PTB_TIMEDELTA", "true")

from sqlalchemy import insert, select  # noqa: E402
from telegram.request import BaseRequest, RequestData  # noqa: E402

from bot.core.clock import local_datetime  # noqa: E402
from models.db import make_engine, make_sessionmaker  # noqa: E402
from settings import Settings, load_settings  # noqa: E402

# The tests' frozen moment: 《主题党日》 of the demo county is open for check-in then.
START = local_datetime(2026, 12, 1, 9, 0)
PARTY_DAY = "主题党日：学习党的创新理论"
BENCH_ID_BASE = 10_000_000  # Telegram user ids of the generated members


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine() -> dict[str, Any]:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    import sqlalchemy
    import telegram

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "sqlite": __import__("sqlite3").sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "python_telegram_bot": telegram.__version__,
    }


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(latencies: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(pct(latencies, 50) * 1000, 3),
        "p95_ms": round(pct(latencies, 95) * 1000, 3),
        "p99_ms": round(pct(latencies, 99) * 1000, 3),
        "max_ms": round(max(latencies) * 1000, 3),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 3),
    }


def save(name: str, data: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), **data}
    (RESULTS / f"{name}.json").write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(data, ensure_ascii=False, indent=2))


def bench_settings(url: str | None = None, **overrides: Any) -> Settings:
    """Settings on `url`, or on a fresh SQLite file in a temporary folder."""
    if url is None:
        folder = Path(tempfile.mkdtemp(prefix="hongmeng-bench-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        url = f"sqlite:///{folder / 'bench.db'}"
    return load_settings(_env_file=None, DATABASE_URL=url, **overrides)


async def fresh_demo(settings: Settings) -> None:
    """An empty schema at the head migration, then the demo county at START."""
    from bot.demo import drop_everything, load_demo
    from models.migrate import upgrade

    engine = make_engine(settings)
    try:
        if not settings.is_sqlite:
            await drop_everything(engine)
    finally:
        await engine.dispose()
    upgrade(settings)
    engine = make_engine(settings)
    try:
        await load_demo(make_sessionmaker(engine), START)
    finally:
        await engine.dispose()


async def add_members(settings: Settings, count: int, platform: str = "telegram") -> list[str]:
    """`count` party members at the demo member's unit, each with a bound identity.

    Returns their user keys (Telegram user ids as text). Inserted in bulk, in chunks.
    """
    from models.member import Identity, Member

    engine = make_engine(settings)
    keys = [str(BENCH_ID_BASE + i) for i in range(count)]
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            unit_id = await session.scalar(
                select(Member.home_unit_id)
                .join(Identity)
                .where(Identity.platform == "console", Identity.user_key == "member")
            )
            first = (await session.scalar(select(Member.id).order_by(Member.id.desc()))) or 0
            now = datetime.now(UTC)
            for start in range(0, count, 5000):
                chunk = range(start, min(count, start + 5000))
                await session.execute(
                    insert(Member),
                    [
                        {
                            "id": first + 1 + i,
                            "name": f"压测党员{i:06d}",
                            "home_unit_id": unit_id,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for i in chunk
                    ],
                )
                await session.execute(
                    insert(Identity),
                    [
                        {
                            "platform": platform,
                            "user_key": keys[i],
                            "chat_key": keys[i],
                            "member_id": first + 1 + i,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for i in chunk
                    ],
                )
    finally:
        await engine.dispose()
    if not settings.is_sqlite:
        await _fix_sequences(settings)
    return keys


async def _fix_sequences(settings: Settings) -> None:
    from sqlalchemy import text

    engine = make_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(
            text("SELECT setval(pg_get_serial_sequence('member', 'id'), MAX(id)) FROM member")
        )
    await engine.dispose()


async def party_day_code(settings: Settings, now: datetime) -> tuple[int, str]:
    """The id of 《主题党日》 and its code at `now`, computed from its secret like the tests."""
    from models.activity import Activity
    from models.checkin import current_code

    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session:
            activity = await session.scalar(select(Activity).where(Activity.title == PARTY_DAY))
            assert activity is not None
            return activity.id, current_code(activity, now)
    finally:
        await engine.dispose()


Gate = Callable[[str, dict[str, Any]], tuple[int, bytes] | None]


class StubRequest(BaseRequest):
    """A Bot API that answers every call at once from memory: nothing goes on the network.

    `gate(method, params)` may return (status, body) to answer instead (a 429, say).
    """

    def __init__(self, gate: Gate | None = None) -> None:
        self.calls = 0
        self.gate = gate
        self._message_id = 0

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        self.calls += 1
        name = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data is not None else {}
        if self.gate is not None:
            answer = self.gate(name, params)
            if answer is not None:
                return answer
        return 200, json.dumps({"ok": True, "result": self._result(name, params)}).encode()

    def _result(self, name: str, params: dict[str, Any]) -> Any:
        if name == "getMe":
            return {"id": 1, "is_bot": True, "first_name": "红盟助手", "username": "hongmeng_bot"}
        if name in ("sendMessage", "sendPhoto", "sendDocument"):
            self._message_id += 1
            chat_id = int(params.get("chat_id", 0))
            return {
                "message_id": self._message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": str(params.get("text", params.get("caption", "")) or ""),
            }
        return True


def text_update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    """A private text message as the Bot API sends it."""
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": int(START.timestamp()),
        "chat": {"id": user_id, "type": "private", "first_name": "党员"},
        "from": {"id": user_id, "is_bot": False, "first_name": "党员"},
        "text": text,
    }
    if text.startswith("/"):
        length = len(text.split()[0])
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {"update_id": update_id, "message": message}
