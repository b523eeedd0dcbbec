"""``/board``: the public bulletin board as C2SP tlog-tiles logs, one per partition of the
vote log, each under ``/board/p<N>/`` (docs/verifiability.md). A checkpoint changes with
every batch (no-cache); a full tile or bundle never changes (immutable); a partial one
never changes either, but its full tile supersedes it (cached briefly)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from litestar.response import Response

from queries.board import BoardListing, BoardLog, MongoBoardReader, is_tile_path
from queries.errors import documented
from queries.reads import STORE_ERRORS, store_unavailable

STORE = "the board's store (MongoDB)"
UNAVAILABLE = "The board's store (MongoDB) is unreachable; retry shortly (Retry-After)"
IMMUTABLE = "public, max-age=31536000, immutable"
PARTIAL = "public, max-age=60"
NOTE_TYPE = "text/plain; charset=utf-8"
LOG_NAME = "p<N>, N a partition of the vote log (GET /board lists them)"
LogName = Annotated[str, Parameter(pattern=r"^p(0|[1-9][0-9]{0,5})$", description=LOG_NAME)]
TilePath = Annotated[
    str,
    Parameter(
        description="A path under tile/ (c2sp.org/tlog-tiles): <level>/<N>[.p/<width>] or "
        "entries/<N>[.p/<width>]"
    ),
]


class BoardNaming:
    """How the board names its logs: a partition's origin and the verifier key."""

    def __init__(self, partitions: int, origin_of: Callable[[int], str], verifier_key: str):
        self.partitions = partitions
        self.origin_of = origin_of
        self.verifier_key = verifier_key

    def partition(self, log: str) -> int:
        """The partition of a log's name ``p<N>`` (checked by the route's pattern); 404
        past the last partition."""
        digits = log.removeprefix("p")
        if int(digits) >= self.partitions:
            raise NotFoundException(
                f"no board log {log!r}: the vote log has partitions 0 to {self.partitions - 1}"
            )
        return int(digits)


class BoardController(Controller):
    path = "/board"
    tags = ["board"]  # noqa: RUF012 - Litestar declares it as a plain attribute

    @get(
        "/",
        summary="The board's logs (one per partition) and the key that signs their checkpoints",
        responses=documented({503: UNAVAILABLE}),
    )
    async def listing(
        self, board: NamedDependency[MongoBoardReader], naming: NamedDependency[BoardNaming]
    ) -> BoardListing:
        try:
            sizes = await board.sizes()
        except STORE_ERRORS as exc:
            raise store_unavailable(STORE, exc) from None
        return BoardListing(
            verifier_key=naming.verifier_key,
            logs=[
                BoardLog(p, f"/board/p{p}/", naming.origin_of(p), sizes.get(p, 0))
                for p in range(naming.partitions)
            ],
        )

    @get(
        "/{log:str}/checkpoint",
        summary="A log's latest checkpoint, a signed note (c2sp.org/tlog-checkpoint)",
        media_type=NOTE_TYPE,
        responses=documented(
            {
                400: f"The log is not named {LOG_NAME}",
                404: "No such partition, or nothing on its log yet",
                503: UNAVAILABLE,
            }
        ),
    )
    async def checkpoint(
        self,
        board: NamedDependency[MongoBoardReader],
        naming: NamedDependency[BoardNaming],
        log: LogName,
    ) -> Response[str]:
        partition = naming.partition(log)
        try:
            note = await board.checkpoint(partition)
        except STORE_ERRORS as exc:
            raise store_unavailable(STORE, exc) from None
        if note is None:
            raise NotFoundException(f"nothing is on board log {log} yet")
        return Response(note, media_type=NOTE_TYPE, headers={"Cache-Control": "no-cache"})

    @get(
        "/{log:str}/tile/{path:path}",
        summary="A hash tile or an entry bundle (c2sp.org/tlog-tiles)",
        media_type="application/octet-stream",
        responses=documented(
            {
                400: f"The log is not named {LOG_NAME}",
                404: "No such partition, no such tile path, or not written yet",
                503: UNAVAILABLE,
            }
        ),
    )
    async def tile(
        self,
        board: NamedDependency[MongoBoardReader],
        naming: NamedDependency[BoardNaming],
        log: LogName,
        path: TilePath,
    ) -> Response[bytes]:
        partition = naming.partition(log)
        tile = "tile" + path
        if not is_tile_path(tile):
            raise NotFoundException(
                f"{tile!r} is not a tile path: tile/<level>/<N>[.p/<width>] or "
                "tile/entries/<N>[.p/<width>] (c2sp.org/tlog-tiles)"
            )
        try:
            data = await board.file(partition, tile)
        except STORE_ERRORS as exc:
            raise store_unavailable(STORE, exc) from None
        if data is None:
            raise NotFoundException(f"{tile} is not on board log {log} (yet)")
        cache = PARTIAL if ".p/" in tile else IMMUTABLE
        return Response(
            data, media_type="application/octet-stream", headers={"Cache-Control": cache}
        )
