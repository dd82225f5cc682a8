"""cancel_and_wait ends a task even when the task swallows the first cancellation."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from gateway.cancellation import cancel_and_wait
from tests.support import aio


async def swallows_one_cancellation(reached: asyncio.Event, answer: asyncio.Future[int]) -> None:
    # What aiomqtt does while waiting for a SUBACK: on Python 3.11, a cancellation that
    # arrives with the answer is lost inside wait_for and the coroutine carries on.
    reached.set()
    # On 3.12+ the cancellation does arrive: swallow it here to keep the scene the same.
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(answer, timeout=10)
    await asyncio.Event().wait()  # serves forever, like a link that missed its stop


def test_a_swallowed_cancellation_is_repeated_until_the_task_ends():
    async def scenario() -> asyncio.Task[None]:
        reached = asyncio.Event()
        answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(swallows_one_cancellation(reached, answer))
        await reached.wait()
        answer.set_result(1)  # the acknowledgement lands in the same iteration as the stop
        await cancel_and_wait(task, grace_s=0.2)
        return task

    task = aio.run(scenario(), timeout=10)
    assert task.cancelled()
    assert task.cancelling() == 2, "the first cancellation should have been lost"


def test_a_task_that_stops_at_once_is_cancelled_once():
    async def scenario() -> asyncio.Task[None]:
        task = asyncio.create_task(asyncio.sleep(30))
        await asyncio.sleep(0)
        await cancel_and_wait(task, grace_s=5)
        return task

    task = aio.run(scenario(), timeout=10)
    assert task.cancelled() and task.cancelling() == 1


def test_an_error_on_the_way_out_is_raised():
    async def fails_on_cancel() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            raise RuntimeError("could not say goodbye") from None

    async def scenario() -> None:
        task = asyncio.create_task(fails_on_cancel())
        await asyncio.sleep(0)
        await cancel_and_wait(task)

    with pytest.raises(RuntimeError, match="goodbye"):
        aio.run(scenario(), timeout=10)




def test_a_group_whose_child_lost_its_cancellation_ends_through_on_late():
    # A task waiting in a TaskGroup ignores a second cancellation: on_late must reach the child.
    children: list[asyncio.Task[None]] = []

    async def parent(reached: asyncio.Event, answer: asyncio.Future[int]) -> None:
        async with asyncio.TaskGroup() as tasks:
            children.append(tasks.create_task(swallows_one_cancellation(reached, answer)))

    async def scenario() -> asyncio.Task[None]:
        reached = asyncio.Event()
        answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(parent(reached, answer))
        await reached.wait()
        answer.set_result(1)
        def cancel_children() -> None:
            for child in children:
                child.cancel()

        await cancel_and_wait(task, grace_s=0.2, on_late=cancel_children)
        return task

    task = aio.run(scenario(), timeout=10)
    assert task.cancelled()
    assert children[0].cancelled() and children[0].cancelling() == 2
