"""Run a kiosk session until an injected power cut (``os._exit``) at a named point.

Used by test_session_power_loss in a child process: ``python -m tests.gateway.power_loss_child
DATA_DIR POINT``. Exits 137 at the crash point (as a killed process would), 1 if the point was
never reached.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from gateway import lots
from gateway.session import Step, issuing
from protocol import LotOutcome
from tests.gateway.session_helpers import (
    CLEAN,
    identify_new_producer,
    ready_gateway,
    run_cassette,
    to_panel,
    wait_step,
)

CARD = "card-beta-agonists-3in1-v1"


def power_cut() -> None:
    os._exit(137)  # no cleanup, no commit, no flush: like pulling the plug


async def main(data_dir: Path, point: str) -> int:
    gw = ready_gateway(data_dir, kits=(CARD,), station={"incubation_time_scale": 0.02})
    session = gw.session
    if point == "in_certificate_transaction":
        original = lots.LotBook.close

        def close(self, session_id, outcome, **kwargs):  # type: ignore[no-untyped-def]
            if outcome is LotOutcome.CERTIFIED:
                # The certificate row and its outbox record are written, not committed.
                power_cut()
            return original(self, session_id, outcome, **kwargs)

        lots.LotBook.close = close  # type: ignore[method-assign]
    if point == "before_printing":
        issuing.print_receipt = lambda *args: power_cut()  # type: ignore[assignment]
    await identify_new_producer(session)
    await to_panel(session, "beef_cattle", "4", "head")
    await session.confirm_panel()
    if point == "incubating":
        while session.step is Step.PREPARE:
            await session.next_prep()
        gw.devices.reader.insert_cassette()
        from tests.gateway.session_helpers import show_cassette

        show_cassette(gw, CARD, CLEAN)
        await wait_step(session, Step.INCUBATING)
        power_cut()
    await run_cassette(gw, session, CLEAN)
    await session.issue()
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(Path(sys.argv[1]), sys.argv[2])))
