"""Stop a task and wait for it to end, even when it loses the first cancellation.

On Python 3.11, ``asyncio.wait_for`` drops a cancellation that arrives in the same loop
iteration as the result it is waiting for: it returns the result and the task runs on (CPython
gh-86296; 3.12 rewrote ``wait_for`` on ``asyncio.timeout``). aiomqtt waits for every broker
acknowledgement with ``wait_for``, so a kiosk told to stop just as a SUBACK or PUBACK arrived
went on serving, and whoever awaited it hung: the chaos test's kiosk process stayed up for
minutes after "drained", and a real kiosk would have waited for systemd's SIGKILL.
``cancel_and_wait`` cancels again after a grace period until the task has ended.

A loop that may lose its cancellation this way should also check an explicit "stopping" flag of
its own once per turn (the link does). ``Task.cancelling()`` is no such flag on 3.11: a
``TaskGroup`` whose child fails while the group is already exiting cancels its parent and never
takes the request back, so the count stays raised on a task that is not being stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

GRACE_S = 5.0
"""Longest clean shutdown we expect (the link's goodbye publish allows 2 s) before asking again."""


async def cancel_and_wait(task: asyncio.Task[Any], *, grace_s: float = GRACE_S,
                          on_late: Callable[[], None] | None = None) -> None:
    """Cancel ``task`` and return once it has ended; re-raise any error other than cancellation.

    If the task is still running ``grace_s`` after a cancellation, it is cancelled again (with a
    warning in the log), as often as needed, and ``on_late`` is called each time: a task waiting
    in a ``TaskGroup`` ignores further cancellations, so ``on_late`` cancels its children.
    """
    task.cancel()
    while not task.done():
        done, _ = await asyncio.wait({task}, timeout=grace_s)
        if not done:
            log.warning("task %s still running %.1f s after it was cancelled; cancelling again",
                        task.get_name(), grace_s)
            task.cancel()
            if on_late is not None:
                on_late()
    with contextlib.suppress(asyncio.CancelledError):
        await task

