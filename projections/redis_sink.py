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

from domain.projection import Delivered, cast_second, name_fields
from domain.readmodel import (
    ALBUMS,
    BANDS,
    CHECKPOINT,
    COUNTED,
    LAG,
    LIVE,
    META,
    MODEL_KEYS,
    NAMED_BY,
    NAMES,
    NEXT,
    RATE,
    RATE_MAXLEN,
    SECONDS,
    TALLIES_TAG,
    TOTAL,
    tallies_key,
)

APPLY_SCRIPT = (files("projections") / "tallies.lua").read_text()
SWAP_SCRIPT = (files("projections") / "swap.lua").read_text()


@dataclass(frozen=True, slots=True)
class ModelState:
    instance: str
    checkpoints: dict[int, int]


class RedisTallies:
    """One tallies model (live or a rebuild's ``next:``) under one hash tag."""

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
            tallies_key(k, namespace, tag)
            for k in (BANDS, ALBUMS, TOTAL, CHECKPOINT, COUNTED, SECONDS, META)
        ] + [tallies_key(RATE, LIVE, tag), tallies_key(LAG, LIVE, tag)]
        self._keys += [tallies_key(k, namespace, tag) for k in (NAMES, NAMED_BY)]
        self._apply = client.register_script(APPLY_SCRIPT)
        self._swap = client.register_script(SWAP_SCRIPT)
        self.instance = ""

    def key(self, name: str) -> str:
        return tallies_key(name, self.namespace, self.tag)

    def load(self) -> ModelState:
        """The model's instance and checkpoints, read together."""
        with self._client.pipeline(transaction=True) as pipe:
            pipe.hget(self.key(META), "instance")
            pipe.hgetall(self.key(CHECKPOINT))
            instance, checkpoints = pipe.execute()
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
        ]
        for partition, behind in (lag or {}).items():
            args += (partition, behind)
        args.append(pack_batch(batch))
        result = self._apply(keys=self._keys, args=args)
        if int(result[0]) == 0:
            return None
        self.instance = _text(result[1])
        return int(result[2])

    def stale(self) -> bool:
        """True when the worker must re-seek: the model was wiped or swapped under it."""
        stored = self._client.hget(self.key(META), "instance")
        return bool(self.instance) and (_text(stored) if stored else "") != self.instance

    def swap_in(self) -> tuple[bool, str]:
        """Rename this (``next:``) model over the live one; (False, why) if it is behind."""
        if self.namespace == LIVE:
            raise ValueError("only a rebuilt model can be swapped in")
        live = [tallies_key(k, LIVE, self.tag) for k in MODEL_KEYS]
        rebuilt = [tallies_key(k, self.namespace, self.tag) for k in MODEL_KEYS]
        result = self._swap(
            keys=live + rebuilt, args=[len(MODEL_KEYS), MODEL_KEYS.index(CHECKPOINT) + 1]
        )
        if int(result[0]) == 1:
            return True, "swapped"
        _, partition, ours, theirs = (_text(r) for r in result)
        return False, f"partition {partition}: live at {ours}, rebuilt at {theirs}"

    def drop(self) -> None:
        self._client.delete(*(self.key(k) for k in MODEL_KEYS))

    def snapshot(self) -> dict[str, Any]:
        """The model as plain data, shaped like ``TallyView.summary()``."""
        with self._client.pipeline(transaction=True) as pipe:
            pipe.hgetall(self.key(BANDS))
            pipe.hgetall(self.key(ALBUMS))
            pipe.hgetall(self.key(SECONDS))
            pipe.get(self.key(TOTAL))
            pipe.hgetall(self.key(CHECKPOINT))
            pipe.hgetall(self.key(NAMES))
            bands, albums, seconds, total, checkpoints, names = pipe.execute()
        return {
            "bands": {_text(k): int(v) for k, v in bands.items()},
            "albums": {_text(k): int(v) for k, v in albums.items()},
            "seconds": {int(k): int(v) for k, v in seconds.items()},
            "total": int(total or 0),
            "checkpoints": {int(k): int(v) for k, v in checkpoints.items()},
            "names": {_text(k): _text(v) for k, v in names.items()},
        }

    def counted_size(self) -> int:
        return int(self._client.scard(self.key(COUNTED)))


_encode = msgspec.msgpack.Encoder().encode


def pack_batch(batch: Sequence[Delivered]) -> bytes:
    """The batch as tallies.lua reads it: [names, messages, spellings, event_ids],
    MessagePack. Each distinct (band, album, cast second) is packed once, as its band key,
    album field and second, and named by its 1-based index; spellings holds its band and
    album as cast, event_ids each message's (see domain.names)."""
    index: dict[tuple[str, str, datetime], int] = {}
    fields: dict[tuple[str, str], tuple[str, str]] = {}  # (band, album) -> their keys
    names: list[str | int] = []
    messages: list[str | int] = []
    spellings: list[str] = []
    event_ids: list[str] = []
    for item in batch:
        event = item.event
        if event is None:
            messages += (item.partition, item.offset, "", 0)
            event_ids.append("")
            continue
        key = (event.band, event.album, event.cast_at)
        k = index.get(key)
        if k is None:
            k = index[key] = len(index) + 1
            pair = (event.band, event.album)
            keyed = fields.get(pair)
            if keyed is None:
                keyed = fields[pair] = name_fields(*pair)
            names += (*keyed, cast_second(event))
            spellings += pair
        messages += (item.partition, item.offset, event.vote_id, k)
        event_ids.append(event.event_id)
    return _encode((names, messages, spellings, event_ids))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


__all__ = ["NEXT", "ModelState", "RedisTallies"]
