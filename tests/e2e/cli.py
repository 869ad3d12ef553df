"""Running `python -m bot ...` as a real process, on a demo county of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_bot(args: list[str], env: dict[str, str], stdin: str = "") -> str:
    """Run the CLI to the end; its standard output (a failure shows its standard error)."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def demo_env(folder: Path) -> dict[str, str]:
    """An environment whose database holds a fresh demo county: the PostgreSQL database of
    DATABASE_URL when that is set, else a SQLite file in `folder`."""
    database = os.environ.get("DATABASE_URL", "")
    if not database.startswith("postgres"):
        database = f"sqlite:///{folder / 'demo.db'}"
    values = {**os.environ, "DATABASE_URL": database}
    run_bot(["demo", "--reset"], values)
    return values
