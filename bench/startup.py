"""Start-up to ready (jieba included) and resident memory with 100,000 members.

Run: python bench/startup.py [--runs 5] [--members 100000]

Start-up: fresh interpreters, wall and CPU time (the children's rusage), medians of `runs`:
`python -m bot console` with one line piped (an NLU sentence, so jieba loads), and the
in-process path (import, build_app, nlu.warm_up); the baseline is a bare python-telegram-bot
echo bot built the same way (import telegram.ext, build an Application), and `python -c pass`.

Memory: a fresh interpreter imports, builds the app, warms the NLU, handles a few events as
the generated members, then reads VmRSS and VmHWM from /proc/self/status; once on a database
holding the demo county plus `members` members with identities, once on the demo county alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import ROOT, add_members, bench_settings, fresh_demo, loadavg, machine, save

ECHO_BOT = (
    "import time; t=time.perf_counter(); "
    "from telegram.ext import Application, MessageHandler, filters; "
    "a=Application.builder().token('1:bench').updater(None).build(); "
    "a.add_handler(MessageHandler(filters.TEXT, lambda u, c: None)); "
    "print(time.perf_counter()-t)"
)
# `python -m bot console`, with jieba loaded first as `serve` does (a plain console line
# loads jieba only when the NLU needs it).
CONSOLE_JIEBA = (
    "from bot import nlu; nlu.warm_up(); from bot.cli import main; "
    "raise SystemExit(main(['console', '--user', 'member']))"
)
IN_PROCESS = (
    "import time; t=time.perf_counter(); "
    "from bot.app import build_app; from bot import nlu; from settings import load_settings; "
    "app=build_app(load_settings(), {}); nlu.warm_up(); nlu.parse('今天有什么活动'); "
    "print(time.perf_counter()-t)"
)
MEMORY = """
import asyncio, os, sys
from datetime import UTC, datetime
sys.path.insert(0, "bench")
from common import START, party_day_code
from bot import nlu
from bot.app import build_app
from bot.core.clock import FrozenClock
from bot.core import Incoming
from settings import load_settings

def status():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return {k: int(fields[k].split()[0]) for k in ("VmRSS", "VmHWM")}

async def main():
    settings = load_settings()
    app = build_app(settings, {}, FrozenClock(START))
    nlu.warm_up()
    ready = status()
    _, code = await party_day_code(settings, START)
    users = sys.argv[1:]
    texts = [f"签到 {code}", "/me", "/activities", "今天有什么活动", "/myrecord"]
    replies = unbound = 0
    for i, user in enumerate(users):
        for j, text in enumerate(texts):
            event = Incoming(platform="telegram", event_id=f"m{i}-{j}", user_key=user,
                             chat_key=user, received_at=datetime.now(UTC), text=text)
            answer = await app.dispatcher.handle(event)
            replies += len(answer)
            unbound += sum(r.text.startswith("您还没有绑定") for r in answer)
    await app.close()
    after = status()
    print(ready["VmRSS"], ready["VmHWM"], after["VmRSS"], after["VmHWM"], replies, unbound)

