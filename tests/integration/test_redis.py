"""The real Redis: a Lua script applies a change atomically to keys sharing one hash tag."""

from __future__ import annotations

import threading

import redis
from redis.crc import key_slot

SCRIPT = """
-- KEYS[1] counter a, KEYS[2] counter b, KEYS[3] checkpoint; ARGV[1] position
if tonumber(redis.call('GET', KEYS[3]) or '-1') >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[3], ARGV[1])
return 1
"""


def test_script_is_atomic_on_hash_tagged_keys(redis_client: redis.Redis, unique: str) -> None:
    keys = [f"boleta:{{{unique}}}:a", f"boleta:{{{unique}}}:b", f"boleta:{{{unique}}}:checkpoint"]
    assert len({key_slot(k.encode()) for k in keys}) == 1, "one hash tag, one cluster slot"
    script = redis_client.register_script(SCRIPT)

    torn: list[tuple[str | None, str | None]] = []
    done = threading.Event()

    def watch() -> None:
        reader = redis.Redis(connection_pool=redis_client.connection_pool)
        while not done.is_set():
            a, b = reader.mget(keys[0], keys[1])
            if a != b:
                torn.append((a, b))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        applied = sum(script(keys=keys, args=[pos]) for pos in range(2000))
    finally:
        done.set()
        watcher.join()

    assert applied == 2000
    assert torn == [], f"a reader saw a half-applied change: {torn[:3]}"
    # The position guard makes a replayed position a no-op.
    assert script(keys=keys, args=[1999]) == 0
    assert redis_client.mget(keys) == ["2000", "2000", "1999"]
