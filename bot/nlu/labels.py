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
    # Added with the second round: every route free text should reach has an intent.
    "cancel",
    "smalltalk",
    "cosign",
    "my_matches",
    "ranking",
    "show_code",
    "confirm_checkin",
    "attendance",
    "publish",
    "tickets",
    "ticket_stats",
    "send_notice",
    "notice_stats",
    "add_resource",
    "match_stats",
    "export",
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
