"""``boleta cast``: one vote, or a file of votes with a progress bar and a summary."""

from __future__ import annotations

import asyncio
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


def cast_one(
    target: str, token: str, console: Console, tls_roots: bytes | None = None, **fields: str
) -> int:
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

    try:
        reply = asyncio.run(call())
    except grpc.aio.AioRpcError as exc:
        console.print(f"[red]rejected[/] {exc.code().name}: {exc.details()}")
        status = rpc_status.from_call(exc)
        for detail in status.details if status else ():
            bad = error_details_pb2.BadRequest()
            if detail.Unpack(bad):
                for v in bad.field_violations:
                    console.print(f"  {v.field}: {v.description}")
        return 1
    console.print(
        f"[green]accepted[/] vote_id={reply.vote_id} event_id={reply.event_id} "
        f"partition={reply.partition} offset={reply.offset}"
    )
    return 0


def cast_file(
    path: Path,
    target: str,
    token: str,
    batch_size: int,
    console: Console,
    tls_roots: bytes | None = None,
) -> int:
    try:
        votes = [to_proto(v) for v in read_votes(path)]
    except VoteFileError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2

    async def run(progress: Progress) -> CastSummary:
        task = progress.add_task("casting", total=len(votes))
        async with channel(target, token, tls_roots) as chan:
            stub = voting_pb2_grpc.VotingServiceStub(chan)
            return await cast_batches(
                stub, votes, batch_size, on_progress=lambda n: progress.advance(task, n)
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
