"""The leaf vocabulary every layer speaks: messages, roles, routes, the clock, text folding.

It imports nothing of the project but `settings` (the time zone), so models, handlers and the
machinery above them can all use it. See README, "Layout".
"""

from bot.core.messages import Attachment, Button, Incoming, Location, Reply, Scalar
from bot.core.roles import ROLE_NAMES_ZH, ROLE_ORDER, Role, role_rank
from bot.core.routes import Flow, Handler, Route, Step, Sweep, SweepFunc

__all__ = [
    "ROLE_NAMES_ZH",
    "ROLE_ORDER",
    "Attachment",
    "Button",
    "Flow",
    "Handler",
    "Incoming",
    "Location",
    "Reply",
    "Role",
    "Route",
    "Scalar",
    "Step",
    "Sweep",
    "SweepFunc",
    "role_rank",
]
