"""The migrations build exactly the schema the models describe, and downgrade cleanly."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

import models  # noqa: F401  (registers every table)
from models.base import Base
from models.migrate import alembic_config, upgrade
from tests.conftest import make_settings


def test_migrations_form_one_chain() -> None:
    script = ScriptDirectory.from_config(alembic_config(make_settings("sqlite:///unused.db")))
    assert len(script.get_heads()) == 1
    assert len(script.get_bases()) == 1


def test_migrated_schema_matches_the_models(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(settings)
    engine = create_engine(settings.sync_database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_downgrade_to_nothing_and_up_again(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'd.db'}")
    upgrade(settings)
    command.downgrade(alembic_config(settings), "base")
    upgrade(settings)
