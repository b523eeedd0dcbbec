"""Settings come from BOLETA_* variables only, typed, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from boleta.settings import Settings, SettingsError, load, names


def test_defaults_match_the_design_ports() -> None:
    settings = load({})
    assert settings.kafka_host_port == ("127.0.0.1", 9092)
    assert settings.kafka_controller_port == 9093
    assert settings.redis_host_port == ("127.0.0.1", 6379)
    assert settings.mongo_host_port == ("127.0.0.1", 27017)
    assert (settings.topic, settings.dlq_topic, settings.partitions) == ("votes", "votes.dlq", 6)


def test_variables_are_typed_and_other_variables_ignored() -> None:
    settings = load(
        {
            "BOLETA_PARTITIONS": "12",
            "BOLETA_HOME": "/tmp/x",
            "PATH": "/bin",
            "BOLETA_REDIS_URL": "redis://10.0.0.1:7000/2",
        }
    )
    assert settings.partitions == 12
    assert settings.home == Path("/tmp/x")
    assert settings.redis_host_port == ("10.0.0.1", 7000)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BOLETA_PARTITIONS": "many"}, "BOLETA_PARTITIONS='many' is not a valid int"),
        ({"BOLETA_PARTITIONS": "0"}, "must be at least 1"),
        ({"BOLETA_KAFKA_BOOTSTRAP": "host:port"}, "the port must be a number"),
        ({"BOLETA_REDIS_ULR": "redis://x"}, "unknown setting BOLETA_REDIS_ULR"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load(env)


def test_settings_are_frozen() -> None:
    with pytest.raises(AttributeError):
        Settings().partitions = 3  # type: ignore[misc]


def test_names_lists_every_variable() -> None:
    assert "BOLETA_KAFKA_BOOTSTRAP" in names()
    assert "BOLETA_MONGO_URL" in names()
    assert len(names()) == len(set(names()))
