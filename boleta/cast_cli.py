"""``boleta cast``: one vote, or a file of votes with a progress bar and a summary; each
accepted vote's tracking code printed, and with ``--receipts FILE`` the service's signed
receipts appended to FILE.

The receipts file (what ``boleta receipt check FILE`` reads) is JSON Lines: UTF-8, one JSON
object per line, one line per reply that accepted votes, written as the reply arrives::

    {"receipt": "<signed note>", "vote_ids": ["<vote_id>", ...]}

- ``receipt``: the reply's receipt exactly as the service sent it (``CastVoteResponse.receipt``
  for one vote, ``CastVotesResponse.receipt`` for a batch): a C2SP signed note whose text is
  a ``boleta receipt v1`` statement (one vote) or a ``boleta receipts v1`` statement (a
  batch's accepted votes), layouts in ``domain/board/receipt.py``; verify it with the
  board's verifier key (``GET /board``) by ``boleta.board_keys.verify_receipt`` or
  ``verify_receipts``.
- ``vote_ids``: the vote_id of each vote the note covers, in the note's order (not signed:
  it names the votes for their voter).

A reader ignores members it does not know. The file is appended to (created when missing).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from boleta.client import CastSummary, cast_batches, channel, to_proto
from boleta.votefile import SeedVote, VoteFileError, read_votes
from proto.boleta.v1 import voting_pb2, voting_pb2_grpc


class ReceiptFile:
    """Appends receipts to a receipts file (format: the module's docstring), each line
    flushed as written, so votes acknowledged before an interruption keep theirs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._out = path.open("a", encoding="utf-8")
        self.missing = 0  # accepted votes whose reply carried no receipt

    def write(self, receipt: str, vote_ids: Sequence[str]) -> None:
        if not receipt:
            self.missing += len(vote_ids)
            return
        self._out.write(json.dumps({"receipt": receipt, "vote_ids": list(vote_ids)}) + "\n")
        self._out.flush()

    def close(self, console: Console) -> None:
        self._out.close()
        if self.missing:
            console.print(
                f"[yellow]warning:[/] the service sent no receipt for {self.missing} accepted "
                f"vote(s) (a service without the board); {self.path} does not have them"
            )


def open_receipts(path: Path, console: Console) -> ReceiptFile | None:
    """The receipts file, opened before any vote is cast; None (and the reason printed)
    when it cannot be."""
    try:
        return ReceiptFile(path)
    except OSError as exc:
        console.print(f"[red]error:[/] --receipts {path}: {exc.strerror}")
        return None


def cast_one(
    target: str,
    token: str,
    console: Console,
    tls_roots: bytes | None = None,
    receipts: Path | None = None,
    **fields: str,
) -> int:
    """Cast one vote; print where it is and its tracking code, and append its receipt to
    ``receipts`` when given."""
    vote = to_proto(
        SeedVote(
            name=fields["band"],
            album=fields["album"],
            year=fields["year"],
            rank=fields["rank"],
            vote_id=fields["vote_id"],
            contest=fields["contest"],
            voter_id=fields["voter_id"],
        )
    )

    async def call() -> voting_pb2.CastVoteResponse:
        async with channel(target, token, tls_roots) as chan:
            stub = voting_pb2_grpc.VotingServiceStub(chan)
            reply: voting_pb2.CastVoteResponse = await stub.CastVote(
                voting_pb2.CastVoteRequest(vote=vote), timeout=15
            )
            return reply

    written = open_receipts(receipts, console) if receipts is not None else None
    if receipts is not None and written is None:
        return 2
    try:
        reply = asyncio.run(call())
        if written is not None:
            written.write(reply.receipt, [reply.vote_id])
    except grpc.aio.AioRpcError as exc:
        console.print(f"[red]rejected[/] {exc.code().name}: {exc.details()}")
        status = rpc_status.from_call(exc)
        for detail in status.details if status else ():
            bad = error_details_pb2.BadRequest()
            if detail.Unpack(bad):
                for v in bad.field_violations:
                    console.print(f"  {v.field}: {v.description}")
        return 1
    finally:
        if written is not None:
            written.close(console)
    console.print(
        f"[green]accepted[/] vote_id={reply.vote_id} event_id={reply.event_id} "
        f"partition={reply.partition} offset={reply.offset} "
        f"tracking_code={reply.tracking_code or '-'}",
        soft_wrap=True,  # a code is copied or piped whole
    )
    return 0


def cast_file(
    path: Path,
    target: str,
    token: str,
    batch_size: int,
    console: Console,
    tls_roots: bytes | None = None,
    receipts: Path | None = None,
) -> int:
    """Cast a file's votes; print each accepted vote's ``vote_id tracking_code`` as its
    reply arrives, and append the replies' receipts to ``receipts`` when given."""
    try:
        votes = [to_proto(v) for v in read_votes(path)]
    except VoteFileError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    written = open_receipts(receipts, console) if receipts is not None else None
    if receipts is not None and written is None:
        return 2

    async def run(progress: Progress) -> CastSummary:
        task = progress.add_task("casting", total=len(votes))

        def accepted(replies: list[voting_pb2.CastVoteResponse], receipt: str) -> None:
            if written is not None:
                written.write(receipt, [reply.vote_id for reply in replies])
            for reply in replies:
                line = f"{reply.vote_id} {reply.tracking_code or '-'}"
                progress.console.print(line, soft_wrap=True, highlight=False)

        async with channel(target, token, tls_roots) as chan:
            stub = voting_pb2_grpc.VotingServiceStub(chan)
            return await cast_batches(
                stub,
                votes,
                batch_size,
                on_progress=lambda n: progress.advance(task, n),
                on_accepted=accepted,
            )

    columns = (
        *Progress.get_default_columns()[:1],
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            summary = asyncio.run(run(progress))
    except grpc.aio.AioRpcError as exc:
        console.print(f"[red]error:[/] {exc.code().name}: {exc.details()}")
        return 1
    finally:
        if written is not None:
            written.close(console)
    print_summary(summary, console)
    return 1 if summary.total_rejected else 0


def print_summary(summary: CastSummary, console: Console) -> None:
    table = Table("outcome", "votes", "example")
    table.add_row("[green]accepted[/]", str(summary.accepted), "")
    for reason, count in sorted(summary.rejected.items()):
        table.add_row(f"[red]{reason}[/]", str(count), summary.examples.get(reason, ""))
    if summary.retries:
        table.add_row("retried", str(summary.retries), "same vote_id, after UNAVAILABLE")
    console.print(table)
