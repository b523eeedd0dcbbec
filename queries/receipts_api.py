"""``/api/v1/receipts/{tracking_code}``: where a vote's board entry is, and the proof that
the latest checkpoint of its log includes it (c2sp.org/tlog-proof, the entry as its extra
data). A voter checks it with ``boleta receipt check``, the webapp's receipt page, or any
tlog-proof verifier, against the board's verifier key (docs/verifiability.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import Parameter

from domain.board import (
    TILE_WIDTH,
    decode_bundle,
    entries_path,
    inclusion_proof,
    leaf_hash,
    parse_checkpoint,
    parse_signed_note,
    tile_reader,
)
from domain.board.proof import TLogProof, format_tlog_proof
from queries.board import MongoBoardReader
from queries.errors import documented
from queries.reads import STORE_ERRORS, store_unavailable

T = TypeVar("T")
TrackingCode = Annotated[
    str,
    Parameter(
        pattern=r"^[0-9a-fA-F]{64}$",
        description="A receipt's tracking code: 64 hex digits, the SHA-256 leaf hash of its "
        "board entry",
    ),
]
STORE = "the board's store (MongoDB)"


class ReceiptProof(msgspec.Struct, frozen=True):
    """A tracking code's place on the board and its proof. ``entry`` is the board entry
    (canonical JSON, ADR 8) whose RFC 6962 leaf hash is the tracking code; ``tlog_proof``
    proves that the checkpoint of size ``checkpoint_size`` includes it at ``index``."""

    tracking_code: str
    partition: int
    index: int
    origin: str
    checkpoint_size: int
    entry: str
    tlog_proof: str


async def read_tiles(
    read: Callable[[str], Awaitable[bytes | None]], compute: Callable[[Callable[[str], bytes]], T]
) -> T:
    """Run the pure ``compute(read_sync)``, fetching each tile it asks for first (a proof
    needs a few tiles; which ones, the tree arithmetic says as it goes)."""
    tiles: dict[str, bytes] = {}
    while True:
        try:
            return compute(tiles.__getitem__)
        except KeyError as missing:
            path = str(missing.args[0])
            data = await read(path)
            if data is None:
                raise LookupError(path) from None
            tiles[path] = data


class ReceiptsController(Controller):
    path = "/api/v1/receipts"
    tags = ["receipts"]  # noqa: RUF012 - Litestar declares it as a plain attribute

    @get(
        "/{tracking_code:str}",
        summary="A tracking code's board entry and its inclusion proof (c2sp.org/tlog-proof)",
        responses=documented(
            {
                400: "tracking_code is not 64 hex digits",
                404: "No entry has this tracking code in a signed checkpoint (yet)",
                503: "The board's store (MongoDB) is unreachable; retry shortly",
            }
        ),
    )
    async def receipt(
        self, board: NamedDependency[MongoBoardReader], tracking_code: TrackingCode
    ) -> ReceiptProof:
        code = tracking_code.lower()
        try:
            return await self._prove(board, code)
        except STORE_ERRORS as exc:
            raise store_unavailable(STORE, exc) from None

    @staticmethod
    async def _prove(board: MongoBoardReader, code: str) -> ReceiptProof:
        place = await board.place(code)
        note = None if place is None else await board.checkpoint(place.partition)
        if place is None or note is None:
            raise NotFoundException(f"no board entry has tracking code {code} (yet)")
        checkpoint = parse_checkpoint(parse_signed_note(note.encode()).text)
        size, index, partition = checkpoint.size, place.index, place.partition
        if index >= size:
            raise NotFoundException(
                f"tracking code {code} is on board log p{partition} at index {index}, not "
                f"yet in a signed checkpoint (size {size}); retry shortly"
            )
        try:
            hashes = await read_tiles(
                lambda path: board.file(partition, path),
                lambda read: inclusion_proof(index, size, tile_reader(size, read)),
            )
        except LookupError as missing:
            raise RuntimeError(f"board log p{partition} lacks {missing.args[0]}") from None
        first = index - index % TILE_WIDTH
        width = min(TILE_WIDTH, size - first)
        bundle = await board.file(partition, entries_path(first // TILE_WIDTH, width))
        entries = [] if bundle is None else decode_bundle(bundle)
        entry = entries[index - first] if index - first < len(entries) else b""
        if leaf_hash(entry).hex() != code:
            raise RuntimeError(f"board log p{partition}'s entry {index} is not {code}'s")
        proof = TLogProof(index, tuple(hashes), note, entry)
        return ReceiptProof(
            tracking_code=code,
            partition=partition,
            index=index,
            origin=checkpoint.origin,
            checkpoint_size=size,
            entry=entry.decode(),
            tlog_proof=format_tlog_proof(proof),
        )
