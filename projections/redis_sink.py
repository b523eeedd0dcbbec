"""The tallies read model in Redis: one Lua call per batch (see tallies.lua).

The sink translates; the laws it applies are ``domain.projection.TallyView``'s.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from typing import Any

import msgspec
import redis

from domain.projection import Delivered, cast_second, name_fields, voter_of
from domain.readmodel import (
    CHECKPOINT,
    CONTEST_KEYS,
    CONTESTS,
    COUNTED,
    LAG,
    LAYOUT,
    LEGACY_KEYS,
    LIVE,
    META,
    MODEL_KEYS,
    NEXT,
    RATE,
    RATE_MAXLEN,
    TALLIES_TAG,
    TOTAL,
    VOTERS,
    contest_key,
    tallies_key,
)

APPLY_SCRIPT = (files("projections") / "tallies.lua").read_text()
SWAP_SCRIPT = (files("projections") / "swap.lua").read_text()


@dataclass(frozen=True, slots=True)
class ModelState:
    instance: str
    checkpoints: dict[int, int]


class RedisTallies:
    """One tallies model (live or a rebuild's ``next:``) of every contest, under one hash
    tag."""

    name = "tallies"

    def __init__(
        self,
        client: redis.Redis,
        namespace: str = LIVE,
        tag: str = TALLIES_TAG,
        write_rate: bool = True,
    ) -> None:
        self._client = client
        self.namespace = namespace
        self.tag = tag
        self._write_rate = write_rate and namespace == LIVE
        self._keys = [
            tallies_key(k, namespace, tag) for k in (CHECKPOINT, COUNTED, META, TOTAL, CONTESTS)
        ] + [tallies_key(RATE, LIVE, tag), tallies_key(LAG, LIVE, tag)]
        self._contest_keys: dict[str, list[str]] = {}
        self._apply = client.register_script(APPLY_SCRIPT)
        self._swap = client.register_script(SWAP_SCRIPT)
        self.instance = ""

    def key(self, name: str) -> str:
        return tallies_key(name, self.namespace, self.tag)

    def contest_keys(self, contest: str, namespace: str | None = None) -> list[str]:
        """The contest's own keys (bands, albums, seconds, voters, names, named_by), in
        ``CONTEST_KEYS`` order."""
        ns = self.namespace if namespace is None else namespace
        return [contest_key(contest, k, ns, self.tag) for k in CONTEST_KEYS]

    def load(self) -> ModelState:
        """The model's instance and checkpoints, read together. A model of another key
        layout (before per-contest tallies, or before one name per band) is deleted, every
        contest's keys with it: the worker then rebuilds it from the log, as after a loss of
        Redis's data."""
        with self._client.pipeline(transaction=True) as pipe:
            pipe.hmget(self.key(META), ["instance", "layout"])
            pipe.hgetall(self.key(CHECKPOINT))
            (instance, layout), checkpoints = pipe.execute()
        if instance and _text(layout or b"") != LAYOUT:
            self.drop()
            instance, checkpoints = None, {}
        self.instance = _text(instance) if instance else ""
        return ModelState(self.instance, {int(p): int(o) for p, o in checkpoints.items()})

    def positions(self) -> dict[int, int]:
        """Where to resume each partition: one past the checkpoint."""
        return {p: o + 1 for p, o in self.load().checkpoints.items()}

    def apply(self, batch: Sequence[Delivered], lag: Mapping[int, int] | None = None) -> int | None:
        """Apply ``batch``; the number of votes counted, or None when the model changed under
        the worker (wiped or swapped): then the worker must re-seek to :meth:`positions`."""
        args: list[Any] = [
            self.instance,
            uuid.uuid4().hex,
            int(time.time() * 1000),
            1 if self._write_rate else 0,
            RATE_MAXLEN,
            len(lag or {}),
            LAYOUT,
        ]
        for partition, behind in (lag or {}).items():
            args += (partition, behind)
        contests, packed = pack_batch(batch)
        args.append(packed)
        keys = list(self._keys)
        for contest in contests:
            found = self._contest_keys.get(contest)
            if found is None:
                found = self._contest_keys[contest] = self.contest_keys(contest)
            keys += found
        result = self._apply(keys=keys, args=args)
        if int(result[0]) == 0:
            return None
        self.instance = _text(result[1])
        return int(result[2])

    def stale(self) -> bool:
        """True when the worker must re-seek: the model was wiped or swapped under it."""
        stored = self._client.hget(self.key(META), "instance")
        return bool(self.instance) and (_text(stored) if stored else "") != self.instance

    def contests(self, namespace: str | None = None) -> list[str]:
        ns = self.namespace if namespace is None else namespace
        return sorted(_text(c) for c in self._client.hkeys(tallies_key(CONTESTS, ns, self.tag)))

    def swap_in(self, attempts: int = 5) -> tuple[bool, str]:
        """Rename this (``next:``) model, every contest's keys with it, over the live one;
        (False, why) if it is behind."""
        if self.namespace == LIVE:
            raise ValueError("only a rebuilt model can be swapped in")
        for _ in range(attempts):
            contests = sorted(set(self.contests(LIVE)) | set(self.contests()))
            live = [tallies_key(k, LIVE, self.tag) for k in MODEL_KEYS]
            rebuilt = [tallies_key(k, self.namespace, self.tag) for k in MODEL_KEYS]
            for contest in contests:
                live += self.contest_keys(contest, LIVE)
                rebuilt += self.contest_keys(contest)
            args = [len(live), MODEL_KEYS.index(CHECKPOINT) + 1, MODEL_KEYS.index(CONTESTS) + 1]
            result = self._swap(keys=live + rebuilt, args=[*args, *contests])
            if int(result[0]) == 1:
                return True, "swapped"
            if int(result[0]) == 0:
                _, partition, ours, theirs = (_text(r) for r in result)
                return False, f"partition {partition}: live at {ours}, rebuilt at {theirs}"
        return False, "new contests kept appearing during the swap"

    def drop(self) -> None:
        keys = [self.key(k) for k in MODEL_KEYS + LEGACY_KEYS]
        for contest in self.contests():
            keys += self.contest_keys(contest)
        self._client.delete(*keys)

    def snapshot(self) -> dict[str, Any]:
        """The model as plain data, shaped like ``TallyView.summary()``, read atomically."""
        known = self.contests()
        while True:
            with self._client.pipeline(transaction=True) as pipe:
                pipe.hgetall(self.key(CONTESTS))
                pipe.get(self.key(TOTAL))
                pipe.hgetall(self.key(CHECKPOINT))
                for contest in known:
                    bands, albums, seconds, _, names, _ = self.contest_keys(contest)
                    for key in (bands, albums, seconds, names):  # not voters, named_by
                        pipe.hgetall(key)
                stored, total, checkpoints, *per_contest = pipe.execute()
            found = {_text(c): int(v) for c, v in stored.items()}
            if set(found) <= set(known):
                break
            known = sorted(found)  # a contest appeared between the two reads: read again
        by_contest: dict[str, Any] = {}
        for i, contest in enumerate(known):
            if contest not in found:
                continue
            bands, albums, seconds, names = per_contest[4 * i : 4 * i + 4]
            by_contest[contest] = {
                "bands": {_text(k): int(v) for k, v in bands.items()},
                "albums": {_text(k): int(v) for k, v in albums.items()},
                "seconds": {int(k): int(v) for k, v in seconds.items()},
                "total": found[contest],
                "names": {_text(k): _text(v) for k, v in names.items()},
            }
        return {
            "contests": by_contest,
            "total": int(total or 0),
            "checkpoints": {int(k): int(v) for k, v in checkpoints.items()},
        }

    def voters(self, contest: str) -> dict[str, str]:
        """A one-vote-per-voter contest's counted voters: voter_id -> the vote_id counted."""
        stored = self._client.hgetall(contest_key(contest, VOTERS, self.namespace, self.tag))
        return {_text(k): _text(v) for k, v in stored.items()}

    def counted_size(self) -> int:
        return int(self._client.scard(self.key(COUNTED)))


_encode = msgspec.msgpack.Encoder().encode


def pack_batch(batch: Sequence[Delivered]) -> tuple[list[str], bytes]:
    """The batch's contests, and the batch as tallies.lua reads it: [contests, names,
    messages, voters, spellings, event_ids, ranks], MessagePack. Each distinct (contest, band,
    album, cast second) is packed once, as its contest, band key, album field and second
    (domain.names: counted by key), and named by its 1-based index; each contest likewise.
    ``voters``: the (1-based message, voter_id) of each vote under one vote per voter;
    ``spellings``: the band and album as cast, 2 per quadruple; ``event_ids``: each
    message's ("" if undecodable), which decide the spelling shown (ADR 7); ``ranks``: each
    message's event_id's rank in the batch (Python's str order, which is UTF-8's byte
    order), so the script compares numbers, not strings, per vote."""
    contests: dict[str, int] = {}
    index: dict[tuple[str, str, str, datetime], int] = {}
    fields: dict[tuple[str, str], tuple[str, str]] = {}  # (band, album) -> their keys
    names: list[str | int] = []
    messages: list[str | int] = []
    voters: list[str | int] = []
    spellings: list[str] = []
    event_ids: list[str] = []
    for item in batch:
        event = item.event
        if event is None:
            messages += (item.partition, item.offset, "", 0)
            event_ids.append("")
            continue
        key = (event.contest, event.band, event.album, event.cast_at)
        k = index.get(key)
        if k is None:
            k = index[key] = len(index) + 1
            c = contests.get(event.contest)
            if c is None:
                c = contests[event.contest] = len(contests) + 1
            pair = (event.band, event.album)
            keyed = fields.get(pair)
            if keyed is None:
                keyed = fields[pair] = name_fields(*pair)
            names += (c, *keyed, cast_second(event))
            spellings += pair
        messages += (item.partition, item.offset, event.vote_id, k)
        event_ids.append(event.event_id)
        if event.one_vote_per_voter:
            voter = voter_of(event)
            if voter is not None:
                voters += (len(messages) // 4, voter)
    order = list(contests)
    rank = {e: r for r, e in enumerate(sorted(set(event_ids)), 1)}
    ranks = [rank[e] for e in event_ids]
    return order, _encode((order, names, messages, voters, spellings, event_ids, ranks))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


__all__ = ["NEXT", "ModelState", "RedisTallies"]
