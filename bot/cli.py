"""Command line: each sub-command is a small function; main() only wires them."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.app import build_app, configure_logging
from bot.core.clock import Clock
from models.migrate import upgrade
from settings import Settings, get_settings


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    upgrade(settings)
    print("数据库已是最新版本。")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo import drop_everything, load_demo
    from models.db import make_engine, make_sessionmaker

    async def run() -> tuple[bool, str]:
        engine = make_engine(settings)
        try:
            if args.reset:
                await drop_everything(engine)
            await asyncio.to_thread(upgrade, settings)
            now = Clock().now()
            loaded, listing = await load_demo(make_sessionmaker(engine), now)
            if loaded and args.weeks > 0:
                await _simulate(make_sessionmaker(engine), now, args.weeks)
            return loaded, listing
        finally:
            await engine.dispose()

    loaded, listing = asyncio.run(run())
    print("演示县数据已载入。" if loaded else "演示县数据已存在（用 --reset 重新载入）。")
    print(listing)
    return 0


async def _simulate(sessionmaker: Any, now: Any, weeks: int) -> None:
    """Past weeks of activities, check-ins, tickets and notices, for /stats and /ranking."""
    from datetime import timedelta

    from bot.demo.simulate import simulate_weeks

    async with sessionmaker() as session, session.begin():
        await simulate_weeks(session, now - timedelta(weeks=weeks), weeks)


def cmd_console(args: argparse.Namespace, settings: Settings) -> int:
    from bot.adapters.console import ConsoleSession, ConsoleTransport, read_lines

    interactive = sys.stdin.isatty()
    transport = ConsoleTransport(out=sys.stdout)
    logging.getLogger().setLevel(logging.WARNING)  # the chat is the output; logs only for trouble

    async def run() -> None:
        app = build_app(settings, {"console": transport})
        try:
            session = ConsoleSession(app, transport, args.user)
            if interactive:
                print(
                    f"红盟助手控制台：以 {args.user} 身份聊天；#N 按按钮，@as 账号 切换，"
                    "Ctrl-D 退出。"
                )
                print(f"{args.user}> ", end="", flush=True)
            await session.run(read_lines(interactive), interactive)
        finally:
            await app.close()

    asyncio.run(run())
    return 0


def cmd_telegram(args: argparse.Namespace, settings: Settings) -> int:
    """Long polling, with the event worker, the outbox sender and the scheduler alongside."""
    from bot.adapters.telegram import TelegramTransport, run_polling

    if not settings.TELEGRAM_BOT_TOKEN:
        print("请先设置 TELEGRAM_BOT_TOKEN（见 README）。", file=sys.stderr)
        return 2
    transport = TelegramTransport(settings)
    app = build_app(settings, {"telegram": transport}, name=f"{socket.gethostname()}:polling")
    asyncio.run(run_polling(app, transport.bot))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from bot.nlu import warm_up
    from bot.web import build_web_app, transports_for

    warm_up()  # jieba now (~1 s), not while the first user waits
    name = f"{socket.gethostname()}:{args.port}"  # the same after a restart: it frees its claims
    app = build_app(settings, transports_for(settings), name=name)
    uvicorn.run(
        build_web_app(app),
        host=args.host,
        port=args.port,
        log_level="info",
        timeout_graceful_shutdown=max(1, round(settings.SHUTDOWN_GRACE_SECONDS)),
    )
    return 0


NO_FAILED = "没有处理失败的事件。"
REPLAY_USAGE = "events replay 需要事件编号，或用 --failed 重新处理所有失败的事件。"
PENDING_LINE = "另有 {n} 个事件等待处理。"
REPLAYED = "事件 {id}：{outcome}"
OUTCOMES = {
    "done": "已重新处理",
    "failed": "仍然失败：{error}",
    "pending": "已排队（稍后重试：{error}）",
    "missing": "不是处理失败的事件，未改动",
}


def cmd_events(args: argparse.Namespace, settings: Settings) -> int:
    """`events`: the failed events; `events replay ID... | --failed`: process them again."""
    from sqlalchemy import func, select

    from models.inbox import EventStatus, InboxEvent, failed_events, requeue

    async def listing() -> int:
        app = build_app(settings, {})
        try:
            async with app.sessionmaker() as session:
                failed = await failed_events(session=session)
                pending = await session.scalar(
                    select(func.count())
                    .select_from(InboxEvent)
                    .where(InboxEvent.status == EventStatus.PENDING)
                )
        finally:
            await app.close()
        if not failed:
            print(NO_FAILED)
        for event in failed:
            when = event.received_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M:%S")
            print(
                f"{event.id}\t{event.platform}:{event.user_key}\t{when}\t"
                f"{event.attempts} 次\t{event.error.splitlines()[0] if event.error else ''}"
            )
        if pending:
            print(PENDING_LINE.format(n=pending))
        return 0

    async def replay() -> int:
        app = build_app(settings, {})
        try:
            async with app.sessionmaker() as session, session.begin():
                wanted = args.ids or [e.id for e in await failed_events(session=session)]
                queued = await requeue(session=session, ids=wanted, now=app.clock.now())
            # In this process, each user's events in order; a running server may take some
            # (claims keep it to one of us). The replies go through the outbox.
            await app.worker.drain(only=queued)
            async with app.sessionmaker() as session:
                rows = {
                    e.id: e
                    for e in await session.scalars(
                        select(InboxEvent).where(InboxEvent.id.in_(wanted))
                    )
                }
        finally:
            await app.close()
        if not wanted:
            print(NO_FAILED)
        for event_id in wanted:
            event = rows.get(event_id)
            outcome = event.status if event is not None and event_id in queued else "missing"
            error = (event.error.splitlines() or [""])[0] if event is not None else ""
            print(REPLAYED.format(id=event_id, outcome=OUTCOMES[outcome].format(error=error)))
        failed = [e for e in rows.values() if e.id in queued and e.status != EventStatus.DONE]
        return 1 if failed else 0

    if args.action == "replay":
        if not args.ids and not args.failed:
            print(
                "events replay 需要事件编号，或 --failed 重新处理所有失败的事件。", file=sys.stderr
            )
            return 2
        return asyncio.run(replay())
    return asyncio.run(listing())


def cmd_wecom_menu(args: argparse.Namespace, settings: Settings) -> int:
    from bot.adapters.wecom import configured
    from bot.adapters.wecom_api import WeComClient, WeComError, build_menu
    from bot.app import ROUTES

    if not configured(settings):
        print("企业微信尚未配置：请设置 WECOM_CORP_ID、WECOM_AGENT_ID、WECOM_SECRET 等。")
        return 2
    menu = build_menu(ROUTES)

    async def run() -> None:
        client = WeComClient(settings)
        try:
            await client.create_menu(menu)
        finally:
            await client.aclose()

    try:
        asyncio.run(run())
    except (WeComError, OSError) as error:
        print(f"创建菜单失败：{error}")
        return 1
    print(json.dumps(menu, ensure_ascii=False, indent=2))
    print("企业微信应用菜单已创建。")
    return 0


def cmd_nlu(args: argparse.Namespace, settings: Settings) -> int:
    from bot.nlu import parse
    from bot.nlu.evaluation import evaluate
    from bot.nlu.training import train

    if args.train:
        for path, model in train().items():
            model.save(path)
            print(f"{path.name}: {len(model.weights)} features")
        return 0
    if args.eval:
        if not args.file:
            print(
                "nlu --eval needs --file F (JSON lines with text, intent, slots)", file=sys.stderr
            )
            return 2
        with open(args.file, encoding="utf-8") as handle:
            cases = [json.loads(line) for line in handle if line.strip()]
        print("\n".join(evaluate(cases).lines()))
        return 0
    if args.file:
        with open(args.file, encoding="utf-8") as handle:
            texts = [_text_of(line) for line in handle if line.strip()]
    else:
        texts = [" ".join(args.text)]
    for text in texts:
        print(json.dumps(parse(text).as_json(), ensure_ascii=False))
    return 0


def _text_of(line: str) -> str:
    """A line of a --file: plain text, or a JSON object with a "text" field."""
    line = line.strip()
    if line.startswith("{"):
        try:
            return str(json.loads(line)["text"])
        except (ValueError, KeyError):
            pass
    return line


# KIND -> async function(session, path) -> rows written; other kinds are added here.
def _export(name: str) -> Callable[[Any, Path], Awaitable[int]]:
    """members, attendance, tickets, notices, resources, outcomes, funds from models/export.py
    (county-wide)."""

    async def run(session: Any, path: Path) -> int:
        from models import export

        return int(await getattr(export, f"export_{name}")(session=session, path=path))

    return run


async def _export_outcomes(session: Any, path: Path) -> int:
    """This year's outcome entries, county-wide (every state, with who approved and accepted)."""
    from datetime import UTC, datetime

    from bot.core.clock import to_local
    from models.export import export_outcomes
    from models.outcome import Period

    year = to_local(datetime.now(UTC)).year
    return await export_outcomes(session=session, path=path, period=Period(year))


