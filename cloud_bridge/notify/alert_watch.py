"""The first real use: every new positive reading is notified once, and escalated.

A poller, not a hook in ingest: each pass of the notify worker looks for positive readings
recorded within ``dashboard.positive_window_h`` (the dashboard's own alert window) that have
no escalation yet, and opens one per reading (kind ``positive``, subject the reading id):
level 0 of the routes for the kiosk's place at once, level n after
``notify.escalation.positive[n-1]`` minutes unless somebody acknowledged the alert. The
escalation's unique (kind, subject) and the outbox's dedupe keys make it exactly once per
alert even with two workers or a restart between passes. Ingest is not touched and never waits.

On the first start this also notifies positives from the last window (they are current
alerts on the dashboard); acknowledge them there to stop their escalation.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from cloud_bridge.domain.times import CHINA
from cloud_bridge.settings import BridgeSettings
from cloud_bridge.store.models import Device, StripReadingRecord
from cloud_bridge.store.notify_models import Escalation
from protocol.places import PlacesError, default_places

from .contacts import route_steps
from .escalation import Step, open_escalation

log = logging.getLogger(__name__)

KIND = "positive"
FIRST_TEMPLATE = "positive_alert"
LATER_TEMPLATE = "positive_escalated"


def alert_link(settings: BridgeSettings, kind: str, subject: str) -> str:
    """The dashboard page of one alert (its escalation and the acknowledge button)."""
    return f"{settings.api.public_base_url.rstrip('/')}/dashboard/alerts/{kind}/{subject}"


def place_name(code: str) -> str:
    """The place's name when the place data is installed, else the code."""
    try:
        return default_places().display_name(code)
    except PlacesError:
        return code


def is_alert(session: Session, kind: str, subject: str) -> bool:
    """Whether ``kind``/``subject`` names an alert that can be acknowledged (today: a
    positive reading, by its id)."""
    r = StripReadingRecord
    return kind == KIND and session.scalar(
        select(r.reading_id).where(r.reading_id == subject, r.call == "positive")) is not None


def watch_positives(session: Session, settings: BridgeSettings, *, now: datetime,
                    limit: int = 100) -> int:
    """Open an escalation for each positive reading that has none; returns how many."""
    r = StripReadingRecord
    since = now - timedelta(hours=settings.dashboard.positive_window_h)
    known = exists().where(and_(Escalation.kind == KIND, Escalation.subject == r.reading_id))
    rows = session.execute(
        select(r.reading_id, r.device_id, r.product_code, r.analyte_code, r.producer_id,
               r.scored_at, r.time_synced, r.recorded_at, Device.place_code, Device.station_id)
        .join(Device, Device.id == r.device_id)
        .where(r.call == "positive", r.recorded_at >= since, ~known)
        .order_by(r.recorded_at).limit(limit)
    ).all()
    delays = settings.notify.escalation.get(KIND, [])
    opened = 0
    for row in rows:
        when = row.scored_at if row.time_synced else row.recorded_at
        params = {"reading": row.reading_id, "device": row.device_id,
                  "station": row.station_id, "place": row.place_code,
                  "place_name": place_name(row.place_code), "product": row.product_code,
                  "analyte": row.analyte_code, "producer": row.producer_id or "—",
                  "time": when.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")}
        steps = [Step(timedelta(seconds=s.after_s), s.recipients,
                      FIRST_TEMPLATE if s.level == 0 else LATER_TEMPLATE)
                 for s in route_steps(session, KIND, row.place_code, delays)]
        if not steps:
            log.warning("positive %s at %s (place %s): no notification route matches; "
                        "add one with `nongan bridge notify route add`", row.reading_id,
                        row.device_id, row.place_code)
        if open_escalation(session, kind=KIND, subject=row.reading_id,
                           template_key=FIRST_TEMPLATE, params=params, steps=steps, now=now,
                           link=alert_link(settings, KIND, row.reading_id)) is not None:
            opened += 1
    return opened
