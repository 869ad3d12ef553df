"""SQLAlchemy models and the rules that belong to their data.

Importing this package registers every table on Base.metadata (Alembic relies on it).
"""

from models.audit import AuditLog
from models.base import Base
from models.button import ButtonToken
from models.dialog import DialogState
from models.inbox import InboxEvent
from models.member import Identity, InviteCode, Member, MemberRole
from models.org import Alliance, AllianceType, Department, Membership, Unit, UnitKind
from models.outbox import OutboxMessage, OutboxStatus
from models.resource import (
    MatchRequest,
    Resource,
    ResourceAlliance,
    ResourceTerm,
    ResourceWord,
)
from models.throttle import ThrottleHit

__all__ = [
    "Alliance",
    "AllianceType",
    "AuditLog",
    "Base",
    "ButtonToken",
    "Department",
    "DialogState",
    "Identity",
    "InboxEvent",
    "InviteCode",
    "MatchRequest",
    "Member",
    "MemberRole",
    "Membership",
    "OutboxMessage",
    "OutboxStatus",
    "Resource",
    "ResourceAlliance",
    "ResourceTerm",
    "ResourceWord",
    "ThrottleHit",
    "Unit",
    "UnitKind",
]
