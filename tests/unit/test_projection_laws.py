"""Projection laws, pure: whatever the delivery schedule, a view equals one clean pass.

Kafka delivers at least once, in offset order per partition; a consumer may be re-seeked
to an earlier offset (redelivery), batches split anywhere and partitions interleave. The
schedules below model exactly that, and the expected tallies come from an oracle computed
directly from the log (first occurrence of each vote_id counts), never from the code under
test.
"""

from __future__ import annotations

import copy
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, note
from hypothesis import strategies as st

from domain.catalog import Catalog, Contest
from domain.names import name_key
from domain.projection import (
    Delivered,
    TallyView,
    admit,
    audit_change,
    audit_document,
    fold,
    windows,
)
from domain.readmodel import album_field
from domain.votes import VoteCast

# A log: partition -> its messages in offset order (offset = index); None = poison.
Log = dict[int, list[VoteCast | None]]
Schedule = list[list[Delivered]]

MAX_PARTITIONS = 4
MAX_MESSAGES = 12
VOTES_PER_PARTITION = 6  # few distinct vote_ids per partition: retries are common

# Several contests interleaved in one log (a retry may even name another contest: the
# vote_id's first occurrence decides where it counts).
CONTESTS = ("main", "best-album-2025", "best-band-ever")
# Spelling variants of one name are common (one name per band: domain.names).
BANDS = (
    "Radiohead",
    "RADIOHEAD",
    "radiohead ",
    "Ｒａｄｉｏｈｅａｄ",
    "Björk",
    "BJÖRK",
    "A",
    "a",
    "Ａ",
    "🎸 Ñu",
)
ALBUMS = ("OK Computer", "ok  computer", "OK COMPUTER", "()", "A", "ａ", "1")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RECENT = datetime(2024, 5, 1, 12, tzinfo=UTC)

names = st.text(
    st.characters(exclude_categories=("Cc", "Cs", "Cf", "Zl", "Zp")), min_size=1, max_size=6
)
bands = st.one_of(st.sampled_from(BANDS), names)
albums = st.one_of(st.sampled_from(ALBUMS), names)
# Timezone-aware UTC instants: mostly within a few seconds of each other (so the
# per-second tallies collide), sometimes around or before the epoch (negative seconds,
# int() truncating towards zero), with microseconds.
cast_ats = st.one_of(
    st.integers(-3_000_000, 3_000_000).map(lambda us: RECENT + timedelta(microseconds=us)),
    st.integers(-3_000_000, 3_000_000).map(lambda us: EPOCH + timedelta(microseconds=us)),
    st.integers(-(20 * 365 * 86_400 * 10**6), 130 * 365 * 86_400 * 10**6).map(
        lambda us: EPOCH + timedelta(microseconds=us)
    ),
)


def vote_id_of(partition: int, k: int) -> str:
    """A vote_id that belongs to one partition only (key = vote_id: all of its events share
    a partition)."""
    return str(uuid.UUID(int=(partition << 64) | k))


def event_id_of(partition: int, offset: int, clock: int = 0) -> str:
    """Unique per message; ``clock`` (its leading bits) orders event ids across partitions
    independently of the log's order, as clocks of several command processes do."""
    return str(uuid.UUID(int=(1 << 127) | (clock << 80) | (partition << 64) | offset))


@st.composite
def votes(draw: st.DrawFn, partition: int, offset: int) -> VoteCast:
    return VoteCast(
        event_id=event_id_of(partition, offset, draw(st.integers(0, 15))),
        vote_id=vote_id_of(partition, draw(st.integers(0, VOTES_PER_PARTITION - 1))),
        contest=draw(st.sampled_from(CONTESTS)),
        band=draw(bands),
        album=draw(albums),
        year=1900 + offset,
        rank=1 + partition,
        cast_at=draw(cast_ats),
    )


@st.composite
def logs(draw: st.DrawFn, max_partitions: int = MAX_PARTITIONS) -> Log:
    """Several partitions (some maybe empty), vote_ids repeated within a partition (client
    retries, maybe with another band), and poison messages here and there."""
    n = draw(st.integers(1, max_partitions))
    log: Log = {}
    for partition in range(n):
        size = draw(st.integers(0, MAX_MESSAGES))
        log[partition] = [
            None if draw(st.integers(0, 7)) == 0 else draw(votes(partition, offset))
            for offset in range(size)
        ]
    return log


def delivered(log: Log, partition: int, offset: int) -> Delivered:
    return Delivered(partition, offset, log[partition][offset])


