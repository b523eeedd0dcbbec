"""TLS and SASL/SSL settings: read from BOLETA_*, passed through to the clients whole,
secrets kept out of reprs."""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, KafkaException, Producer

from boleta.serve_commands import build_vote_log
from boleta.settings import SettingsError, load, redacted
from projections.log_reader import replay_consumer
from projections.worker import consumer_config

SASL = {
    "BOLETA_KAFKA_BOOTSTRAP": "127.0.0.1:1",
    "BOLETA_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "BOLETA_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "BOLETA_KAFKA_SASL_USERNAME": "boleta",
    "BOLETA_KAFKA_SASL_PASSWORD": "s3cret-pw",
    "BOLETA_KAFKA_SSL_CA": "/etc/ssl/certs/ca-certificates.crt",
}


def test_plaintext_by_default_adds_nothing() -> None:
    settings = load({})
    assert settings.kafka_security == {}
    assert settings.command_tls_roots == ""


def test_sasl_ssl_settings_become_librdkafka_properties() -> None:
    settings = load(SASL)
    assert settings.kafka_security == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "boleta",
        "sasl.password": "s3cret-pw",
        "ssl.ca.location": "/etc/ssl/certs/ca-certificates.crt",
    }
    assert "s3cret-pw" not in repr(settings)


def test_librdkafka_accepts_them_in_every_client_we_build() -> None:
    settings = load(SASL)
    security = settings.kafka_security
    Producer({"bootstrap.servers": settings.kafka_bootstrap, **security}).flush(0)
    Consumer(consumer_config(settings.kafka_bootstrap, "g", extra=security)).close()
    replay_consumer(settings.kafka_bootstrap, "t", security).close()
    build_vote_log(settings)  # the command service's producer
    with pytest.raises(KafkaException, match="Unsupported SASL mechanism"):
        Producer({**security, "sasl.mechanism": "NOPE"})


def test_the_token_is_kept_out_of_reprs() -> None:
    assert "tok-123" not in repr(load({"BOLETA_COMMAND_TOKEN": "tok-123"}))


@pytest.mark.parametrize("given", ["BOLETA_COMMAND_TLS_CERT", "BOLETA_COMMAND_TLS_KEY"])
def test_tls_cert_and_key_go_together(given: str) -> None:
    with pytest.raises(SettingsError, match="go together"):
        load({given: "/tmp/x.pem"})


def test_clients_trust_the_ca_or_else_the_server_certificate() -> None:
    both = {"BOLETA_COMMAND_TLS_CERT": "/c.pem", "BOLETA_COMMAND_TLS_KEY": "/k.pem"}
    assert load(both).command_tls_roots == "/c.pem"
    assert load({**both, "BOLETA_COMMAND_TLS_CA": "/ca.pem"}).command_tls_roots == "/ca.pem"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "mongodb://boleta:pw%40x@mongo:27017/?authSource=admin",
            "mongodb://boleta:***@mongo:27017/?authSource=admin",
        ),
        ("redis://:pw@redis:6379/0", "redis://:***@redis:6379/0"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ],
)
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    assert redacted(url) == shown
