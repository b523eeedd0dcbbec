"""``boleta recount``: anyone's recount, from the public board alone, over HTTP.

For each log the board lists (``GET /board``: one per partition of the vote log), the
recount fetches its checkpoint and checks it: signed by the key given (not the one the
server lists), for the origin listed, and an extension of the checkpoint of the same
origin seen on an earlier run (kept in a state directory). Then it fetches every entry
bundle and every hash tile of that tree, recomputes the root from the entries
(:func:`domain.board.reading.checked_entries`: each tile must be the hashes of the
entries below it, the root the checkpoint's, the earlier checkpoint's root that of the
first leaves), decodes every entry (refused unless canonical, ADR 8) and folds them
with the published rules (:func:`domain.board.recount`) under the voting windows of the
organiser's catalog (or, without one, of the operator's own contests API, which the
output says). Its result is each contest's tallies and the positions counted: per
partition the tree's size and the end offset (the last entry's offset + 1), at which the
query API's results can be asked and compared (``--compare``).

What can go wrong is a :class:`RecountError` with a plain message and an exit code: 1 for
a board that does not verify or results that differ, 2 for a usage error.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec

from boleta.board_keys import SignatureError, open_note
from domain.board import (
    BoardEntry,
    BoardOrderError,
    Checkpoint,
    MalformedNote,
    Recount,
    UndecodableEntry,
    VerifierKey,
    decode_entry,
    parse_checkpoint,
    parse_signed_note,
    parse_verifier_key,
    recount,
)
from domain.board.reading import BoardMismatch, checked_entries
from domain.board.recount import ContestRecount
from domain.catalog import Catalog, Contest
from domain.names import name_key, shown_tallies
from domain.projection import name_fields

VERIFY_FAILED = 1
USAGE = 2
API_WINDOWS = (
    "the voting windows came from the operator's own API (/api/v1/contests), not from an "
    "independent catalog: pass the organiser's published catalog with --catalog FILE"
)


class RecountError(Exception):
    """What the recount prints instead of results, and its exit code."""

    def __init__(self, message: str, code: int = VERIFY_FAILED) -> None:
        super().__init__(message)
        self.code = code


class ListedLog(msgspec.Struct, frozen=True):
    partition: int
    prefix: str
    origin: str
    size: int


class Listing(msgspec.Struct, frozen=True):
    verifier_key: str
    logs: list[ListedLog]


class ApiContest(msgspec.Struct, frozen=True):
    id: str
    title: str = ""
    opens_at: datetime | None = None
    closes_at: datetime | None = None


class ApiContests(msgspec.Struct, frozen=True):
    contests: list[ApiContest]


@dataclass(frozen=True)
class Counted:
    """One log as counted: its checkpoint (note as served), size and end offset."""

    partition: int
    origin: str
    size: int
    end: int  # the last entry's offset + 1 (0: no entry)
    note: bytes


@dataclass
class BoardRecount:
    result: Recount
    logs: list[Counted]
    windows: str  # where the voting windows came from
    earlier: dict[int, int] = field(default_factory=dict)  # partition -> earlier size checked

    @property
    def positions(self) -> dict[int, int]:
        return {log.partition: log.end for log in self.logs}


class BoardSite:
    """The board and the query API of one server, over HTTP."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def _get(self, url: str) -> httpx.Response | None:
        """The response to ``GET url``; None for a 404."""
        try:
            response = self._http.get(url)
        except httpx.HTTPError as exc:
            raise RecountError(f"GET {self._http.base_url.join(url)} failed: {exc}") from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise RecountError(
                f"GET {response.url} answered {response.status_code}: {response.text[:300]}"
            )
        return response

    def _json(self, url: str, into: type[Any]) -> Any:
        response = self._get(url)
        if response is None:
            raise RecountError(f"GET {self._http.base_url.join(url)} answered 404")
        try:
            return msgspec.json.decode(response.content, type=into)
        except msgspec.DecodeError as exc:
            raise RecountError(f"GET {response.url}: not the expected answer: {exc}") from None

    def listing(self) -> Listing:
        listing: Listing = self._json("/board", Listing)
        return listing

    def checkpoint(self, log: ListedLog) -> bytes | None:
        response = self._get(f"{log.prefix}checkpoint")
        return None if response is None else response.content

    def file(self, log: ListedLog, path: str) -> bytes | None:
        response = self._get(f"{log.prefix}{path}")
        return None if response is None else response.content

    def contests(self) -> list[ApiContest]:
        contests: ApiContests = self._json("/api/v1/contests", ApiContests)
        return contests.contests

    def results_at(self, contest: str, positions: str) -> dict[str, Any]:
        url = f"/api/v1/contests/{urllib.parse.quote(contest)}/results"
        try:
            response = self._http.get(url, params={"positions": positions})
        except httpx.HTTPError as exc:
            raise RecountError(f"GET {url}?positions={positions} failed: {exc}") from None
        if response.status_code != 200:
            raise RecountError(
                f"the results of {contest!r} at the board's positions were not served: "
                f"GET {response.url} answered {response.status_code}: {response.text[:300]}"
            )
        found: dict[str, Any] = response.json()
        return found


