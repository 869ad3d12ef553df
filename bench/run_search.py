"""Run the resources benchmark (bench/search.py, `python -m bench.search`) and keep its output.

Run: python bench/run_search.py [options of bench/search.py]
The figures are bench/search.py's own; this adds the load average and wall/CPU time around it
and saves them to bench/results/search.json for BENCHMARKS.md.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time

from common import ROOT, loadavg, machine, save


def main(argv: list[str]) -> int:
    before = loadavg()
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "bench.search", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - t
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(out.stdout, end="")
    save(
        "search",
        {
            "machine": machine(),
            "command": " ".join(["python -m bench.search", *argv]),
            "output": out.stdout.rstrip("\n"),
            "wall_s": round(wall, 1),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "loadavg": [before, loadavg()],
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
