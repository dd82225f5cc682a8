"""The dashboard's kiosk pages: every kiosk ever enrolled, one kiosk's history, and retiring or
re-enabling it.

Retiring refuses a kiosk's messages and takes its broker login away, so it is for supervisor
keys only, asks for the device id to be typed again and for a reason (kept in the history), as
the API and the command line do (``store.devices``). A retirement made by mistake is undone the
same way with "re-enable", which shows the kiosk's new broker password once.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from cloud_bridge.store.devices import (
    DeviceInfo,
    EnrolmentError,
    list_devices,
    reenable_device,
    retire_device,
)
from cloud_bridge.store.registry_models import HistoryEntry, Role

from .dashboard import _page, _staff, csrf_token
from .deps import readers, writers
from .errors import ApiError
from .operator import _device_change_error, cloud_signing_keys, update_broker

router = APIRouter(include_in_schema=False)


def _device(request: Request, device_id: str) -> tuple[DeviceInfo, list[HistoryEntry]]:
    with readers(request)() as session:
        found = next((d for d in list_devices(session) if d.id == device_id[:64]), None)
        if found is None:
            raise ApiError(404, "not_found", "no such kiosk")
        history = list(session.scalars(
            select(HistoryEntry).where(HistoryEntry.entity == "device",
                                       HistoryEntry.entity_id == found.id)
            .order_by(HistoryEntry.at.desc(), HistoryEntry.id.desc()).limit(100)))
    return found, history


@router.get("/dashboard/devices", response_class=HTMLResponse)
def devices_page(request: Request) -> HTMLResponse:
    who = _staff(request)
    with readers(request)() as session:
        devices = list_devices(session)
    return _page(request, "devices.html", who, devices=devices)


@router.get("/dashboard/devices/{device_id}", response_class=HTMLResponse)
def device_page(request: Request, device_id: str) -> HTMLResponse:
    who = _staff(request)
    device, history = _device(request, device_id)
    return _page(request, "device_admin.html", who, d=device, history=history)


def _change(request: Request, device_id: str, confirm: str, reason: str, csrf: str,
            action: str) -> HTMLResponse:
    who = _staff(request)
    if not who.has(Role.SUPERVISOR):
        raise ApiError(403, "forbidden", "retiring or re-enabling a kiosk needs a supervisor key")
    if not hmac.compare_digest(csrf, csrf_token(request)):
        raise ApiError(403, "bad_form", "the form is stale; open the page again")
    keys = cloud_signing_keys(request.app.state.settings) if action == "reenable" else []
    change = retire_device if action == "retire" else reenable_device
    try:
        with writers(request).begin() as session:
            info = change(session, device_id[:64], confirm=confirm.strip(), reason=reason,
                          actor=who.name)
    except EnrolmentError as exc:
        raise _device_change_error(f"{action}_refused", exc) from None
    broker = update_broker(request)
    device, history = _device(request, device_id)
    return _page(request, "device_admin.html", who, d=device, history=history, broker=broker,
                 new_password=info.broker_password, cloud_keys=keys)


@router.post("/dashboard/devices/{device_id}/retire", response_class=HTMLResponse)
def retire_form(request: Request, device_id: str, confirm: Annotated[str, Form(max_length=64)],
                reason: Annotated[str, Form(max_length=300)],
                csrf: Annotated[str, Form(max_length=64)]) -> HTMLResponse:
    return _change(request, device_id, confirm, reason, csrf, "retire")


@router.post("/dashboard/devices/{device_id}/reenable", response_class=HTMLResponse)
def reenable_form(request: Request, device_id: str,
                  confirm: Annotated[str, Form(max_length=64)],
                  reason: Annotated[str, Form(max_length=300)],
                  csrf: Annotated[str, Form(max_length=64)]) -> HTMLResponse:
    return _change(request, device_id, confirm, reason, csrf, "reenable")
