"""The query service's read coalescer: one backend call per key per ttl, shared by waiters."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from queries.cache import Coalescer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_concurrent_readers_share_one_load() -> None:
    cache: Coalescer[int] = Coalescer(ttl=1.0)
    release = asyncio.Event()
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        return 42

    readers = [asyncio.create_task(cache.get("k", load)) for _ in range(50)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*readers) == [42] * 50
    assert calls == 1


async def test_answer_is_reused_within_ttl_and_reloaded_after() -> None:
    clock = Clock()
    cache: Coalescer[int] = Coalescer(ttl=1.0, clock=clock)
    values = iter(range(100))

    async def load() -> int:
        return next(values)

    assert await cache.get("k", load) == 0
    clock.now = 0.99
    assert await cache.get("k", load) == 0
    clock.now = 1.0
    assert await cache.get("k", load) == 1
    assert await cache.get("other", load) == 2


async def test_a_failed_load_reaches_every_waiter_and_is_not_kept() -> None:
    cache: Coalescer[int] = Coalescer(ttl=60.0)
    release = asyncio.Event()
    attempts = 0

    async def failing() -> int:
        nonlocal attempts
        attempts += 1
        await release.wait()
        raise ConnectionError("mongo went away")

    readers = [asyncio.create_task(cache.get("k", failing)) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*readers, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert attempts == 1

    async def works() -> int:
        return 7

    assert await cache.get("k", works) == 7


async def test_a_reader_that_goes_away_does_not_cancel_the_others() -> None:
    cache: Coalescer[str] = Coalescer(ttl=1.0)
    release = asyncio.Event()

    async def load() -> str:
        await release.wait()
        return "page"

    leaving = asyncio.create_task(cache.get("k", load))
    staying = asyncio.create_task(cache.get("k", load))
    await asyncio.sleep(0)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    release.set()
    assert await staying == "page"
    assert cache.loads == 1


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="ttl"):
        Coalescer(ttl=-1)
    with pytest.raises(ValueError, match="max_entries"):
        Coalescer(ttl=1, max_entries=0)


@given(
    steps=st.lists(st.tuples(st.integers(0, 5), st.floats(0, 2, allow_nan=False)), max_size=60),
    max_entries=st.integers(1, 4),
)
def test_sequential_reads_load_exactly_when_no_fresh_answer_is_kept(
    steps: list[tuple[int, float]], max_entries: int
) -> None:
    """Model: a key is loaded when it has no answer younger than ttl among the most
    recently used ``max_entries`` keys."""

    async def run() -> None:
        clock = Clock()
        cache: Coalescer[float] = Coalescer(ttl=1.0, max_entries=max_entries, clock=clock)
        kept: dict[int, float] = {}  # key -> loaded at, in recency order
        for key, advance in steps:
            clock.now += advance
            fresh = key in kept and clock.now < kept[key] + 1.0
            before = cache.loads

            async def load(at: float = clock.now) -> float:
                return at

            got = await cache.get(key, load)
            if fresh:
                assert cache.loads == before
                assert got == kept[key]
                kept[key] = kept.pop(key)
            else:
                assert cache.loads == before + 1
                assert got == clock.now
                kept.pop(key, None)
                kept[key] = clock.now
                while len(kept) > max_entries:
                    kept.pop(next(iter(kept)))
            assert len(cache._entries) <= max_entries

    asyncio.run(run())


async def test_with_serve_stale_a_known_key_never_waits_for_its_reload() -> None:
    clock = Clock()
    cache: Coalescer[str] = Coalescer(ttl=1.0, clock=clock, serve_stale=True)
    release = asyncio.Event()

    async def first() -> str:
        return "old"

    async def slow() -> str:
        await release.wait()
        return "new"

    async def broken() -> str:
        raise ConnectionError("mongo went away")

    assert await cache.get("k", first) == "old"
    clock.now = 5.0
    assert await cache.get("k", slow) == "old"  # expired: reload starts, old answer now
    assert await cache.get("k", slow) == "old"  # reload still running: no second one
    await asyncio.sleep(0)
    assert cache.loads == 2
    release.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert await cache.get("k", slow) == "new"
    clock.now = 10.0
    assert await cache.get("k", broken) == "new"  # a failed reload keeps the last answer
    await asyncio.sleep(0)
    assert await cache.get("k", first) == "new"
    await asyncio.sleep(0)
    assert await cache.get("k", first) == "old"
    assert await cache.get("other", slow) == "new"  # an unknown key waits for its load
