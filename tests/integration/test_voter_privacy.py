"""Nothing public names a voter (DESIGN.md, "Privacy"): votes cast with voter ids go through
Kafka (keyed as the command service keys them) to the tallies, audit and board workers;
then every route the query service serves is read, and no response, body or header,
carries a voter id. The public audit log shows each voter by the pseudonym their board
entries carry. The full records are the auditors': served with the auditor's token, 401
without it or with another, and then nothing of any record."""

from __future__ import annotations

import base64
import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Producer

from boleta.board_secrets import auditor_token, board_pseudonyms
from boleta.serve_projections import Model
from boleta.serve_queries import build_app
from boleta.settings import Settings
from commands.handler import new_event_id
from domain import vote_cast_codec
from domain.board import decode_bundle, decode_entry, leaf_hash
from domain.votes import VoteCast, event_key
from tests.integration.http_helpers import serving
from tests.integration.kafka_helpers import free_port
from tests.integration.projection_helpers import running_worker, wait_for

CATALOG = {"contests": [{"slug": "jury", "one_vote_per_voter": True}, {"slug": "main"}]}
PARTITIONS = 3
AUDIT = "/api/v1/audit/"
NOT_FOUND = {"/schema/{path:str}"}  # Litestar's answer to a schema path it does not serve
World = tuple[Settings, httpx.Client, list[VoteCast]]


def voter_ids() -> dict[str, str]:
    """Ids as identity systems hand them out: a phone number, an e-mail address, a
    membership number; fresh each run, so none can be in a response by chance."""
    tag = uuid.uuid4().hex[:10]
    return {
        "phone": f"55419{random.randrange(10**8):08d}",
        "email": f"ana.souza.{tag}@example.org",
        "member": f"member:{tag}-0042",
    }


def ballots(voters: dict[str, str]) -> list[VoteCast]:
    """Votes in both contests: each voter's, a later vote that the jury's rule supersedes,
    a vote naming no voter."""
    start = datetime.now(UTC) - timedelta(seconds=5)
    cast = [
        ("jury", voters["phone"], "Green Ridge"),
        ("jury", voters["email"], "Mayfield"),
        ("jury", voters["member"], "Green Ridge"),
        ("jury", voters["phone"], "Mayfield"),  # superseded: the phone's jury vote is cast
        ("main", voters["phone"], "Mayfield"),
        ("main", voters["email"], "Green Ridge"),
        ("main", "", "Green Ridge"),
    ]
    events = []
    for i, (contest, voter, band) in enumerate(cast):
        at = start + timedelta(milliseconds=10 * i)
        events.append(
            VoteCast(
                event_id=new_event_id(at),
                vote_id=str(uuid.uuid4()),
                contest=contest,
                band=band,
                album="Imbituva",
                year=2008,
                rank=1 + i,
                cast_at=at,
                voter_id=voter,
                one_vote_per_voter=contest == "jury",
            )
        )
    return events


def produce_keyed(settings: Settings, events: list[VoteCast]) -> None:
    """The events, keyed as the command service keys them (a voter's votes in one
    partition: domain.votes.event_key)."""
    codec = vote_cast_codec()
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "enable.idempotence": True})
    for event in events:
        producer.produce(
            settings.topic,
            key=event_key(event).encode(),
            value=codec.encode(event),
            headers=codec.headers,
        )
    assert producer.flush(30) == 0


