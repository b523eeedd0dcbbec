"""`boleta verify` checks the names too: counts per key and the spelling shown per key, in
each contest (projections/verify.py against domain.projection.TallyView)."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.projection import Delivered, TallyView, audit_document
from domain.readmodel import album_field
from domain.votes import VoteCast
from projections.verify import Report, check_audit, check_tallies

AT = datetime(2025, 6, 1, tzinfo=UTC)


def vote(event_id: str, vote_id: str, band: str, album: str, contest: str = "main") -> VoteCast:
    return VoteCast(
        event_id=event_id,
        vote_id=vote_id,
        contest=contest,
        band=band,
        album=album,
        year=2000,
        rank=1,
        cast_at=AT,
    )


LOG = [
    Delivered(0, 0, vote("e2", "v1", "MAYFIELD", "Kid A")),
    Delivered(1, 0, vote("e1", "v2", "Ｍａｙｆｉｅｌｄ", "kid a")),
    Delivered(1, 1, vote("e3", "v3", "Mayfield", "KID A")),
    Delivered(1, 2, vote("e4", "v4", "mayfield", "Kid A", "strict")),
]


def view() -> TallyView:
    folded = TallyView()
    folded.apply(LOG)
    return folded


def test_a_model_equal_to_the_log_passes() -> None:
    report = Report()
    check_tallies(view(), view().summary(), report)
    assert report.ok, report.differences


def test_another_spelling_shown_is_a_difference() -> None:
    snapshot = view().summary()
    names = snapshot["contests"]["main"]["names"]
    assert names["mayfield"] == "Ｍａｙｆｉｅｌｄ"  # the least event_id
    assert snapshot["contests"]["strict"]["names"]["mayfield"] == "mayfield"  # its own first
    names["mayfield"] = "MAYFIELD"
    report = Report()
    check_tallies(view(), snapshot, report)
    assert report.differences == [
        "main: tallies name 'mayfield': log says 'Ｍａｙｆｉｅｌｄ', model has 'MAYFIELD'"
    ]


def test_the_audit_log_counts_its_spellings_under_their_keys() -> None:
    documents = [audit_document(item) for item in LOG]
    report = Report()
    bands = check_audit(view(), documents, {0: 0, 1: 2}, report)
    assert report.ok, report.differences
    assert bands == {"main": {"mayfield": 3}, "strict": {"mayfield": 1}}
    assert view().contests["main"].albums == {album_field("mayfield", "kid a"): 3}