class CheckpointStore:
    """The checkpoint last seen of each origin (its signed note, as served), one file per
    origin in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, origin: str) -> Path:
        return self.directory / (urllib.parse.quote(origin, safe="") + ".checkpoint")

    def load(self, origin: str) -> Checkpoint | None:
        path = self._path(origin)
        try:
            note = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            checkpoint = parse_checkpoint(parse_signed_note(note).text)
        except MalformedNote as exc:
            raise RecountError(
                f"{path}: not a checkpoint ({exc}); remove it to start afresh", USAGE
            ) from None
        return checkpoint

    def save(self, origin: str, note: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(origin)
        path.with_suffix(".tmp").write_bytes(note)
        path.with_suffix(".tmp").replace(path)


def verifier(text: str) -> VerifierKey:
    try:
        return parse_verifier_key(text)
    except MalformedNote as exc:
        raise RecountError(f"--key: {exc} (e.g. the output of `boleta board key`)", USAGE) from None


def catalog_file(path: Path) -> Catalog:
    from domain import parse_catalog

    try:
        return parse_catalog(path.read_bytes())
    except OSError as exc:
        raise RecountError(f"--catalog {path}: {exc.strerror}", USAGE) from None
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise RecountError(f"--catalog {path}: not a boleta catalog: {exc}", USAGE) from None


def api_catalog(contests: list[ApiContest]) -> Catalog:
    """The windows the operator's contests API states, as a catalog."""
    return Catalog(
        tuple(
            Contest(slug=c.id, title=c.title, opens_at=c.opens_at, closes_at=c.closes_at)
            for c in contests
        )
    )


def opened_checkpoint(note: bytes, key: VerifierKey, log: ListedLog) -> Checkpoint:
    """The checkpoint of ``log``'s note, if ``key`` signed it for the origin listed."""
    where = f"board log p{log.partition}"
    try:
        checkpoint = parse_checkpoint(open_note(note, key))
    except SignatureError as exc:
        raise RecountError(
            f"{where}: its checkpoint does not verify with the key given: {exc}"
        ) from None
    except MalformedNote as exc:
        raise RecountError(f"{where}: its checkpoint is malformed: {exc}") from None
    if checkpoint.origin != log.origin:
        raise RecountError(
            f"{where}: its checkpoint is for the origin {checkpoint.origin!r}, not the "
            f"listed {log.origin!r}"
        )
    return checkpoint


