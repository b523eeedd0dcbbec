"""The board worker's pipelined sink: a batch is prepared while the one before it is being
written, the writes stay one at a time and in order, and a write that failed, found another
worker ahead or found the codes lost drops the batch prepared after it and re-seeks. And
the board's write itself: files and codes at once, the positions once both are written."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest

from boleta.serve_projections import Model, batch_size
from boleta.settings import Settings
from domain.board import Pseudonyms
from domain.projection import Delivered
from domain.votes import VoteCast
from projections.board_pipeline import PipelinedBoard
from projections.board_sink import MongoBoard, PartitionBoard, Prepared

WAIT_S = 5.0


class FakeBoard:
    """MongoBoard's prepare / advance / write / positions, writes recorded, not made. A
    write blocks until the test releases it; ``outcomes`` says how each one ends."""

    def __init__(self) -> None:
        self.offset = -1  # the position held (advanced) by the writer
        self.stored = -1  # the position committed
        self.written: list[int] = []  # the last offset of each batch written, in order
        self.prepared_while_writing: list[int] = []
        self.writing = threading.Event()
        self.release = threading.Semaphore(0)
        self.outcomes: list[Any] = []  # per write: [] committed, [0] behind, None, or raise
        self.concurrent = 0
        self.most_concurrent = 0

    def prepare(self, batch: list[Delivered]) -> Prepared:
        prepared = Prepared()
        new = [m for m in batch if m.offset > self.offset]
        if new:
            prepared.moved[0] = PartitionBoard(new[-1].offset)
            prepared.appended = len(new)
            if self.writing.is_set():
                self.prepared_while_writing.append(new[-1].offset)
        return prepared

    def advance(self, prepared: Prepared) -> None:
        self.offset = prepared.moved[0].offset

    def write(self, prepared: Prepared) -> list[int] | None:
        self.concurrent += 1
        self.most_concurrent = max(self.most_concurrent, self.concurrent)
        self.writing.set()
        try:
            assert self.release.acquire(timeout=WAIT_S), "a write never released"
            outcome = self.outcomes.pop(0) if self.outcomes else []
            if isinstance(outcome, Exception):
                raise outcome
            if outcome == []:
                self.written.append(prepared.moved[0].offset)
                self.stored = prepared.moved[0].offset
            return outcome
        finally:
            self.writing.clear()
            self.concurrent -= 1

    def positions(self) -> dict[int, int]:
        self.offset = self.stored
        return {0: self.stored + 1}

    def stale(self) -> bool:
        return False


def batch(first: int, count: int) -> list[Delivered]:
    return [Delivered(0, offset, None) for offset in range(first, first + count)]


def pipelined() -> tuple[PipelinedBoard, FakeBoard]:
    fake = FakeBoard()
    return PipelinedBoard(fake), fake  # type: ignore[arg-type]


def test_a_batch_is_prepared_while_the_one_before_it_is_written_one_write_at_a_time() -> None:
    sink, fake = pipelined()
    assert sink.apply(batch(0, 10)) == 10  # handed to the writer, which is blocked
    assert fake.writing.wait(WAIT_S)
    answers: list[int | None] = []
    second = threading.Thread(target=lambda: answers.append(sink.apply(batch(10, 10))))
    second.start()
    deadline = time.monotonic() + WAIT_S
    while not fake.prepared_while_writing and time.monotonic() < deadline:
        time.sleep(0.001)
    assert fake.prepared_while_writing == [19], "the next batch is prepared during the write"
    assert fake.written == [], "and handed over only after it"
    assert second.is_alive()
    fake.release.release()
    second.join(WAIT_S)
    assert answers == [10]
    fake.release.release()
    fake.release.release()
    assert sink.apply(batch(20, 5)) == 5
    assert sink.positions() == {0: 25}  # waits for the write in flight
    assert fake.written == [9, 19, 24]
    assert fake.most_concurrent == 1


def test_apply_does_not_wait_for_its_own_batch_to_be_written() -> None:
    sink, fake = pipelined()
    done = threading.Event()

    def apply() -> None:
        sink.apply(batch(0, 3))
        done.set()

    threading.Thread(target=apply, daemon=True).start()
    assert done.wait(WAIT_S), "apply waited for its own write"
    assert fake.written == []
    fake.release.release()
    assert sink.positions() == {0: 3}


@pytest.mark.parametrize(
    "outcome", [RuntimeError("FerretDB went away"), [0], None], ids=["fails", "behind", "codes"]
)
def test_a_write_that_did_not_commit_drops_the_next_batch_and_re_seeks(outcome: Any) -> None:
    sink, fake = pipelined()
    fake.outcomes = [[], outcome]
    fake.release.release()
    fake.release.release()
    assert sink.apply(batch(0, 10)) == 10
    assert sink.apply(batch(10, 10)) == 10  # its write will not commit
    assert sink.apply(batch(20, 10)) is None, "prepared on a position that was not stored"
    assert fake.written == [9]
    assert sink.positions() == {0: 10}  # the worker re-seeks there
    fake.release.release()
    assert sink.apply(batch(10, 10)) == 10  # the log gives the batch again
    assert sink.positions() == {0: 20}
    assert fake.written == [9, 19]


def test_a_failed_last_write_is_found_while_no_votes_come() -> None:
    sink, fake = pipelined()
    fake.outcomes = [RuntimeError("Redis went away")]
    fake.release.release()
    assert sink.apply(batch(0, 4)) == 4
    assert sink.stale(), "the worker's idle check re-seeks"
    assert sink.positions() == {0: 0}
    assert not sink.stale()


def test_the_board_worker_takes_larger_batches() -> None:
    settings = Settings(projection_batch_size=2000, board_batch_size=10000)
    assert batch_size(settings, Model.board) == 10000
    assert batch_size(settings, Model.tallies) == batch_size(settings, Model.audit) == 2000


class Recorded:
    """A step of a fake store: ``started`` once called; it ends when ``go`` is set."""

    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name
        self.started, self.go = threading.Event(), threading.Event()

    def __call__(self, *_args: object, **_kwargs: object) -> Any:
        self.started.set()
        self.log.append(f"{self.name} started")
        assert self.go.wait(WAIT_S), f"{self.name} never allowed to end"
        self.log.append(f"{self.name} ended")
        return SimpleNamespace(matched_count=0)


class FakeCollections:
    def __init__(self, log: list[str]) -> None:
        self.files = SimpleNamespace(insert_many=Recorded(log, "files"))
        self.state = SimpleNamespace(insert_many=Recorded(log, "positions"))

    def __getitem__(self, name: str) -> Any:
        return self.files if name.endswith("_files") else self.state


class FakeCodes:
    def __init__(self, log: list[str]) -> None:
        self.add_runs = Recorded(log, "codes")

    def intact(self) -> bool:
        return True


def test_a_batchs_files_and_codes_are_written_at_once_and_its_positions_after_both() -> None:
    log: list[str] = []
    db, codes = FakeCollections(log), FakeCodes(log)
    board = MongoBoard(
        db,  # type: ignore[arg-type]
        Pseudonyms(b"s" * 32),
        lambda text: text,
        lambda partition: f"example.org/board/p{partition}",
        codes,  # type: ignore[arg-type]
    )
    event = msgspec.convert(
        {"event_id": "01890000-0000-7000-8000-000000000001", "vote_id": "v1",
         "contest": "main", "band": "Green Ridge", "album": "Imbituva", "year": 2008,
         "rank": 7, "cast_at": datetime(2026, 12, 7, 1, 19, tzinfo=UTC)},
        VoteCast,
    )  # fmt: skip
    answers: list[int | None] = []
    applying = threading.Thread(
        target=lambda: answers.append(board.apply([Delivered(0, 0, event)]))
    )
    applying.start()
    assert db.files.insert_many.started.wait(WAIT_S)
    assert codes.add_runs.started.wait(WAIT_S), "the codes wait for the files"
    codes.add_runs.go.set()
    time.sleep(0.05)
    assert not db.state.insert_many.started.is_set(), "a position before its files"
    db.files.insert_many.go.set()
    assert db.state.insert_many.started.wait(WAIT_S)
    db.state.insert_many.go.set()
    applying.join(WAIT_S)
    assert answers == [1]
    assert log[-2:] == ["positions started", "positions ended"]


def test_a_failed_files_write_returns_only_once_the_codes_write_ended() -> None:
    log: list[str] = []
    db, codes = FakeCollections(log), FakeCodes(log)

    def refused(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("FerretDB went away")

    db.files.insert_many = refused
    board = MongoBoard(db, Pseudonyms(b"s" * 32), str, str, codes)  # type: ignore[arg-type]
    prepared = Prepared()
    prepared.files.append((0, "tile/0/000.p/1", b"x" * 32))
    raised: list[Exception] = []

    def write() -> None:
        try:
            board.write(prepared)
        except RuntimeError as exc:
            raised.append(exc)

    writing = threading.Thread(target=write)
    writing.start()
    assert codes.add_runs.started.wait(WAIT_S)
    writing.join(0.05)
    assert writing.is_alive(), "returned with the codes' write still in flight"
    codes.add_runs.go.set()
    writing.join(WAIT_S)
    assert [str(e) for e in raised] == ["FerretDB went away"]
    assert log == ["codes started", "codes ended"]
