"""Who is told: contacts (how to reach someone) and routes (who hears about which place).

A contact's ``name`` is the person's API key name when they have one; a route maps a GB/T 2260
code prefix (``''`` matches every place, the county's fallback), an alert kind (``*`` any) and
a level to a contact. For an alert in place P, level L goes to the contacts of the routes of
that level whose prefix is the longest one matching P (so a town's supervisor takes over from
the county's catch-all at level 0, while the county operator can still be level 1). The grids
work (issue 15, item 2) replaces these routes with accounts scoped to an area.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_bridge.domain.errors import NotFound, Refused
from cloud_bridge.domain.history import log_change
from cloud_bridge.locales import LANGUAGES
from cloud_bridge.store.notify_models import NotifyContact, NotifyRoute

from .channels import CHANNELS

NAME = re.compile(r"^[A-Za-z0-9_.@-]{2,100}$")
KIND = re.compile(r"^(\*|[a-z_]{1,32})$")
PREFIX = re.compile(r"^\d{0,12}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[\d -]{5,20}$")
WECOM = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


@dataclass(frozen=True, slots=True)
class RouteStep:
    level: int
    after_s: float
    recipients: tuple[str, ...]


def set_contact(session: Session, name: str, *, actor: str, now: datetime,
                display_name: str | None = None, language: str | None = None,
                email: str | None = None, webhook_url: str | None = None,
                phone: str | None = None, wecom_user: str | None = None) -> NotifyContact:
    """Create or update a contact (None leaves a field as it is; ``""`` clears it).

    Raises:
        Refused: a bad name, language, address or URL.
    """
    if not NAME.match(name):
        raise Refused("bad_name", "a contact name is 2-100 letters, digits or _ . @ -")
    checks = {"email": (email, EMAIL), "phone": (phone, PHONE), "wecom_user": (wecom_user, WECOM)}
    for field, (value, pattern) in checks.items():
        if value and not pattern.match(value):
            raise Refused(f"bad_{field}", f"{field}: {value!r} is not valid")
    if webhook_url and not (re.match(r"^https?://[^\s/]+", webhook_url)
                            and len(webhook_url) <= 500):
        raise Refused("bad_webhook_url", "webhook_url must be an http:// or https:// URL")
    if language is not None and language not in LANGUAGES:
        raise Refused("bad_language", f"language must be one of {', '.join(LANGUAGES)}")
    contact = session.get(NotifyContact, name)
    created = contact is None
    if contact is None:
        contact = NotifyContact(name=name, display_name="", language=LANGUAGES[0], active=True,
                                updated_by=actor, updated_at=now)
        session.add(contact)
    for field, value in (("display_name", display_name), ("language", language),
                         ("email", email), ("webhook_url", webhook_url), ("phone", phone),
                         ("wecom_user", wecom_user)):
        if value is not None:
            setattr(contact, field, value if value or field == "display_name" else None)
    contact.active = True
    contact.updated_at, contact.updated_by = now, actor
    session.flush()
    log_change(session, entity="notify_contact", entity_id=name,
               action="created" if created else "updated", actor=actor, at=now,
               data={"channels": [c for c, _ in addresses(contact, list(CHANNELS))]})
    return contact


def disable_contact(session: Session, name: str, *, actor: str, now: datetime) -> NotifyContact:
    """Stop notifying a contact (kept, like keys, for the delivery log's sake)."""
    contact = session.get(NotifyContact, name)
    if contact is None:
        raise NotFound("no_such_contact", f"no contact named {name!r}")
    contact.active, contact.updated_at, contact.updated_by = False, now, actor
    log_change(session, entity="notify_contact", entity_id=name, action="disabled",
               actor=actor, at=now)
    return contact


def list_contacts(session: Session) -> list[NotifyContact]:
    return list(session.scalars(select(NotifyContact).order_by(NotifyContact.name)))


def addresses(contact: NotifyContact | None, channels: list[str]) -> list[tuple[str, str]]:
    """(channel, address) for each of ``channels`` the contact has an address for."""
    if contact is None or not contact.active:
        return []
    found = []
    for name in channels:
        value = getattr(contact, CHANNELS[name].contact_field)
        if value:
            found.append((name, value))
    return found


def add_route(session: Session, *, place_prefix: str, level: int, recipient: str,
              kind: str = "*", actor: str, now: datetime) -> NotifyRoute:
    """Route alerts of ``kind`` in places under ``place_prefix`` to ``recipient`` at ``level``.

    Raises:
        Refused: a bad prefix, kind or level, or a recipient with no contact.
    """
    if not PREFIX.match(place_prefix):
        raise Refused("bad_place_prefix", "a place prefix is 0-12 digits of a GB/T 2260 code")
    if not KIND.match(kind):
        raise Refused("bad_kind", "kind is an alert kind (e.g. positive) or *")
    if not 0 <= level <= 9:
        raise Refused("bad_level", "level is 0 (at once) to 9")
    if session.get(NotifyContact, recipient) is None:
        raise Refused("no_such_contact", f"add the contact {recipient!r} first")
    route = NotifyRoute(place_prefix=place_prefix, kind=kind, level=level, recipient=recipient,
                        created_at=now, created_by=actor)
    session.add(route)
    session.flush()
    log_change(session, entity="notify_route", entity_id=str(route.id), action="created",
               actor=actor, at=now, data={"place_prefix": place_prefix, "kind": kind,
                                          "level": level, "recipient": recipient})
    return route


def remove_route(session: Session, route_id: int, *, actor: str, now: datetime) -> None:
    route = session.get(NotifyRoute, route_id)
    if route is None:
        raise NotFound("no_such_route", f"no route {route_id}")
    session.delete(route)
    log_change(session, entity="notify_route", entity_id=str(route_id), action="removed",
               actor=actor, at=now)


def list_routes(session: Session) -> list[NotifyRoute]:
    return list(session.scalars(select(NotifyRoute).order_by(
        NotifyRoute.place_prefix, NotifyRoute.kind, NotifyRoute.level, NotifyRoute.recipient)))


def route_steps(session: Session, kind: str, place_code: str,
                delays_min: list[float]) -> list[RouteStep]:
    """The levels that apply to an alert of ``kind`` at ``place_code``, each with its delay.

    Level 0 is at once; level n (n >= 1) is ``delays_min[n-1]`` minutes after the alert; a
    level with no delay configured is left out.
    """
    matching: dict[int, list[NotifyRoute]] = {}
    for route in session.scalars(select(NotifyRoute).where(NotifyRoute.kind.in_((kind, "*")))):
        if place_code.startswith(route.place_prefix):
            matching.setdefault(route.level, []).append(route)
    steps = []
    for level in sorted(matching):
        if level == 0:
            after = 0.0
        elif level - 1 < len(delays_min):
            after = delays_min[level - 1] * 60
        else:
            continue
        longest = max(len(r.place_prefix) for r in matching[level])
        recipients = sorted({r.recipient for r in matching[level]
                             if len(r.place_prefix) == longest})
        steps.append(RouteStep(level, after, tuple(recipients)))
    return steps
