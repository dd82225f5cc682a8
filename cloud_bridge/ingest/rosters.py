"""Publishing rosters from an ingest worker (retained, QoS 1, in pages), after the commit that
changed them.

The worker calls ``publish_pending`` after a batch that raised a station's roster version or
stored a kiosk's birth message, and every ``ingest.roster_poll_s`` seconds to pick up changes
made through the API or the command line (which have no MQTT client). A database error here
is logged and retried at the next poll: rosters are not ledger records, and a kiosk keeps
working with the roster it has. A roster that cannot be paged within the broker's packet limit
is logged and skipped, never sent whole (a broker drops a worker that sends a larger packet).
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from cloud_bridge.domain import roster
from cloud_bridge.store.errors import first_line

from .outbound import KioskPublisher, PacketTooLarge

log = logging.getLogger(__name__)


def publish_pending(engine: Engine, publisher: KioskPublisher,
                    device_ids: Collection[str] | None = None) -> int:
    """Publish the current roster to every kiosk (of ``device_ids``, or all) that is behind.

    Returns:
        How many rosters were handed to the MQTT client.
    """
    try:
        with Session(engine) as session, session.begin():
            behind = roster.pending(session, device_ids)
            previous = roster.pages_sent(session, [d for d, _, _ in behind])
            sent: dict[str, int] = {}
            pages: dict[str, int] = {}
            for device_id, station_id, version in behind:
                content = roster.build(session, device_id, station_id, version)
                try:
                    count, handed = publisher.roster(device_id, version, content.producers,
                                                     content.generated_at,
                                                     previous.get(device_id, 0))
                except PacketTooLarge as exc:
                    log.error("roster version %d for %s not published: %s", version, device_id,
                              exc)
                    continue
                if not handed:
                    log.warning("roster for %s not handed to the MQTT client; retrying later",
                                device_id)
                    continue
                sent[device_id] = version
                pages[device_id] = count
            roster.mark_sent(session, sent, pages)
        return len(sent)
    except SQLAlchemyError as exc:
        log.warning("rosters not published this time (database: %s); retrying later",
                    first_line(exc))
        return 0
