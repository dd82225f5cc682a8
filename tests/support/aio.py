"""Running coroutines in tests without leaving tasks behind."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    """``asyncio.run`` with a timeout that fails a test which leaves tasks running.

    ``asyncio.run`` would silently cancel leftovers; a leftover task is a bug (a worker nobody
    owns), so it is reported instead.
    """

    async def main() -> T:
        result = await asyncio.wait_for(coro, timeout)
        current = asyncio.current_task()
        leftovers = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if leftovers:
            for task in leftovers:
                task.cancel()
            raise AssertionError(f"test left tasks running: {leftovers}")
        return result

    return asyncio.run(main())