EXPORTS: dict[str, Callable[[Any, Path], Awaitable[int]]] = {
    "attendance": _export("attendance"),
    "members": _export("members"),
    "tickets": _export("tickets"),
    "notices": _export("notices"),
    "resources": _export("resources"),
    "outcomes": _export_outcomes,
    "funds": _export("funds"),  # every alliance's fund ledger with the running balance
    "projects": lambda session, path: _export_projects(session, path),
}


async def _export_projects(session: Any, path: Path) -> int:
    """商圈党建项目: the sheet `import projects` reads back (models/project_sheet.py)."""
    from models.project_sheet import export_projects

    return await export_projects(session=session, path=path, now=Clock().now())


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from models.db import make_engine, make_sessionmaker

    if args.kind not in EXPORTS:
        print(f"不支持导出“{args.kind}”，可选：{'、'.join(EXPORTS)}", file=sys.stderr)
        return 2

    async def run() -> int:
        engine = make_engine(settings)
        try:
            async with make_sessionmaker(engine)() as session:
                return await EXPORTS[args.kind](session, Path(args.file))
        finally:
            await engine.dispose()

    rows = asyncio.run(run())
    print(f"已导出 {rows} 行到 {args.file}")
    return 0


IMPORT_REFUSED = (
    "有 {n} 行有误，未导入任何资源（改正后重试，或加 --skip-bad-rows 只导入正确的行）。"
)


