"""The chart finds a CJK font on known paths, and without one still draws with a warning."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from handlers import charts


def test_without_a_cjk_font_the_chart_is_drawn_and_a_warning_logged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(charts, "CJK_FONT_PATHS", (str(tmp_path / "none.ttc"),))
    charts.cjk_font.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="handlers.charts"):
            path = charts.stats_chart(tmp_path / "c.png", "t", {"a": 1}, {"r": None})
    finally:
        charts.cjk_font.cache_clear()
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert "No CJK font found" in caplog.text


def test_the_installed_cjk_font_is_found() -> None:
    if not any(Path(p).exists() for p in charts.CJK_FONT_PATHS):
        pytest.skip("no CJK font installed (apt-get install fonts-wqy-microhei)")
    assert charts.cjk_font() in {"WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK JP"}
