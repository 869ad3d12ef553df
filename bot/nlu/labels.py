"""The names the NLU answers with: intents, problem categories, resource lists (INTERFACES.md)."""

INTENTS = (
    "bind",
    "help",
    "me",
    "activities",
    "checkin",
    "my_record",
    "report",
    "my_reports",
    "resources",
    "notices",
    "rotation",
    "stats",
)
LABELS = (*INTENTS, "unknown")
CATEGORIES = (
    "finance",
    "tax",
    "labor",
    "market",
    "land",
    "legal",
    "logistics",
    "talent_tech",
    "utilities",
    "other",
)
KINDS = ("伙伴", "管家", "千里马", "蓝海")
