"""Every accepted vote's reply carries its tracking code, the leaf hash of the board entry
built from its event and the offset the log gave it, and the service's signed receipt:
one vote's for CastVote, one note over a batch's accepted votes, in the order of the
results, for CastVotes. (On the real broker, through gRPC: tests/integration/
test_receipts.py.)"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from boleta.board_keys import (
    NoteSigner,
    SignatureError,
    generate_signer_key,
    verify_receipt,
    verify_receipts,
)
from boleta.serve_commands import BoardReceiptSigner
from commands.handler import Accepted, CastVoteHandler
from commands.ports import Appended, AppendResult, NotAppended
from commands.receipts import Receipts
from commands.service import to_reply, to_results
from domain import CastVote, Rejection, VoteCast, vote_cast_codec
from domain.board import MalformedReceipt, Pseudonyms, board_entry, encode_entry, leaf_hash

NOON = datetime(2026, 12, 7, 12, 0, 0, 123000, tzinfo=UTC)
BOUND = timedelta(seconds=90)
PSEUDONYMS = Pseudonyms(b"board secret of the tests" * 2)
SIGNER = NoteSigner.from_text(generate_signer_key("boleta.test/board"))
OTHER = NoteSigner.from_text(generate_signer_key("boleta.test/board"))
KEY = SIGNER.verifier_key_text


def origin(partition: int) -> str:
    return f"boleta.test/board/p{partition}"


class Log:
    """The vote log port: each event at a position of its own (partition i % 3, offset
    100 + 7 i of the whole run); the events at ``lost`` indexes are not confirmed."""

    def __init__(self, lost: Sequence[int] = ()) -> None:
        self.appended: list[VoteCast] = []
        self.lost = set(lost)

    async def append(self, events: Sequence[VoteCast], within_s: float) -> list[AppendResult]:
        results: list[AppendResult] = []
        for event in events:
            i = len(self.appended)
            self.appended.append(event)
            if i in self.lost:
                results.append(NotAppended("unavailable", "not confirmed"))
            else:
                results.append(Appended(i % 3, 100 + 7 * i))
        return results


def handler(log: Log, clock: datetime = NOON) -> CastVoteHandler:
    receipts = Receipts(PSEUDONYMS, origin, BOUND, BoardReceiptSigner(SIGNER))
    return CastVoteHandler(log, "main", clock=lambda: clock, receipts=receipts)


def vote(band: str = "Green Ridge", voter_id: str = "", year: int = 2008) -> CastVote:
    return CastVote(band=band, album="Imbituva", year=year, rank=7, voter_id=voter_id)


def board_code(event: VoteCast, offset: int) -> str:
    """What the board worker makes of the event read back from the log at ``offset``."""
    codec = vote_cast_codec()
    read = codec.decode(codec.encode(event), dict(codec.headers))
    return leaf_hash(encode_entry(board_entry(read, offset, PSEUDONYMS))).hex()


async def test_castvote_replies_with_the_tracking_code_and_its_signed_receipt() -> None:
    log = Log()
    outcome, note = await handler(log).cast_one(vote(voter_id="alice"), 1.0)
    assert isinstance(outcome, Accepted)
    (event,) = log.appended
    reply = to_reply(outcome, note)
    assert reply.tracking_code == board_code(event, reply.offset)
    assert reply.receipt == note
    receipt = verify_receipt(note, KEY)
    assert receipt.tracking_code.hex() == reply.tracking_code
    assert (receipt.partition, receipt.offset) == (reply.partition, reply.offset) == (0, 100)
    assert receipt.origin == origin(reply.partition)
    assert receipt.cast_at == event.cast_at == NOON
    assert receipt.cast_at.isoformat().replace("+00:00", "Z") == reply.cast_at
    assert receipt.publish_by == NOON + BOUND
    with pytest.raises(SignatureError):
        verify_receipt(note, OTHER.verifier_key_text)


async def test_each_vote_has_its_own_code_and_the_same_vote_elsewhere_another() -> None:
    log = Log()
    cast = handler(log)
    first, _ = await cast.cast_one(vote(), 1.0)
    second, _ = await cast.cast_one(vote(), 1.0)  # the same choice, another vote
    assert isinstance(first, Accepted)
    assert isinstance(second, Accepted)
    assert first.receipt is not None
    assert second.receipt is not None
    assert first.receipt.tracking_code != second.receipt.tracking_code
    assert second.receipt.tracking_code.hex() == board_code(second.event, 107)


async def test_a_refused_vote_has_no_receipt() -> None:
    outcome, note = await handler(Log()).cast_one(vote(year=1066), 1.0)
    assert isinstance(outcome, Rejection)
    assert note == ""
    lost, note = await handler(Log(lost=[0])).cast_one(vote(), 1.0)
    assert isinstance(lost, Rejection)
    assert lost.reason == "unavailable"
    assert note == ""


async def test_castvotes_signs_its_accepted_votes_once_in_the_order_of_the_results() -> None:
    log = Log(lost=[1])  # the second vote appended: "C"
    votes = [vote("A"), vote("B", year=1066), vote("C", voter_id="bob"), vote("D"), vote("E")]
    outcomes, note = await handler(log).cast_batch(votes, 1.0)
    response = to_results(outcomes, note)
    assert [r.WhichOneof("outcome") for r in response.results] == [
        "accepted",
        "rejected",  # invalid: never appended
        "rejected",  # appended, not confirmed
        "accepted",
        "accepted",
    ]
    assert response.receipt == note
    assert note.count("\n\u2014 ") == 1, "one signature for the batch"
    receipts = verify_receipts(note, KEY)
    accepted = [r.accepted for r in response.results if r.HasField("accepted")]
    assert len(receipts) == len(accepted) == 3
    by_id = {e.event_id: e for e in log.appended}
    for result, receipt in zip(accepted, receipts, strict=True):
        assert result.receipt == "", "the batch's receipt covers it"
        assert result.tracking_code == receipt.tracking_code.hex()
        assert result.tracking_code == board_code(by_id[result.event_id], result.offset)
        assert (receipt.partition, receipt.offset) == (result.partition, result.offset)
        assert receipt.origin == origin(result.partition)
        assert receipt.cast_at == NOON
        assert receipt.publish_by == NOON + BOUND
    assert [(r.partition, r.offset) for r in accepted] == [(0, 100), (2, 114), (0, 121)]
    with pytest.raises(SignatureError):
        verify_receipts(note, OTHER.verifier_key_text)


async def test_a_batch_without_an_accepted_vote_has_no_receipt() -> None:
    outcomes, note = await handler(Log(lost=[0])).cast_batch([vote(), vote(year=1066)], 1.0)
    assert all(isinstance(o, Rejection) for o in outcomes)
    assert note == ""
    assert to_results(outcomes, note).receipt == ""


async def test_without_the_board_replies_carry_no_receipt() -> None:
    plain = CastVoteHandler(Log(), "main", clock=lambda: NOON)
    outcome, note = await plain.cast_one(vote(), 1.0)
    assert isinstance(outcome, Accepted)
    assert outcome.receipt is None
    assert note == ""
    reply = to_reply(outcome, note)
    assert reply.tracking_code == ""
    assert reply.receipt == ""
    outcomes, note = await plain.cast_batch([vote(), vote()], 1.0)
    assert note == ""
    assert to_results(outcomes, note).results[0].accepted.tracking_code == ""


@pytest.mark.parametrize(
    ("origin_of", "bound"),
    [
        (origin, timedelta(0)),
        (origin, timedelta(microseconds=1500)),
        (lambda p: " boleta.test/board", BOUND),
        (lambda p: "", BOUND),
    ],
)
def test_a_receipt_no_one_could_check_stops_the_service_at_start(
    origin_of: Callable[[int], str], bound: timedelta
) -> None:
    with pytest.raises((ValueError, MalformedReceipt)):
        Receipts(PSEUDONYMS, origin_of, bound, BoardReceiptSigner(SIGNER))


def test_the_signer_adapter_shows_no_secret() -> None:
    adapter = BoardReceiptSigner(SIGNER)
    assert SIGNER.verifier_key_text in repr(adapter)
    assert SIGNER.signer_key_text().rsplit("+", 1)[1] not in repr(adapter)
