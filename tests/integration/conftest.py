"""The integration suite runs on the real local stack: Kafka, Redis and FerretDB.

The stack is started here when it is not running (and stopped again at the end, so a CI
run leaves nothing behind); a stack that was already up is used and left up. Tests are
isolated by unique names: topics, Redis key prefixes, Mongo databases.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pymongo
import pytest
import redis
from confluent_kafka.admin import AdminClient

from boleta import settings as settings_mod
from boleta import stack
from boleta.stack import kafka
from tests.integration.kafka_helpers import end_offsets


@pytest.fixture(scope="session")
def settings() -> Iterator[settings_mod.Settings]:
    current = settings_mod.load()
    already_up = all(s.state == "running" for s in stack.status(current))
    if not already_up:
        stack.up(current)
    yield current
    if not already_up:
        stack.down(current)


@pytest.fixture
def unique() -> str:
    """A fresh name for this test's topics, keys or database."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def admin(settings: settings_mod.Settings) -> AdminClient:
    return kafka.admin(settings)


@pytest.fixture
def topic(settings: settings_mod.Settings, unique: str) -> Iterator[str]:
    """A fresh 3-partition topic, deleted afterwards; its partition leaders answer."""
    name = f"{unique}.votes"
    kafka.create_topics(settings, 3, name)
    end_offsets(settings, name)  # waits until every partition's leader answers
    yield name
    kafka.admin(settings).delete_topics([name], operation_timeout=30)


@pytest.fixture
def redis_client(settings: settings_mod.Settings, unique: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    yield client
    for key in client.scan_iter(match=f"*{unique}*", count=1000):
        client.delete(key)
    client.close()


@pytest.fixture
def mongo_db(settings: settings_mod.Settings, unique: str) -> Iterator[pymongo.database.Database]:  # type: ignore[type-arg]
    client: pymongo.MongoClient = pymongo.MongoClient(settings.mongo_url)  # type: ignore[type-arg]
    yield client[unique]
    client.drop_database(unique)
    client.close()


@pytest.fixture
def isolated(
    settings: settings_mod.Settings, unique: str, topic: str
) -> Iterator[settings_mod.Settings]:
    """Settings of a private boleta: own topics, tallies hash tag, consumer groups, database."""
    dlq = f"{topic}.dlq"
    kafka.create_topics(settings, 3, dlq)
    end_offsets(settings, dlq)
    yield settings.replace(
        topic=topic,
        dlq_topic=dlq,
        tallies_tag=f"{{{unique}}}",
        group_prefix=unique,
        mongo_db=unique,
        tallies_metrics_port=0,
        audit_metrics_port=0,
        command_metrics_port=0,
    )
    redis_client = redis.Redis.from_url(settings.redis_url)
    for key in redis_client.scan_iter(match=f"boleta:{{{unique}}}*", count=1000):
        redis_client.delete(key)
    redis_client.close()
    mongo: pymongo.MongoClient = pymongo.MongoClient(settings.mongo_url)  # type: ignore[type-arg]
    mongo.drop_database(unique)
    mongo.close()
    kafka.admin(settings).delete_topics([dlq], operation_timeout=30)
