"""Reading the tallies read model from Redis (keys from domain.readmodel)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime

import redis.asyncio as aioredis

from domain.names import shown_tallies
from domain.readmodel import (
    ALBUMS,
    BANDS,
    CHECKPOINT,
    CONTESTS,
    LAG,
    NAMES,
    SECONDS,
    contest_key,
    tallies_key,
)
from queries.views import WORKER, AlbumTally, BandTally, ResultsView, SecondCount

WINDOW_S = 60


class RedisResults:
    def __init__(self, client: aioredis.Redis, tag: str) -> None:
        self._client = client
        self._tag = tag

    def _key(self, name: str) -> str:
        return tallies_key(name, tag=self._tag)

    def _contest_key(self, contest: str, name: str) -> str:
        return contest_key(contest, name, tag=self._tag)

    async def read(self, contest: str, status: str) -> ResultsView:
        """One contest's results, read in one transaction."""
        now = int(time.time())
        seconds = [str(s) for s in range(now - WINDOW_S + 1, now + 1)]
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._contest_key(contest, BANDS))
            pipe.hgetall(self._contest_key(contest, ALBUMS))
            pipe.hget(self._key(CONTESTS), contest)
            pipe.hgetall(self._key(CHECKPOINT))
            pipe.hgetall(self._key(LAG))
            pipe.hmget(self._contest_key(contest, SECONDS), seconds)
            pipe.hgetall(self._contest_key(contest, NAMES))
            bands, albums, total, checkpoints, lag, per_second, stored = await pipe.execute()
        return ResultsView(
            contest=contest,
            status=status,
            total=int(total or 0),
            bands=band_tallies(_counts(bands), _counts(albums), _texts(stored)),
            per_second=[
                SecondCount(int(s), int(v or 0)) for s, v in zip(seconds, per_second, strict=True)
            ],
            checkpoints={_text(p): int(o) for p, o in checkpoints.items()},
            lag=sum(int(v) for v in lag.values()),
            as_of=datetime.now(UTC),
            lag_source=WORKER,
        )

    async def contests(self) -> dict[str, int]:
        """Every contest that has votes, with its total."""
        stored = await self._client.hgetall(self._key(CONTESTS))
        return {_text(c): int(v) for c, v in stored.items()}

    async def version(self, contest: str) -> tuple[str, ...]:
        """Cheap change detector: the contest's total and the checkpoints."""
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hget(self._key(CONTESTS), contest)
            pipe.hgetall(self._key(CHECKPOINT))
            total, checkpoints = await pipe.execute()
        return (
            _text(total or b"0"),
            *sorted(f"{_text(k)}:{_text(v)}" for k, v in checkpoints.items()),
        )

    async def ping(self) -> bool:
        return bool(await self._client.ping())


def band_tallies(
    bands: Mapping[str, int], albums: Mapping[str, int], names: Mapping[str, str]
) -> list[BandTally]:
    """The tallies as shown, most votes first: bands and albums are counted under their
    keys, each shown as its first spelling (``names``; domain.names, ADR 7)."""
    tallies = [
        BandTally(
            band,
            votes,
            sorted((AlbumTally(*a) for a in shown_albums), key=lambda a: (-a.votes, a.album)),
        )
        for band, votes, shown_albums in shown_tallies(bands, albums, names)
        if votes
    ]
    tallies.sort(key=lambda b: (-b.votes, b.band))
    return tallies


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _counts(stored: dict[bytes, bytes]) -> dict[str, int]:
    return {_text(k): int(v) for k, v in stored.items()}


def _texts(stored: dict[bytes, bytes]) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in stored.items()}
