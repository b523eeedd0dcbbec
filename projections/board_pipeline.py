"""The board worker's sink: the board's writes on a thread of their own, so that a batch's
round trips to FerretDB and Redis overlap the next batch's consuming, decoding and hashing.

The writes themselves are the board's, in the board's order (:meth:`MongoBoard.write`: the
batch's files, then its codes, then its positions, only forward), and one batch at a time:
a batch's write starts only once the one before it is written and committed. So the stored
board goes through the same states as with a synchronous writer, and exactly-once holds as
it does there (:mod:`projections.board_sink`).

What changes is when the worker learns the outcome: :meth:`PipelinedBoard.apply` prepares
its batch, waits for the write before it, and hands its own to the writer. When that earlier
write failed, found another worker ahead or found the codes lost, the batch just prepared is
dropped and ``apply`` answers None: the worker re-seeks to the stored positions, which
:meth:`PipelinedBoard.positions` reloads once no write is in flight, and the log gives the
same batches again. While no votes come, :meth:`PipelinedBoard.stale` settles the last
write, so its outcome is not left waiting for the next batch. The worker's Kafka offsets
(only for watching lag) may run one batch ahead of the board's committed positions. At
exit the interpreter waits for the write in flight (the executor's thread is joined); a
worker killed during it leaves what a synchronous one would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import structlog

from domain.projection import Delivered
from projections.board_sink import MongoBoard

log = structlog.get_logger("boleta.projections")


class PipelinedBoard:
    name = "board"

    def __init__(self, board: MongoBoard) -> None:
        self._board = board
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="board-writer")
        self._pending: Future[list[int] | None] | None = None

    def _settle(self) -> bool:
        """Wait for the write in flight, if any: True when it was written and committed
        (or there was none)."""
        pending, self._pending = self._pending, None
        if pending is None:
            return True
        try:
            behind = pending.result()
        except Exception as exc:
            log.warning("board write failed; re-seeking", error=str(exc))
            return False
        return behind == []

    def positions(self) -> dict[int, int]:
        self._settle()
        return self._board.positions()

    def stale(self) -> bool:
        return not self._settle() or self._board.stale()

    def apply(self, batch: Sequence[Delivered], lag: Mapping[int, int] | None = None) -> int | None:
        """Prepare ``batch`` from the positions of the batches before it, then hand it to
        the writer once the write before it is committed. Returns its entries, or None
        (the batch dropped) when the worker must re-seek."""
        prepared = self._board.prepare(batch)
        if not self._settle():
            return None
        if not prepared.moved:
            return 0
        self._board.advance(prepared)
        self._pending = self._writer.submit(self._board.write, prepared)
        return prepared.appended
