"""Vote files in the seed's format: a JSON array of {"name", "album", "year", "rank"} strings."""

from __future__ import annotations

from pathlib import Path

import msgspec


class SeedVote(msgspec.Struct, frozen=True):
    """One row: ``name`` is the band; ``year`` and ``rank`` are text ("2008", "1st")."""

    name: str
    album: str
    year: str
    rank: str
    vote_id: str = ""
    contest: str = ""
    voter_id: str = ""  # who votes (one vote per voter contests require it)


class VoteFileError(ValueError):
    pass


def read_votes(path: Path) -> list[SeedVote]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VoteFileError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return msgspec.json.decode(data, type=list[SeedVote])
    except msgspec.ValidationError as exc:
        raise VoteFileError(
            f"{path} is not a vote file: {exc}. Expected a JSON array of "
            '{"name", "album", "year", "rank"} with string values'
        ) from None
    except msgspec.DecodeError as exc:
        raise VoteFileError(f"{path} is not valid JSON: {exc}") from None


def write_votes(path: Path, votes: list[SeedVote]) -> None:
    path.write_bytes(msgspec.json.format(msgspec.json.encode(votes), indent=2))
