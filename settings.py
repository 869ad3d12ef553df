"""The one place configuration is read: environment variables and `.env`."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent


class SettingsError(SystemExit):
    """A wrong setting: start-up stops with one clear sentence."""


class Settings(BaseSettings):
    """Names are exactly those of INTERFACES.md; extra knobs have safe defaults."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    DATABASE_URL: str = f"sqlite+aiosqlite:///{ROOT / 'data' / 'hongmeng.db'}"
    BOT_TIMEZONE: str = "Asia/Shanghai"

    TELEGRAM_BOT_TOKEN: str = ""
    TELEGRAM_API_BASE_URL: str = "https://api.telegram.org/bot"
    TELEGRAM_WEBHOOK_SECRET: str = ""
    # Telegram's overall limit holds for the bot, not per process: each sending worker gets
    # TELEGRAM_MESSAGES_PER_SECOND / SENDING_WORKERS (set SENDING_WORKERS to the worker count).
    TELEGRAM_MESSAGES_PER_SECOND: int = 30
    SENDING_WORKERS: int = 1
    # Off only where the scheduled sweeps (reminders, digests) must not run, e.g. a test
    # process whose data is dated on a frozen test clock while the process uses real time.
    SCHEDULER_ENABLED: bool = True

    WECOM_CORP_ID: str = ""
    WECOM_AGENT_ID: str = ""
    WECOM_SECRET: str = ""
    WECOM_TOKEN: str = ""
    WECOM_AES_KEY: str = ""
    WECOM_API_BASE_URL: str = "https://qyapi.weixin.qq.com/cgi-bin"
    # A callback whose timestamp is further than this from our clock is refused; its nonce
    # is remembered this long.
    WECOM_TIMESTAMP_WINDOW_SECONDS: int = 300
    # message/send asks WeCom to drop a copy of the same content to the same member within
    # this many seconds (a re-send after a crash); at most 4 hours.
    WECOM_DUPLICATE_CHECK_SECONDS: int = 600

    # Reliability: an event hit by a transient fault (database busy, connection lost) is
    # tried EVENT_ATTEMPTS times, waiting EVENT_RETRY_SECONDS, then twice that... (at most
    # a minute) before it is marked failed.
    EVENT_ATTEMPTS: int = 6
    EVENT_RETRY_SECONDS: float = 2.0
    DATABASE_BUSY_TIMEOUT_SECONDS: float = 30.0  # SQLite: how long a write waits for a lock
    SHUTDOWN_GRACE_SECONDS: float = 10.0  # SIGTERM: how long sends in flight may finish
    # /readyz: events and direct replies waiting longer than this mean "not ready"; any
    # outbox row overdue longer than READY_OUTBOX_LAG_SECONDS too (a broadcast takes a while).
    READY_LAG_SECONDS: int = 120
    READY_OUTBOX_LAG_SECONDS: int = 1800

    DIALOG_TIMEOUT_MINUTES: int = 30
    MESSAGES_PER_MINUTE: int = 20
    BIND_FAILURES_ALLOWED: int = 5
    BIND_LOCK_MINUTES: int = 10
    INVITE_VALID_DAYS: int = 14

    CHECKIN_OPENS_MINUTES_BEFORE: int = 30
    CHECKIN_FAILURES_ALLOWED: int = 5
    CHECKIN_LOCK_MINUTES: int = 10
    CHECKIN_TELEGRAM_LIVE_ONLY: bool = True
    ROTATION_UNPUBLISHED_DAYS: int = 7

    # Pictures and files people send (evidence): stored once by content hash in FILES_DIR
    # (empty: a folder `files` beside a SQLite database, else data/files).
    FILES_DIR: str = ""
    UPLOAD_MAX_MB: int = 20
    # 督办事项: a reminder this many days before the due date (and one on it); overdue items go
    # to the owner and the chair at once, and to the county after this many working days.
    FOLLOWUP_REMIND_DAYS_BEFORE: int = 3
    FOLLOWUP_COUNTY_AFTER_WORKING_DAYS: int = 3
    # 志愿服务: hours count only when the stay covers this share (%) of the planned time;
    # 签退 is possible until this many minutes after the planned end.
    SERVICE_MIN_PERCENT: int = 60
    SERVICE_SIGNOUT_GRACE_MINUTES: int = 60
    # The web console (/admin): the address people open (login links start with it), the
    # bot's Telegram username for invite deep links (t.me/NAME?start=CODE), and optionally a
    # fixed key for its cookies (else one is made once and kept in the database).
    PUBLIC_BASE_URL: str = "http://127.0.0.1:8080"
    TELEGRAM_BOT_USERNAME: str = ""
    CONSOLE_SECRET: str = ""

    @field_validator("DATABASE_URL")
    @classmethod
    def _known_database(cls, value: str) -> str:
        """Accept plain URLs and pick the async driver we ship."""
        if value.startswith("sqlite://") or value.startswith("sqlite:///"):
            return value.replace("sqlite://", "sqlite+aiosqlite://", 1)
        if value.startswith(("postgresql://", "postgres://")):
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        if value.startswith(("sqlite+aiosqlite://", "postgresql+psycopg://")):
            return value
        raise ValueError("DATABASE_URL must start with sqlite:/// or postgresql://")

    @field_validator("PUBLIC_BASE_URL")
    @classmethod
    def _web_address(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("TELEGRAM_BOT_USERNAME")
    @classmethod
    def _bot_name(cls, value: str) -> str:
        return value.strip().removeprefix("@")

    @field_validator("BOT_TIMEZONE")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator(
        "DIALOG_TIMEOUT_MINUTES",
        "MESSAGES_PER_MINUTE",
        "INVITE_VALID_DAYS",
        "TELEGRAM_MESSAGES_PER_SECOND",
        "SENDING_WORKERS",
        "UPLOAD_MAX_MB",
        "FOLLOWUP_COUNTY_AFTER_WORKING_DAYS",
        "SERVICE_SIGNOUT_GRACE_MINUTES",
        "WECOM_TIMESTAMP_WINDOW_SECONDS",
        "EVENT_ATTEMPTS",
        "READY_LAG_SECONDS",
        "READY_OUTBOX_LAG_SECONDS",
    )
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be a positive number")
        return value

    @field_validator("SERVICE_MIN_PERCENT")
    @classmethod
    def _percent(cls, value: int) -> int:
        if not 1 <= value <= 100:
            raise ValueError("must be between 1 and 100")
        return value

    @field_validator("WECOM_DUPLICATE_CHECK_SECONDS")
    @classmethod
    def _duplicate_interval(cls, value: int) -> int:
        if not 1 <= value <= 4 * 3600:
            raise ValueError("must be between 1 and 14400 seconds (WeCom's limit)")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.DATABASE_URL.startswith("sqlite")

    @property
    def sync_database_url(self) -> str:
        """The same database through a synchronous driver (Alembic)."""
        return self.DATABASE_URL.replace("sqlite+aiosqlite://", "sqlite://", 1)

    @property
    def telegram_share_per_second(self) -> int:
        """This worker's part of the bot-wide Telegram send rate (rounded down, at least 1)."""
        return max(1, self.TELEGRAM_MESSAGES_PER_SECOND // self.SENDING_WORKERS)

    @property
    def files_dir(self) -> Path:
        """Where stored pictures and files live (FILES_DIR, else beside the database)."""
        if self.FILES_DIR:
            return Path(self.FILES_DIR)
        if self.is_sqlite:
            database = self.DATABASE_URL.split(":///", 1)[-1]
            if database and database != ":memory:":
                return Path(database).resolve().parent / "files"
        return ROOT / "data" / "files"

    @property
    def upload_max_bytes(self) -> int:
        return self.UPLOAD_MAX_MB * 1024 * 1024

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.BOT_TIMEZONE)


_current: Settings | None = None


def load_settings(**overrides: object) -> Settings:
    """Read settings; a wrong value becomes one sentence naming the setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"Configuration error: {name}: {message}.") from None


def get_settings() -> Settings:
    """The settings in force (read once)."""
    global _current
    if _current is None:
        _current = load_settings()
    return _current


def use_settings(settings: Settings | None) -> None:
    """Replace the settings in force (tests and the CLI)."""
    global _current
    _current = settings
