"""The VoteCast codec: round trips, upcasting of older schema versions, and refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain.codec import HEADER_TYPE, HEADER_VERSION, EventCodec, UndecodableEvent, vote_cast_codec
from domain.decide import DecisionContext, decide
from domain.ids import uuid7
from domain.votes import EVENT_TYPE, SCHEMA_VERSION, VoteCast, to_millisecond
from tests.unit.strategies import Case, context_kwargs, fewer_examples, valid_cases

V1 = vote_cast_codec()
V1_HEADERS: dict[str, bytes] = dict(V1.headers)


def headers(version: bytes | str, event_type: bytes = EVENT_TYPE.encode()) -> dict[str, bytes]:
    version = version if isinstance(version, bytes) else version.encode()
    return {HEADER_TYPE: event_type, HEADER_VERSION: version}


@st.composite
def vote_casts(draw: st.DrawFn) -> VoteCast:
    """Events as decide makes them, with a UUIDv7 event id and a microsecond UTC clock."""
    case: Case = draw(valid_cases())
    event_id = uuid7(int(case.now.timestamp() * 1000), draw(st.binary(min_size=10, max_size=10)))
    context = DecisionContext(**{**context_kwargs(case.now), "event_id": event_id})
    event = decide(case.command, context)
    assert isinstance(event, VoteCast)
    return event


SAMPLE = VoteCast(
    event_id="01890a5d-ac96-774b-bcce-b302099a8057",
    vote_id="5f0c6d1e-8a1b-4c39-9d0e-2f4a6b8c0d1e",
    contest="main",
    band="Sigur Rós",
    album="Ágætis byrjun",
    year=1999,
    rank=1,
    cast_at=datetime(2025, 6, 1, 12, 0, 0, 123000, tzinfo=UTC),
)


# ---------------------------------------------------------------- round trips


@given(vote_casts())
def test_every_decided_event_round_trips(event: VoteCast) -> None:
    decoded = V1.decode(V1.encode(event), dict(V1.headers))
    assert decoded == event
    assert decoded.cast_at.utcoffset() == event.cast_at.utcoffset()
    assert decoded.cast_at.microsecond == event.cast_at.microsecond


def test_headers_name_the_type_and_version() -> None:
    assert V1.headers == [("event_type", b"VoteCast"), ("schema_version", b"1")]
    assert SCHEMA_VERSION == 1


def test_the_wire_format_is_stable() -> None:
    # Events already in the log were written like this; renaming a field breaks them.
    assert V1.encode(SAMPLE) == (
        b'{"event_id":"01890a5d-ac96-774b-bcce-b302099a8057",'
        b'"vote_id":"5f0c6d1e-8a1b-4c39-9d0e-2f4a6b8c0d1e","contest":"main",'
        b'"band":"Sigur R\xc3\xb3s","album":"\xc3\x81g\xc3\xa6tis byrjun","year":1999,"rank":1,'
        b'"cast_at":"2025-06-01T12:00:00.123000Z"}'
    )
    assert V1.decode(V1.encode(SAMPLE), V1_HEADERS) == SAMPLE


def test_an_event_stamped_finer_than_a_millisecond_is_read_rounded_down() -> None:
    # Command services stamped microseconds before cast_at got millisecond precision; the
    # audit log (BSON dates) could keep only the milliseconds, so a time filter's edge
    # inside that millisecond put the vote on different sides in different read paths.
    older = V1.encode(SAMPLE).replace(b".123000Z", b".123999Z")
    assert older != V1.encode(SAMPLE)
    assert V1.decode(older, V1_HEADERS) == SAMPLE


@given(st.datetimes(timezones=st.just(UTC)))
def test_a_cast_at_has_millisecond_precision(moment: datetime) -> None:
    event = msgspec.structs.replace(SAMPLE, cast_at=moment)
    assert event.cast_at.microsecond % 1000 == 0
    assert timedelta(0) <= moment - event.cast_at < timedelta(milliseconds=1)
    assert to_millisecond(moment) == event.cast_at
    assert V1.decode(V1.encode(event), V1_HEADERS) == event


def test_unknown_fields_are_ignored() -> None:
    payload = msgspec.json.decode(V1.encode(SAMPLE))
    value = msgspec.json.encode({**payload, "added_later": [1, 2]})
    assert V1.decode(value, V1_HEADERS) == SAMPLE


# ---------------------------------------------------------------- upcasters


class VoteCastV2(msgspec.Struct, frozen=True, kw_only=True):
    """A possible next schema: ``band`` renamed to ``artist``, a new ``weight``."""

    event_id: str
    vote_id: str
    contest: str
    artist: str
    album: str
    year: int
    rank: int
    cast_at: datetime
    weight: int


class VoteCastV3(VoteCastV2, frozen=True, kw_only=True):
    source: str


def v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    upcast = dict(payload)
    upcast["artist"] = upcast.pop("band")
    upcast["weight"] = 1
    return upcast


def v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "weight": payload["weight"] * 10, "source": "legacy"}


def v2_codec() -> EventCodec[VoteCastV2]:
    codec = EventCodec(EVENT_TYPE, VoteCastV2, 2)
    codec.register_upcaster(1, v1_to_v2)
    return codec


def as_v2(event: VoteCast, weight: int = 1) -> VoteCastV2:
    fields = msgspec.structs.asdict(event)
    fields["artist"] = fields.pop("band")
    del fields["voter_id"], fields["one_vote_per_voter"]  # this made-up v2 predates them
    return VoteCastV2(**fields, weight=weight)


@fewer_examples
@given(vote_casts())
def test_a_v1_event_decodes_through_the_v2_codec(event: VoteCast) -> None:
    decoded = v2_codec().decode(V1.encode(event), dict(V1.headers))
    assert decoded == as_v2(event)


@given(st.integers(-(2**63), 2**63 - 1))
def test_the_v2_codec_reads_its_own_version_directly(weight: int) -> None:
    codec = v2_codec()
    assert codec.headers == [("event_type", b"VoteCast"), ("schema_version", b"2")]
    v2 = as_v2(SAMPLE, weight)
    assert codec.decode(codec.encode(v2), dict(codec.headers)) == v2


def test_upcasters_run_in_order_across_several_versions() -> None:
    codec = EventCodec(EVENT_TYPE, VoteCastV3, 3, upcasters={1: v1_to_v2, 2: v2_to_v3})
    from_v1 = codec.decode(V1.encode(SAMPLE), V1_HEADERS)
    assert from_v1 == VoteCastV3(**msgspec.structs.asdict(as_v2(SAMPLE, 10)), source="legacy")
    from_v2 = codec.decode(v2_codec().encode(as_v2(SAMPLE, 4)), headers("2"))
    assert (from_v2.weight, from_v2.source) == (40, "legacy")


@pytest.mark.parametrize(
    ("upcasters", "missing"), [({2: v2_to_v3}, 1), ({1: v1_to_v2}, 2), ({}, 1)]
)
def test_a_gap_in_the_upcaster_chain_is_undecodable(
    upcasters: dict[int, Any], missing: int
) -> None:
    codec = EventCodec(EVENT_TYPE, VoteCastV3, 3, upcasters=upcasters)
    with pytest.raises(UndecodableEvent) as caught:
        codec.decode(V1.encode(SAMPLE), V1_HEADERS)
    assert caught.value.reason == f"no upcaster from schema version {missing}"


def test_a_newer_version_than_the_reader_is_undecodable() -> None:
    value = v2_codec().encode(as_v2(SAMPLE))
    with pytest.raises(UndecodableEvent, match="schema version 2 is not readable"):
        V1.decode(value, headers("2"))


@pytest.mark.parametrize(
    ("value", "reason"),
    [(b"[]", "invalid VoteCast v1"), (b"{", "malformed VoteCast v1")],
)
def test_an_old_payload_that_is_not_an_object_is_undecodable(value: bytes, reason: str) -> None:
    with pytest.raises(UndecodableEvent, match=reason):
        v2_codec().decode(value, V1_HEADERS)


@pytest.mark.parametrize(
    "value",
    [
        b"{}",  # the upcaster finds no band
        b'{"band": "x"}',  # the upcast event lacks fields
        b'{"band": 1, "album": "a"}',
    ],
)
def test_an_old_payload_that_the_upcasters_cannot_handle_is_undecodable(value: bytes) -> None:
    with pytest.raises(UndecodableEvent) as caught:
        v2_codec().decode(value, V1_HEADERS)
    assert caught.value.reason


# ---------------------------------------------------------------- refusals


def _with(**changes: object) -> bytes:
    return msgspec.json.encode({**msgspec.json.decode(V1.encode(SAMPLE)), **changes})


@pytest.mark.parametrize(
    ("value", "hdrs", "reason"),
    [
        (V1.encode(SAMPLE), headers("1", b"VoteRevoked"), "unknown event type 'VoteRevoked'"),
        (V1.encode(SAMPLE), {HEADER_VERSION: b"1"}, "unknown event type ''"),
        (V1.encode(SAMPLE), {HEADER_TYPE: b"VoteCast"}, "missing or malformed schema_version"),
        (V1.encode(SAMPLE), headers(b""), "missing or malformed schema_version"),
        (V1.encode(SAMPLE), headers(b"one"), "missing or malformed schema_version"),
        (V1.encode(SAMPLE), headers(b"1.0"), "missing or malformed schema_version"),
        (V1.encode(SAMPLE), headers(b"\xff"), "missing or malformed schema_version"),
        (V1.encode(SAMPLE), headers("0"), "schema version 0 is not readable"),
        (V1.encode(SAMPLE), headers("-1"), "schema version -1 is not readable"),
        (V1.encode(SAMPLE), headers("99"), "schema version 99 is not readable"),
        (None, V1_HEADERS, "empty message value"),
        (b"", V1_HEADERS, "malformed VoteCast v1"),
        (b"not json", V1_HEADERS, "malformed VoteCast v1"),
        (b'{"event_id": }', V1_HEADERS, "malformed VoteCast v1"),
        (V1.encode(SAMPLE)[:-1], V1_HEADERS, "malformed VoteCast v1"),
        (b"[]", V1_HEADERS, "invalid VoteCast v1"),
        (b"null", V1_HEADERS, "invalid VoteCast v1"),
        (_with(year="1999"), V1_HEADERS, r"invalid VoteCast v1: .*\$\.year"),
        (_with(rank=None), V1_HEADERS, r"invalid VoteCast v1: .*\$\.rank"),
        (_with(band=["Sigur Rós"]), V1_HEADERS, r"invalid VoteCast v1: .*\$\.band"),
        (_with(cast_at="yesterday"), V1_HEADERS, r"invalid VoteCast v1: .*\$\.cast_at"),
        (_with(year=1.5), V1_HEADERS, r"invalid VoteCast v1: .*\$\.year"),
        (b'{"event_id": "x"}', V1_HEADERS, "invalid VoteCast v1: Object missing required field"),
    ],
)
def test_undecodable_messages_say_why(
    value: bytes | None, hdrs: dict[str, bytes], reason: str
) -> None:
    with pytest.raises(UndecodableEvent, match=reason) as caught:
        V1.decode(value, hdrs)
    assert caught.value.reason == str(caught.value)


def test_deeply_nested_json_is_undecodable_not_a_crash() -> None:
    nested = b'{"unknown": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(UndecodableEvent):
        V1.decode(nested, V1_HEADERS)
    with pytest.raises(UndecodableEvent):
        v2_codec().decode(nested, V1_HEADERS)


# ---------------------------------------------------------------- anything at all

_header_values = st.one_of(
    st.sampled_from([b"VoteCast", b"1", b"2", b"0", b"", b" 1 "]), st.binary(max_size=6)
)
_headers = st.one_of(
    st.just(V1_HEADERS),
    st.just(headers("2")),
    st.dictionaries(st.sampled_from([HEADER_TYPE, HEADER_VERSION, "other"]), _header_values),
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
_almost_events = st.fixed_dictionaries(
    {},
    optional={
        "event_id": _json,
        "vote_id": _json,
        "contest": _json,
        "band": _json,
        "album": _json,
        "year": _json | st.integers(1900, 2100),
        "rank": _json | st.integers(1, 10_000),
        "cast_at": _json | st.just("2025-06-01T12:00:00Z"),
    },
).map(lambda d: {**msgspec.json.decode(V1.encode(SAMPLE)), **d} if len(d) < 3 else d)


@st.composite
def _mangled(draw: st.DrawFn) -> bytes:
    value = bytearray(V1.encode(SAMPLE))
    position = draw(st.integers(0, len(value) - 1))
    value[position] = draw(st.integers(0, 255))
    return bytes(value)


_values = st.one_of(
    st.none(),
    st.binary(),
    _mangled(),
    _json.map(msgspec.json.encode),
    _almost_events.map(msgspec.json.encode),
)


@given(_values, _headers)
@example(b'{"band": []}', V1_HEADERS)
def test_decode_returns_an_event_or_raises_undecodable_never_anything_else(
    value: bytes | None, hdrs: dict[str, bytes]
) -> None:
    for codec in (V1, v2_codec()):
        try:
            event = codec.decode(value, hdrs)
        except UndecodableEvent as exc:
            event = exc.reason
        assert isinstance(event, codec.type) or event  # an event, or a non-empty reason


header_items = st.tuples(
    st.sampled_from([HEADER_TYPE, HEADER_VERSION, "other"]),
    st.sampled_from([EVENT_TYPE.encode(), str(SCHEMA_VERSION).encode(), b"0", b"x", b""]),
)


@given(
    vote_casts(),
    st.one_of(
        st.none(),
        st.just(list(V1.headers)),
        st.lists(header_items, max_size=4),
    ),
    st.sampled_from(["event", "none", "cut"]),
)
def test_a_message_decodes_as_its_headers_dict_decodes(
    event: VoteCast, listed: list[tuple[str, bytes]] | None, body: str
) -> None:
    """decode_message (Kafka's header list, the own headers found without a dict) gives what
    decode gives for the list's dict: the same event, or the same refusal."""
    value = {"event": V1.encode(event), "none": None, "cut": V1.encode(event)[:-3]}[body]

    def outcome(decode: Any) -> VoteCast | str:
        try:
            return decode()
        except UndecodableEvent as exc:
            return exc.reason

    expected = outcome(lambda: V1.decode(value, dict(listed or ())))
    assert outcome(lambda: V1.decode_message(value, listed)) == expected
    if listed == V1.headers and body == "event":
        assert expected == event
