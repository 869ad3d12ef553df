"""Uploading a sheet (members, alliances and units, departments, resources, rotation): first
checked with every bad row shown by number and nothing written (the import runs inside a
savepoint that is rolled back), then imported (the good rows) when the admin confirms.

The same import functions as `python -m bot import KIND FILE`, with the viewer's scope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from bot.admin.auth import Need, Viewer
from bot.admin.pages.common import drop_upload, keep_upload, kept_upload
from bot.admin.render import render
from bot.admin.web import PageRoute, form_of
from models.member import InviteCode
from models.table_import import ImportFileError, row_ranges

Run = Callable[[Viewer, Path, str | None, bool], Awaitable[tuple[Any, list[str]]]]


async def _members(
    viewer: Viewer, path: Path, sheet: str | None, skip: bool
) -> tuple[Any, list[str]]:
    from models.member_import import import_members

    report = await import_members(
        session=viewer.session,
        path=path,
        now=viewer.now,
        valid_days=viewer.settings.INVITE_VALID_DAYS,
        skip_bad_rows=skip,
        sheet=sheet,
        scope=viewer.scope,
    )
    lines = [f"新成员 {report.imported} 名"]
    if report.existing:
        lines.append(
            f"已存在 {len(report.existing)} 名（第 {row_ranges(report.existing)} 行），不改动"
        )
    return report, lines


async def _orgs(
    viewer: Viewer, path: Path, sheet: str | None, skip: bool
) -> tuple[Any, list[str]]:
    from models.org_import import import_orgs

    report = await import_orgs(
        session=viewer.session, path=path, skip_bad_rows=skip, sheet=sheet, scope=viewer.scope
    )
    counts = (report.alliances, report.units, report.memberships)
    return report, ["新联盟 {} 个、新单位 {} 家、新成员关系 {} 条".format(*counts)]


async def _departments(
    viewer: Viewer, path: Path, sheet: str | None, skip: bool
) -> tuple[Any, list[str]]:
    from models.department_import import import_departments

    report = await import_departments(
        session=viewer.session, path=path, skip_bad_rows=skip, sheet=sheet
    )
    return report, [f"新部门 {report.added} 个、更名 {report.renamed} 个"]


async def _resources(
    viewer: Viewer, path: Path, sheet: str | None, skip: bool
) -> tuple[Any, list[str]]:
    from models.resource_import import import_resources

    report = await import_resources(
        session=viewer.session, path=path, now=viewer.now, skip_bad_rows=skip, sheet=sheet
    )
    return report, [f"资源 {report.imported} 条"]


async def _rotation(
    viewer: Viewer, path: Path, sheet: str | None, skip: bool
) -> tuple[Any, list[str]]:
    from models.rotation_import import import_rotation

    report = await import_rotation(
        session=viewer.session,
        path=path,
        now=viewer.now,
        skip_bad_rows=skip,
        sheet=sheet,
        scope=viewer.scope,
        by_id=viewer.member.id,
    )
    lines = []
    if report.created:
        lines.append("新设置轮值：" + "、".join(report.created))
    if report.replaced:
        lines.append("更新轮值（已开始的轮值期保持原承办单位）：" + "、".join(report.replaced))
    return report, lines or ["没有可导入的轮值安排"]


@dataclass(frozen=True)
class Kind:
    label: str
    run: Run
    need: str
    columns: str
    back: str  # where the list of what was imported is
    tab: str = "import"


KINDS: dict[str, Kind] = {
    "members": Kind(
        "成员名单",
        _members,
        Need.ADMIN,
        "姓名、手机、单位（必填）；党员、流动党员、工作地、角色、联盟、部门",
        "/admin/roster",
    ),
    "orgs": Kind(
        "联盟与单位",
        _orgs,
        Need.ADMIN,
        "联盟、联盟类型、单位、单位类型、有党组织",
        "/admin/roster/units",
    ),
    "rotation": Kind(
        "轮值安排",
        _rotation,
        Need.ADMIN,
        "联盟、单位、轮办顺序、周期、起始日期（必填）；主席顺序、主席任期",
        "/admin/rotation",
        tab="rotation",
    ),
    "departments": Kind("部门", _departments, Need.COUNTY, "代码、名称", "/admin/departments"),
    "resources": Kind(
        "共享资源",
        _resources,
        Need.COUNTY,
        "类别、标题、提供单位（必填）；描述、联系人、联系方式、标签、可见联盟、有效期至",
        "/admin/resources",
    ),
}


def kinds_for(viewer: Viewer) -> list[tuple[str, Kind]]:
    return [(name, kind) for name, kind in KINDS.items() if viewer.may(kind.need)]


def _kind(viewer: Viewer, name: str) -> tuple[str, Kind]:
    allowed = dict(kinds_for(viewer))
    return (name, allowed[name]) if name in allowed else next(iter(allowed.items()))


async def form_page(
    request: Request, viewer: Viewer, error: str = "", status: int = 200
) -> Response:
    wanted = request.query_params.get("kind", "")
    if request.method == "POST":
        wanted = str(form_of(request).get("kind", wanted))
    name, kind = _kind(viewer, wanted)
    return render(
        request,
        viewer,
        "import.html",
        status=status,
        title=f"导入{kind.label}",
        kinds=kinds_for(viewer),
        chosen=name,
        kind=kind,
        tab=kind.tab,
        error=error,
    )


async def check(request: Request, viewer: Viewer) -> Response:
    """Step 1: store the file, run the import in a savepoint, show what it would do, undo."""
    form = form_of(request)
    name, kind = _kind(viewer, str(form.get("kind", "")))
    upload = form.get("file")
    kept = await keep_upload(viewer, upload) if isinstance(upload, UploadFile) else None
    if kept is None:
        return await form_page(
            request, viewer, "请选择要上传的 .xlsx 或 .csv 文件（10 MB 以内）。", 400
        )
    token, path = kept
    sheet = str(form.get("sheet", "")).strip() or None
    try:
        async with viewer.session.begin_nested() as trial:
            report, lines = await kind.run(viewer, path, sheet, True)
            await trial.rollback()
    except ImportFileError as error:
        drop_upload(token)
        return await form_page(request, viewer, str(error), 400)
    return render(
        request,
        viewer,
        "import_check.html",
        title=f"检查{kind.label}",
        kind=kind,
        chosen=name,
        tab=kind.tab,
        token=token,
        sheet=sheet or "",
        filename=path.name,
        report=report,
        lines=lines,
        good=report.imported,
    )


async def run(request: Request, viewer: Viewer) -> Response:
    """Step 2: import the good rows of the checked file."""
    form = form_of(request)
    name, kind = _kind(viewer, str(form.get("kind", "")))
    token = str(form.get("token", ""))
    path = kept_upload(viewer, token)
    if path is None:
        return await form_page(request, viewer, "上传的文件已过期，请重新上传。", 400)
    sheet = str(form.get("sheet", "")).strip() or None
    try:
        report, lines = await kind.run(viewer, path, sheet, True)
    except ImportFileError as error:
        return await form_page(request, viewer, str(error), 400)
    batch = None
    invites = getattr(report, "invites", [])
    codes = []
    if invites:
        await viewer.session.flush()
        codes = list(
            await viewer.session.scalars(
                select(InviteCode.id).where(InviteCode.code.in_([i.code for i in invites]))
            )
        )
    audit = viewer.audit(
        f"import_{name}",
        file=path.name,
        sheet=sheet,
        imported=report.imported,
        skipped=report.skipped,
        errors=report.errors[:50],
        invites=codes,
    )
    await viewer.session.flush()
    if codes:
        batch = audit.id
    drop_upload(token)
    return render(
        request,
        viewer,
        "import_done.html",
        title=f"已导入{kind.label}",
        kind=kind,
        tab=kind.tab,
        report=report,
        lines=lines,
        batch=batch,
        filename=path.name,
    )


PAGES = [
    PageRoute("/roster/import", form_page, Need.ADMIN),
    PageRoute("/roster/import", check, Need.ADMIN, ("POST",)),
    PageRoute("/roster/import/run", run, Need.ADMIN, ("POST",)),
]
