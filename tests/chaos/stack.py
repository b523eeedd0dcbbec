"""A private boleta for the chaos suite: its own state directory and ports, its services
and processes started, faulted and stopped only through their own pids.

It never touches the default stack (9092, 6379, 27017, 50051, 8000) that other work on the
same machine may be using.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pymongo
import redis

from boleta import services, stack
from boleta import settings as settings_mod
from boleta.settings import Settings, environment
from boleta.stack import ferretdb, kafka, toxiproxy
from boleta.stack import redis as redis_service
from boleta.stack.process import ManagedProcess
from tests.chaos.network import (
    APP_LINKS,
    TOXIPROXY_PORT,
    Network,
    create_proxies,
    kafka_listeners,
    through_proxies,
)

PORTS = {
    "BOLETA_KAFKA_BOOTSTRAP": "127.0.0.1:29092",
    "BOLETA_KAFKA_CONTROLLER_PORT": "29093",
    "BOLETA_REDIS_URL": "redis://127.0.0.1:26379/0",
    "BOLETA_MONGO_URL": "mongodb://127.0.0.1:27217/",
    "BOLETA_COMMAND_PORT": "25051",
    "BOLETA_COMMAND_METRICS_PORT": "29100",
    "BOLETA_TALLIES_METRICS_PORT": "29101",
    "BOLETA_AUDIT_METRICS_PORT": "29102",
    "BOLETA_BOARD_METRICS_PORT": "29103",
    "BOLETA_QUERY_PORT": "28000",
    "BOLETA_KAFKA_HEAP": "256m",
}
PARTITIONS = 3


def private_settings(home: Path) -> Settings:
    return settings_mod.load({**PORTS, "BOLETA_HOME": str(home)})


@dataclass
class App:
    """One boleta process (``serve commands``, ``project tallies|audit``), run by the test
    through boleta's one process manager; its output goes to ``log_path``."""

    service: services.AppService
    settings: Settings
    log_path: Path
    process: ManagedProcess = field(init=False)

    def __post_init__(self) -> None:
        run_dir = self.log_path.parent
        self.process = ManagedProcess(self.log_path.stem, run_dir, run_dir)
        assert self.process.log_file == self.log_path, "the log is named after the service"

    @property
    def name(self) -> str:
        return self.service.name

    def start(self, timeout: float = 90) -> None:
        self.spawn()
        self.wait_ready(timeout)

    def spawn(self) -> None:
        assert not self.running(), f"{self.name} is already running"
        self.process.start(self.service.argv, environment(self.settings))

    def wait_ready(self, timeout: float = 90) -> None:
        self.process.wait_ready(lambda: self.service.ready(self.settings), timeout, self.name)

    def running(self) -> bool:
        return self.process.running()

    def kill(self) -> None:
        """SIGKILL: the process dies wherever it is, mid-batch included."""
        assert self.running(), f"{self.name} is not running"
        self.process.kill()

    def terminate(self, timeout: float = 60) -> int | None:
        """SIGTERM (SIGKILL after ``timeout``) and wait: the exit code."""
        assert self.process.stop(timeout), f"{self.name} was not running"
        return self.process.returncode

    def stop(self) -> None:
        self.process.stop(30)

    def log_tail(self, lines: int = 20) -> str:
        return self.process.tail(lines)


class PrivateStack:
    """Kafka, Redis and FerretDB on the chaos ports, under one temporary BOLETA_HOME, and
    Toxiproxy between them and boleta's processes (tests.chaos.network)."""

    def __init__(self, home: Path) -> None:
        self.settings = private_settings(home)
        self.network: Network | None = None

    def up(self) -> None:
        kafka.start(self.settings, {1: kafka_listeners()})  # then stack.up finds it running
        stack.up(self.settings)
        api = toxiproxy.start(self.settings, TOXIPROXY_PORT)
        create_proxies(api)
        self.network = Network(api)

    def down(self) -> None:
        toxiproxy.process(self.settings, TOXIPROXY_PORT).stop()
        stack.down(self.settings)

    def world(self) -> Settings:
        return new_world(self.settings, PARTITIONS, "c")

    def apps(
        self, world: Settings, logs: Path, names: tuple[str, ...] = ("commands", "tallies", "audit")
    ) -> dict[str, App]:
        """boleta's processes ``names`` on ``world``, each reaching its servers through its
        proxies (the query service only where a test asks for it)."""
        logs.mkdir(parents=True, exist_ok=True)
        return {
            s.name: App(s, through_proxies(world, s.name), logs / f"{s.name}.log")
            for s in services.app_services(world)
            if s.name in names and s.name in APP_LINKS
        }

    # -- faults on the shared services -------------------------------------------------
    def stop_kafka(self) -> None:
        assert kafka.process(self.settings).stop(60), "Kafka was not running"

    def kill_kafka(self) -> None:
        """SIGKILL: no controlled shutdown, the broker recovers its log at the next start."""
        process = kafka.process(self.settings)
        assert process.pid() is not None, "Kafka was not running"
        process.kill()

    def start_kafka(self) -> None:
        kafka.start(self.settings, {1: kafka_listeners()})
        kafka.wait_ready(self.settings)

    def restart_redis_wiped(self) -> None:
        assert redis_service.process(self.settings).stop(), "Redis was not running"
        shutil.rmtree(self.settings.home / "redis")
        redis_service.start(self.settings)
        redis_service.wait_ready(self.settings)

    def restart_ferretdb(self) -> None:
        assert ferretdb.process(self.settings).stop(), "FerretDB was not running"
        ferretdb.start(self.settings)
        ferretdb.wait_ready(self.settings)

    def drop(self, world: Settings) -> None:
        drop_world(world)


def new_world(settings: Settings, partitions: int, letter: str) -> Settings:
    """Settings of a fresh boleta on a stack: own topics (with ``partitions``), tallies hash
    tag, consumer groups and database, named after ``letter`` and a random id."""
    unique = f"{letter}{uuid.uuid4().hex[:10]}"
    world = settings.replace(
        topic=f"{unique}.votes",
        dlq_topic=f"{unique}.votes.dlq",
        tallies_tag=f"{{{unique}}}",
        group_prefix=unique,
        mongo_db=unique,
    )
    kafka.create_topics(world, partitions, world.topic, world.dlq_topic)
    return world


def drop_world(world: Settings) -> None:
    """Remove a world's topics, keys and database."""
    kafka.admin(world).delete_topics([world.topic, world.dlq_topic], operation_timeout=30)
    with redis.Redis.from_url(world.redis_url) as client:
        for key in client.scan_iter(match=f"*{world.tallies_tag}*", count=1000):
            client.delete(key)
    mongo: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(world.mongo_url)
    with mongo:
        mongo.drop_database(world.mongo_db)
