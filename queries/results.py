"""Reading the tallies read model from Redis (keys from domain.readmodel)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import redis.asyncio as aioredis

from domain.names import shown_tallies
from domain.readmodel import (
    ALBUMS,
    BANDS,
    CHECKPOINT,
    LAG,
    NAMES,
    SECONDS,
    TOTAL,
    tallies_key,
)
from queries.views import AlbumTally, BandTally, ResultsView, SecondCount

WINDOW_S = 60


class RedisResults:
    def __init__(self, client: aioredis.Redis, tag: str) -> None:
        self._client = client
        self._tag = tag

    def _key(self, name: str) -> str:
        return tallies_key(name, tag=self._tag)

    async def read(self) -> ResultsView:
        now = int(time.time())
        seconds = [str(s) for s in range(now - WINDOW_S + 1, now + 1)]
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._key(BANDS))
            pipe.hgetall(self._key(ALBUMS))
            pipe.get(self._key(TOTAL))
            pipe.hgetall(self._key(CHECKPOINT))
            pipe.hgetall(self._key(LAG))
            pipe.hmget(self._key(SECONDS), seconds)
            pipe.hgetall(self._key(NAMES))
            bands, albums, total, checkpoints, lag, per_second, stored = await pipe.execute()
        # Bands and albums are counted under their keys; each is shown as its first spelling.
        shown = shown_tallies(_counts(bands), _counts(albums), _texts(stored))
        tallies = [
            BandTally(
                band,
                votes,
                sorted((AlbumTally(*a) for a in albums), key=lambda a: (-a.votes, a.album)),
            )
            for band, votes, albums in shown
        ]
        tallies.sort(key=lambda b: (-b.votes, b.band))
        return ResultsView(
            total=int(total or 0),
            bands=tallies,
            per_second=[
                SecondCount(int(s), int(v or 0)) for s, v in zip(seconds, per_second, strict=True)
            ],
            checkpoints={_text(p): int(o) for p, o in checkpoints.items()},
            lag=sum(int(v) for v in lag.values()),
            as_of=datetime.now(UTC),
        )

    async def version(self) -> tuple[str, ...]:
        """Cheap change detector: the total and the checkpoints."""
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.get(self._key(TOTAL))
            pipe.hgetall(self._key(CHECKPOINT))
            total, checkpoints = await pipe.execute()
        return (
            _text(total or b"0"),
            *sorted(f"{_text(k)}:{_text(v)}" for k, v in checkpoints.items()),
        )

    async def ping(self) -> bool:
        return bool(await self._client.ping())


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _counts(stored: dict[bytes, bytes]) -> dict[str, int]:
    return {_text(k): int(v) for k, v in stored.items()}


def _texts(stored: dict[bytes, bytes]) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in stored.items()}
