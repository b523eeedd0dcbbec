"""The tallies script on the real Redis: a batch's vote_ids are decided in bulk (one
SMISMEMBER and one SADD per 1,000 votes, not one SADD per vote), and the result is still
the domain's fold of the same batches: redelivered messages, vote_ids counted before and
retries inside the batch all count once."""

from __future__ import annotations

from typing import Any

import redis

from domain.projection import Delivered, TallyView
from projections.redis_sink import RedisTallies
from tests.integration.projection_helpers import make_events


def set_commands(client: redis.Redis) -> dict[str, int]:
    stats: dict[str, Any] = client.info("commandstats")
    return {cmd: stats.get(f"cmdstat_{cmd}", {}).get("calls", 0) for cmd in ("sadd", "smismember")}


def test_a_batch_decides_its_vote_ids_in_bulk_and_counts_each_once(
    redis_client: redis.Redis, unique: str
) -> None:
    tallies = RedisTallies(redis_client, tag=f"{{{unique}}}", write_rate=False)
    tallies.load()
    events = make_events(3_700, duplicate_every=13)  # retries inside the batches
    first = [Delivered(0, offset, event) for offset, event in enumerate(events[:1_200])]
    # The second batch: the first one again (redelivered), then 2,500 more messages of
    # which 200 repeat vote_ids the first batch counted.
    again = [Delivered(0, 1_200 + i, events[i * 5]) for i in range(200)]
    rest = [Delivered(0, 1_400 + i, event) for i, event in enumerate(events[1_400:3_700])]
    second = first + again + rest
    view = TallyView()
    tallies.apply(first)
    view.apply(first)
    before = set_commands(redis_client)
    counted = tallies.apply(second)
    after = set_commands(redis_client)
    assert counted == view.apply(second) > 2_000
    assert tallies.snapshot() == view.summary()
    # 2,500 messages past the checkpoint: 3 lookups and at most 3 additions (another
    # worker sharing this Redis may add a few calls of its own).
    assert after["smismember"] - before["smismember"] <= 4 + 10
    assert after["sadd"] - before["sadd"] <= 3 + 10
