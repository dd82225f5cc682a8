"""Publishing rosters from an ingest worker (retained, QoS 1), after the commit that changed them.

The worker calls ``publish_pending`` after a batch that raised a station's roster version or
stored a kiosk's birth message, and every ``ingest.roster_poll_s`` seconds to pick up changes
made through the API or the command line (which have no MQTT client). A database error here
is logged and retried at the next poll: rosters are not ledger records, and a kiosk keeps
working with the roster it has.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

import paho.mqtt.client as mqtt
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from cloud_bridge.registry import roster
from cloud_bridge.store.errors import first_line
from protocol import encode, roster_topic

log = logging.getLogger(__name__)


def publish_pending(engine: Engine, client: mqtt.Client,
                    device_ids: Collection[str] | None = None) -> int:
    """Publish the current roster to every kiosk (of ``device_ids``, or all) that is behind.

    Returns:
        How many rosters were handed to the MQTT client.
    """
    try:
        with Session(engine) as session, session.begin():
            behind = roster.pending(session, device_ids)
            sent: dict[str, int] = {}
            for device_id, station_id, version in behind:
                message = roster.build(session, device_id, station_id, version)
                info = client.publish(roster_topic(device_id), encode(message), qos=1,
                                      retain=True)
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    log.warning("roster for %s not published: %s", device_id,
                                mqtt.error_string(info.rc))
                    continue
                sent[device_id] = version
            roster.mark_sent(session, sent)
        return len(sent)
    except SQLAlchemyError as exc:
        log.warning("rosters not published this time (database: %s); retrying later",
                    first_line(exc))
        return 0
