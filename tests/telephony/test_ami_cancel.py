"""Stopping background tasks never hangs, even on a task that swallowed a cancellation
(Python 3.11's wait_for can lose one: a closed client used to wait for it forever)."""

from __future__ import annotations

import asyncio

from telephony.ami.client import cancel_and_wait


async def test_a_task_that_swallows_one_cancellation_is_stopped() -> None:
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                swallowed += 1
                if swallowed > 1:
                    raise

    task = asyncio.get_running_loop().create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait([task]), timeout=10)
    assert task.cancelled()
    assert swallowed == 2


async def test_finished_and_failed_tasks_are_fine() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    async def done() -> None:
        return None

    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(fails()), loop.create_task(done())]
    await asyncio.sleep(0)
    await cancel_and_wait(tasks)
    assert all(task.done() for task in tasks)
