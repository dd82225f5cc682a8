"""The session's actions and events, each declared once; the rest is derived from them.

An *action* is a choice the person makes on the screen (``start``, ``enter_pin``, ``issue``):
a ``KioskSession`` method marked ``@action(steps..., leads_to=...)``. The declaration holds
everything about it: the steps that offer it, the form fields it takes (its parameters, read
from the method's signature), the steps it may lead to, and the handler itself. From the
declarations come ``ACTIONS`` (which action each step offers), the screen's form fields
(``ACTION_FIELDS``), the machine's transitions (``transitions``) and the picture of the states
in docs/kiosk.md (``gateway.session.diagram``).

An *event* moves the session without the person: the reader's progress, a cassette's verdict,
a refusal, a failure, the end. Events are declared in ``EVENTS`` beside the actions.

The session refuses to enter a step by a transition nobody declared (``IllegalTransition``), so
the declarations are the machine itself, not a comment about it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from ..errors import SessionError
from .steps import Step

Handler = TypeVar("Handler", bound=Callable[..., Awaitable[None]])
Moves = Iterable[Step] | Mapping[Step, Iterable[Step]]
"""Where an action or event leads: the same steps from every step it is offered on, or a
mapping from each of those steps to where it leads from there."""

WORKING: frozenset[Step] = frozenset({Step.INSERT, Step.INCUBATING, Step.SCORING})
"""The steps of one cassette in the reader (the station reports its progress through them)."""


@dataclass(frozen=True, slots=True)
class Action:
    """A choice the screen offers: where, with which fields, and where it may lead."""

    name: str
    steps: frozenset[Step] | None
    """The steps that offer it; None: every step."""
    fields: tuple[str, ...]
    """The form fields the screen posts with it (the handler's parameters)."""
    moves: frozenset[tuple[Step, Step]]
    """The (from, to) steps it may move the session by."""
    touches: bool
    """Whether taking it restarts the step's timeout (before its handler runs)."""
    summary: str

    def offered_on(self, step: Step) -> bool:
        return self.steps is None or step in self.steps


@dataclass(frozen=True, slots=True)
class Event:
    """Something that moves the session without the person."""

    name: str
    moves: frozenset[tuple[Step, Step]]
    summary: str

    @classmethod
    def declare(cls, name: str, steps: Iterable[Step], leads_to: Moves, summary: str
                ) -> Event:
        return cls(name, _moves(name, frozenset(steps), leads_to), summary)


def _moves(name: str, steps: frozenset[Step], leads_to: Moves) -> frozenset[tuple[Step, Step]]:
    if isinstance(leads_to, Mapping):
        if not set(leads_to) <= steps:
            raise ValueError(f"{name} leads from steps it is not offered on: "
                             f"{sorted(s.value for s in set(leads_to) - steps)}")
        return frozenset((source, target) for source, targets in leads_to.items()
                         for target in targets)
    return frozenset((source, target) for source in steps for target in leads_to)


class WrongStep(SessionError, LookupError):
    """An action that the current step does not offer (a stale screen, or a bug in a test)."""

    code = "wrong_step"
    translation_key = "error.wrong_step"

    def __init__(self, action: str, step: Step) -> None:
        super().__init__(f"{action} is not possible on the {step.value} step")
        self.action = action
        self.step = step


class IllegalTransition(SessionError, RuntimeError):
    """The session was about to enter a step by a transition nobody declared (a bug)."""

    code = "illegal_transition"

    def __init__(self, source: Step, target: Step) -> None:
        super().__init__(f"no declared transition from {source.value} to {target.value}")
        self.source = source
        self.target = target


def action(*steps: Step, leads_to: Moves = (), touches: bool = True
           ) -> Callable[[Handler], Handler]:
    """Declare a ``KioskSession`` method as an action offered on ``steps`` (none: every step)
    that may move the session as ``leads_to`` says.

    The wrapped method checks the step first (``WrongStep``) and, when ``touches``, restarts
    the step's timeout: the person just did something, and an action that awaits (a database
    write, the printer) must not be overtaken by a timeout that wipes the person meanwhile.
    """

    def declare(handler: Handler) -> Handler:
        fields = tuple(list(inspect.signature(handler).parameters)[1:])
        declared = Action(
            name=handler.__name__,
            steps=frozenset(steps) or None,
            fields=fields,
            moves=_moves(handler.__name__, frozenset(steps or Step), leads_to),
            touches=touches,
            summary=(inspect.getdoc(handler) or "").split("\n")[0],
        )

        @functools.wraps(handler)
        async def checked(self: Any, /, *args: Any, **kwargs: Any) -> None:
            self._begin(declared)
            await handler(self, *args, **kwargs)

        checked.action = declared  # type: ignore[attr-defined]
        return cast(Handler, checked)

    return declare


def declared_actions(cls: type) -> dict[str, Action]:
    """The actions declared on ``cls`` and its bases, by name, in declaration order."""
    found: dict[str, Action] = {}
    for klass in reversed(cls.__mro__):
        for name, member in vars(klass).items():
            declared = getattr(member, "action", None)
            if isinstance(declared, Action):
                found[name] = declared
    return found


_VERDICTS = frozenset({Step.BLOCKED, Step.RETEST, Step.UNRESOLVED, Step.PREPARE, Step.RESULTS})

EVENTS: tuple[Event, ...] = (
    Event.declare("progress", {Step.INSERT, Step.INCUBATING},
                  {Step.INSERT: {Step.INCUBATING, Step.SCORING},
                   Step.INCUBATING: {Step.SCORING}},
                  "the reader's progress: the tray closed, incubation, capture and scoring"),
    Event.declare("read", {Step.SCORING}, _VERDICTS,
                  "the cassette's readings judged: positive, unsure, negative (the next "
                  "cassette, or all done)"),
    Event.declare("refused", {Step.INSERT, Step.SCORING}, {Step.REFUSED},
                  "the station refused the test (stock, calibration, a device; a kit that "
                  "reads none of the analytes)"),
    Event.declare("failed", WORKING, {Step.ERROR},
                  "a device, the scorer or the kiosk's disk failed during the test"),
    Event.declare("ended", Step, {Step.IDLE},
                  "the session ended (finished, cancelled, timed out, no cassette): data "
                  "wiped"),
)
"""The transitions nobody asks for on the screen."""


def transitions(actions: Mapping[str, Action], events: Iterable[Event] = EVENTS
                ) -> frozenset[tuple[Step, Step]]:
    """Every (from, to) pair an action or an event declares (staying on a step is implied)."""
    pairs: set[tuple[Step, Step]] = set()
    for declared in actions.values():
        pairs.update(declared.moves)
    for event in events:
        pairs.update(event.moves)
    return frozenset(pairs)
