"""Two tallies workers in one consumer group; one is SIGKILLed while votes flow."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import redis

from boleta.settings import Settings
from projections.redis_sink import RedisTallies
from tests.integration.projection_helpers import log_fold, make_events, produce, wait_for


def _worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "BOLETA_TOPIC": settings.topic,
        "BOLETA_DLQ_TOPIC": settings.dlq_topic,
        "BOLETA_TALLIES_TAG": settings.tallies_tag,
        "BOLETA_GROUP_PREFIX": settings.group_prefix,
        "BOLETA_TALLIES_METRICS_PORT": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "boleta.cli", "project", "tallies"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_sigkill_during_a_rebalance_loses_and_doubles_nothing(isolated: Settings) -> None:
    events = make_events(8000, duplicate_every=13)
    model = RedisTallies(redis.Redis.from_url(isolated.redis_url), tag=isolated.tallies_tag)
    first, second = _worker(isolated), _worker(isolated)
    try:
        for chunk, start in enumerate(range(0, len(events), 250)):
            produce(isolated, events[start : start + 250])
            if chunk == 12:
                first.kill()  # SIGKILL: no clean shutdown, possibly mid-batch
            time.sleep(0.1)
        assert first.wait(10) == -9
        distinct = len({e.vote_id for e in events})
        wait_for(lambda: model.snapshot()["total"] == distinct, 90, "the survivor to catch up")
        assert second.poll() is None, "the surviving worker died"
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(30)
    assert model.snapshot() == log_fold(isolated).summary()
    assert model.counted_size() == distinct
    assert second.returncode == 0, "SIGTERM did not stop the worker cleanly"
