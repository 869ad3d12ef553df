"""A county's own spreadsheets, written as offices keep them: title rows above the header, a
cover sheet before the data, merged cells, full-width digits and spaces in phone numbers, a
GBK-encoded CSV. Used to set a county up from nothing (tests/handlers/test_county_month.py)."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

TEA = "茶乡产业链党建红色联盟"
EAST = "城东街道党建红色联盟"
# (alliance, type, units: (name, kind, party org))
ORGS = (
    (
        TEA,
        "产业链",
        (
            ("县春芽茶业有限公司", "企业", "是"),
            ("县云雾茶叶专业合作社", "企业", "是"),
            ("县茶文化促进会", "社会组织", "是"),
            ("县山泉包装有限公司", "企业", "是"),
        ),
    ),
    (
        EAST,
        "区域",
        (
            ("县春芽茶业有限公司", "企业", "是"),
            ("城东物业服务中心", "社会组织", "是"),
            ("县东关超市有限公司", "企业", "是"),
        ),
    ),
)
UNITS = (
    "县春芽茶业有限公司",
    "县云雾茶叶专业合作社",
    "县茶文化促进会",
    "县山泉包装有限公司",
    "城东物业服务中心",
    "县东关超市有限公司",
)
DEPARTMENTS = (("tax", "县税务局"), ("hrss", "县人社局"), ("finance", "县金融服务中心"))
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫"
GIVEN = ("建华", "秀兰", "志刚", "丽萍")


def _wide(phone: str) -> str:
    """A phone as some offices type it: full-width digits, a full-width space in the middle."""
    wide = "".join(chr(ord(c) + 0xFEE0) for c in phone)
    return f"{wide[:3]}\u3000{wide[3:7]}\u3000{wide[7:]}"


def people() -> list[tuple[str, str, str, str, str]]:
    """(name, phone, unit, roles, alliance) of every member: a secretary and three members per
    unit, the tea chain's admin, a tax officer and the county office."""
    rows = []
    for u, unit in enumerate(UNITS):
        for k in range(4):
            name = SURNAMES[(u * 4 + k) % len(SURNAMES)] + GIVEN[k] + str(u + 1)
            phone = f"1370{u:02d}{k:05d}"
            rows.append((name, phone, unit, "支部书记" if k == 0 else "", ""))
    rows.append(("茶乡联盟·管理员", "13799990001", UNITS[1], "联盟管理员", TEA))
    rows.append(("税务局·小刘", "13799990002", "", "部门干部", ""))
    rows.append(("两新工委·老王", "13799990003", "", "县级管理员", ""))
    return rows


def write_county(folder: Path) -> dict[str, Path]:
    """orgs.xlsx, departments.csv, members.xlsx and rotation.xlsx in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        k: folder / n
        for k, n in (
            ("orgs", "联盟与单位.xlsx"),
            ("departments", "部门.csv"),
            ("members", "党员花名册.xlsx"),
            ("rotation", "轮值安排.xlsx"),
        )
    }
    book = Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "填表说明"
    cover.append(["每个单位一行；联盟名称相同的行可合并单元格。"])
    sheet = book.create_sheet("联盟与单位")
    sheet.append(["县两新组织党建红色联盟名册"])
    sheet.append(["（2026年12月）"])
    sheet.append(["联盟", "联盟类型", "单位", "单位类型", "有党组织"])
    for alliance, kind, units in ORGS:
        first = sheet.max_row + 1
        for name, unit_kind, party in units:
            sheet.append([alliance, kind, name, unit_kind, party])
        for column in ("A", "B"):  # the alliance and its type, merged down its units
            sheet.merge_cells(f"{column}{first}:{column}{sheet.max_row}")
    book.save(paths["orgs"])
    text = "代码,名称\n" + "".join(f"{c},{n}\n" for c, n in DEPARTMENTS)
    paths["departments"].write_bytes(text.encode("gbk"))
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "花名册"
    sheet.append(["党员花名册"])
    sheet.append(["姓名", "手机", "单位", "角色", "联盟", "部门"])
    for name, phone, unit, roles, alliance in people():
        department = "tax" if roles == "部门干部" else ""
        sheet.append([name, _wide(phone), unit, roles, alliance, department])
    book.save(paths["members"])
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "轮值"
    sheet.append(["联盟", "单位", "轮办顺序", "周期", "起始日期", "主席顺序", "主席任期"])
    for order, unit in enumerate(UNITS[:4], start=1):  # weekly: each tea unit hosts in turn
        sheet.append([TEA, unit, order, "周", "2026-12-01", order if order <= 2 else None, "季度"])
    for order, unit in enumerate((UNITS[4], UNITS[5], UNITS[0]), start=1):
        sheet.append([EAST, unit, order, "月", "2026-12-01", None, None])
    book.save(paths["rotation"])
    return paths
