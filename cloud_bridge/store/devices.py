"""Device enrolment: register a kiosk's id and public key, list kiosks, retire one.

A kiosk's messages are accepted only while it is enrolled; a retired kiosk is kept (its records
point at it) but everything it sends afterwards is dead-lettered. A retired id is never
re-enrolled: a kiosk that starts over gets a new id and key (see docs/protocol.md).
Enrolment also makes the kiosk's broker password (``registry.broker_auth``): returned once,
stored only as the Mosquitto hash.

A kiosk's id is its broker username and client id, so an id that is one of the cloud's own
accounts or a reserved name (``patterns.reserved_reason``) is never enrolled: it would share
that account's rights. Retiring takes the device id typed again as confirmation and a reason,
both kept in the history; a retirement made by mistake is undone by ``reenable_device``, which
gives the kiosk a new broker password (its old one and its certificates stay revoked), so the
records it kept unacknowledged reach the cloud after all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_bridge.domain.broker_auth import mosquitto_hash, new_password
from cloud_bridge.errors import StoreError
from cloud_bridge.patterns import PLACE_CODE_PATTERN, STATION_PATTERN, reserved_reason
from protocol import ProtocolError, check_device_id, load_public_key

from .models import AckWatermark, Device, DeviceStateValue
from .types import utcnow

_STATION_RE = re.compile(STATION_PATTERN)
_PLACE_RE = re.compile(PLACE_CODE_PATTERN)


class EnrolmentError(StoreError, ValueError):
    """A device that cannot be enrolled or retired as asked; the message says why."""

    code = "enrolment"
    translation_key = "error.enrolment"


class DeviceNotFound(EnrolmentError, LookupError):
    """No device has this id."""

    code = "device_not_found"


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """A device as the commands and the API show it."""

    id: str
    public_key: str
    station_id: str
    place_code: str
    state: str
    enrolled_at: datetime
    retired_at: datetime | None
    acked_seq: int
    broker_password: str | None = None
    """Only right after enrolment: the kiosk's broker password (never stored in clear)."""


def enroll_device(
    session: Session, *, device_id: str, public_key: str, station_id: str, place_code: str,
    actor: str = "cli", reserved: Iterable[str] = (),
) -> DeviceInfo:
    """Register a kiosk (the caller commits).

    Args:
        session: an open session.
        device_id: 3-63 characters of a-z, 0-9 and '-', as in the kiosk's settings.
        public_key: the kiosk's Ed25519 public key, base64url of its 32 raw bytes.
        station_id: the service station's short code (2-16 letters or digits).
        place_code: GB/T 2260 code of the kiosk's place (6, 9 or 12 digits).
        actor: who enrols it (for the history).
        reserved: the cloud's own broker accounts (``BridgeSettings.cloud_accounts``), beyond
            the names reserved always.

    Returns:
        The device, with ``broker_password`` set: hand it to the kiosk now, it is not kept.

    Raises:
        EnrolmentError: an invalid field, or an id that is already enrolled or retired.
    """
    try:
        check_device_id(device_id)
        load_public_key(public_key)
    except ProtocolError as exc:
        raise EnrolmentError(exc.reason) from None
    why = reserved_reason(device_id, reserved)
    if why is not None:
        raise EnrolmentError(f"{why}: a kiosk id is its broker login, so it can never be one "
                             "of those; choose another id")
    if not _STATION_RE.match(station_id):
        raise EnrolmentError(f"station id {station_id!r} must be 2-16 letters or digits")
    if not _PLACE_RE.match(place_code):
        raise EnrolmentError(f"place code {place_code!r} must be a GB/T 2260 code of 6, 9 or 12 "
                             "digits")
    existing = session.get(Device, device_id)
    if existing is not None:
        raise EnrolmentError(f"device {device_id!r} is already {existing.state}; a kiosk that "
                             "starts over needs a new id and key")
    password = new_password()
    device = Device(id=device_id, public_key=public_key, station_id=station_id,
                    place_code=place_code, state=DeviceStateValue.ENROLLED,
                    broker_password_hash=mosquitto_hash(password), roster_version=0)
    session.add(device)
    session.flush()  # the watermark row refers to it (no ORM relationship orders the inserts)
    session.add(AckWatermark(device_id=device_id, acked_seq=0))
    session.flush()
    # Imported here: the registry's modules import the store (no cycle at import time).
    from cloud_bridge.domain.history import log_change

    log_change(session, entity="device", entity_id=device_id, action="enrolled", actor=actor,
               data={"station_id": station_id, "place_code": place_code})
    return replace(_info(device, 0), broker_password=password)