def _import_resources(args: argparse.Namespace, settings: Settings) -> int:
    from models.resource_import import import_resources

    async def work(session: Any) -> tuple[Any, list[str]]:
        report = await import_resources(
            session=session,
            path=Path(args.file),
            now=Clock().now(),
            skip_bad_rows=args.skip_bad_rows,
            sheet=args.sheet,
        )
        skipped = f"，跳过 {report.skipped} 行" if report.skipped else ""
        return report, [f"已导入 {report.imported} 条资源{skipped}。"]

    return _import_with(settings, args.skip_bad_rows, IMPORT_REFUSED, work)


ORGS_REFUSED = (
    "有 {n} 行有误，未导入任何联盟或单位（改正后重试，或加 --skip-bad-rows 只导入正确的行）。"
)
ORGS_DONE = "已新增联盟 {alliances} 个、单位 {units} 家、成员关系 {memberships} 条"
ORGS_NOTHING_NEW = "文件中的联盟、单位和成员关系都已存在，未新增任何内容"
MEMBERS_REFUSED = (
    "有 {n} 行有误，未导入任何成员（改正后重试，或加 --skip-bad-rows 只导入正确的行）。"
)
MEMBERS_DONE = "已新增成员 {n} 名"
MEMBERS_EXISTING = "已存在 {n} 名（第 {rows} 行），未改动"
DEPARTMENTS_REFUSED = (
    "有 {n} 行有误，未导入任何部门（改正后重试，或加 --skip-bad-rows 只导入正确的行）。"
)
DEPARTMENTS_DONE = "已新增部门 {added} 个、更名 {renamed} 个"
ROTATION_REFUSED = (
    "有 {n} 行有误，未导入任何轮值安排（改正后重试，或加 --skip-bad-rows 只导入正确的行）。"
)
ROTATION_CREATED = "已设置轮值：{names}"
ROTATION_REPLACED = "已更新轮值（已开始的轮值期保持原承办单位）：{names}"
ROTATION_NOTHING = "文件中没有可导入的轮值安排"
SKIPPED = "，跳过有误的 {n} 行"
INVITES_WRITTEN = "邀请码已写入 {path}（{days} 天内有效），请分发给新成员。"
NO_INVITES = "没有新成员，未生成邀请码。"
INVITES_FAILED = "无法写入邀请码文件 {path}：{error}。未导入任何成员。"
UNEXPECTED = "导入失败（{error}），未导入任何内容。"


