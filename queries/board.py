"""Reading the public board from MongoDB (written by ``projections.board_sink``): a
partition's signed checkpoint, its tiles and entry bundles; and a leaf's place by tracking
code, from Redis (``projections.board_codes``). Only what the board worker committed is
served: a checkpoint comes from the state document, which is written after every file it
covers."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from pymongo import AsyncMongoClient

from domain.readmodel import (
    file_id,
    files_collection,
    state_collection,
    state_id,
)
from projections.board_codes import AsyncCodes

# c2sp.org/tlog-tiles paths under a log's prefix: tile/<L>/<N>[.p/<W>] and
# tile/entries/<N>[.p/<W>], N in 3-digit groups, all but the last prefixed with "x".
TILE_PATH = re.compile(
    r"tile/(?:[0-9]|[1-5][0-9]|6[0-3]|entries)/(?:x[0-9]{3}/)*[0-9]{3}"
    r"(?:\.p/(?:[1-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5]))?"
)


class BoardLog(msgspec.Struct, frozen=True):
    partition: int
    prefix: str
    origin: str
    size: int


class LeafPlace(msgspec.Struct, frozen=True):
    partition: int
    index: int


def is_tile_path(path: str) -> bool:
    return TILE_PATH.fullmatch(path) is not None


class MongoBoardReader:
    def __init__(
        self, client: AsyncMongoClient[dict[str, Any]], db: str, prefix: str, codes: AsyncCodes
    ) -> None:
        database = client[db]
        self._files = database[files_collection(prefix)]
        self._state = database[state_collection(prefix)]
        self._codes = codes

    async def checkpoint(self, partition: int) -> str | None:
        doc = await self._state.find_one({"_id": state_id(partition)}, {"checkpoint": 1})
        return None if doc is None else str(doc["checkpoint"])

    async def sizes(self) -> dict[int, int]:
        return {int(d["_id"][1:]): int(d["size"]) async for d in self._state.find({}, {"size": 1})}

    async def file(self, partition: int, path: str) -> bytes | None:
        doc = await self._files.find_one({"_id": file_id(partition, path)})
        return None if doc is None else bytes(doc["data"])

    async def place(self, code: str) -> LeafPlace | None:
        found = await self._codes.place(bytes.fromhex(code))
        return None if found is None else LeafPlace(*found)


class BoardListing(msgspec.Struct, frozen=True):
    """The board's logs, and the key their checkpoints are signed with (check it against
    one you got another way: a key read from the operator's own server proves nothing)."""

    verifier_key: str
    logs: list[BoardLog]
