"""Never in the middle of a farmer's session: the updater asks whether the kiosk is idle.

The coupling to the session is one question, ``is_idle()`` (``KioskSession.is_idle``), so
the session can be rebuilt without touching the updater. A kiosk is idle when its session is
on the welcome screen (``Step.IDLE``: nobody's data in memory, no test running). The updater
waits until the kiosk has been idle for a quiet period without a break (someone who has just
finished may be followed by the next person in the queue), then switches at once: the switch
is a rename and a service restart, so the window in which a person could start is the time
between the last poll and the guard stopping the kiosk. Whoever taps "start" in that second
sees the welcome screen again when the kiosk is back; nothing of theirs was entered yet.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class SessionIdle(Protocol):
    """Whether nobody is using the kiosk right now."""

    def is_idle(self) -> bool: ...


class KioskSessionIdle:
    """``SessionIdle`` for a ``gateway.session.KioskSession``: asks the session itself
    (``KioskSession.is_idle``, the one seam it offers the updater)."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def is_idle(self) -> bool:
        return bool(self.session.is_idle())


class AlwaysIdle:
    """A kiosk without a screen session (``nongan gateway run``) or a technician's command."""

    def is_idle(self) -> bool:
        return True


async def wait_until_idle(idle: SessionIdle, *, quiet_s: float, timeout_s: float,
                          poll_s: float = 1.0,
                          monotonic: Callable[[], float] = time.monotonic) -> bool:
    """Wait until ``idle`` has said yes for ``quiet_s`` without a break.

    Returns False when that did not happen within ``timeout_s``.
    """
    deadline = monotonic() + timeout_s
    idle_since: float | None = None
    while True:
        now = monotonic()
        if idle.is_idle():
            idle_since = now if idle_since is None else idle_since
            if now - idle_since >= quiet_s:
                return True
        else:
            idle_since = None
        if now >= deadline:
            return False
        await asyncio.sleep(poll_s)