def _import_with(
    settings: Settings,
    skip_bad_rows: bool,
    refused: str,
    work: Callable[[Any], Awaitable[tuple[Any, list[str]]]],
) -> int:
    """Run one import in one transaction; print how the file was read, the bad rows, then
    the refusal (exit 1) or the summary; a file that cannot be read is one sentence (exit 2)."""
    from models.db import make_engine, make_sessionmaker
    from models.table_import import ImportFileError

    async def run() -> int:
        engine = make_engine(settings)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                report, summary = await work(session)
        except ImportFileError as error:
            print(error)
            return 2
        finally:
            await engine.dispose()
        for line in [*report.notes, *report.errors]:
            print(line)
        if report.errors and not skip_bad_rows:
            print(refused.format(n=len(report.errors)))
            return 1
        for line in summary:
            print(line)
        return 0

    return asyncio.run(run())


def _import_orgs(args: argparse.Namespace, settings: Settings) -> int:
    from models.org_import import import_orgs

    async def work(session: Any) -> tuple[Any, list[str]]:
        report = await import_orgs(
            session=session,
            path=Path(args.file),
            skip_bad_rows=args.skip_bad_rows,
            sheet=args.sheet,
        )
        counts = (report.alliances, report.units, report.memberships)
        line = ORGS_DONE.format(**vars(report)) if any(counts) else ORGS_NOTHING_NEW
        return report, [line + (SKIPPED.format(n=report.skipped) if report.skipped else "") + "。"]

    return _import_with(settings, args.skip_bad_rows, ORGS_REFUSED, work)


def _import_departments(args: argparse.Namespace, settings: Settings) -> int:
    from models.department_import import import_departments

    async def work(session: Any) -> tuple[Any, list[str]]:
        report = await import_departments(
            session=session,
            path=Path(args.file),
            skip_bad_rows=args.skip_bad_rows,
            sheet=args.sheet,
        )
        line = DEPARTMENTS_DONE.format(added=report.added, renamed=report.renamed)
        return report, [line + (SKIPPED.format(n=report.skipped) if report.skipped else "") + "。"]

    return _import_with(settings, args.skip_bad_rows, DEPARTMENTS_REFUSED, work)


def _import_rotation(args: argparse.Namespace, settings: Settings) -> int:
    from models.rotation_import import import_rotation

    async def work(session: Any) -> tuple[Any, list[str]]:
        report = await import_rotation(
            session=session,
            path=Path(args.file),
            now=Clock().now(),
            skip_bad_rows=args.skip_bad_rows,
            sheet=args.sheet,
        )
        lines = []
        if report.created:
            lines.append(ROTATION_CREATED.format(names="、".join(report.created)))
        if report.replaced:
            lines.append(ROTATION_REPLACED.format(names="、".join(report.replaced)))
        lines = lines or [ROTATION_NOTHING]
        lines[-1] += (SKIPPED.format(n=report.skipped) if report.skipped else "") + "。"
        return report, lines

    return _import_with(settings, args.skip_bad_rows, ROTATION_REFUSED, work)


PROJECTS_REFUSED = (
    "有 {n} 行有误，未导入任何项目（改正后重试，或加 --skip-bad-rows 只导入正确的行）。"
)
PROJECTS_DONE = "已导入 {rows} 行：新增项目 {projects} 个、里程碑 {milestones} 个"


