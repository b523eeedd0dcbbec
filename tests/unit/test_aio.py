"""boleta's servers run on uvloop (a dependency wherever uvloop builds)."""

from __future__ import annotations

import asyncio

import pytest

from boleta import aio


async def loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_run_uses_uvloop() -> None:
    assert aio.run(loop_module()).startswith("uvloop")


def test_run_returns_the_coroutines_result_and_raises_its_error() -> None:
    async def fail() -> None:
        raise LookupError("from the coroutine")

    assert aio.run(asyncio.sleep(0, result=7)) == 7
    with pytest.raises(LookupError, match="from the coroutine"):
        aio.run(fail())
