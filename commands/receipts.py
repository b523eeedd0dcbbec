"""What the command service promises for each accepted vote (ADR 8, domain/board/receipt.py).

A vote's receipt names its board entry by its tracking code, the RFC 6962 leaf hash of the
entry built from the event and the offset Kafka gave it, exactly as the board worker
builds it from the same event read at the same offset (projections/board_sink.py): the
code is the leaf the board will hold. The receipt promises that leaf in a signed
checkpoint of the partition's tree within the service's stated bound of the vote's
cast_at; the signer port signs it (one signature per call: one vote for ``CastVote``,
the whole batch for ``CastVotes``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from commands.ports import ReceiptSigner
from domain import VoteCast
from domain.board import (
    HASH_SIZE,
    Pseudonyms,
    Receipt,
    board_entry,
    receipt_for,
    receipt_text,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Receipts:
    """Receipts of accepted votes, and their signed notes."""

    def __init__(
        self,
        pseudonyms: Pseudonyms,
        origin: Callable[[int], str],
        bound: timedelta,
        signer: ReceiptSigner,
    ) -> None:
        self._pseudonyms = pseudonyms
        self._origin = origin
        self._origins: dict[int, str] = {}
        self._bound = bound
        self._signer = signer
        # A bound or an origin that no receipt can carry stops the service at start, not
        # after a vote is in the log: write one receipt now (ValueError if unusable).
        if bound <= timedelta(0) or bound % timedelta(milliseconds=1):
            raise ValueError(f"a receipt's bound is a positive whole number of ms: {bound}")
        receipt_text(
            Receipt(
                origin=origin(0),
                partition=0,
                offset=0,
                tracking_code=bytes(HASH_SIZE),
                cast_at=_EPOCH,
                publish_by=_EPOCH + bound,
            )
        )

    def receipt(self, event: VoteCast, partition: int, offset: int) -> Receipt:
        """The receipt of ``event``, which the log holds at ``offset`` of ``partition``."""
        origin = self._origins.get(partition)
        if origin is None:
            origin = self._origins[partition] = self._origin(partition)
        entry = board_entry(event, offset, self._pseudonyms)
        return receipt_for(entry, origin=origin, partition=partition, bound=self._bound)

    def sign(self, receipt: Receipt) -> str:
        """One vote's receipt as a signed note."""
        return self._signer.sign_receipt(receipt)

    def sign_batch(self, receipts: Sequence[Receipt]) -> str:
        """One signed note over the receipts of one call's accepted votes, in their order;
        "" when there is none."""
        return self._signer.sign_receipts(receipts) if receipts else ""