@st.composite
def offset_streams(draw: st.DrawFn, size: int) -> list[int]:
    """One partition's offsets as the consumer sees them: contiguous ascending ranges, each
    starting at or before one past the highest offset delivered so far (a redelivery or
    the next message; never a gap), the last one reaching the end of the partition."""
    if not size:
        return []
    stream: list[int] = []
    highest = -1
    redeliveries = draw(st.integers(0, 3))
    for i in range(redeliveries + 1):
        start = draw(st.integers(0, min(highest + 1, size - 1)))
        last = size - 1 if i == redeliveries else draw(st.integers(start, size - 1))
        stream.extend(range(start, last + 1))
        highest = max(highest, last)
    return stream


@st.composite
def schedules(draw: st.DrawFn, log: Log) -> Schedule:
    """Every partition's stream, interleaved arbitrarily and cut into batches anywhere."""
    pending = {p: draw(offset_streams(len(items))) for p, items in log.items()}
    pending = {p: stream for p, stream in pending.items() if stream}
    merged: list[Delivered] = []
    while pending:
        partition = draw(st.sampled_from(sorted(pending)))
        merged.append(delivered(log, partition, pending[partition].pop(0)))
        if not pending[partition]:
            del pending[partition]
    batches: Schedule = []
    current: list[Delivered] = []
    for item in merged:
        current.append(item)
        if draw(st.integers(0, 3)) == 0:
            batches.append(current)
            current = []
    if current:
        batches.append(current)
    return batches


@st.composite
def logs_and_schedules(
    draw: st.DrawFn, made: st.SearchStrategy[Log] | None = None
) -> tuple[Log, Schedule]:
    """A log (``made`` by the given strategy; :func:`logs` by default) and a schedule."""
    log = draw(made if made is not None else logs())
    schedule = draw(schedules(log))
    note(f"log sizes: { {p: len(items) for p, items in log.items()} }")
    note(f"schedule: {[[(d.partition, d.offset) for d in batch] for batch in schedule]}")
    return log, schedule


# ------------------------------------------------------------------------- the oracle


def first_occurrences(log: Log, upto: dict[int, int] | None = None) -> dict[str, Delivered]:
    """vote_id -> its first occurrence, over each partition's offsets <= ``upto`` (all when
    None)."""
    first: dict[str, Delivered] = {}
    for partition, items in log.items():
        last = len(items) - 1 if upto is None else upto.get(partition, -1)
        for offset, event in enumerate(items[: last + 1]):
            if event is not None and event.vote_id not in first:
                first[event.vote_id] = Delivered(partition, offset, event)
    return first


def oracle(log: Log, upto: dict[int, int] | None = None) -> dict[str, Any]:
    """The tallies read model, straight from the log (restricted to offsets <= ``upto``):
    shaped like ``TallyView.summary()``: each contest's tallies of its first occurrences."""
    return summary_of([item.event for item in first_occurrences(log, upto).values()], log, upto)


def summary_of(
    counted: list[VoteCast | None], log: Log, upto: dict[int, int] | None = None
) -> dict[str, Any]:
    """``TallyView.summary()``'s shape for the ``counted`` votes of ``log`` (to ``upto``):
    spellings of one name count together under its key, shown as the spelling of the
    counted vote with the least event_id, in each contest on its own."""
    contests: dict[str, dict[str, Counter[Any]]] = {}
    shown: dict[str, dict[str, tuple[str, str]]] = {}  # contest -> key -> (event_id, spelling)
    for event in counted:
        assert event is not None
        tallies = contests.setdefault(
            event.contest, {"bands": Counter(), "albums": Counter(), "seconds": Counter()}
        )
        band = name_key(event.band)
        album = album_field(band, name_key(event.album))
        tallies["bands"][band] += 1
        tallies["albums"][album] += 1
        tallies["seconds"][int(event.cast_at.timestamp())] += 1
        names = shown.setdefault(event.contest, {})
        for key, spelling in ((band, event.band), (album, event.album)):
            names[key] = min(names.get(key, (event.event_id, spelling)), (event.event_id, spelling))
    checkpoints = {
        p: (len(items) if upto is None else min(len(items), upto.get(p, -1) + 1)) - 1
        for p, items in log.items()
    }
    return {
        "contests": {
            contest: {
                "bands": dict(tallies["bands"]),
                "albums": dict(tallies["albums"]),
                "seconds": dict(tallies["seconds"]),
                "total": sum(tallies["bands"].values()),
                "names": {key: spelling for key, (_, spelling) in shown[contest].items()},
            }
            for contest, tallies in contests.items()
        },
        "total": sum(sum(t["bands"].values()) for t in contests.values()),
        "checkpoints": {p: offset for p, offset in checkpoints.items() if offset >= 0},
    }


def clean_pass(log: Log) -> list[Delivered]:
    return [delivered(log, p, o) for p, items in log.items() for o in range(len(items))]