def every_vote(http: httpx.Client, path: str, **headers: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = http.get(path, params=params, headers=headers)
        assert page.status_code == 200, page.text
        found += page.json()["votes"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return found


@pytest.fixture
def world(isolated: Settings, tmp_path: Path) -> Iterator[World]:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(CATALOG))
    settings = isolated.replace(
        partitions=PARTITIONS,
        query_port=free_port(),
        board_metrics_port=0,
        catalog_file=str(catalog),
    )
    events = ballots(voter_ids())
    produce_keyed(settings, events)
    with (
        running_worker(settings, Model.tallies),
        running_worker(settings, Model.audit),
        running_worker(settings, Model.board),
        serving(settings) as base,
        httpx.Client(base_url=base, timeout=30) as http,
    ):

        def caught_up() -> bool:
            listed = {v["vote_id"] for v in every_vote(http, "/api/v1/votes")}
            on_board = sum(log["size"] for log in http.get("/board").json()["logs"])
            totals = [
                http.get(f"/api/v1/contests/{c}/results").json()["total"] for c in ("jury", "main")
            ]
            return (listed, on_board, totals) == ({e.vote_id for e in events}, 7, [3, 3])

        wait_for(caught_up, 60, "the tallies, the audit log and the board")
        yield settings, http, events


def board_entries(http: httpx.Client) -> list[bytes]:
    entries = []
    for log in http.get("/board").json()["logs"]:
        if log["size"]:
            bundle = http.get(f"/board/p{log['partition']}/tile/entries/000.p/{log['size']}")
            entries += decode_bundle(bundle.content)
    return entries


def public_requests(http: httpx.Client, events: list[VoteCast]) -> dict[str, list[str]]:
    """For every route the query service may serve but the auditors', the requests that
    read it here, each with the data this test cast."""
    logs = [log for log in http.get("/board").json()["logs"] if log["size"]]
    codes = [leaf_hash(entry).hex() for entry in board_entries(http)]
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    contests = [c["slug"] for c in CATALOG["contests"]]
    return {
        "/api/v1/results": ["/api/v1/results"],
        "/api/v1/results/stream": ["/api/v1/results/stream"],
        "/api/v1/contests": ["/api/v1/contests"],
        "/api/v1/contests/{contest:str}/results": [
            *(f"/api/v1/contests/{c}/results" for c in contests),
            f"/api/v1/contests/jury/results?as_of={now}",
        ],
        "/api/v1/contests/{contest:str}/results/stream": [
            f"/api/v1/contests/{c}/results/stream" for c in contests
        ],
        "/api/v1/votes": [
            "/api/v1/votes?limit=200",
            *(f"/api/v1/votes?contest={c}" for c in contests),
            "/api/v1/votes?band=mayfield&year=2008",
        ],
        "/api/v1/votes/{vote_id:str}": [f"/api/v1/votes/{e.vote_id}" for e in events],
        "/healthz": ["/healthz"],
        "/readyz": ["/readyz"],
        "/metrics": ["/metrics"],
        "/board": ["/board"],
        "/board/{log:str}/checkpoint": [f"/board/p{log['partition']}/checkpoint" for log in logs],
        "/board/{log:str}/tile/{path:path}": [
            f"/board/p{log['partition']}/tile/{level}/000.p/{log['size']}"
            for log in logs
            for level in ("0", "entries")
        ],
        "/api/v1/receipts/{tracking_code:str}": [f"/api/v1/receipts/{c}" for c in codes],
        "/": ["/"],
        "/{file_path:path}": ["/index.html"],
        "/schema": ["/schema"],
        "/schema/swagger": ["/schema/swagger"],
        "/schema/oauth2-redirect.html": ["/schema/oauth2-redirect.html"],
        "/schema/openapi.json": ["/schema/openapi.json"],
        "/schema/{path:str}": ["/schema/openapi.yaml"],  # no such schema: 404 (NOT_FOUND)
    }


def read(http: httpx.Client, url: str) -> tuple[int, bytes, httpx.Headers]:
    """A response's status, body and headers; of a stream, up to its first event."""
    if not url.split("?", maxsplit=1)[0].endswith("/stream"):
        response = http.get(url)
        return response.status_code, response.content, response.headers
    with http.stream("GET", url) as stream:
        body = b""
        for line in stream.iter_lines():
            body += line.encode() + b"\n"
            if line.startswith("data:"):
                break
        return stream.status_code, body, stream.headers


def test_no_public_route_names_a_voter(world: World) -> None:
    settings, http, events = world
    ids = sorted({e.voter_id for e in events if e.voter_id})
    served = {route.path for route in build_app(settings).routes}
    requests = public_requests(http, events)
    public = {path for path in served if not path.startswith(AUDIT)}
    assert public <= set(requests), f"routes this test does not read: {public - set(requests)}"
    for path in sorted(public):
        assert requests[path], f"no request reads {path}"
        for url in requests[path]:
            status, body, headers = read(http, url)
            assert status == (404 if path in NOT_FOUND else 200), f"{url}: {status} {body[:300]!r}"
            sent = body + b"".join(name + b": " + value for name, value in headers.raw)
            shown = [v for v in ids if v.encode() in sent]
            assert not shown, f"{url} names voter(s) {shown}"


def test_the_public_audit_log_shows_each_voter_by_their_board_pseudonym(world: World) -> None:
    settings, http, events = world
    pseudonyms = board_pseudonyms(settings)
    expected = {
        e.vote_id: pseudonyms.voter(e.contest, e.voter_id) if e.voter_id else None for e in events
    }
    listed = every_vote(http, "/api/v1/votes")
    one_by_one = [http.get(f"/api/v1/votes/{e.vote_id}").json() for e in events]
    for vote in listed + one_by_one:
        assert "voter_id" not in vote
        assert vote["voter"] == expected[vote["vote_id"]]
    on_board = {decode_entry(entry).voter for entry in board_entries(http)}
    assert {p for p in expected.values() if p} <= on_board, "an audit record matches its entry"
    # One voter, one pseudonym per contest: the phone voter's jury votes share one, which is
    # not the one of their vote in main.
    phone = events[0].voter_id
    by_contest = {(e.contest, expected[e.vote_id]) for e in events if e.voter_id == phone}
    assert len(by_contest) == 2
    superseded = next(v for v in listed if v["vote_id"] == events[3].vote_id)
    assert superseded["superseded_by"] == events[0].vote_id


def test_auditors_see_the_full_records_with_their_token_and_only_with_it(world: World) -> None:
    settings, http, events = world
    token = auditor_token(settings)
    auth = {"Authorization": f"Bearer {token}"}
    cast = {e.vote_id: e.voter_id or None for e in events}
    records = every_vote(http, "/api/v1/audit/votes", **auth)
    assert {r["vote_id"]: r["voter_id"] for r in records} == cast
    assert all("voter" not in r for r in records)
    for event in events:
        for scheme in ("Bearer", "bearer"):
            one = http.get(
                f"/api/v1/audit/votes/{event.vote_id}",
                headers={"Authorization": f"{scheme} {token}"},
            )
            assert one.status_code == 200, one.text
            assert (one.json()["voter_id"], one.json()["band"]) == (cast[event.vote_id], event.band)
    jury = http.get("/api/v1/audit/votes", params={"contest": "jury", "limit": "200"}, headers=auth)
    assert {v["vote_id"] for v in jury.json()["votes"]} == {
        e.vote_id for e in events if e.contest == "jury"
    }

    wrong = "x" * len(token)
    assert token.swapcase() != token
    refused = [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": f"Bearer {wrong}"},
        {"Authorization": f"Bearer {token[:-1]}"},
        {"Authorization": f"Bearer {token}x"},
        {"Authorization": f"Bearer {token.swapcase()}"},
        {"Authorization": token},
        {"Authorization": f"Token {token}"},
        {"Authorization": "Basic " + base64.b64encode(f"auditor:{token}".encode()).decode()},
    ]
    urls = [
        "/api/v1/audit/votes",
        "/api/v1/audit/votes?contest=jury&limit=200",
        "/api/v1/audit/votes?limit=0",  # refused input: still 401, not 400
        f"/api/v1/audit/votes/{events[0].vote_id}",
        "/api/v1/audit/votes/not-a-uuid",
    ]
    ids = {e.voter_id for e in events if e.voter_id}
    for headers in refused:
        for url in urls:
            answer = http.get(url, headers=headers)
            assert answer.status_code == 401, (url, headers, answer.text)
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")
            body = answer.json()
            assert set(body) == {"status_code", "detail"}
            assert body["status_code"] == 401
            assert "Bearer" in body["detail"] or "auditor" in body["detail"]
            assert not [v for v in ids if v in answer.text], url
            assert not [e.vote_id for e in events if e.vote_id in body["detail"]], url
