"""The request-body budget: bodies over it wait their turn, and a long wait is a 503."""

from __future__ import annotations

import anyio
import pytest

from patchbayd.web.budget import BodyBudget, OverBudget

pytestmark = pytest.mark.anyio


async def test_a_body_that_does_not_fit_waits_until_another_is_answered() -> None:
    budget = BodyBudget(100, wait=5)
    order: list[str] = []
    first_in = anyio.Event()
    release = anyio.Event()

    async def first() -> None:
        async with budget.reserve(80):
            order.append("first in")
            first_in.set()
            await release.wait()
        order.append("first out")

    async def second() -> None:
        await first_in.wait()
        async with budget.reserve(40):
            order.append("second in")

    async with anyio.create_task_group() as tg:
        tg.start_soon(first)
        tg.start_soon(second)
        await first_in.wait()
        await anyio.wait_all_tasks_blocked()
        assert order == ["first in"] and budget.used == 80  # the second is waiting
        release.set()
    assert order == ["first in", "first out", "second in"] and budget.used == 0


async def test_a_wait_past_the_limit_is_over_budget_and_holds_nothing() -> None:
    budget = BodyBudget(100, wait=0.05)
    async with budget.reserve(100):
        with pytest.raises(OverBudget):
            async with budget.reserve(1):
                pass
        assert budget.used == 100
    assert budget.used == 0


async def test_one_body_larger_than_the_whole_budget_still_gets_through_alone() -> None:
    budget = BodyBudget(100, wait=1)
    async with budget.reserve(10_000):
        assert budget.used == 100
    assert budget.used == 0