# ------------------------------------------------------------------------- the laws


@given(logs_and_schedules())
def test_any_schedule_equals_one_clean_pass_equals_the_oracle(
    case: tuple[Log, Schedule],
) -> None:
    log, schedule = case
    view = TallyView()
    counted = [view.apply(batch) for batch in schedule]

    once = fold([clean_pass(log)])
    one_by_one = fold([item] for item in clean_pass(log))
    expected = oracle(log)
    assert once.summary() == expected
    assert one_by_one.summary() == expected
    assert view.summary() == expected
    assert view.counted == set(first_occurrences(log))
    assert sum(counted) == expected["total"], "each vote is reported counted exactly once"


@given(logs_and_schedules())
def test_every_prefix_of_a_schedule_is_the_oracle_up_to_its_checkpoints(
    case: tuple[Log, Schedule],
) -> None:
    """The read model's invariant at any moment: its tallies are the distinct votes up to
    its own checkpoints (what a crash at that moment would resume from)."""
    log, schedule = case
    view = TallyView()
    for batch in schedule:
        view.apply(batch)
        assert view.summary() == oracle(log, view.checkpoints)


@given(logs_and_schedules())
def test_applying_a_batch_twice_equals_applying_it_once(case: tuple[Log, Schedule]) -> None:
    _, schedule = case
    view = TallyView()
    for batch in schedule:
        twice = copy.deepcopy(view)
        counted = view.apply(batch)
        assert twice.apply(batch) == counted
        assert twice.apply(batch) == 0, "a redelivered batch counts nothing"
        assert twice.summary() == view.summary()
        assert twice.counted == view.counted


class AuditStore:
    """The audit collection as its unique indexes make it: a document whose ``_id`` or
    ``vote_id`` is already stored is dropped (duplicate key)."""

    def __init__(self) -> None:
        self.by_vote: dict[str, dict[str, Any]] = {}
        self.ids: set[str] = set()

    def insert(self, documents: list[dict[str, Any]]) -> int:
        inserted = 0
        for document in documents:
            if document["_id"] in self.ids or document["vote_id"] in self.by_vote:
                continue
            self.ids.add(document["_id"])
            self.by_vote[document["vote_id"]] = document
            inserted += 1
        return inserted


@given(logs_and_schedules())
def test_the_audit_log_holds_each_vote_once_as_first_cast(case: tuple[Log, Schedule]) -> None:
    log, schedule = case
    store = AuditStore()
    checkpoints: dict[int, int] = {}
    first_document: dict[str, dict[str, Any]] = {}
    for batch in schedule:
        documents, moved = audit_change(batch, checkpoints)
        past = [item for item in batch if item.offset > checkpoints.get(item.partition, -1)]
        assert moved == {
            p: max(item.offset for item in past if item.partition == p)
            for p in {item.partition for item in past}
        }
        assert all(d["offset"] > checkpoints.get(d["partition"], -1) for d in documents)
        assert len({d["vote_id"] for d in documents}) == len(documents), "one per vote_id"
        for document in documents:
            first_document.setdefault(document["vote_id"], document)
        store.insert(documents)
        for partition, offset in moved.items():  # like the sink's $max upsert
            checkpoints[partition] = max(offset, checkpoints.get(partition, -1))
        assert set(store.by_vote) == set(first_occurrences(log, checkpoints))

    expected = {vid: audit_document(item) for vid, item in first_occurrences(log).items()}
    assert first_document == expected
    assert store.by_vote == expected
    assert checkpoints == oracle(log)["checkpoints"]


def hand_made(
    event_id: str, vote_id: str, band: str, album: str, at: datetime, contest: str = "main"
) -> VoteCast:
    return VoteCast(
        event_id=event_id,
        vote_id=vote_id,
        contest=contest,
        band=band,
        album=album,
        year=2000,
        rank=1,
        cast_at=at,
    )


