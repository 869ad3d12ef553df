"""Who is looking at the console: the signed session cookie, the CSRF check, the page guard.

- A one-time link (`/admin/login?t=…`, see models/console_login.py) becomes a session cookie
  `hm_session` (HttpOnly, SameSite=Lax, Path=/admin, Secure behind https) holding the member
  id, the login time and a nonce, signed with itsdangerous; it lasts SESSION_HOURS by the
  app's clock, and the member is read again on every request (someone who left, or lost the
  role, is out at once).
- CSRF, double submit: the cookie `hm_csrf` holds a token derived from the session (HMAC of
  its nonce), every form carries it as `csrf` and htmx sends it as `X-CSRF-Token`; a write
  whose token is missing or differs from the cookie's and the session's is refused before
  anything is read or written.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from bot.core import Role
from models.audit import AuditLog
from models.console_login import console_member, console_secret
from models.member import Member
from models.scope import Scope

SESSION_COOKIE = "hm_session"
CSRF_COOKIE = "hm_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
SESSION_HOURS = 8
COOKIE_PATH = "/admin"
SALT = "hongmeng-console-session"


class Need:
    """What a page needs of its viewer."""

    ADMIN = "admin"  # an alliance admin or the super admin
    COUNTY = "county"  # the super admin
    QUEUE = "queue"  # an admin, or a department officer (the ticket queue)


NEED_ZH = {
    Need.ADMIN: "联盟管理员或县级管理员",
    Need.COUNTY: "县级管理员",
    Need.QUEUE: "联盟管理员、县级管理员或部门干部",
}


@dataclass
class Viewer:
    """The logged-in member, their scope, and this request's session and CSRF token."""

    member: Member
    session: AsyncSession
    now: datetime
    csrf: str
    settings: Any = None

    @property
    def scope(self) -> Scope:
        return self.member.admin_scope()

    @property
    def is_admin(self) -> bool:
        return not self.scope.empty

    @property
    def is_county(self) -> bool:
        return self.scope.county

    @property
    def is_officer(self) -> bool:
        return self.member.has_role(Role.OFFICER) and self.member.department_id is not None

    def may(self, need: str) -> bool:
        if need == Need.COUNTY:
            return self.is_county
        if need == Need.ADMIN:
            return self.is_admin
        return self.is_admin or self.is_officer

    def audit(self, action: str, **detail: Any) -> AuditLog:
        """Who did what, when: one row per write, in the write's transaction."""
        row = AuditLog(
            member_id=self.member.id,
            action=f"console.{action}",
            detail={k: _plain(v) for k, v in detail.items()},
            at=self.now,
        )
        self.session.add(row)
        return row


def _plain(value: Any) -> Any:
    """JSON-safe audit detail (times as ISO text, sets as lists)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


@dataclass(frozen=True)
class Session:
    member_id: int
    issued: datetime
    nonce: str


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def session_cookie(secret: str, member_id: int, now: datetime) -> tuple[str, str]:
    """(cookie value, nonce) of a new session."""
    nonce = secrets.token_urlsafe(16)
    value = _serializer(secret).dumps({"m": member_id, "t": int(now.timestamp()), "n": nonce})
    return value, nonce


def read_session(secret: str, value: str | None, now: datetime) -> Session | None:
    """The session a cookie holds, if its signature is good and it is younger than 8 hours."""
    if not value:
        return None
    try:
        data = _serializer(secret).loads(value)
        issued = datetime.fromtimestamp(int(data["t"]), tz=now.tzinfo)
        session = Session(int(data["m"]), issued, str(data["n"]))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    if (
        not timedelta(0)
        <= now - session.issued
        <= timedelta(hours=SESSION_HOURS) + timedelta(minutes=1)
    ):
        return None
    return session


def csrf_token(secret: str, nonce: str) -> str:
    return hmac.new(secret.encode(), f"csrf:{nonce}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(request: Request, sent: str | None, expected: str) -> bool:
    """Double submit: the form's (or header's) token equals the cookie's and the session's."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not sent or not cookie:
        return False
    return hmac.compare_digest(sent, cookie) and hmac.compare_digest(sent, expected)


def set_session_cookies(
    response: Response, *, session_value: str, csrf: str, secure: bool
) -> None:
    age = SESSION_HOURS * 3600
    response.set_cookie(
        SESSION_COOKIE,
        session_value,
        max_age=age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=age,
        path=COOKIE_PATH,
        httponly=False,
        samesite="strict",
        secure=secure,
    )


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    response.delete_cookie(CSRF_COOKIE, path=COOKIE_PATH)


async def viewer_of(
    request: Request, session: AsyncSession, now: datetime, settings: Any
) -> Viewer | None:
    """The member behind the request's session cookie, if it is valid and they may log in."""
    secret = await console_secret(session=session, settings=settings, now=now)
    found = read_session(secret, request.cookies.get(SESSION_COOKIE), now)
    if found is None:
        return None
    member = await console_member(session=session, member_id=found.member_id)
    if member is None:
        return None
    csrf = csrf_token(secret, found.nonce)
    return Viewer(member=member, session=session, now=now, csrf=csrf, settings=settings)


Endpoint = Callable[[Request], Awaitable[Response]]
