"""The board's tracking codes -> their places (partition, index), in Redis: how a receipt's
code is found on the board (``GET /api/v1/receipts/{code}``).

Not in MongoDB: a document per vote is what FerretDB is slowest at (12k inserts/s here), and
the board's own files are a document per 256 votes. The codes are 4096 Redis hashes (by a
code's first 12 bits, ``domain.readmodel.board_codes_key``), raw 32-byte code -> ASCII
``<partition>:<index>``: about 51 bytes a vote while each hash is a compact listpack (up to
512 codes a hash, ~2 million votes), about 106 beyond (docs/scaling.md). A batch's codes go
in one script call, before the board commits its position, so a code is findable by the time
a checkpoint includes it. Writing a code twice writes the same: replays, rebalances and
crashes need nothing more.

The codes are derived data: the board's entry bundles (in MongoDB) hold them all. A marker
(``board_codes_meta``) names the codes' instance; when Redis lost them (wiped, restarted
without its data), the marker is gone, and the board worker writes them again from the
bundles before it goes on (:meth:`RedisCodes.intact`, ``MongoBoard.positions``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from domain.readmodel import (
    BOARD_PREFIX,
    CODE_BUCKETS,
    TALLIES_TAG,
    board_codes_key,
    board_codes_meta,
    code_bucket,
)

# KEYS: the buckets of this call. ARGV: per key the number of its codes, then each code
# (32 bytes) and its place (``<partition>:<index>``); one HSET per key and at most 500 of
# its codes (Lua's unpack has a stack limit). A third less of Redis's CPU per code than an
# HSET per code with the places parsed in Lua (docs/performance.md).
ADD_SCRIPT = """
local n = 0
for k = 1, #KEYS do
  local last = n + 1 + 2 * tonumber(ARGV[n + 1])
  for first = n + 2, last, 1000 do
    redis.call('HSET', KEYS[k], unpack(ARGV, first, math.min(first + 999, last)))
  end
  n = last
end
return #KEYS
"""


class RedisCodes:
    def __init__(self, client: Any, tag: str = TALLIES_TAG, prefix: str = BOARD_PREFIX) -> None:
        self._client = client
        self._tag, self._prefix = tag, prefix
        self._add = client.register_script(ADD_SCRIPT)
        self._meta = board_codes_meta(prefix, tag)
        self.instance = ""

    def key(self, bucket: int) -> str:
        return board_codes_key(bucket, self._prefix, self._tag)

    def add(self, partition: int, first_index: int, leaves: Sequence[bytes]) -> None:
        """Record ``leaves`` (leaf hashes) as entries ``first_index...`` of ``partition``."""
        self.add_runs([(partition, first_index, leaves)])

    def add_runs(self, runs: Sequence[tuple[int, int, Sequence[bytes]]]) -> None:
        """:meth:`add` for several (partition, first index, leaves) runs, in one call."""
        buckets: dict[int, list[bytes | str]] = defaultdict(list)
        for partition, first_index, leaves in runs:
            for index, leaf in enumerate(leaves, first_index):
                pairs = buckets[code_bucket(leaf)]
                pairs.append(leaf)
                pairs.append(f"{partition}:{index}")
        if not buckets:
            return
        args: list[Any] = []
        for pairs in buckets.values():
            args.append(len(pairs) // 2)
            args += pairs
        self._add(keys=[self.key(bucket) for bucket in buckets], args=args)

    def intact(self) -> bool:
        """Whether the codes are the ones this writer knows (False: Redis lost them, or this
        writer has not looked yet)."""
        stored = self._client.hget(self._meta, "instance")
        return bool(self.instance) and stored is not None and stored.decode() == self.instance

    def mark(self) -> None:
        """Adopt the stored marker, or make one (the codes are complete as of now)."""
        self._client.hsetnx(self._meta, "instance", uuid.uuid4().hex)
        self.instance = self._client.hget(self._meta, "instance").decode()

    def all(self) -> dict[str, tuple[int, int]]:
        """Every code (hex) -> (partition, index): for checks and tests, not a hot path."""
        with self._client.pipeline(transaction=False) as pipe:
            for bucket in range(CODE_BUCKETS):
                pipe.hgetall(self.key(bucket))
            buckets = pipe.execute()
        found: dict[str, tuple[int, int]] = {}
        for codes in buckets:
            for code, place in codes.items():
                partition, _, index = place.decode().partition(":")
                found[code.hex()] = (int(partition), int(index))
        return found

    def drop(self) -> None:
        """Delete every code and the marker (a rebuild's scratch board)."""
        self._client.delete(self._meta, *(self.key(b) for b in range(CODE_BUCKETS)))


class AsyncCodes:
    """The query service's reader of the codes (redis.asyncio)."""

    def __init__(self, client: Any, tag: str = TALLIES_TAG, prefix: str = BOARD_PREFIX) -> None:
        self._client, self._tag, self._prefix = client, tag, prefix

    async def place(self, code: bytes) -> tuple[int, int] | None:
        key = board_codes_key(code_bucket(code), self._prefix, self._tag)
        found = await self._client.hget(key, code)
        if found is None:
            return None
        partition, _, index = found.decode().partition(":")
        return int(partition), int(index)