def test_the_oracle_counts_first_occurrences_only() -> None:
    """A hand-made log, so that the oracle itself is pinned down: spellings of one name
    count together, shown as the spelling of the counted vote with the least event_id."""
    at = RECENT
    first = hand_made("e0", "v", "X", "a", at)
    retry = hand_made("e2", "v", "Y", "b", at + timedelta(seconds=5), contest="other")
    other = hand_made("e3", "w", "ｙ", "B", at)
    elsewhere = hand_made("e4", "z", "Y", "b", at, contest="other")
    earlier = hand_made("e1", "u", "Y ", "b", at)  # later in the log, earlier in event_id
    log: Log = {0: [first, None, retry, other, elsewhere], 1: [earlier]}
    second = int(at.timestamp())
    assert oracle(log) == {
        "contests": {
            "main": {
                "bands": {"x": 1, "y": 2},
                "albums": {album_field("x", "a"): 1, album_field("y", "b"): 2},
                "seconds": {second: 3},
                "total": 3,
                "names": {
                    "x": "X",
                    album_field("x", "a"): "a",
                    "y": "Y ",
                    album_field("y", "b"): "b",
                },
            },
            "other": {
                "bands": {"y": 1},
                "albums": {album_field("y", "b"): 1},
                "seconds": {second: 1},
                "total": 1,
                "names": {"y": "Y", album_field("y", "b"): "b"},
            },
        },
        "total": 4,
        "checkpoints": {0: 4, 1: 0},
    }
    assert oracle(log, {0: 4})["contests"]["main"]["names"]["y"] == "ｙ"
    assert oracle(log, {0: 1})["contests"] == {
        "main": {
            "bands": {"x": 1},
            "albums": {album_field("x", "a"): 1},
            "seconds": {second: 1},
            "total": 1,
            "names": {"x": "X", album_field("x", "a"): "a"},
        }
    }
    assert oracle(log, {0: 1})["checkpoints"] == {0: 1}
    assert oracle(log, {})["checkpoints"] == {}


def test_each_contest_counts_only_its_own_votes() -> None:
    """Two contests at once: a vote counts in its own contest and in no other."""
    at = RECENT
    log: Log = {
        0: [
            hand_made("e0", "a", "X", "x", at, "best-album-2025"),
            hand_made("e1", "b", "X", "x", at, "best-band-ever"),
        ],
        1: [hand_made("e2", "c", "Y", "y", at, "best-band-ever")],
    }
    view = fold([clean_pass(log)])
    assert view.contests["best-album-2025"].bands == Counter({"x": 1})
    assert view.contests["best-band-ever"].bands == Counter({"x": 1, "y": 1})
    assert view.summary() == oracle(log)


# ----------------------------------------------------------- the voting windows

window_bounds = st.none() | st.integers(-2_000_000, 2_000_000).map(
    lambda us: RECENT + timedelta(microseconds=us)
)


@st.composite
def catalogs_of_windows(draw: st.DrawFn) -> Catalog:
    return Catalog(
        tuple(
            Contest(slug=c, opens_at=draw(window_bounds), closes_at=draw(window_bounds))
            for c in CONTESTS
            if draw(st.booleans())
        )
    )


def inside(event: VoteCast, catalog: Catalog) -> bool:
    """The rule, written out: opens_at <= cast_at < closes_at, bounds that are set."""
    contest = catalog.by_slug().get(event.contest)
    if contest is None:
        return True
    after_open = contest.opens_at is None or contest.opens_at <= event.cast_at
    return after_open and (contest.closes_at is None or event.cast_at < contest.closes_at)


@given(logs_and_schedules(), catalogs_of_windows())
def test_a_vote_cast_outside_its_contests_window_never_counts(
    case: tuple[Log, Schedule], catalog: Catalog
) -> None:
    """Whatever the schedule, the windowed view equals the oracle of the log in which every
    vote cast outside its contest's window is a position only; the audit log likewise."""
    log, schedule = case
    voting = windows(catalog)
    view = TallyView()
    for batch in schedule:
        view.apply(admit(batch, voting))
    inside_only: Log = {
        p: [e if e is not None and inside(e, catalog) else None for e in events]
        for p, events in log.items()
    }
    assert view.summary() == oracle(inside_only)
    documents = [audit_change(admit(b, voting), {})[0] for b in schedule]
    assert all(inside(hand_back(d), catalog) for batch in documents for d in batch)


def hand_back(document: dict[str, Any]) -> VoteCast:
    fields = {k: document[k] for k in ("vote_id", "contest", "band", "album", "year", "rank")}
    return VoteCast(event_id=document["_id"], cast_at=document["cast_at"], **fields)


def test_the_window_is_the_vote_cast_at_not_a_clock() -> None:
    closes = RECENT
    catalog = Catalog((Contest(slug="main", closes_at=closes),))
    before = hand_made("e0", "a", "X", "x", closes - timedelta(microseconds=1))
    at_close = hand_made("e1", "b", "X", "x", closes)
    retried_inside = hand_made("e2", "b", "Y", "y", closes - timedelta(seconds=1))
    log: Log = {0: [before, at_close, retried_inside]}
    view = fold([admit(clean_pass(log), windows(catalog))])
    assert view.summary()["contests"]["main"]["bands"] == {"x": 1, "y": 1}
    assert view.checkpoints == {0: 2}
    assert windows(None) == {}
    assert windows(Catalog((Contest(slug="open-ended"),))) == {}
