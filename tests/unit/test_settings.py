"""Settings: names from INTERFACES.md, clear errors for wrong values."""

from __future__ import annotations

import pytest

from settings import SettingsError, load_settings


def test_plain_urls_get_the_async_driver() -> None:
    assert load_settings(_env_file=None, DATABASE_URL="sqlite:///x.db").DATABASE_URL == (
        "sqlite+aiosqlite:///x.db"
    )
    pg = load_settings(_env_file=None, DATABASE_URL="postgresql://u:p@127.0.0.1/db")
    assert pg.DATABASE_URL == "postgresql+psycopg://u:p@127.0.0.1/db"
    assert pg.sync_database_url == pg.DATABASE_URL


def test_wrong_database_url_stops_with_one_sentence() -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(_env_file=None, DATABASE_URL="mysql://x")
    assert str(error.value) == (
        "Configuration error: DATABASE_URL: DATABASE_URL must start with sqlite:/// or "
        "postgresql://."
    )


def test_wrong_timezone_is_named() -> None:
    with pytest.raises(SettingsError, match="BOT_TIMEZONE: unknown time zone 'Mars/Base'"):
        load_settings(_env_file=None, BOT_TIMEZONE="Mars/Base")


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    assert load_settings(_env_file=None).TELEGRAM_BOT_TOKEN == "123:abc"