asyncio.run(main())
"""


def run_child(argv: list[str], env: dict[str, str], stdin: str = "") -> tuple[float, float, str]:
    """Wall time and CPU time (user + system) of one child process, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(
        argv, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.stdout


def timed(name: str, argv: list[str], env: dict[str, str], runs: int, stdin: str = "") -> dict:
    walls, cpus = [], []
    output = ""
    for _ in range(runs):
        wall, cpu, output = run_child(argv, env, stdin)
        walls.append(wall)
        cpus.append(cpu)
    print(f"{name}: wall {walls} cpu {cpus}", file=sys.stderr)
    return {
        "wall_s": [round(w, 3) for w in walls],
        "cpu_s": [round(c, 3) for c in cpus],
        "median_wall_s": round(statistics.median(walls), 3),
        "median_cpu_s": round(statistics.median(cpus), 3),
        "last_output": output.strip()[-300:],
    }


def memory(env: dict[str, str], users: list[str]) -> dict[str, Any]:
    _, _, out = run_child([sys.executable, "-c", MEMORY, *users], env)
    rss0, hwm0, rss1, hwm1, replies, unbound = (int(x) for x in out.split())
    return {
        "ready_vmrss_mib": round(rss0 / 1024, 1),
        "ready_vmhwm_mib": round(hwm0 / 1024, 1),
        "after_events_vmrss_mib": round(rss1 / 1024, 1),
        "after_events_vmhwm_mib": round(hwm1 / 1024, 1),
        "events": len(users) * 5,
        "replies": replies,
        "need_binding_replies": unbound,
        "db_size_mib": round(
            Path(env["DATABASE_URL"].split(":///", 1)[1]).stat().st_size / 2**20, 1
        ),
    }


async def main(args: argparse.Namespace) -> None:
    py = sys.executable
    demo = bench_settings()
    await fresh_demo(demo)
    demo_users = await add_members(demo, 3)
    big = bench_settings()
    await fresh_demo(big)
    big_users = await add_members(big, args.members)
    base_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env_demo = {**base_env, "DATABASE_URL": demo.DATABASE_URL, "PTB_TIMEDELTA": "true"}
    env_big = {**env_demo, "DATABASE_URL": big.DATABASE_URL}
    result: dict[str, Any] = {"machine": machine(), "runs": args.runs}
    loads = [loadavg()]
    console = [py, "-m", "bot", "console", "--user", "member"]
    result["python_pass"] = timed("python -c pass", [py, "-c", "pass"], env_demo, args.runs)
    result["echo_bot_build"] = timed("echo bot", [py, "-c", ECHO_BOT], env_demo, args.runs)
    result["console_one_line"] = timed(
        "console", console, env_demo, args.runs, stdin="今天有什么活动\n"
    )
    result["console_jieba_one_line"] = timed(
        "console+jieba", [py, "-c", CONSOLE_JIEBA], env_demo, args.runs, stdin="今天有什么活动\n"
    )
    result["console_jieba_one_line_100k"] = timed(
        "console+jieba 100k",
        [py, "-c", CONSOLE_JIEBA],
        env_big,
        args.runs,
        stdin="今天有什么活动\n",
    )
    result["in_process_ready"] = timed("in-process", [py, "-c", IN_PROCESS], env_demo, args.runs)
    loads.append(loadavg())
    ready = result["console_jieba_one_line"]
    echo_bot = result["echo_bot_build"]
    result["ratio_console_jieba_to_echo_bot_wall"] = round(
        ready["median_wall_s"] / echo_bot["median_wall_s"], 2
    )
    result["ratio_console_jieba_to_echo_bot_cpu"] = round(
        ready["median_cpu_s"] / echo_bot["median_cpu_s"], 2
    )
    result["members"] = args.members
    result["memory_100k"] = memory(env_big, big_users[:3])
    result["memory_demo_only"] = memory(env_demo, demo_users)
    echo_env = {**env_demo}
    echo_mem = (
        ECHO_BOT.replace("print(time.perf_counter()-t)", "")
        + "print([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0])"
    )
    _, _, out = run_child([py, "-c", echo_mem], echo_env)
    result["echo_bot_vmrss_mib"] = round(int(out.split()[1]) / 1024, 1)
    mem_total = machine()["memory_gib"] * 1024
    result["ratio_rss_100k_to_demo_only"] = round(
        result["memory_100k"]["after_events_vmhwm_mib"]
        / result["memory_demo_only"]["after_events_vmhwm_mib"],
        3,
    )
    result["share_of_memtotal_100k"] = round(
        result["memory_100k"]["after_events_vmhwm_mib"] / mem_total, 4
    )
    loads.append(loadavg())
    result["loadavg"] = loads
    save("startup", result)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--members", type=int, default=100_000)
    asyncio.run(main(parser.parse_args()))
