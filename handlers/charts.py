"""PNG charts for /stats, drawn with matplotlib in a CJK font so Chinese labels render.

The font is looked up on known paths (Debian's fonts-wqy-microhei, fonts-noto-cjk) and added
to matplotlib explicitly; `make install` installs fonts-wqy-microhei when it can. Without one,
the chart is still drawn and a warning is logged (the labels then show as boxes).

matplotlib is imported when the first chart is drawn, not with the handlers: it costs every
process about 40 MiB and a noticeable part of its start-up, and most never draw a chart.
"""

from __future__ import annotations

import logging
import warnings
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

CJK_FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
)
NO_FONT = (
    "No CJK font found (looked in %s); chart labels will not render. "
    "Install one: apt-get install fonts-wqy-microhei"
)


@cache
def cjk_font() -> str | None:
    """The family name of the first CJK font found, registered with matplotlib."""
    from matplotlib import font_manager

    for path in CJK_FONT_PATHS:
        if Path(path).exists():
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
    log.warning(NO_FONT, ", ".join(CJK_FONT_PATHS))
    return None


def stats_chart(
    path: Path, title: str, counts: dict[str, int], rates: dict[str, float | None]
) -> Path:
    """Two panels: counts as bars, rates as percentages (a missing rate is drawn as 0)."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure  # no pyplot: no global state, no display needed

    family = cjk_font()
    style = {"font.family": [family, "DejaVu Sans"]} if family else {}
    with rc_context({**style, "axes.unicode_minus": False}), warnings.catch_warnings():
        if family is None:  # already logged once; one warning per glyph would drown the log
            warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig = Figure(figsize=(9, 4.2), dpi=110)
        left, right = fig.subplots(1, 2)
        fig.suptitle(title, fontsize=14)
        bars = left.bar(list(counts), list(counts.values()), color="#c8102e")
        left.bar_label(bars)
        left.set_title("数量")
        values = [0.0 if v is None else v * 100 for v in rates.values()]
        bars = right.barh(list(rates), values, color="#f2a900")
        right.bar_label(bars, labels=[_pct(v) for v in rates.values()])
        right.set_xlim(0, 110)
        right.invert_yaxis()
        right.set_title("比率（%）")
        fig.tight_layout()
        fig.savefig(path, format="png")
    return path


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"
