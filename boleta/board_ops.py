"""The board's operator commands on the real stores: ``boleta rebuild board`` and the
board's part of ``boleta verify`` (the checks themselves: ``projections.board_check``).

The board is append-only and a function of the log, so a rebuild does not swap anything
in: it replays the log into scratch collections (another prefix), up to the live board's
positions, and compares the two byte for byte. Equal, the scratch collections are
dropped; different, they are kept (and named) for whoever looks into it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.database import Database
from rich.console import Console

from boleta.board_keys import open_note
from boleta.board_secrets import (
    board_pseudonyms,
    board_verifier_key,
    checkpoint_origin,
)
from boleta.serve_projections import board_sink, mongo_db, redis_client
from boleta.settings import Settings
from domain import vote_cast_codec
from domain.board import parse_verifier_key
from domain.readmodel import (
    BOARD_PREFIX,
    board_codes_key,
    file_id,
    files_collection,
    state_collection,
)
from projections.board_check import (
    BoardAgainstLog,
    FileComparison,
    StoredBoard,
    compare_boards,
    partition_of,
)
from projections.board_codes import RedisCodes
from projections.log_reader import replay, replay_consumer

Db = Database[dict[str, Any]]


def stored_boards(db: Db, prefix: str = BOARD_PREFIX) -> dict[int, StoredBoard]:
    """Each partition's stored position, size and checkpoint (none: no board yet)."""
    return {
        partition_of(doc["_id"]): StoredBoard.from_doc(doc)
        for doc in db[state_collection(prefix)].find({}, {"offset": 1, "size": 1, "checkpoint": 1})
    }


def caught_up(boards: Mapping[int, StoredBoard], last: Mapping[int, int]) -> bool:
    """True when the board holds the log up to ``last`` (partition -> last offset), or
    there is no board at all (no board worker ever ran: nothing to wait for)."""
    if not boards:
        return True
    return all(p in boards and boards[p].offset >= o for p, o in last.items() if o >= 0)


def file_reader(db: Db, prefix: str = BOARD_PREFIX) -> Callable[[int, str], bytes | None]:
    files = db[files_collection(prefix)]

    def read(partition: int, path: str) -> bytes | None:
        doc = files.find_one({"_id": file_id(partition, path)})
        return None if doc is None else bytes(doc["data"])

    return read


def board_files(db: Db, prefix: str = BOARD_PREFIX) -> Iterator[tuple[int, str, bytes]]:
    """Every file of a board as (partition, path, bytes), in ``_id`` order."""
    for doc in db[files_collection(prefix)].find({}).sort("_id", 1):
        log, _, path = str(doc["_id"]).partition("/")
        yield partition_of(log), path, bytes(doc["data"])


def against_log(settings: Settings, db: Db, boards: Mapping[int, StoredBoard]) -> BoardAgainstLog:
    """The board's check against the log, with the board's verifier key (the public one,
    BOLETA_BOARD_VERIFIER_KEY, when set) and pseudonym secret (``BoardSecretError`` when
    one cannot be read)."""
    verifier = parse_verifier_key(board_verifier_key(settings))
    return BoardAgainstLog(
        boards,
        file_reader(db),
        board_pseudonyms(settings),
        lambda note: open_note(note.encode(), verifier),
        lambda partition: checkpoint_origin(settings, partition),
    )


@dataclass(frozen=True)
class BoardRebuild:
    comparison: FileComparison
    messages: int
    entries: int
    seconds: float
    scratch: tuple[str, ...]  # the scratch board's collections (and codes), kept on a difference

    @property
    def identical(self) -> bool:
        return not self.comparison.differences


def rebuild_board(
    settings: Settings, console: Console, on_progress: Callable[[int, int], None]
) -> BoardRebuild:
    """Replay the log up to the live board's positions into scratch collections and
    compare them with the live board. ``on_progress(done, total)`` in messages."""
    db = mongo_db(settings)
    started = time.perf_counter()
    try:
        live = stored_boards(db)
        until = {p: board.offset + 1 for p, board in live.items()}
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        scratch = f"{BOARD_PREFIX}_rebuild_{stamp}"
        console.print(
            f"replaying the log up to the live board's positions ({sum(until.values())} "
            f"messages) into the board {scratch}"
        )
        messages, entries = _replay_into(settings, scratch, until, on_progress)
        rebuilt = stored_boards(db, scratch)
        comparison = compare_boards(live, rebuilt, board_files(db), file_reader(db, scratch))
        names = tuple(sorted(n for n in db.list_collection_names() if n.startswith(scratch)))
        if not comparison.differences:
            for name in names:
                db.drop_collection(name)
            with redis_client(settings) as client:
                RedisCodes(client, settings.tallies_tag, scratch).drop()
        else:  # and its tracking codes, in Redis
            names += (f"{board_codes_key(0, scratch, settings.tallies_tag)[:-3]}*",)
        return BoardRebuild(comparison, messages, entries, time.perf_counter() - started, names)
    finally:
        db.client.close()


def _replay_into(
    settings: Settings,
    prefix: str,
    until: dict[int, int],
    on_progress: Callable[[int, int], None],
) -> tuple[int, int]:
    sink = board_sink(settings, prefix=prefix)
    sink.positions()  # as a worker does when assigned: the scratch board is empty
    total = sum(until.values())
    messages = entries = 0
    consumer = replay_consumer(settings.kafka_bootstrap, "rebuild-board", settings.kafka_security)
    try:
        for batch in replay(consumer, settings.topic, vote_cast_codec(), until):
            appended = sink.apply(batch)
            if appended is None:
                raise RuntimeError(
                    f"another writer moved the scratch board {prefix} under the rebuild; "
                    "start again"
                )
            messages += len(batch)
            entries += appended
            on_progress(messages, total)
    finally:
        consumer.close()
    return messages, entries
