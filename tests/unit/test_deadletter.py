"""A dead letter's headers name its source and its worker, whatever the poison carried:
what a restarted worker reads back to know what it has dead-lettered already."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from projections.deadletter import (
    OFFSET,
    PARTITION,
    REASON,
    TOPIC,
    WORKER,
    dead_letter_headers,
    sent_by,
)

names = st.sampled_from([REASON, WORKER, TOPIC, PARTITION, OFFSET, "event_type"]) | st.text()
header_values = st.binary(max_size=20) | st.sampled_from([b"boleta-audit", b"-1", b"x"])
# The poison's own headers may be anything, ours included (a hostile producer).
hostile_headers = st.lists(st.tuples(names, header_values), max_size=6)
sources = st.tuples(st.text(min_size=1), st.integers(0, 2**31 - 1), st.integers(0, 2**62))
workers = st.sampled_from(["boleta-tallies", "boleta-audit", "x-tallies"])


@given(original=hostile_headers, reason=st.text(), source=sources, worker=workers)
def test_a_dead_letter_names_its_source_and_worker(
    original: list[tuple[str, bytes]], reason: str, source: tuple[str, int, int], worker: str
) -> None:
    headers = dead_letter_headers(original, reason, source, worker)
    assert sent_by(headers, worker) == source
    assert sent_by(headers, worker + "-other") is None
    assert dict(headers)[REASON] == reason.encode()


@given(headers=st.none() | st.lists(st.tuples(names, st.none() | header_values), max_size=8))
def test_anything_else_on_the_topic_is_nobodys_dead_letter_or_a_well_formed_one(
    headers: list[tuple[str, bytes | None]] | None,
) -> None:
    found = sent_by(headers, "boleta-audit")
    if found is not None:  # only with every header present and well formed
        last = dict(headers or [])
        assert last[WORKER] == b"boleta-audit"
        assert found == (last[TOPIC].decode(), int(last[PARTITION]), int(last[OFFSET]))  # type: ignore[union-attr, arg-type]


def test_sent_by_rejects_partial_or_malformed_sources() -> None:
    full = dead_letter_headers([], "r", ("votes", 2, 41), "boleta-audit")
    assert sent_by(full, "boleta-audit") == ("votes", 2, 41)
    for missing in (TOPIC, PARTITION, OFFSET, WORKER):
        assert sent_by([h for h in full if h[0] != missing], "boleta-audit") is None
    assert sent_by([*full, (OFFSET, b"forty-one")], "boleta-audit") is None
    assert sent_by([*full, (OFFSET, None)], "boleta-audit") is None
    assert sent_by(None, "boleta-audit") is None
