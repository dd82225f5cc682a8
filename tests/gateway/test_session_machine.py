"""The session as a declared machine: actions and events declared once, everything else (the
screen's fields, the allowed actions, the transitions, the picture in docs/kiosk.md) derived
from them, and the machine refusing what was not declared."""

from __future__ import annotations

import inspect
from collections import deque

import pytest

import kiosk_ui.app
from gateway.session import (
    ACTION_FIELDS,
    ACTION_TABLE,
    ACTIONS,
    EVENTS,
    IllegalTransition,
    KioskSession,
    LotDraft,
    LotState,
    LotStateError,
    Step,
    WrongStep,
)
from gateway.session.actions import transitions
from gateway.session.diagram import BEGIN, END, is_current, render, with_diagram
from gateway.update.idle import KioskSessionIdle
from tests.gateway.session_helpers import identify_new_producer, ready_gateway
from tests.support import aio


@pytest.fixture
def kiosk(tmp_path):
    gw = ready_gateway(tmp_path / "kiosk", kits=())
    yield gw
    gw.close()


def test_the_screen_posts_the_fields_the_session_declares():
    assert kiosk_ui.app.ACTION_FIELDS is ACTION_FIELDS
    for name, declared in ACTION_TABLE.items():
        handler = getattr(KioskSession, name)
        params = [p for p in inspect.signature(handler).parameters if p != "self"]
        assert declared.fields == tuple(params), name
        assert ACTION_FIELDS.get(name, ()) == declared.fields
        assert ACTIONS[name] == declared.steps


def test_every_step_is_reachable_from_idle_and_leads_back_to_it():
    moves = transitions(ACTION_TABLE, EVENTS)
    forward: dict[Step, set[Step]] = {s: set() for s in Step}
    backward: dict[Step, set[Step]] = {s: set() for s in Step}
    for source, target in moves:
        forward[source].add(target)
        backward[target].add(source)

    def closure(graph: dict[Step, set[Step]]) -> set[Step]:
        seen, todo = {Step.IDLE}, deque([Step.IDLE])
        while todo:
            for nxt in graph[todo.popleft()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    assert closure(forward) == set(Step)
    assert closure(backward) == set(Step)


def test_an_undeclared_transition_is_refused(kiosk):
    session = kiosk.session

    async def scenario():
        with pytest.raises(IllegalTransition, match="from idle to certificate"):
            session._go(Step.CERTIFICATE)
        assert session.step is Step.IDLE
        session._go(Step.IDLE)  # staying, and ending, are always allowed

    aio.run(scenario())


def test_an_action_checks_its_step_once_by_name_or_by_call(kiosk):
    session = kiosk.session

    async def scenario():
        with pytest.raises(WrongStep, match="issue is not possible on the idle step"):
            await session.act("issue")
        with pytest.raises(WrongStep):
            await session.issue()
        with pytest.raises(WrongStep):
            await session.act("no_such_action")
        await identify_new_producer(session)
        assert session.step is Step.PRODUCT

    aio.run(scenario())


def test_the_session_says_when_nobody_is_using_it(kiosk):
    session = kiosk.session
    idle = KioskSessionIdle(session)
    assert session.is_idle() and idle.is_idle()

    async def scenario():
        await session.start()
        assert not session.is_idle() and not idle.is_idle()
        await session.cancel()

    aio.run(scenario())
    assert session.is_idle()


def test_the_lot_moves_only_along_its_declared_path():
    lot = LotDraft()
    with pytest.raises(LotStateError, match="from new to certified"):
        lot.move(LotState.CERTIFIED)
    lot.move(LotState.OPEN)
    assert lot.state.open and not lot.state.voided
    lot.move(LotState.CERTIFIED)
    lot.move(LotState.CORRECTING)
    assert lot.state.voided and lot.state.correcting and not lot.state.open
    lot.move(LotState.VOIDED)
    lot.move(LotState.CERTIFIED)
    closed = LotDraft(state=LotState.OPEN)
    closed.move(LotState.CLOSED)
    with pytest.raises(LotStateError):
        closed.move(LotState.VOIDED)


def test_the_picture_in_the_docs_is_the_machine():
    assert is_current(), "run: python -m gateway.session.diagram"


def test_the_picture_check_can_fail(tmp_path):
    diagram = render()
    page = f"# kiosk\n\n{BEGIN}\n{diagram}\n{END}\n"
    assert with_diagram(page, diagram) == page
    stale = page.replace("retest --> prepare: retest", "retest --> blocked: retest")
    assert stale != page and with_diagram(stale, diagram) != stale
    assert "scoring --> blocked: (read)" in diagram
    assert "results --> certificate: issue" in diagram