def recount_board(
    site: BoardSite,
    key: VerifierKey,
    catalog: Catalog | None,
    store: CheckpointStore,
    on_entries: Callable[[int], None] = lambda _n: None,
    on_sizes: Callable[[int], None] = lambda _n: None,
) -> BoardRecount:
    """Check every log of the board and recount its entries (see the module).
    ``on_sizes(total entries)`` once the checkpoints are in, ``on_entries(n)`` as entries
    are read; the checkpoints are kept in ``store`` only once everything verified."""
    listing = site.listing()
    logs = sorted(listing.logs, key=lambda log: log.partition)
    origins = [log.origin for log in logs]
    if len(set(origins)) != len(origins) or len({log.partition for log in logs}) != len(logs):
        raise RecountError("the board lists two logs under one origin or one partition")
    windows = "the catalog given"
    if catalog is None:
        catalog = api_catalog(site.contests())
        windows = API_WINDOWS
    checkpoints: dict[int, tuple[ListedLog, Checkpoint, bytes]] = {}
    earlier: dict[int, Checkpoint] = {}
    for log in logs:
        note = site.checkpoint(log)
        seen = store.load(log.origin)
        if seen is not None:
            earlier[log.partition] = seen
        if note is None:  # nothing on this log yet
            if seen is not None and seen.size > 0:
                raise RecountError(
                    f"board log p{log.partition} has no checkpoint, but one of size "
                    f"{seen.size} was seen before: the log went back"
                )
            continue
        checkpoints[log.partition] = (log, opened_checkpoint(note, key, log), note)
    on_sizes(sum(cp.size for _, cp, _ in checkpoints.values()))
    ends: dict[int, int] = {log.partition: 0 for log in logs}

    def entries(log: ListedLog, checkpoint: Checkpoint) -> Iterator[BoardEntry]:
        before = earlier.get(log.partition)
        where = f"board log p{log.partition}"
        try:
            for index, data in enumerate(
                checked_entries(
                    checkpoint.size,
                    checkpoint.root,
                    lambda path: site.file(log, path),
                    None if before is None else (before.size, before.root),
                )
            ):
                entry = decode_entry(data)
                ends[log.partition] = entry.offset + 1
                if index % 256 == 255 or index == checkpoint.size - 1:
                    on_entries(index % 256 + 1)
                yield entry
        except BoardMismatch as exc:
            raise RecountError(f"{where}: {exc}") from None
        except UndecodableEntry as exc:
            raise RecountError(f"{where}: an entry is not a canonical board entry: {exc}") from None

    partitions = {p: entries(log, cp) for p, (log, cp, _) in checkpoints.items()}
    try:
        result = recount(partitions, catalog)
    except BoardOrderError as exc:
        raise RecountError(f"board log {exc}") from None
    counted = [
        Counted(log.partition, log.origin, cp.size, ends[log.partition], note)
        for log, cp, note in checkpoints.values()
    ]
    counted += [
        Counted(log.partition, log.origin, 0, 0, b"")
        for log in logs
        if log.partition not in checkpoints
    ]
    counted.sort(key=lambda c: c.partition)
    for log, _, note in checkpoints.values():
        store.save(log.origin, note)
    return BoardRecount(result, counted, windows, {p: cp.size for p, cp in earlier.items()})


def positions_text(positions: Mapping[int, int]) -> str:
    return ",".join(f"{p}:{end}" for p, end in sorted(positions.items()))


def compare(contest: str, recounted: ContestRecount | None, served: dict[str, Any]) -> list[str]:
    """Differences between a contest's recount and the API's results, by key (ADR 7: the
    spelling shown may differ, the counts may not)."""
    tally = recounted or ContestRecount()
    bands: dict[str, int] = {}
    albums: dict[str, int] = {}
    for band in served.get("bands", []):
        bands[name_key(band["band"])] = int(band["votes"])
        for album in band.get("albums", []):
            albums[name_fields(band["band"], album["album"])[1]] = int(album["votes"])
    differences = []
    if int(served.get("total", -1)) != tally.total:
        differences.append(
            f"{contest}: total: recount {tally.total}, results API {served.get('total')}"
        )
    for what, mine, theirs in (("band", tally.bands, bands), ("album", tally.albums, albums)):
        for key in sorted(set(mine) | set(theirs)):
            if mine.get(key, 0) != theirs.get(key, 0):
                shown = key.replace("\x1f", " / ")
                differences.append(
                    f"{contest}: {what} {shown!r}: recount {mine.get(key, 0)}, results API "
                    f"{theirs.get(key, 0)}"
                )
    return differences


def compare_with_api(site: BoardSite, board: BoardRecount) -> list[str]:
    """Every contest's recount against the results API at the board's positions (every
    contest the API lists and every contest recounted)."""
    contests = {c.id for c in site.contests()} | set(board.result.contests)
    positions = positions_text(board.positions)
    differences: list[str] = []
    for contest in sorted(contests):
        served = site.results_at(contest, positions)
        differences += compare(contest, board.result.contests.get(contest), served)
    return differences


def summary(board: BoardRecount) -> dict[str, Any]:
    """The recount as JSON: each contest's tallies as shown, the positions counted."""
    contests = {}
    for name, tally in sorted(board.result.contests.items()):
        shown = shown_tallies(tally.bands, tally.albums, tally.shown_names())
        contests[name] = {
            "total": tally.total,
            "bands": {band: votes for band, votes, _ in shown},
            "albums": [
                {"band": band, "album": album, "votes": votes}
                for band, _, band_albums in shown
                for album, votes in band_albums
            ],
        }
    return {
        "total": board.result.total,
        "contests": contests,
        "logs": [
            {"partition": c.partition, "origin": c.origin, "size": c.size, "end": c.end}
            for c in board.logs
        ],
        "positions": positions_text(board.positions),
        "windows": board.windows,
        "straddling_pseudonyms": len(board.result.straddling),
    }
