"""The real CLI: after `demo --reset`, the member finishes a 督办事项 with `@photo PATH`; the
picture is stored once and the chair (host) is shown it without its location."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from PIL import Image

from models.files import GPS_IFD
from tests.e2e.cli import run_bot
from tests.unit.test_files import photo

pytestmark = pytest.mark.e2e


def test_a_photo_as_evidence_is_stored_once_and_shown_to_the_chair(tmp_path: Path) -> None:
    database = os.environ.get("DATABASE_URL", "")
    if not database.startswith("postgres"):
        database = f"sqlite:///{tmp_path / 'demo.db'}"
    env = {**os.environ, "DATABASE_URL": database, "FILES_DIR": str(tmp_path / "files")}
    run_bot(["demo", "--reset"], env)
    picture = tmp_path / "台账.jpg"
    picture.write_bytes(photo())
    script = "\n".join(
        [
            "@photo",
            f"@photo {tmp_path / 'missing.jpg'}",
            "我的待办",
            "#1",
            "#2",  # 完成
            "融资需求清单已整理，共 12 家",
            f"@photo {picture}",
            "#1",  # 确认完成
            f"@photo {picture} 再发一次",
            f"@file {tmp_path / '台账.jpg'}",
        ]
    )
    out = run_bot(["console", "--user", "member"], env, script + "\n")
    assert out.startswith("（格式：@photo 图片路径 或 @file 文件路径，可在路径后空一格写说明）\n")
    assert "没能收到这张照片（missing.jpg），请再发送一次。（未保存）" in out
    assert "已收到照片。\n请确认完成 DB-" in out
    done = re.search(r"🎉 (DB-\d{4}) 已完成，已告知主席单位。", out)
    assert done, out
    shown = re.search(
        rf">> host: ✅ {done.group(1)}（于刚）已完成：.*?\[image: (\S+)\]", out, re.S
    )
    assert shown, out
    seen = Path(shown.group(1))
    assert seen.name.endswith(".shared.jpg")
    assert GPS_IFD not in Image.open(io.BytesIO(seen.read_bytes())).getexif()
    # Sent twice more (as a photo, and as a file: the bytes say it is a picture, whatever it
    # was sent as): offered for the one item left (the demo member's pledge), and still one
    # stored picture and its copy.
    after = out.split(done.group(0), 1)[1]
    assert after.count("收到照片。要作为哪项督办事项的完成凭证？") == 2, after
    stored = sorted(p.name for p in (tmp_path / "files").rglob("*.jpg"))
    assert len(stored) == 3  # the demo's own photo, this one, and its location-free copy
    assert sum(name.endswith(".shared.jpg") for name in stored) == 1
