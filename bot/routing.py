"""Which handler a message goes to: the routing order and the dialog rules, in one place.

Order: a live share's later positions → cancel → a pressed button → a command or alias →
what a recent button says, typed → the open dialog's step (unless the message clearly asks
for another feature) → a bare location → a picture or file → the NLU's intent → help.
A dialog step receives what was sent with the message: `text`, `location`, `attachments`.

Dialog rules: nobody is held by a dialog. A command, an alias, or a message the NLU reads
clearly as another feature leaves the open dialog, and the reply says so in a few words. A
step that takes free text never takes a command or an alias as its content. What a button
says can be typed instead of pressed (voice input users say the option).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.core import Button, Handler, Incoming, Reply, Role, Route, Step
from bot.nlu import Parse, normalize, slots_for
from handlers.context import Context
from models.button import Press, recent_buttons

BUTTON_GONE = "这个按钮已失效，请重新操作。"
ASK_WHICH = "您是想："
DONE_ALREADY = "这一步已经结束了，“{label}”不用再发。"
UNKNOWN_COMMAND = "没有“/{command}”这个命令。发送“帮助”看看能做什么。"
LEFT = "（已退出“{title}”）"

CANCEL_WORDS = frozenset(
    {"/cancel", "取消", "退出", "算了", "不弄了", "不要了", "不办了", "结束", "停止", "撤销"}
    | {"退出吧", "取消吧", "算了吧", "不用了", "cancel", "quit", "exit"}
)
# 我不报了, 还是不提了吧, 先不弄了: giving up what one started.
GIVING_UP = re.compile(
    r"(?:我|那)?(?:还是|先)?(?:不|别)(?:提|报|弄|办|填|发|要|反映|吹哨|签)了?[吧啊呀]?"
)
COMMAND_RE = re.compile(r"^/([A-Za-z_]+)(?:@\w+)?\s*(.*)$", re.S)
# The NLU must be this sure before a message in a dialog counts as asking for something else.
LEAVE_CONFIDENCE = 0.85
QUESTION_CONFIDENCE = 0.6  # a question (怎么…, …吗？) about another feature needs less
# In a free-text step only a short question about another feature leaves the dialog: a note
# such as "已协调税务局" must stay a note.
QUESTION_RE = re.compile(
    r"怎么|如何|在哪|哪里|哪儿|能不能|可以.*吗|吗[?？]?$|[?？]$|查看|看看|多少|还剩"
    r"|几点|几号|哪天|什么时候|啥时候|来着|有什么|有哪些"
)
FREE_TEXT_LEAVE_MAX = 20
SHORT_CANCEL = 8  # 不想弄了, 我不报了: short enough not to be a note
NEVER_LEAVE_FOR = frozenset({"unknown", "smalltalk"})
STEP_NUMBER = re.compile(r"\W*\d{1,5}\W*")  # a count, a time (1430) or an amount
LABEL_STRIP = re.compile(r"[\s\W_]+|^我要|^我想")
RECENT_BUTTONS = timedelta(minutes=30)
NAVIGATION = frozenset({"下一页", "上一页"})
# Saying yes to the proposal marked ✅ (a suggested category).
YES = frozenset({"对", "是", "是的", "对的", "好", "好的", "行", "可以", "没问题", "确定", "嗯"})
YES |= {"就这个", "就这个吧", "就它", "同意", "ok"}
# Common ways of saying what a rating button says.
SAYINGS = {
    "挺满意": "满意",
    "挺满意的": "满意",
    "很满意": "满意",
    "非常满意": "满意",
    "挺好": "满意",
    "很好": "满意",
    "还行": "基本满意",
    "还行吧": "基本满意",
    "还可以": "基本满意",
    "一般": "基本满意",
    "凑合": "基本满意",
    "马马虎虎": "基本满意",
    "不太满意": "不满意",
    "不行": "不满意",
    "没解决": "不满意",
    "没有解决": "不满意",
    "不好": "不满意",
}


@dataclass(frozen=True)
class Target:
    """What runs: the route, the function (its handler, a named button, a dialog step) and
    its keywords; `left` is the route whose dialog the message left."""

    route: Route
    func: Handler
    kwargs: dict[str, Any] = field(default_factory=dict)
    left: Route | None = None
    at_step: bool = False  # the open dialog's own step runs


class Router:
    def __init__(self, routes: Sequence[Route], nlu: Callable[[str], Parse]) -> None:
        self.routes = tuple(routes)
        self.nlu = nlu
        self.by_name = {r.name: r for r in self.routes}
        self.by_alias = {a: r for r in self.routes for a in r.aliases}
        self.aliases_longest_first = sorted(self.by_alias, key=len, reverse=True)
        self.by_intent = {r.intent: r for r in self.routes if r.intent}
        self.on_location = next((r for r in self.routes if r.takes_location), None)
        self.on_files = next((r for r in self.routes if r.takes_files), None)

    async def route(
        self, ctx: Context, incoming: Incoming, press: Press | None
    ) -> Target | list[Reply]:
        """The target of one message (a list of replies when it is answered right away)."""
        if followup_position(incoming):
            # Later positions of a live share go to the location route only: fed into a dialog
            # step, each would repeat that step's question every few seconds.
            if self.on_location is None:
                return []
            return Target(self.on_location, self.on_location.handler, _location(incoming))
        text = incoming.text
        cancelled = text in CANCEL_WORDS or bool(GIVING_UP.fullmatch(text))
        if cancelled or (press is not None and press.target == "cancel"):
            return Target(self.by_name["cancel"], self.by_name["cancel"].handler)
        if press is not None:
            return self.pressed(ctx, press)
        current = self.current_step(ctx)
        explicit = self._command_or_alias(text)
        # A picture's caption describes the picture: it is never a button or another request.
        sent_file = bool(incoming.attachments)
        if explicit is not None:
            # A label of the last message typed as it reads (退回, 确认签退) is that button, even
            # when it is also another feature's alias. Only a bare alias can be a label: a
            # /command or an alias with its argument (签到 123456) costs no lookup.
            shown = None
            if not sent_file and text in self.by_alias:
                shown = await self._typed_button(ctx, incoming, current, exact_only=True)
            if isinstance(shown, Press) and isinstance(explicit, Target):
                pressed = self.by_name.get(shown.target.partition(".")[0])
                # Unless the button is of the alias's own feature (收到 under a notice).
                if pressed is not None and not _related(pressed, explicit.route):
                    return self._leaving(current, self.pressed(ctx, shown))
            return self._leaving(current, explicit)
        typed = None if sent_file else await self._typed_button(ctx, incoming, current)
        if isinstance(typed, list):
            return typed
        if typed is not None:
            return self._leaving(current, self.pressed(ctx, typed))
        if current is not None:
            route, step = current
            other = None if sent_file else self._clearly_other(text, route, step)
            if other is not None:
                return self._leaving(current, other)
            return Target(route, step.func, {"text": text, **_sent(incoming)}, at_step=True)
        if incoming.location is not None and self.on_location is not None and not text:
            return Target(self.on_location, self.on_location.handler, _location(incoming))
        if incoming.attachments and self.on_files is not None:
            return Target(self.on_files, self.on_files.handler, {"text": text, **_sent(incoming)})
        if text:
            parsed = self.nlu(text)
            # Only what this person may use is offered; one left is taken without asking.
            choices = [
                self.by_intent[i]
                for i in parsed.alternatives
                if i in self.by_intent and _may_use(ctx, self.by_intent[i])
            ]
            if len(choices) > 1:
                return [self._ask_which(choices, text)]
            if choices:
                route = choices[0]
                return Target(route, route.handler, slots_for(route.intent or "", text))
            route = None if parsed.alternatives else self.by_intent.get(parsed.intent)
            if route is not None:
                return Target(route, route.handler, dict(parsed.slots))
        return Target(self.by_name["help"], self.by_name["help"].handler, {"unknown": bool(text)})

    def current_step(self, ctx: Context) -> tuple[Route, Step] | None:
        """The dialog step waiting for this person's next message, if any."""
        name = ctx.dialog.step
        route = self.by_name.get(ctx.dialog.flow or "")
        if name is None or route is None or name not in route.steps:
            return None
        return route, route.steps[name]

    def pressed(self, ctx: Context, press: Press) -> Target | list[Reply]:
        """A button names a route, one of its buttons, or a step of its dialog.

        A step's button counts only while the dialog waits at that step: pressed again after
        the dialog moved on or ended (a double tap on "提交"), it does nothing.
        """
        route_name, _, name = press.target.partition(".")
        route = self.by_name.get(route_name)
        if route is None:
            return [Reply(BUTTON_GONE)]
        values = dict(press.values)
        if not name:
            return Target(route, route.handler, values)
        if name in route.buttons:
            return Target(route, route.buttons[name], values)
        if press.target in route.steps and ctx.dialog.step == press.target:
            step = route.steps[press.target]
            return Target(route, step.func, {"text": "", **values}, at_step=True)
        return [Reply(BUTTON_GONE)]

    def check_target(self, button: Button) -> None:
        """A button must name something registered; a typo fails loudly, never silently."""
        route_name, _, name = button.target.partition(".")
        route = self.by_name.get(route_name)
        known = route is not None and (
            not name or name in route.buttons or button.target in route.steps
        )
        if not known:
            raise LookupError(f"button {button.label!r} names {button.target!r}: not registered")

    def _command_or_alias(self, text: str) -> Target | list[Reply] | None:
        """/command args, an alias alone or before its argument, or an alias glued to an
        argument of the shape its route takes (签到123456, 附议WT-2026-0001)."""
        command = COMMAND_RE.match(text)
        if command:
            name, args = command.group(1).lower(), command.group(2).strip()
            route = self.by_name.get(name)
            if route is None:
                return [Reply(UNKNOWN_COMMAND.format(command=name))]
            return Target(route, route.handler, _arg_kwargs(route, args))
        if text in self.by_alias:
            route = self.by_alias[text]
            return Target(route, route.handler, {})
        head, _, rest = re.sub(r"^([^\s:：]+)\s*[:：]\s*", r"\1 ", text, count=1).partition(" ")
        if head in self.by_alias and rest.strip():  # 提议题 停车位不够, 提议题：停车位不够
            route = self.by_alias[head]
            return Target(route, route.handler, _arg_kwargs(route, rest.strip()))
        for alias in self.aliases_longest_first:
            route = self.by_alias[alias]
            rest = text[len(alias) :]
            if text.startswith(alias) and route.glued and re.fullmatch(route.glued, rest):
                return Target(route, route.handler, _arg_kwargs(route, rest.strip()))
        return None

    async def _typed_button(
        self,
        ctx: Context,
        incoming: Incoming,
        current: tuple[Route, Step] | None,
        exact_only: bool = False,
    ) -> Press | list[Reply] | None:
        """A recent button the message names: its label ("提交", "下一页", "我要对接 3"), a unique
        start of it ("同意"), its number in the last message ("3"), a yes to a proposal marked ✅
        ("对", "就这个"), or a common way of saying a rating ("还行" → 基本满意).

        In a free-text step only the step's own buttons count: a note that says "办结" is a note.
        Out of any dialog, the label of a step button whose dialog has ended (确认 typed twice)
        is answered: that step is done. `exact_only`: only a label of the last message,
        typed in full.
        """
        text = incoming.text
        if not text or len(text) > 20:
            return None
        recent = await recent_buttons(
            session=ctx.session,
            platform=incoming.platform,
            user_key=incoming.user_key,
            since=ctx.now - RECENT_BUTTONS,
        )
        free_text = current is not None and current[1].free_text
        step_name = current[1].name if current is not None else None
        # A typed word never presses a step's button once its dialog has moved on.
        ended = [s for s in recent if self._is_step(s.press.target) and current is None]
        recent = [
            shown
            for shown in recent
            if shown.press.target == step_name or not self._is_step(shown.press.target)
        ]
        if free_text:
            recent = [shown for shown in recent if shown.press.target == step_name]
        if exact_only:
            latest = [s for s in recent if s.at == recent[0].at] if recent else []
            named = [s.press for s in latest if _label_key(s.label) == _label_key(text)]
            return named[0] if len(named) == 1 else None
        press = self._named(text, recent, free_text) if recent else None
        if press is None and ended:
            again = [s for s in ended if _label_key(s.label) == _label_key(text)]
            if again and again[0].at == ended[0].at:  # the last dialog's own button
                return [Reply(DONE_ALREADY.format(label=again[0].label))]
        return press

    def _named(self, text: str, recent: list[Any], free_text: bool) -> Press | None:
        """The press among recent buttons (newest first) that the typed text names."""
        latest = [shown for shown in recent if shown.at == recent[0].at]
        number = re.fullmatch(r"#?第?(\d{1,2})个?", text)
        if number:  # in a free-text step only the step's own buttons are left to count
            index = int(number.group(1)) - 1
            return latest[index].press if 0 <= index < len(latest) else None
        wanted = _label_key(SAYINGS.get(_label_key(text), text))
        if wanted in YES and not free_text:
            proposal = [s for s in latest if s.label.startswith("✅")]
            if proposal:
                return proposal[0].press if len(proposal) == 1 else None
            # No proposal: a yes that is a button's own label (同意) presses that button.
            named = [s.press for s in latest if _label_key(s.label) == wanted]
            return named[0] if len(named) == 1 else None
        if not wanted:
            return None
        # Paging goes from the page last shown: an older page's 下一页 would repeat a page; and
        # an older message's button counts only when the last one has none of its feature (退回
        # typed under ticket 2 must not return ticket 5 from an older card).
        shown_now = {s.press.target.partition(".")[0] for s in latest}
        older = [s for s in recent if s.press.target.partition(".")[0] not in shown_now]
        pool = latest if wanted in NAVIGATION else [*latest, *older]
        exact = [s.press for s in pool if wanted in (_label_key(s.label), _label_head(s.label))]
        if exact:
            return exact[0]
        starting: dict[str, Press] = {}
        for shown in pool:  # newest first: an older copy of a label does not replace it
            if _label_key(shown.label).startswith(wanted):
                starting.setdefault(_label_key(shown.label), shown.press)
        if len(wanted) >= 2 and len(starting) == 1 and not free_text:
            return next(iter(starting.values()))
        containing = {  # never the negation of what was typed: 满意 is not 不满意
            _label_key(s.label): s.press
            for s in latest
            if wanted in _label_key(s.label)
            and not re.search(f"[不没非无]{re.escape(wanted)}", _label_key(s.label))
        }
        if len(wanted) >= 2 and len(containing) == 1 and not free_text:
            return next(iter(containing.values()))  # 书记 for 支部书记
        return None

    def _is_step(self, target: str) -> bool:
        route = self.by_name.get(target.partition(".")[0])
        return route is not None and target in route.steps

    def _clearly_other(self, text: str, route: Route, step: Step) -> Target | None:
        """A message in a dialog that the NLU reads, with confidence, as another feature."""
        if not text or STEP_NUMBER.fullmatch(text):
            return None  # 1430, 0005, 12: a number typed in a dialog answers its step
        parsed = self.nlu(text)
        other = self.by_intent.get(parsed.intent)
        question = bool(len(text) <= FREE_TEXT_LEAVE_MAX and QUESTION_RE.search(text))
        floor = QUESTION_CONFIDENCE if question else LEAVE_CONFIDENCE
        sure = not parsed.alternatives and parsed.confidence >= floor
        if other is None or not sure or parsed.intent in NEVER_LEAVE_FOR:
            return None
        if step.free_text:
            short_cancel = parsed.intent == "cancel" and len(text) <= SHORT_CANCEL
            if not (short_cancel or question) or (other is route and step.questions_answer):
                return None
        elif other is route or (_related(other, route) and not question):
            # The step's own feature, or the one it belongs to (降低成本 at the 填报成果 metric
            # step reads as 成果): its answer, for the step. A question about the one it belongs
            # to (经费还剩多少 while applying to spend) asks for that.
            return None
        # A question in a note step about the step's own feature (我还有几个工单没签收？) asks
        # for that feature, not for the note.
        return Target(other, other.handler, dict(parsed.slots))

    def _leaving(
        self, current: tuple[Route, Step] | None, target: Target | list[Reply]
    ) -> Target | list[Reply]:
        """Mark a target that leaves the open dialog (not its own steps, not cancel)."""
        if current is None or not isinstance(target, Target):
            return target
        route, _ = current
        if target.func in {s.func for s in route.steps.values()} or target.route.name == "cancel":
            return target
        return Target(target.route, target.func, target.kwargs, left=route)

    def _ask_which(self, choices: Sequence[Route], text: str) -> Reply:
        """Offer the likely features; a choice runs with what was understood of the message."""
        buttons = []
        for route in choices:
            slots = slots_for(route.intent or "", text)
            if route.arg and route.arg not in slots:
                slots[route.arg] = text
            buttons.append(Button(route.title, route.name, **_scalars(slots)))
        return Reply(ASK_WHICH, buttons=tuple(buttons))