class ConfirmationMismatch(EnrolmentError):
    """The device id typed to confirm does not match the device."""

    code = "confirmation_mismatch"


def _confirm(device_id: str, confirm: str | None, reason: str | None, what: str) -> str:
    if confirm != device_id:
        raise ConfirmationMismatch(
            f"to {what} {device_id!r}, type its id again as confirmation"
            + (f" (got {confirm!r})" if confirm else ""))
    text = (reason or "").strip()
    if not 3 <= len(text) <= 300:
        raise EnrolmentError(f"say why you {what} {device_id!r} (3-300 characters); it is kept "
                             "in the history")
    return text


def retire_device(session: Session, device_id: str, *, confirm: str | None, reason: str | None,
                  actor: str = "cli") -> DeviceInfo:
    """Retire a kiosk: from now on its messages are dead-lettered and it loses its broker
    login (the caller commits, then updates the broker: ``cloud_bridge.broker``).

    Args:
        confirm: the device id typed again (a slip of the hand must not retire a kiosk).
        reason: why, for the history.

    Raises:
        DeviceNotFound: no such device. ConfirmationMismatch: ``confirm`` is not the id.
        EnrolmentError: it is already retired, or no reason was given.
    """
    device = session.get(Device, device_id)
    if device is None:
        raise DeviceNotFound(f"no device {device_id!r} is enrolled")
    text = _confirm(device_id, confirm, reason, "retire")
    if device.state == DeviceStateValue.RETIRED:
        raise EnrolmentError(f"device {device_id!r} is already retired")
    device.state = DeviceStateValue.RETIRED
    device.retired_at = utcnow()
    device.broker_password_hash = None  # it may no longer log in to the broker
    session.flush()
    from cloud_bridge.domain.history import log_change  # see enroll_device

    log_change(session, entity="device", entity_id=device_id, action="retired", actor=actor,
               reason=text)
    watermark = session.get(AckWatermark, device_id)
    return _info(device, watermark.acked_seq if watermark else 0)


def reenable_device(session: Session, device_id: str, *, confirm: str | None,
                    reason: str | None, actor: str = "cli") -> DeviceInfo:
    """Undo a retirement: the kiosk's messages are accepted again, with a new broker password
    (returned once). Its old certificates stay revoked: issue it a new one.

    Raises:
        DeviceNotFound, ConfirmationMismatch, EnrolmentError (not retired, no reason).
    """
    device = session.get(Device, device_id)
    if device is None:
        raise DeviceNotFound(f"no device {device_id!r} is enrolled")
    text = _confirm(device_id, confirm, reason, "re-enable")
    if device.state != DeviceStateValue.RETIRED:
        raise EnrolmentError(f"device {device_id!r} is not retired")
    password = new_password()
    device.state = DeviceStateValue.ENROLLED
    device.retired_at = None
    device.broker_password_hash = mosquitto_hash(password)
    session.flush()
    from cloud_bridge.domain.history import log_change  # see enroll_device

    log_change(session, entity="device", entity_id=device_id, action="re-enabled",
               actor=actor, reason=text)
    watermark = session.get(AckWatermark, device_id)
    return replace(_info(device, watermark.acked_seq if watermark else 0),
                   broker_password=password)


def list_devices(session: Session) -> list[DeviceInfo]:
    """Every device ever enrolled, by id, with its ack watermark."""
    rows = session.execute(
        select(Device, AckWatermark.acked_seq)
        .outerjoin(AckWatermark, AckWatermark.device_id == Device.id)
        .order_by(Device.id)
    ).all()
    return [_info(device, acked or 0) for device, acked in rows]


def _info(device: Device, acked_seq: int) -> DeviceInfo:
    return DeviceInfo(
        id=device.id,
        public_key=device.public_key,
        station_id=device.station_id,
        place_code=device.place_code,
        state=device.state,
        enrolled_at=device.enrolled_at,
        retired_at=device.retired_at,
        acked_seq=acked_seq,
    )
