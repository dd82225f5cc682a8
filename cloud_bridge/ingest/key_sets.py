"""Publishing each kiosk's cloud key set (retained on ``nongan/v1/{device}/keys``).

The key set tells a kiosk which cloud keys to trust and which to stop trusting (key rotation:
``cloud_bridge.signing``). It is retained, so a kiosk that was offline during a rotation reads
it when it comes back; a worker publishes it to every enrolled kiosk when it starts (the
settings may have changed) and to a kiosk whenever its birth message arrives.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from cloud_bridge.store.errors import first_line
from cloud_bridge.store.models import Device, DeviceStateValue
from cloud_bridge.store.types import utcnow

from .outbound import KioskPublisher, PacketTooLarge

log = logging.getLogger(__name__)


def publish_key_sets(engine: Engine, publisher: KioskPublisher,
                     device_ids: Collection[str] | None = None) -> int:
    """Publish the key set to ``device_ids`` (enrolled ones; None: every enrolled kiosk).

    Returns:
        How many were handed to the MQTT client.
    """
    try:
        with Session(engine) as session:
            query = select(Device.id).where(Device.state == DeviceStateValue.ENROLLED)
            if device_ids is not None:
                query = query.where(Device.id.in_(sorted(device_ids)))
            enrolled = list(session.scalars(query.order_by(Device.id)))
    except SQLAlchemyError as exc:
        log.warning("key sets not published this time (database: %s)", first_line(exc))
        return 0
    now = utcnow()
    sent = 0
    for device_id in enrolled:
        try:
            publisher.key_set(device_id, now)
        except PacketTooLarge as exc:  # a key set is small; this would be a bug
            log.error("key set for %s not published: %s", device_id, exc)
            continue
        sent += 1
    return sent