def _related(one: Route, other: Route) -> bool:
    """The same feature, or one that belongs to the other (its `instead`)."""
    return one is other or one.instead == other.name or other.instead == one.name


def _may_use(ctx: Context, route: Route) -> bool:
    if route.role == Role.ANYONE:
        return True
    return ctx.member is not None and ctx.member.has_role(route.role)


def left_note(route: Route) -> str:
    return LEFT.format(title=route.title)


def _label_head(label: str) -> str:
    """The part of a label before its colon: 本单位 of 本单位：依汶佳美食品有限公司."""
    head, colon, _ = label.replace(":", "：").partition("：")
    return _label_key(head) if colon else ""


def _label_key(text: str) -> str:
    """What is compared when a typed text is matched to a button label (確認辦結 = 确认办结)."""
    return LABEL_STRIP.sub("", normalize(text).lower())


def _scalars(slots: dict[str, Any]) -> dict[str, Any]:
    """Button values are scalars: a list slot (resource keywords) travels as words."""
    return {k: " ".join(v) if isinstance(v, list) else v for k, v in slots.items()}


def followup_position(incoming: Incoming) -> bool:
    """A later position of a live location share, with nothing typed or pressed."""
    location = incoming.location
    return bool(location and location.followup and not incoming.text and not incoming.action)


def _location(incoming: Incoming) -> dict[str, Any]:
    return {"location": incoming.location} if incoming.location is not None else {}


def _sent(incoming: Incoming) -> dict[str, Any]:
    """What came with the text: a location, pictures and files."""
    sent = _location(incoming)
    if incoming.attachments:
        sent["attachments"] = incoming.attachments
    return sent


def _arg_kwargs(route: Route, args: str) -> dict[str, Any]:
    return {route.arg: args} if route.arg and args else {}
