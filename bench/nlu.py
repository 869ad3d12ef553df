"""Benchmark of the NLU: start-up with jieba ready, and parse time per message.

Run: python bench/nlu.py [FILE.jsonl ...]   (default: bot/nlu/data/heldout/blind2.jsonl)
Not a test: the figures depend on the machine and its load.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STARTUP = (
    "import time; t = time.perf_counter(); c = time.process_time(); import bot.nlu as n; "
    "n.warm_up(); n.parse('签到 482913'); "
    "print(time.perf_counter() - t, time.process_time() - c)"
)


def startup_seconds(runs: int = 5) -> list[tuple[float, float]]:
    """Fresh interpreters: import bot.nlu, load jieba and the rules, parse one message.

    Wall time and CPU time: on a shared machine the wall time mostly measures the others.
    """
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-W", "error", "-c", STARTUP],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        wall, cpu = out.stdout.split()
        times.append((float(wall), float(cpu)))
    return times


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    from bot.nlu import parse, warm_up
    from bot.nlu.features import text_features
    from bot.nlu.parsing import _category_of
    from bot.nlu.rules import category_scores

    files = [Path(a) for a in argv] or [ROOT / "bot" / "nlu" / "data" / "heldout" / "blind2.jsonl"]
    texts = [
        json.loads(line)["text"]
        for f in files
        for line in f.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    boot = startup_seconds()
    wall, cpu = [b[0] for b in boot], [b[1] for b in boot]
    print(
        f"start-up (fresh process, jieba ready) over {len(boot)} runs: wall median "
        f"{statistics.median(wall):.3f} s (max {max(wall):.3f} s), CPU median "
        f"{statistics.median(cpu):.3f} s"
    )

    warm_up()
    per_message = []
    cpu_started = time.process_time()
    for _ in range(20):
        for text in texts:
            category_scores.cache_clear()  # every message as if seen for the first time
            _category_of.cache_clear()
            text_features.cache_clear()
            started = time.perf_counter()
            parse(text)
            per_message.append(time.perf_counter() - started)
    cpu_ms = (time.process_time() - cpu_started) * 1000 / len(per_message)
    ms = sorted(t * 1000 for t in per_message)
    print(
        f"parse over {len(texts)} messages x 20: wall mean {statistics.mean(ms):.3f} ms, "
        f"median {ms[len(ms) // 2]:.3f} ms, p99 {ms[int(len(ms) * 0.99)]:.3f} ms, "
        f"max {ms[-1]:.3f} ms; CPU mean {cpu_ms:.3f} ms"
    )

    for label, text in (("10,000 characters", "我要吹哨，" + "停电了" * 3333),):
        started = time.perf_counter()
        parse(text)
        print(f"parse of {label}: {(time.perf_counter() - started) * 1000:.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
