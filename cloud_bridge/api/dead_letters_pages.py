"""Dead letters on the dashboard and in the operator API: see them, replay, discard.

Staff (operator and supervisor keys) see the list and each dead letter; only an operator key
replays or discards (``cloud_bridge.ingest.resolution`` does the work and writes the history
with the key's name and the reason). Discarding from the dashboard takes two steps: the first
post shows what will happen (a skipped seq, a kiosk that will forget the record) and asks for
confirmation; only the confirmed post changes anything. Forms carry the dashboard's CSRF token.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from cloud_bridge.domain.keys import Principal
from cloud_bridge.ingest import resolution
from cloud_bridge.store.models import DeadLetterState
from cloud_bridge.store.registry_models import Role

from .dashboard import _page, _staff, csrf_token
from .deps import readers, require, settings_of, writers
from .errors import ApiError
from .responses import ErrorView

router = APIRouter()
ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorView} for s in (401, 403, 404,
                                                                             409, 422)}
OnlyOperator = Annotated[Principal, Depends(require(Role.OPERATOR))]
PAYLOAD_SHOWN = 4000


class ResolveRequest(BaseModel):
    reason: Annotated[str, Field(min_length=1, max_length=resolution.REASON_MAX)]


class ReplayView(BaseModel):
    stored: bool
    outcome: str = Field(description="recorded, duplicate, updated or dead_letter")
    reason: str | None = Field(description="why it is still refused")
    watermark: int | None


class DiscardView(BaseModel):
    skipped_seq: int | None = Field(description="the kiosk's seq settled without a record")
    watermark: int | None


def _engine(request: Request) -> Engine:
    bind = writers(request).kw["bind"]
    assert isinstance(bind, Engine)
    return bind


def _operator(request: Request) -> Principal:
    who = _staff(request)
    if not who.has(Role.OPERATOR):
        raise ApiError(403, "forbidden", "only an operator key replays or discards")
    return who


def _check_form(request: Request, csrf: str) -> None:
    if not hmac.compare_digest(csrf, csrf_token(request)):
        raise ApiError(403, "bad_form", "the form is stale; open the page again")


# --------------------------------------------------------------------------------- pages


@router.get("/dashboard/dead-letters", response_class=HTMLResponse, include_in_schema=False)
def letters_page(request: Request, state: str = DeadLetterState.OPEN) -> HTMLResponse:
    who = _staff(request)
    if state not in (*DeadLetterState.ALL, "all"):
        state = DeadLetterState.OPEN
    with readers(request)() as session:
        found = resolution.list_letters(session, resolution.Filter(
            state=None if state == "all" else state, limit=500))
    return _page(request, "dead_letters.html", who, letters=found, state=state,
                 states=(*DeadLetterState.ALL, "all"))


@router.get("/dashboard/dead-letters/{letter_id}", response_class=HTMLResponse,
            include_in_schema=False)
def letter_page(request: Request, letter_id: int, done: str = "") -> HTMLResponse:
    who = _staff(request)
    with readers(request)() as session:
        found = resolution.details(session, letter_id)
        payload = bytes(found.letter.payload)
    try:
        shown = payload.decode("utf-8")
    except UnicodeDecodeError:
        shown = payload[:1024].hex(" ")
    return _page(request, "dead_letter.html", who, d=found.letter, found=found,
                 payload=shown[:PAYLOAD_SHOWN], payload_cut=len(shown) > PAYLOAD_SHOWN,
                 done=done if done in ("replayed", "refused", "discarded") else "")


@router.post("/dashboard/dead-letters/{letter_id}/replay", include_in_schema=False)
def replay_form(request: Request, letter_id: int,
                reason: Annotated[str, Form(max_length=resolution.REASON_MAX)],
                csrf: Annotated[str, Form(max_length=64)]) -> Response:
    who = _operator(request)
    _check_form(request, csrf)
    outcome = resolution.replay(_engine(request), letter_id, actor=who.name, reason=reason,
                                payload_cap=settings_of(request).ingest.dead_letter_payload_cap)
    done = "replayed" if outcome.stored else "refused"
    return RedirectResponse(f"/dashboard/dead-letters/{letter_id}?done={done}",
                            status_code=303)


@router.post("/dashboard/dead-letters/{letter_id}/discard", include_in_schema=False)
def discard_form(request: Request, letter_id: int,
                 reason: Annotated[str, Form(max_length=resolution.REASON_MAX)],
                 csrf: Annotated[str, Form(max_length=64)],
                 confirmed: Annotated[str, Form(max_length=8)] = "") -> Response:
    who = _operator(request)
    _check_form(request, csrf)
    if confirmed != "yes":
        # Irreversible: show what will happen and ask again. Nothing has changed yet.
        with readers(request)() as session:
            found = resolution.details(session, letter_id)
        if found.letter.state != DeadLetterState.OPEN:
            raise ApiError(409, "not_open", f"dead letter #{letter_id} is already "
                           f"{found.letter.state}")
        if not reason.strip():
            raise ApiError(422, "reason_required", "say why (a reason is kept with the action)")
        return _page(request, "dead_letter_confirm.html", who, d=found.letter, found=found,
                     reason=reason)
    resolution.discard(_engine(request), letter_id, actor=who.name, reason=reason)
    return RedirectResponse(f"/dashboard/dead-letters/{letter_id}?done=discarded",
                            status_code=303)


# ----------------------------------------------------------------------------- JSON API


@router.post("/api/v1/dead-letters/{letter_id}/replay", response_model=ReplayView,
             responses=ERRORS, tags=["operator"])
def replay_api(letter_id: int, body: ResolveRequest, request: Request,
               who: OnlyOperator) -> ReplayView:
    """Store a dead letter's kept bytes again, after its cause was fixed (operator keys)."""
    outcome = resolution.replay(_engine(request), letter_id, actor=who.name,
                                reason=body.reason,
                                payload_cap=settings_of(request).ingest.dead_letter_payload_cap)
    return ReplayView(stored=outcome.stored, outcome=outcome.outcome, reason=outcome.reason,
                      watermark=outcome.watermark)


@router.post("/api/v1/dead-letters/{letter_id}/discard", response_model=DiscardView,
             responses=ERRORS, tags=["operator"])
def discard_api(letter_id: int, body: ResolveRequest, request: Request,
                who: OnlyOperator) -> DiscardView:
    """Settle a dead letter that will never be stored; its seq is skipped if it holds its
    kiosk's watermark back (operator keys; irreversible)."""
    outcome = resolution.discard(_engine(request), letter_id, actor=who.name,
                                 reason=body.reason)
    return DiscardView(skipped_seq=outcome.skipped_seq, watermark=outcome.watermark)
