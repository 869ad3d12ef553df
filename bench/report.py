"""Write BENCHMARKS.md from the figures in bench/results/*.json (the last run of each script).

Run: python bench/report.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def machine_section(found: list[dict[str, Any]]) -> list[str]:
    m = found[0]["machine"]
    return [
        "## The machine",
        "",
        f"- `nproc`: {m['nproc']}; CPU: {m['cpu']}; memory: {m['memory_gib']} GiB; "
        f"kernel {m['kernel']}",
        f"- Python {m['python']}, SQLite {m['sqlite']}, SQLAlchemy {m['sqlalchemy']}, "
        f"python-telegram-bot {m['python_telegram_bot']}",
        "- Shared: other jobs ran on the same 2 cores during these runs; each figure carries "
        "the load average (1, 5, 15 min) read before and after it. CPU time per event is the "
        "figure least disturbed by the load.",
        "",
    ]


def throughput_lines(label: str, r: dict[str, Any]) -> list[str]:
    t = r["throughput"]
    o, e = t["ours"], t["echo"]
    return [
        f"### Events through the whole dispatcher ({label}) against a bare PTB echo bot",
        "",
        f"Measured {r['measured_at']}. {t['reps']} repetitions of {o['events_per_rep']} "
        f"updates ({t['users_per_rep']} members × {len(t['script'])} messages, round-robin), "
        "one `process_update` at a time, after a warm-up of 20 members. "
        + (
            "Ours takes each update the durable way: stored in the inbox, applied by the "
            "event worker, its replies sent from the outbox (rate limiter off)."
            if t.get("path") == "stored"
            else "Ours dispatched each update and sent its replies straight away (measured "
            "before durable intake)."
        ),
        f"Each member sends: {', '.join(f'`{s}`' for s in t['script'])}. The search runs "
        "over the demo county's resources (the 100,000-resource figure is further down).",
        "",
        "| | ours (dispatcher) | echo bot (baseline) | ratio ours/echo |",
        "|---|---|---|---|",
        f"| events/s per repetition | {o['events_per_s']} | {e['events_per_s']} | |",
        f"| events/s, median | {o['median_events_per_s']} | {e['median_events_per_s']} | "
        f"**{t['ratio_events_per_s']}** |",
        f"| CPU ms per event, median | {o['median_cpu_ms_per_event']} | "
        f"{e['median_cpu_ms_per_event']} | **{t['ratio_cpu_per_event']}×** |",
        f"| latency p50 | {o['p50_ms']} ms | {e['p50_ms']} ms | |",
        f"| latency p95 | {o['p95_ms']} ms | {e['p95_ms']} ms | |",
        f"| latency p99 | {o['p99_ms']} ms | {e['p99_ms']} ms | |",
        f"| latency max | {o['max_ms']} ms | {e['max_ms']} ms | |",
        "",
        "Latency p50 of ours by message: "
        + "; ".join(f"`{k}` {v} ms" for k, v in o["p50_ms_by_message"].items())
        + ".",
        "",
        f"Replies sent (warm-up included): ours {t['replies_sent']['ours']}, echo "
        f"{t['replies_sent']['echo']}; error replies: {t['error_replies']}; check-in rows "
        f"{t['checkin_rows']} of {t['checkin_rows_expected']} expected. "
        f"Load average: {' → '.join(t['loadavg'])}.",
        "",
    ]


def burst_lines(label: str, r: dict[str, Any], key: str = "burst") -> list[str]:
    b = r[key]
    if b["spread_s"]:
        how = (
            f"arriving evenly over {b['spread_s']:g} s (member i starts at i·{b['spread_s']:g}/"
            f"{b['checkins_sent']} s), concurrent `dispatcher.handle` calls"
        )
    else:
        how = "all `dispatcher.handle` calls started at once (`asyncio.gather`), the worst case"
    return [
        f"### A burst of {b['checkins_sent']:,} check-ins to one activity ({label}, "
        + (f"spread over {b['spread_s']:g} s)" if b["spread_s"] else "all at once)"),
        "",
        f"Measured {r['measured_at']}. {b['checkins_sent']:,} members with identities, {how}; "
        "the code valid; latency counts from each call's arrival to its return.",
        "",
        f"- whole burst: {b['wall_s']} s wall, {b['cpu_s']} s CPU — "
        f"**{b['ratio_wall_to_window']}** of the one-minute window",
        f"- latency p50 {b['p50_ms']} ms, p95 {b['p95_ms']} ms, **p99 {b['p99_ms']} ms**, "
        f"max {b['max_ms']} ms",
        f"- nothing lost: {b['checkin_rows']} check-in rows, {b['success_replies']} "
        f"“签到成功” replies, {b['error_replies']} error replies, {b['other_replies']} other "
        f"replies, {b['events_without_reply']} events without a reply",
        f"- load average: {' → '.join(b['loadavg'])}",
        "",
    ]


def headline(
    sqlite: dict[str, Any] | None,
    pg: dict[str, Any] | None,
    broadcast: dict[str, Any] | None,
    startup: dict[str, Any] | None,
    latency: dict[str, Any] | None = None,
) -> list[str]:
    """One row per figure: what, the figure, the baseline or limit, the ratio."""
    rows = []
    for label, r in (("SQLite", sqlite), ("PostgreSQL", pg)):
        if not r:
            continue
        t = r["throughput"]
        rows.append(
            f"| events/s, whole dispatcher, mixed ({label}) | {t['ours']['median_events_per_s']}"
            f" (p50 {t['ours']['p50_ms']} ms, p99 {t['ours']['p99_ms']} ms) | PTB echo bot "
            f"{t['echo']['median_events_per_s']} | {t['ratio_events_per_s']} |"
        )
        for key, how in (("burst", "all at once"), ("burst_spread", "over 60 s")):
            if key in r:
                b = r[key]
                rows.append(
                    f"| 1,000 check-ins {how} ({label}): p99; rows; error replies | "
                    f"{b['p99_ms']} ms; {b['checkin_rows']}; {b['error_replies']} | "
                    f"one-minute window (burst took {b['wall_s']} s) | "
                    f"{b['ratio_wall_to_window']} of the window |"
                )
    if broadcast:
        rows.append(
            f"| broadcast to {broadcast['recipients']:,}: total time; 429s | "
            f"{broadcast['total_s']} s; {broadcast['responses_429']} | "
            f"{broadcast['recipients']:,}/30 = {broadcast['limit_s']} s | "
            f"{broadcast['ratio_to_limit']} |"
        )
    if latency:
        b, w = latency["burst"], latency["broadcast"]
        rows.append(
            f"| reply latency, {b['users']} users at once: p50; p99; answered | "
            f"{b['p50_ms']} ms; {b['p99_ms']} ms; {b['answered']}/{b['users']} | "
            f"{b['users']}/30 = {b['limit_s']} s for the last reply | "
            f"last reply at {b['whole_burst_s']} s |"
        )
        rows.append(
            f"| reply latency during a {w['broadcast_recipients']:,}-message broadcast: p50; "
            f"p99; answered | {w['p50_ms']} ms; {w['p99_ms']} ms; {w['answered']}/{w['users']} "
            f"| the broadcast at {w['broadcast_sent_when_writers_done']:,} of "
            f"{w['broadcast_recipients']:,} meanwhile | |"
        )
        if "throughput" in latency:
            t = latency["throughput"]
            rows.append(
                f"| updates/s end to end through the webhook, Bot API answering after "
                f"{t['bot_api_delay_ms']} ms: {t['users']:,} /help | "
                f"{t['updates_per_s_end_to_end']} (p99 {t['p99_ms']} ms; "
                f"{t['answered']}/{t['users']} answered) | target 200 | "
                f"{round(t['updates_per_s_end_to_end'] / 200, 3)} |"
            )
    if startup:
        c, e = startup["console_jieba_one_line"], startup["echo_bot_build"]
        m = startup["memory_100k"]
        rows.append(
            f"| start-up to ready, jieba included (console, one line) | {c['median_wall_s']} s "
            f"wall, {c['median_cpu_s']} s CPU | PTB echo bot build {e['median_wall_s']} s, "
            f"{e['median_cpu_s']} s CPU | {startup['ratio_console_jieba_to_echo_bot_wall']}× "
            f"wall, {startup['ratio_console_jieba_to_echo_bot_cpu']}× CPU |"
        )
        rows.append(
            f"| peak memory (VmHWM), {startup['members']:,} members | "
            f"{m['after_events_vmhwm_mib']} MiB | demo county only "
            f"{startup['memory_demo_only']['after_events_vmhwm_mib']} MiB; machine "
            f"{startup['machine']['memory_gib']} GiB | {startup['ratio_rss_100k_to_demo_only']}"
            f"; {startup['share_of_memtotal_100k'] * 100:.2f} % of memory |"
        )
    if not rows:
        return []
    return [
        "## Summary",
        "",
        "| figure | measured | baseline or limit | ratio |",
        "|---|---|---|---|",
        *rows,
        "| resource search, 100,000 resources | see the section below | plain LIKE scan | |",
        "",
    ]


def broadcast_lines(b: dict[str, Any] | None) -> list[str]:
    head = ["### A broadcast to 10,000 recipients against a rate-limited fake Telegram", ""]
    if b is None:
        return [*head, "Not measured yet: run `make bench-broadcast` (about 5.5 minutes).", ""]
    return [
        *head,
        f"Measured {b['measured_at']} (`make bench-broadcast`). {b['recipients']:,} outbox rows "
        "(one notice, `enqueue_many`) sent by the real `OutboxSender` through "
        "`bot.adapters.telegram.TelegramTransport`, whose PTB Bot talks to an in-process fake "
        "Bot API: at most 30 sendMessage calls in any 1 s window and 1 per second per chat, a "
        f"breach answered with HTTP 429 retry_after=1. The fake forgives arrivals "
        f"{b['slack_s'] * 1000:.0f} ms early (clock reads at acquire vs arrival).",
        "",
        f"- total time: **{b['total_s']} s** against the limit {b['recipients']:,}/30 = "
        f"{b['limit_s']} s: ratio **{b['ratio_to_limit']}**; CPU {b['cpu_s']} s",
        f"- 429 responses: **{b['responses_429']}**; messages accepted: "
        f"{b['messages_accepted']:,}; outbox rows by status: {b['outbox_status']}",
        f"- with no slack at all: at most {b['most_in_any_1s_window']} messages in any 1 s "
        f"window; smallest gap between two messages to one chat: "
        f"{b['smallest_per_chat_gap_s']}",
        f"- load average: {' → '.join(b['loadavg'])}",
        *(
            [f"- the 429s came at these seconds from the start: {b['429_at_s']}"]
            if "429_at_s" in b
            else []
        ),
        *earlier_broadcast(),
        "",
    ]


def earlier_broadcast() -> list[str]:
    e = load("broadcast-before-merge")
    if e is None:
        return []
    return [
        f"- an earlier run, {e['measured_at']}, on this branch before `main` (with resources "
        "and changes to bot/outbox.py and models/outbox.py) was merged: "
        f"{e['total_s']} s against {e['limit_s']} s (ratio {e['ratio_to_limit']}), "
        f"{e['responses_429']} 429 response(s), {e['messages_accepted']:,} accepted, outbox "
        f"{e['outbox_status']}, at most {e['most_in_any_1s_window']} in any 1 s window with no "
        f"slack; load average {' → '.join(e['loadavg'])}",
    ]


def latency_lines(now: dict[str, Any] | None, before: dict[str, Any] | None) -> list[str]:
    head = [
        "### Reply latency: a burst of users, and users writing during a broadcast",
        "",
    ]
    if now is None:
        return [*head, "Not measured yet: run `python bench/latency.py`.", ""]
    b, w = now["burst"], now["broadcast"]
    lines = [
        *head,
        f"Measured {now['measured_at']} (`python bench/latency.py`). A real `python -m bot "
        "serve` on a fresh SQLite demo county; a fake Bot API (tests/fake_botapi.py, in the "
        "bench process) that answers more than 30 messages in any second, or two to one chat "
        "within a second, with 429 retry_after=1. Latency: from the start of the user's "
        "webhook POST to the fake accepting the reply to that chat.",
        "",
        f"- **{b['users']} users at once** (`/help`, 50 POSTs in parallel): {b['answered']} of "
        f"{b['users']} answered; latency p50 {b['p50_ms']} ms, **p99 {b['p99_ms']} ms**, max "
        f"{b['max_ms']} ms; the last reply {b['whole_burst_s']} s after the first POST "
        f"(Telegram's 30/s allows {b['limit_s']} s at best); 429s: {b['responses_429']}",
        f"- **during a broadcast** to {w['broadcast_recipients']:,} (60 s of sending at "
        f"30/s), {w['users']} users writing, four a second: {w['answered']} of {w['users']} "
        f"answered; latency p50 {w['p50_ms']} ms, **p99 {w['p99_ms']} ms**, max {w['max_ms']} "
        f"ms; the broadcast had reached {w['broadcast_sent_when_writers_done']:,} when the "
        f"last writer was answered ({w['broadcast_rate_per_s']} messages/s meanwhile); "
        f"429s: {w['responses_429']}",
    ]
    if "throughput" in now:
        t = now["throughput"]
        lines.append(
            f"- **updates per second end to end through the webhook**: a fake Bot API that "
            f"answers each send {t['bot_api_delay_ms']} ms late and enforces no limits, the "
            f"bot's rate set to 1,000 messages/s; {t['users']:,} users, one `/help` each, "
            f"posted by 64 clients at once: all {t['acknowledged']:,} POSTs answered in "
            f"{t['posting_s']} s, {t['answered']:,} replies accepted, the last "
            f"{t['whole_s']} s after the first POST: **{t['updates_per_s_end_to_end']} "
            f"updates/s**; latency p50 {t['p50_ms']} ms, p99 {t['p99_ms']} ms"
        )
    lines.append(f"- load average: {' → '.join(now['loadavg'])}")
    if before is not None:
        bb, bw = before["burst"], before["broadcast"]
        lines += [
            f"- the same bench against the code before durable intake ({before['measured_at']}"
            ", same machine, its replies sent straight to the Bot API, not through the "
            f"outbox): burst {bb['answered']} of {bb['users']} answered "
            f"({bb['responses_429']} 429s, each a reply lost); during the broadcast "
            f"{bw['answered']} of {bw['users']} answered ({bw['responses_429']} 429s); "
            f"load average {' → '.join(before['loadavg'])}",
        ]
    return [*lines, ""]


def search_lines(s: dict[str, Any] | None) -> list[str]:
    head = ["### Resource search on 100,000 resources against a plain LIKE scan", ""]
    if s is None:
        return [
            *head,
            "Not measured yet: run `make bench` (it runs bench/search.py through "
            "bench/run_search.py).",
            "",
        ]
    return [
        *head,
        f"Measured {s['measured_at']} by the resources helper's bench/search.py "
        f"(`{s['command']}`, run through bench/run_search.py; {s['wall_s']} s wall, "
        f"{s['cpu_s']} s CPU, load average {' → '.join(s['loadavg'])}). Its output, as printed:",
        "",
        "```",
        s["output"],
        "```",
        "",
    ]


def startup_lines(s: dict[str, Any] | None) -> list[str]:
    head = ["### Start-up to ready, and resident memory with 100,000 members", ""]
    if s is None:
        return [*head, "Not measured yet: run `make bench`.", ""]

    def row(name: str, key: str) -> str:
        x = s[key]
        return f"| {name} | {x['median_wall_s']} s | {x['median_cpu_s']} s | {x['wall_s']} |"

    m100, m0 = s["memory_100k"], s["memory_demo_only"]
    return [
        *head,
        f"Measured {s['measured_at']}. Fresh interpreters, medians of {s['runs']} runs; CPU is "
        "user + system time of the child.",
        "",
        "| start-up | wall (median) | CPU (median) | wall, each run |",
        "|---|---|---|---|",
        row("`python -c pass`", "python_pass"),
        row(
            "bare PTB echo bot: import telegram.ext, build Application (baseline)",
            "echo_bot_build",
        ),
        row(
            "`python -m bot console`, one line piped (jieba only if the line needs it)",
            "console_one_line",
        ),
        row(
            "console with `nlu.warm_up()` first (jieba loaded), one line piped",
            "console_jieba_one_line",
        ),
        row("the same on the 100,000-member database", "console_jieba_one_line_100k"),
        row("import + build_app + nlu.warm_up + one parse", "in_process_ready"),
        "",
        f"Ratio console-with-jieba / echo-bot start-up: wall "
        f"**{s['ratio_console_jieba_to_echo_bot_wall']}×**, CPU "
        f"**{s['ratio_console_jieba_to_echo_bot_cpu']}×**.",
        "",
        f"Memory: a fresh process builds the app, warms the NLU and handles "
        f"{m100['events']} events ({m100['replies']} replies, "
        f"{m100.get('need_binding_replies', '?')} of them “not bound”) as generated members, on "
        f"a SQLite database with the demo county plus {s['members']:,} members and identities "
        f"({m100.get('db_size_mib', '?')} MiB on disk; demo only: {m0.get('db_size_mib', '?')} "
        "MiB):",
        "",
        "| | VmRSS ready | VmHWM ready | VmRSS after events | VmHWM after events |",
        "|---|---|---|---|---|",
        f"| {s['members']:,} members | {m100['ready_vmrss_mib']} MiB | "
        f"{m100['ready_vmhwm_mib']} MiB | {m100['after_events_vmrss_mib']} MiB | "
        f"{m100['after_events_vmhwm_mib']} MiB |",
        f"| demo county only (baseline) | {m0['ready_vmrss_mib']} MiB | "
        f"{m0['ready_vmhwm_mib']} MiB | {m0['after_events_vmrss_mib']} MiB | "
        f"{m0['after_events_vmhwm_mib']} MiB |",
        "",
        f"Peak with {s['members']:,} members / demo only: **{s['ratio_rss_100k_to_demo_only']}**;"
        f" share of the machine's memory: **{s['share_of_memtotal_100k'] * 100:.2f} %**. "
        f"A bare PTB echo bot process (built, not run): {s['echo_bot_vmrss_mib']} MiB VmRSS. "
        f"Load average: {' → '.join(s['loadavg'])}.",
        "",
    ]


def breakdown_lines(b: dict[str, Any] | None) -> list[str]:
    if not b:
        return ["Per-event breakdown not measured yet: run `python bench/breakdown.py`.", ""]
    lines = [
        f"### Per event and message kind ({b['database']}): statements, thread hops, CPU",
        "",
        f"Measured {b['measured_at']} (`python bench/breakdown.py`). Medians of {b['reps']} "
        f"repetitions of {b['users_per_rep']} members per kind, the stored path one update at "
        "a time; the echo bot got the same texts just before each block. Hops: calls queued "
        "to aiosqlite's thread. Database thread: the CPU of that thread alone.",
        "",
        "| kind | statements | commits | thread hops | CPU ms | of it database thread ms "
        "| wall ms | echo CPU ms | ours/echo |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, k in b["kinds"].items():
        lines.append(
            f"| {kind} | {k['statements_per_event']} | {k['commits_per_event']} "
            f"| {k['thread_hops_per_event']} | {k['cpu_ms_per_event']} "
            f"| {k['db_thread_cpu_ms_per_event']} | {k['wall_ms_per_event']} "
            f"| {k['echo_cpu_ms_per_event']} | {k['ratio_cpu_ours_to_echo']}× |"
        )
    lines += [
        "",
        "CPU by layer (cProfile own time in the event loop's thread, idle waits left "
        "out; a profiled repetition of "
        f"{b['profile_users']} members):",
        "",
    ]
    for kind, k in b["kinds"].items():
        if "profile" in k:
            shares = ", ".join(
                f"{n} {v} %" for n, v in k["profile"]["event_loop_thread_pct"].items()
            )
            lines.append(f"- {kind}: {shares}")
    lines += [
        "",
        f"Error replies: {b['error_replies']}. Load average: "
        f"{b['loadavg'][0]} → {b['loadavg'][-1]}.",
        "",
    ]
    return lines


def pairs_lines(p: dict[str, Any] | None) -> list[str]:
    if not p:
        return []
    lines = [
        f"### Each hot-path change against the code before it ({p['database']}, paired"
        + (", the newest changes only)" if p.get("newest_only") else ")"),
        "",
        f"Measured {p['measured_at']} (`python bench/pairs.py`): {p['rounds']} rounds; in "
        f"each, every variant ran a block of {p['users_per_block']} check-ins and of "
        f"{p['users_per_block']} /help, in rotating order. Ratio: CPU per event against "
        "“before” in the same round, median over the rounds.",
        "",
        "| kind | variant | CPU ms per event | statements | ratio to before |",
        "|---|---|---|---|---|",
    ]
    for kind, rows in p["kinds"].items():
        for name, r in rows.items():
            lines.append(
                f"| {kind} | {name} | {r['cpu_ms_per_event_median']} "
                f"| {r['statements_per_event']} | {r['ratio_cpu_to_before_median']} |"
            )
    lines += ["", f"Load average: {p['loadavg'][0]} → {p['loadavg'][-1]}.", ""]
    return lines


def main() -> None:
    sqlite, pg = load("dispatch-sqlite"), load("dispatch-postgresql")
    broadcast, search, startup = load("broadcast"), load("search"), load("startup")
    latency, latency_before = load("latency"), load("latency-before")
    found = [x for x in (sqlite, pg, broadcast, search, startup, latency) if x]
    lines = [
        "# Benchmarks",
        "",
        "Written by `bench/report.py` from bench/results/*.json; every figure is as measured "
        "on the machine below, next to a baseline measured in the same run or a platform "
        "limit. These are not tests (pytest collects only tests/).",
        "",
    ]
    if found:
        lines += machine_section(found)
    lines += headline(sqlite, pg, broadcast, startup, latency)
    lines += ["## Figures", ""]
    lines += breakdown_lines(load("breakdown-sqlite"))
    lines += pairs_lines(load("pairs-sqlite"))
    lines += pairs_lines(load("pairs-sqlite-newest"))
    if sqlite:
        lines += throughput_lines("SQLite", sqlite)
        for key in ("burst", "burst_spread"):
            if key in sqlite:
                lines += burst_lines("SQLite", sqlite, key)
    else:
        lines += ["Dispatcher figures not measured yet: run `make bench`.", ""]
    lines += broadcast_lines(broadcast)
    lines += latency_lines(latency, latency_before)
    lines += search_lines(search)
    lines += startup_lines(startup)
    if pg:
        lines += [
            "### The same on PostgreSQL",
            "",
            "A throw-away server from `.ci/postgres.sh` on 127.0.0.1, started with "
            "`fsync=off` and `full_page_writes=off` (as for the test suite), so commits cost "
            "less than on a production server; SQLite above runs WAL with synchronous=NORMAL.",
            "",
        ]
        lines += throughput_lines("PostgreSQL", pg)
        for key in ("burst", "burst_spread"):
            if key in pg:
                lines += burst_lines("PostgreSQL", pg, key)
    lines += [
        "## How to reproduce",
        "",
        "- `make bench`: the per-event breakdown (bench/breakdown.py), dispatcher "
        "throughput and burst on SQLite (bench/dispatch.py), "
        "start-up and memory (bench/startup.py), resource search (bench/search.py through "
        "bench/run_search.py), then this file (bench/report.py). About six minutes on this "
        "loaded 2-core machine (the spread burst alone lasts one minute by design).",
        "- `make bench-broadcast`: the 10,000-recipient broadcast (bench/broadcast.py), about "
        "5.5 minutes of wall time by nature (10000/30 s), then this file.",
        "- `make bench-latency` (bench/latency.py, about two minutes): reply latency "
        "through a real `serve` process, a burst of 200 users and 60 users writing during "
        "a broadcast; "
        "`--root DIR --name latency-before` runs another checkout's bot the same way.",
        "- `make bench-postgres`: the dispatcher figures on a throw-away PostgreSQL "
        "(`.ci/postgres.sh start /tmp/pg-bench 55451`, stopped afterwards).",
        "- Each script takes options (`--help`): smaller runs, e.g. "
        "`python bench/dispatch.py --users 50 --reps 1 --burst 100`, "
        "`python bench/broadcast.py --recipients 300`.",
        "- The databases are fresh temporary SQLite files (migrated to head, demo county "
        "loaded at 2026-12-01 09:00 Asia/Shanghai, the clock frozen there so 《主题党日》 is "
        "open for check-in; codes are computed from the activity's secret as the tests do).",
        "",
    ]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines))
    print(f"wrote {ROOT / 'BENCHMARKS.md'}")


if __name__ == "__main__":
    main()
