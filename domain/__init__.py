"""Boleta's domain: commands, events, validation, the codec and the catalog. Pure: no I/O."""

from domain.catalog import Band, Catalog, Contest, parse_catalog
from domain.codec import EventCodec, UndecodableEvent, vote_cast_codec
from domain.decide import DecisionContext, decide
from domain.ids import canonical_uuid, uuid7, uuid7_batch
from domain.validation import normalize_text
from domain.votes import (
    EVENT_TYPE,
    SCHEMA_VERSION,
    CastVote,
    FieldViolation,
    Rejection,
    VoteCast,
    event_key,
    to_millisecond,
)

__all__ = [
    "EVENT_TYPE",
    "SCHEMA_VERSION",
    "Band",
    "CastVote",
    "Catalog",
    "Contest",
    "DecisionContext",
    "EventCodec",
    "FieldViolation",
    "Rejection",
    "UndecodableEvent",
    "VoteCast",
    "canonical_uuid",
    "decide",
    "event_key",
    "normalize_text",
    "parse_catalog",
    "to_millisecond",
    "uuid7",
    "uuid7_batch",
    "vote_cast_codec",
]