def _import_projects(args: argparse.Namespace, settings: Settings) -> int:
    from models.project_sheet import import_projects

    async def work(session: Any) -> tuple[Any, list[str]]:
        report = await import_projects(
            session=session,
            path=Path(args.file),
            now=Clock().now(),
            skip_bad_rows=args.skip_bad_rows,
            sheet=args.sheet,
        )
        line = PROJECTS_DONE.format(
            rows=report.imported, projects=report.projects, milestones=report.milestones
        )
        return report, [line + (SKIPPED.format(n=report.skipped) if report.skipped else "") + "。"]

    return _import_with(settings, args.skip_bad_rows, PROJECTS_REFUSED, work)


def _import_members(args: argparse.Namespace, settings: Settings) -> int:
    from models.member_import import import_members, invites_path, write_invites
    from models.table_import import ImportFileError, row_ranges

    async def work(session: Any) -> tuple[Any, list[str]]:
        report = await import_members(
            session=session,
            path=Path(args.file),
            now=Clock().now(),
            valid_days=settings.INVITE_VALID_DAYS,
            skip_bad_rows=args.skip_bad_rows,
            sheet=args.sheet,
        )
        parts = [MEMBERS_DONE.format(n=report.imported)]
        if report.existing:
            rows = row_ranges(report.existing)
            parts.append(MEMBERS_EXISTING.format(n=len(report.existing), rows=rows))
        summary = "；".join(parts) + (SKIPPED.format(n=report.skipped) if report.skipped else "")
        if not report.invites:
            return report, [summary + "。", NO_INVITES]
        try:  # before the commit: without the codes file, the office could not hand them out
            write_invites(target, report.invites)
        except OSError as error:
            _restore(target, size)
            raise ImportFileError(INVITES_FAILED.format(path=target, error=error)) from error
        days = settings.INVITE_VALID_DAYS
        return report, [summary + "。", INVITES_WRITTEN.format(path=target, days=days)]

    target = invites_path(Path(args.file))
    size = target.stat().st_size if target.is_file() else None
    try:
        return _import_with(settings, args.skip_bad_rows, MEMBERS_REFUSED, work)
    except BaseException:
        _restore(target, size)  # the commit failed: the codes written would bind nobody
        raise


def _restore(path: Path, size: int | None) -> None:
    """Put a file back to its size before a failed import (None: it did not exist)."""
    if size is None:
        if path.is_file():
            path.unlink()
    elif path.is_file():
        with path.open("r+b") as handle:
            handle.truncate(size)


# `import KIND FILE`: one function per kind.
IMPORTERS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "resources": _import_resources,
    "orgs": _import_orgs,
    "departments": _import_departments,
    "members": _import_members,
    "rotation": _import_rotation,
    "projects": _import_projects,
}


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    upgrade(settings)
    return IMPORTERS[args.kind](args, settings)


INVITES_DONE = (
    "已为 {n} 名成员生成新的邀请码（{days} 天内有效，旧的未用邀请码作废），写入 {path}。"
)
INVITES_NONE = "没有需要生成邀请码的成员。"
INVITES_NO_ALLIANCE = "没有名为“{name}”的联盟。"
INVITES_NO_FILE = "无法写入 {path}：{error}。未生成邀请码。"
INVITES_NOT_XLSX = "请给出 .xlsx 文件名，例如 invites.xlsx。"
INVITES_NO_BOT = "（未设置 TELEGRAM_BOT_USERNAME，表中没有 Telegram 绑定链接。）"


