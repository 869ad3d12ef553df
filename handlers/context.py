"""The context handed to every handler: session, sender, clock, dialog, outbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Incoming, Reply, Route
from models.audit import AuditLog
from models.dialog import Dialog
from models.member import Member
from models.outbox import OutboxMessage, enqueue
from settings import Settings


@dataclass
class Context:
    session: AsyncSession
    incoming: Incoming
    member: Member | None
    now: datetime
    settings: Settings
    dialog: Dialog
    routes: Sequence[Route] = field(default_factory=tuple)

    @property
    def user_key(self) -> str:
        return self.incoming.user_key

    @property
    def platform(self) -> str:
        return self.incoming.platform

    @property
    def me(self) -> Member:
        """The bound sender; the dispatcher guarantees one for every route needing a role."""
        if self.member is None:
            raise RuntimeError("handler needs a bound member")
        return self.member

    async def notify(
        self,
        member_id: int,
        reply: Reply,
        *,
        kind: str = "message",
        ref_id: int | None = None,
        dedupe_key: str | None = None,
        not_before: datetime | None = None,
    ) -> list[OutboxMessage]:
        """Queue a message to someone else, in this event's transaction."""
        return await enqueue(
            session=self.session,
            member_id=member_id,
            reply=reply,
            now=self.now,
            kind=kind,
            ref_id=ref_id,
            dedupe_key=dedupe_key,
            not_before=not_before,
        )

    def audit(self, action: str, **detail: Any) -> None:
        self.session.add(
            AuditLog(
                member_id=self.member.id if self.member else None,
                action=action,
                detail=detail,
                at=self.now,
            )
        )
