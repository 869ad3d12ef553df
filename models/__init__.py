"""SQLAlchemy models and the rules that belong to their data.

Importing this package registers every table on Base.metadata (Alembic relies on it).
"""

from models.activity import Activity
from models.agreement import Agreement
from models.audit import AuditLog
from models.base import Base
from models.button import ButtonToken
from models.checkin import CheckIn
from models.console_login import ConsoleLogin
from models.dialog import DialogState
from models.followup import ExtensionRequest, FollowUp, FollowUpAlert, FollowUpEvent
from models.fund import ExpenseApproval, Fund, FundApprover, FundExpense, FundIncome
from models.inbox import InboxEvent
from models.kv import KeyValue
from models.meeting import AgendaItem, Meeting, MeetingDecision, MeetingInvitee
from models.member import Identity, InviteCode, Member, MemberRole
from models.nonce import CallbackNonce
from models.notice import Notice, NoticeRecipient
from models.org import Alliance, AllianceType, Department, Membership, Unit, UnitKind
from models.outbox import OutboxMessage, OutboxStatus
from models.outcome import OutcomeEntry, OutcomeEvent, OutcomeEvidence
from models.pledge import Pledge, PledgeExplanation, PledgeRating
from models.point_claim import PointClaim
from models.project import Milestone, Project, ProjectUnit
from models.resource import (
    MatchRequest,
    Resource,
    ResourceAlliance,
    ResourceTerm,
    ResourceWord,
)
from models.rotation import RotationOverride, RotationPlan, SwapRequest
from models.routing import RoutingRow
from models.throttle import ThrottleHit
from models.ticket import Ticket, TicketEvent, TicketReporter
from models.volunteer import (
    ServiceActivity,
    ServiceCertificate,
    ServiceHours,
    TeamMember,
    VolunteerTeam,
)

__all__ = [
    "Activity",
    "AgendaItem",
    "Agreement",
    "Alliance",
    "AllianceType",
    "AuditLog",
    "Base",
    "ButtonToken",
    "CallbackNonce",
    "CheckIn",
    "ConsoleLogin",
    "Department",
    "DialogState",
    "ExpenseApproval",
    "ExtensionRequest",
    "FollowUp",
    "FollowUpAlert",
    "FollowUpEvent",
    "Fund",
    "FundApprover",
    "FundExpense",
    "FundIncome",
    "Identity",
    "InboxEvent",
    "InviteCode",
    "KeyValue",
    "MatchRequest",
    "Meeting",
    "MeetingDecision",
    "MeetingInvitee",
    "Member",
    "MemberRole",
    "Membership",
    "Milestone",
    "Notice",
    "NoticeRecipient",
    "OutboxMessage",
    "OutboxStatus",
    "OutcomeEntry",
    "OutcomeEvent",
    "OutcomeEvidence",
    "Pledge",
    "PledgeExplanation",
    "PledgeRating",
    "PointClaim",
    "Project",
    "ProjectUnit",
    "Resource",
    "ResourceAlliance",
    "ResourceTerm",
    "ResourceWord",
    "RotationOverride",
    "RotationPlan",
    "RoutingRow",
    "ServiceActivity",
    "ServiceCertificate",
    "ServiceHours",
    "SwapRequest",
    "TeamMember",
    "ThrottleHit",
    "Ticket",
    "TicketEvent",
    "TicketReporter",
    "Unit",
    "UnitKind",
    "VolunteerTeam",
]