def cmd_invites(args: argparse.Namespace, settings: Settings) -> int:
    """Fresh invite codes for the county's (or one alliance's) members, into an .xlsx."""
    from sqlalchemy import select

    from models.db import make_engine, make_sessionmaker
    from models.export import export_invites
    from models.org import Alliance
    from models.roster import issue_invites
    from models.scope import Scope

    path = Path(args.file)
    if path.suffix.lower() != ".xlsx":
        print(INVITES_NOT_XLSX)
        return 2
    upgrade(settings)

    class Refused(Exception):
        """Stop with one sentence; the transaction rolls back (no old code is voided)."""

    async def issue() -> int:
        engine = make_engine(settings)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                alliance_id = None
                if args.alliance:
                    name = args.alliance.strip()
                    alliance_id = await session.scalar(
                        select(Alliance.id).where(Alliance.name == name)
                    )
                    if alliance_id is None:
                        raise Refused(INVITES_NO_ALLIANCE.format(name=name))
                invites = await issue_invites(
                    session=session,
                    scope=Scope.COUNTY,
                    now=Clock().now(),
                    valid_days=settings.INVITE_VALID_DAYS,
                    alliance_id=alliance_id,
                    unbound_only=args.unbound,
                )
                if invites:
                    try:  # before the commit: codes nobody was given must not void the old ones
                        export_invites(
                            path=path, invites=invites, bot_username=settings.TELEGRAM_BOT_USERNAME
                        )
                    except OSError as error:
                        raise Refused(INVITES_NO_FILE.format(path=path, error=error)) from error
        finally:
            await engine.dispose()
        return len(invites)

    try:
        count = asyncio.run(issue())
    except Refused as refusal:
        print(refusal)
        return 2
    if not count:
        print(INVITES_NONE)
        return 0
    print(INVITES_DONE.format(n=count, days=settings.INVITE_VALID_DAYS, path=path))
    if not settings.TELEGRAM_BOT_USERNAME:
        print(INVITES_NO_BOT)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="红盟助手")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="create or upgrade the database and load the demo county")
    demo.add_argument("--reset", action="store_true", help="drop everything and start over")
    demo.add_argument(
        "--weeks", type=int, default=0, help="also simulate N past weeks of activity (figures)"
    )
    demo.set_defaults(func=cmd_demo)
    console = sub.add_parser("console", help="chat as a console user")
    console.add_argument("--user", default="member")
    console.set_defaults(func=cmd_console)
    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])
    db.set_defaults(func=cmd_db)
    telegram = sub.add_parser("telegram", help="run the Telegram bot with long polling")
    telegram.set_defaults(func=cmd_telegram)
    serve = sub.add_parser("serve", help="web server: webhooks, /healthz and /readyz")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.set_defaults(func=cmd_serve)
    events = sub.add_parser("events", help="failed events: list them, or process them again")
    events.add_argument("action", nargs="?", choices=["list", "replay"], default="list")
    events.add_argument("ids", nargs="*", type=int, help="event numbers (from `events`)")
    events.add_argument("--failed", action="store_true", help="replay every failed event")
    events.set_defaults(func=cmd_events)
    menu = sub.add_parser("wecom-menu", help="create the WeCom app menu from the handlers")
    menu.set_defaults(func=cmd_wecom_menu)
    nlu = sub.add_parser("nlu", help="print the parse of a text, or of each line of a file")
    nlu.add_argument("text", nargs="*")
    nlu.add_argument("--file")
    nlu.add_argument(
        "--eval",
        action="store_true",
        help="with --file of labelled JSON lines: print accuracy per intent and per category",
    )
    nlu.add_argument(
        "--train",
        action="store_true",
        help="learn the intent and category models from bot/nlu/data/examples",
    )
    nlu.set_defaults(func=cmd_nlu)
    export = sub.add_parser("export", help="write members, attendance... to .xlsx")
    export.add_argument("kind")
    export.add_argument("file")
    export.set_defaults(func=cmd_export)
    importer = sub.add_parser("import", help="import rows from a .xlsx or .csv file")
    importer.add_argument("kind", choices=sorted(IMPORTERS))
    importer.add_argument("file")
    importer.add_argument(
        "--skip-bad-rows", action="store_true", help="import the good rows of a file with errors"
    )
    importer.add_argument(
        "--sheet", help="the worksheet to read (default: the first with the header)"
    )
    importer.set_defaults(func=cmd_import)
    invites = sub.add_parser("invites", help="issue fresh invite codes into an .xlsx")
    invites.add_argument("file")
    invites.add_argument("--alliance", help="only the members of this alliance (its full name)")
    invites.add_argument("--unbound", action="store_true", help="only members not bound yet")
    invites.set_defaults(func=cmd_invites)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging()
    settings = get_settings()
    func: Callable[[argparse.Namespace, Settings], int] = args.func
    return func(args, settings)
