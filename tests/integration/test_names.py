"""One name per band and album, end to end: spellings cast over gRPC as a new user would
type them are counted as one band in Redis, per contest, shown as first cast in an open
contest and as the catalog spells it in a strict one, by the query API (live and as of a
moment), found by the votes filter, kept by a rebuild, and `boleta verify` is exact
(domain.names, ADR 0007)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import grpc
import httpx
import redis
from rich.console import Console

from boleta import ops, serve_commands
from boleta.serve_projections import Model
from boleta.settings import Settings
from domain.projection import Delivered
from domain.readmodel import album_field
from domain.votes import VoteCast
from projections.redis_sink import RedisTallies
from proto.boleta.v1 import voting_pb2, voting_pb2_grpc
from tests.integration.http_helpers import serving
from tests.integration.kafka_helpers import free_port
from tests.integration.projection_helpers import running_worker, wait_for
from tests.unit.test_names import full_width

QUIET = Console(quiet=True)
FULL_WIDTH = full_width("Mayfield")  # what an East Asian keyboard types
STRICT = "strict-poll"
# In casting order: the first spelling of each name is the one shown in the open contest.
VOTES = [
    (FULL_WIDTH, "Kid A"),
    ("MAYFIELD", "KID A"),
    ("Mayfield  ", "kid  a"),
    ("mayfield", full_width("Kid A")),
    ("Mayﬁeld", "Amnesiac"),  # a ligature pasted from a PDF
    ("Green Ridge", "Imbituva"),
    ("GREEN  RIDGE", "imbituva"),
    ("Mayfeld", "Kid A"),  # another name: one letter differs
]
# Into the strict contest, whose catalog spells the band "Mayfield" and the album "Kid A".
STRICT_VOTES = [("MAYFIELD", "kid  a"), (FULL_WIDTH, "KID A")]


def catalog(path: Path) -> Path:
    strict = {"slug": STRICT, "strict": True, "bands": [{"name": "Mayfield", "albums": ["Kid A"]}]}
    path.write_text(json.dumps({"contests": [{"slug": "main"}, strict]}))
    return path


async def cast_in_order(settings: Settings) -> list[str]:
    """Cast VOTES one at a time (unary, as a new user would); their event ids."""
    stop = asyncio.Event()
    server = asyncio.create_task(serve_commands.serve(settings, stop))
    event_ids = []
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{settings.command_port}") as channel:
            await asyncio.wait_for(channel.channel_ready(), 10)
            stub = voting_pb2_grpc.VotingServiceStub(channel)
            for contest, band, album in [("", *v) for v in VOTES] + [
                (STRICT, *v) for v in STRICT_VOTES
            ]:
                vote = voting_pb2.Vote(
                    band=band, album=album, year="2000", rank="1", contest=contest
                )
                reply = await stub.CastVote(voting_pb2.CastVoteRequest(vote=vote))
                event_ids.append(reply.event_id)
                await asyncio.sleep(0.005)  # the next vote's UUIDv7 is in a later millisecond
    finally:
        stop.set()
        await server
    return event_ids


def tallies(settings: Settings) -> RedisTallies:
    return RedisTallies(redis.Redis.from_url(settings.redis_url), tag=settings.tallies_tag)


async def test_spelling_variants_are_one_band_from_cast_to_rebuild(
    isolated: Settings, tmp_path: Path
) -> None:
    settings = isolated.replace(
        command_port=free_port(),
        query_port=free_port(),
        catalog_file=str(catalog(tmp_path / "catalog.json")),
    )
    event_ids = await cast_in_order(settings)
    assert event_ids == sorted(event_ids), "cast one after another: event ids ascend"

    def caught_up() -> bool:
        return tallies(settings).snapshot()["total"] == len(VOTES) + len(STRICT_VOTES)

    with running_worker(settings, Model.tallies), running_worker(settings, Model.audit):
        await asyncio.to_thread(wait_for, caught_up, 60, "the tallies")
        whole = tallies(settings).snapshot()
        live = whole["contests"]["main"]
        strict = whole["contests"][STRICT]
        # Names are per contest: the strict contest shows its catalog's spelling.
        assert strict["bands"] == {"mayfield": 2}
        kid_a = album_field("mayfield", "kid a")
        assert strict["names"] == {"mayfield": "Mayfield", kid_a: "Kid A"}
        assert live["bands"] == {"mayfield": 5, "green ridge": 2, "mayfeld": 1}
        assert live["albums"] == {
            album_field("mayfield", "kid a"): 4,
            album_field("mayfield", "amnesiac"): 1,
            album_field("green ridge", "imbituva"): 2,
            album_field("mayfeld", "kid a"): 1,
        }
        assert live["names"]["mayfield"] == FULL_WIDTH  # the first spelling cast
        assert live["names"][album_field("mayfield", "kid a")] == "Kid A"
        assert live["names"]["green ridge"] == "Green Ridge"

        with serving(settings) as base:
            body = (await asyncio.to_thread(httpx.get, f"{base}/api/v1/results")).json()
            shown = {b["band"]: b["votes"] for b in body["bands"]}
            assert shown == {FULL_WIDTH: 5, "Green Ridge": 2, "Mayfeld": 1}
            albums = {
                (b["band"], a["album"]): a["votes"] for b in body["bands"] for a in b["albums"]
            }
            assert albums == {
                (FULL_WIDTH, "Kid A"): 4,
                (FULL_WIDTH, "Amnesiac"): 1,
                ("Green Ridge", "Imbituva"): 2,
                ("Mayfeld", "Kid A"): 1,
            }

            def votes(**params: str) -> list[dict[str, str]]:
                page = httpx.get(f"{base}/api/v1/votes", params=params, timeout=10)
                return list(page.json()["votes"])

            cast = len(VOTES) + len(STRICT_VOTES)
            await asyncio.to_thread(wait_for, lambda: len(votes()) == cast, 60, "audit")
            # The audit log keeps each vote's spelling (as validated: trimmed, collapsed);
            # the band filter finds every spelling of the name.
            found = await asyncio.to_thread(votes, band="MAYFIELD", contest="main")
            assert sorted(v["band"] for v in found) == sorted(
                " ".join(band.split()) for band, _ in VOTES[:5]
            )

            # Results as of now replay the log with the same law: the same names.
            moment = datetime.now(UTC).isoformat()
            for contest, expected in (("main", shown), (STRICT, {"Mayfield": 2})):
                url = f"{base}/api/v1/contests/{contest}/results"
                page = await asyncio.to_thread(httpx.get, url, params={"as_of": moment}, timeout=30)
                assert {b["band"]: b["votes"] for b in page.json()["bands"]} == expected

        report = await asyncio.to_thread(ops.verify, settings, QUIET, 30)
        assert report.ok, report.differences

        await asyncio.to_thread(ops.run_rebuild, settings, Model.tallies, QUIET)
        rebuilt = tallies(settings).snapshot()
    assert rebuilt["contests"]["main"]["bands"] == live["bands"]
    assert rebuilt["contests"]["main"]["names"] == live["names"]
    assert rebuilt["contests"][STRICT]["names"] == strict["names"]
    assert rebuilt == whole


def test_a_batch_shows_the_spelling_of_its_least_event_id_whatever_the_log_order(
    settings: Settings, unique: str
) -> None:
    """Within one script call each spelling's least event_id is found first, then the
    least of those (tallies.lua, by the packed ranks); across calls the stored one is
    compared (named_by). The log order is not the event_id order here."""
    at = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    client = redis.Redis.from_url(settings.redis_url)
    tallies = RedisTallies(client, tag=f"{{{unique}}}")
    offset = 0

    def apply(*votes: tuple[str, str]) -> str:
        nonlocal offset
        batch = []
        for band, event_id in votes:
            vote = VoteCast(
                event_id=event_id,
                vote_id=f"v-{event_id}",
                contest="main",
                band=band,
                album="Kid A",
                year=2000,
                rank=1,
                cast_at=at,
            )
            batch.append(Delivered(0, offset, vote))
            offset += 1
        assert tallies.apply(batch) == len(votes)
        return str(tallies.snapshot()["contests"]["main"]["names"]["mayfield"])

    try:
        tallies.positions()
        assert apply(("Mayfield", "e5"), ("MAYFIELD", "e9"), ("MAYFIELD", "e3")) == "MAYFIELD"
        assert apply(("Mayfield", "e4"), ("mayfield", "e1"), ("mayfield", "e8")) == "mayfield"
        assert apply(("MAYFIELD", "e2"), ("Mayfield", "e0")) == "Mayfield"
        assert apply(("MAYFIELD", "e10")) == "Mayfield"  # "e0" < "e10": bytewise order
        assert tallies.snapshot()["contests"]["main"]["bands"] == {"mayfield": 9}
    finally:
        tallies.drop()
        client.close()
