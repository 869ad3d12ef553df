"""The shapes of the registration tables: a Route per chat feature, its dialog steps and named
buttons, and a Sweep per scheduled job."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.core.messages import Reply
from bot.core.roles import Role

Handler = Callable[..., Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Step:
    """One step of a dialog, named '<flow>.<step>'; calling it calls its function.

    `free_text`: the step takes what the person types as content (a note, a title), so a
    command or alias is never taken as that content. `questions_answer`: a question read as
    the step's own feature is its answer, not a request to start that feature again (the
    problem a 吹哨 asks for is often typed as one: 不知道怎么准备).
    """

    name: str
    func: Handler
    free_text: bool = False
    questions_answer: bool = False

    async def __call__(self, ctx: Any, **kwargs: Any) -> list[Reply]:
        return await self.func(ctx, **kwargs)


class Flow(Mapping[str, Step]):
    """The steps of one dialog, registered in the module that runs it:

        FLOW = Flow("report")

        @FLOW.step("text", free_text=True)
        async def receive_text(ctx, text=""): ...

    `ctx.dialog.set_state(receive_text)` then names a step that exists, by construction.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._steps: dict[str, Step] = {}

    def step(
        self, name: str, *, free_text: bool = False, questions_answer: bool = False
    ) -> Callable[[Handler], Step]:
        def register(func: Handler) -> Step:
            step = Step(f"{self.name}.{name}", func, free_text, questions_answer)
            if step.name in self._steps:
                raise ValueError(f"step {step.name} registered twice")
            self._steps[step.name] = step
            return step

        return register

    def __getitem__(self, name: str) -> Step:
        return self._steps[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._steps)

    def __len__(self) -> int:
        return len(self._steps)


@dataclass(frozen=True)
class Route:
    """One entry of the registration table in handlers/__init__.py.

    `title` is the feature's short name (menus, refusals, "您是想" buttons), `help` what it
    does. `arg` names the keyword that receives a command's argument text; `buttons` are the
    handlers a Button may name as '<route>.<name>'; `steps` the route's dialog (a Flow named
    like the route); `takes_location` marks the one route that a bare shared location goes
    to; `menu` and `only_unbound` decide whether /help lists it.
    """

    name: str
    handler: Handler
    title: str
    help: str
    aliases: tuple[str, ...] = ()
    intent: str | None = None
    role: Role = Role.MEMBER
    arg: str | None = None
    buttons: Mapping[str, Handler] = field(default_factory=dict)
    steps: Flow = field(default_factory=lambda: Flow(""))
    takes_location: bool = False
    takes_files: bool = False
    menu: bool = True
    only_unbound: bool = False
    glued: str | None = None
    instead: str | None = None
    group: str = ""


class SweepFunc(Protocol):
    async def __call__(self, *, session: Any, now: datetime, settings: Any) -> Any: ...


@dataclass(frozen=True)
class Sweep:
    """A scheduled job: `func(session=, now=, settings=)` every `every`."""

    id: str
    func: SweepFunc
    every: timedelta
