"""Security on the real service: the bearer token, TLS with a self-signed certificate, and
secrets (token, SASL password) that never reach a log."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from boleta.settings import Settings
from proto.boleta.v1 import voting_pb2, voting_pb2_grpc
from tests.chaos.stack import App, PrivateStack, environment
from tests.integration.kafka_helpers import end_offsets, read_all

TOKEN = "tok-3f1b9c2e-never-in-a-log"
PASSWORD = "pw-8d2a7e41-never-in-a-log"
CLI = (sys.executable, "-m", "boleta.cli")
VOTE = voting_pb2.Vote(band="Mayfield", album="Imbituva", year="2008", rank="1st")


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key (openssl, no CA)."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN={name}",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def world(private_stack: PrivateStack) -> Iterator[Settings]:
    world = private_stack.world()
    yield world
    private_stack.drop(world)


def started(stack: PrivateStack, settings: Settings, logs: Path, *names: str) -> list[App]:
    apps = stack.apps(settings, logs)
    chosen = [apps[name] for name in names]
    for app in chosen:
        app.start()
    return chosen


def call(stub: voting_pb2_grpc.VotingServiceStub, **kwargs: object) -> grpc.StatusCode:
    try:
        stub.CastVote(voting_pb2.CastVoteRequest(vote=VOTE), timeout=10, **kwargs)
    except grpc.RpcError as exc:
        return exc.code()  # type: ignore[attr-defined, no-any-return]
    return grpc.StatusCode.OK


def test_tls_and_token_on_the_grpc_api(
    private_stack: PrivateStack, world: Settings, tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path, "boleta")
    stranger, _ = self_signed(tmp_path, "stranger")
    guarded = world.replace(
        command_tls_cert=str(cert), command_tls_key=str(key), command_token=TOKEN
    )
    (commands,) = started(private_stack, guarded, tmp_path / "logs", "commands")
    target = f"{guarded.command_host}:{guarded.command_port}"
    trusted = grpc.ssl_channel_credentials(cert.read_bytes())
    try:
        with grpc.secure_channel(target, trusted) as tls:
            stub = voting_pb2_grpc.VotingServiceStub(tls)
            assert call(stub) == grpc.StatusCode.UNAUTHENTICATED
            wrong = (("authorization", "Bearer not-the-token"),)
            assert call(stub, metadata=wrong) == grpc.StatusCode.UNAUTHENTICATED
            assert call(stub, metadata=(("authorization", TOKEN),)) == (
                grpc.StatusCode.UNAUTHENTICATED
            )
            with pytest.raises(grpc.RpcError) as batch:
                stub.CastVotes(voting_pb2.CastVotesRequest(votes=[VOTE]), timeout=10)
            assert batch.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
        with grpc.insecure_channel(target) as plain:
            no_tls = voting_pb2_grpc.VotingServiceStub(plain)
            assert call(no_tls, metadata=(("authorization", f"Bearer {TOKEN}"),)) == (
                grpc.StatusCode.UNAVAILABLE
            )
        untrusted = grpc.ssl_channel_credentials(stranger.read_bytes())
        with grpc.secure_channel(target, untrusted) as other:
            stub = voting_pb2_grpc.VotingServiceStub(other)
            assert call(stub, metadata=(("authorization", f"Bearer {TOKEN}"),)) == (
                grpc.StatusCode.UNAVAILABLE
            )
        assert sum(end_offsets(world, world.topic).values()) == 0, "a refused call left a trace"

        # The CLI's client: TLS from BOLETA_COMMAND_TLS_CA, the token from the settings.
        cast = subprocess.run(
            [*CLI, "cast", "--band", "Mayfield", "--album", "A", "--year", "2008", "--rank", "2"],
            env=environment(guarded.replace(command_tls_ca=str(cert))),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert cast.returncode == 0, cast.stdout + cast.stderr
        assert "accepted" in cast.stdout
    finally:
        commands.stop()
    (msg,) = read_all(world, world.topic)
    assert msg.key().decode() in cast.stdout
    log = commands.log_path.read_text()
    assert "command service listening" in log
    assert TOKEN not in log


def test_secrets_never_reach_the_logs(
    private_stack: PrivateStack, world: Settings, tmp_path: Path
) -> None:
    # SASL settings the plaintext broker cannot honour: every Kafka client fails to
    # authenticate and says so in its log, which must still not show the password.
    sasl = world.replace(
        command_token=TOKEN,
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="boleta",
        kafka_sasl_password=PASSWORD,
        command_ack_timeout_s=2.0,
    )
    logs = tmp_path / "logs"
    apps = started(private_stack, sasl, logs, "commands", "tallies")
    target = f"{sasl.command_host}:{sasl.command_port}"
    try:
        with grpc.insecure_channel(target) as plain:
            stub = voting_pb2_grpc.VotingServiceStub(plain)
            assert call(stub) == grpc.StatusCode.UNAUTHENTICATED
            bearer = grpc.access_token_call_credentials(TOKEN)
            with grpc.secure_channel(
                target, grpc.composite_channel_credentials(grpc.local_channel_credentials(), bearer)
            ) as authorized:
                assert call(voting_pb2_grpc.VotingServiceStub(authorized)) == (
                    grpc.StatusCode.UNAVAILABLE
                )
        verify = subprocess.run(
            [*CLI, "verify", "--wait", "1"],
            env=environment(sasl),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert verify.returncode != 0
    finally:
        for app in apps:
            app.stop()
    assert sum(end_offsets(world, world.topic).values()) == 0
    texts = {app.name: app.log_path.read_text(errors="replace") for app in apps}
    texts["verify"] = verify.stdout + verify.stderr
    for name, text in texts.items():
        assert PASSWORD not in text, f"the SASL password is in the {name} log"
        assert TOKEN not in text, f"the token is in the {name} log"
    # The settings did reach librdkafka: the clients tried SASL and were refused.
    for name in ("commands", "tallies"):
        assert "SASL" in texts[name], texts[name][-2000:]
