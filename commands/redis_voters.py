"""The tallies read model's counted voters, read by the command service (best effort).

One pipelined ``HGET`` per vote under one vote per voter, on the contest's ``voters`` hash
(domain.readmodel). Any failure or a slow answer is "nothing known": the vote goes to the
log, and the projections' rule keeps the count exact (ADR 6).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from domain.readmodel import LIVE, VOTERS, contest_key

log = structlog.get_logger("boleta.commands")


class RedisCountedVoters:
    def __init__(self, url: str, tag: str) -> None:
        self._client = aioredis.Redis.from_url(url, decode_responses=True)
        self._tag = tag

    async def counted(
        self, voters: Sequence[tuple[str, str]], within_s: float
    ) -> dict[tuple[str, str], str]:
        try:
            async with asyncio.timeout(within_s):
                async with self._client.pipeline(transaction=False) as pipe:
                    for contest, voter in voters:
                        pipe.hget(contest_key(contest, VOTERS, LIVE, self._tag), voter)
                    found = await pipe.execute()
        except (TimeoutError, RedisError, OSError) as exc:
            log.warning("counted voters not known; votes go to the log", error=repr(exc))
            return {}
        return {key: vote_id for key, vote_id in zip(voters, found, strict=True) if vote_id}

    async def close(self) -> None:
        await self._client.aclose()
