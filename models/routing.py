"""The configurable routing table: problem category → department, committee and deadlines.

Categories are those of INTERFACES.md. A category without a department (`other`) stays
submitted until an alliance admin routes it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

COMMITTEE_SERVICE = "红盟服务"
COMMITTEE_FINANCE = "红盟金融"
COMMITTEE_BRAND = "红盟品牌"


@dataclass(frozen=True)
class RoutingRule:
    category: str
    label: str
    department: str | None
    committee: str
    sign_working_days: int = 1
    resolve_days: int = 7


ROUTING: dict[str, RoutingRule] = {
    rule.category: rule
    for rule in (
        RoutingRule("finance", "融资贷款", "finance", COMMITTEE_FINANCE),
        RoutingRule("tax", "税务发票", "tax", COMMITTEE_SERVICE),
        RoutingRule("labor", "用工社保", "hrss", COMMITTEE_SERVICE),
        RoutingRule("market", "证照品牌", "market", COMMITTEE_BRAND),
        RoutingRule("land", "用地规划", "planning", COMMITTEE_SERVICE, resolve_days=15),
        RoutingRule("legal", "法律纠纷", "justice", COMMITTEE_SERVICE),
        RoutingRule("logistics", "交通物流", "transport", COMMITTEE_SERVICE),
        RoutingRule("talent_tech", "人才科技", "science", COMMITTEE_SERVICE),
        RoutingRule("utilities", "水电气网", "utilities", COMMITTEE_SERVICE, resolve_days=3),
        RoutingRule("other", "其他", None, COMMITTEE_SERVICE),
    )
}


def rule_for(category: str) -> RoutingRule:
    """The rule of a category; an unknown one is treated as `other`."""
    return ROUTING.get(category, ROUTING["other"])


def category_label(category: str) -> str:
    return rule_for(category).label
