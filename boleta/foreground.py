"""``boleta up``: the whole local stack in the foreground, stopped on Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import threading
from types import FrameType

from rich.console import Console

from boleta import demo, services, stack
from boleta.cast_cli import print_summary
from boleta.client import cast_batches, channel, to_proto
from boleta.settings import Settings, redacted
from proto.boleta.v1 import voting_pb2_grpc


def clock_note(settings: Settings) -> str:
    """What keeps the command processes' clocks together, which stamp every vote."""
    return (
        f"clock     cast_at is this host's clock; command processes must agree within "
        f"{settings.clock_skew_max_ms / 1000:g} s (BOLETA_CLOCK_SKEW_MAX_MS), kept by NTP "
        f"(chrony or systemd-timesyncd) on every host: the audit log's `since` relies on it"
    )


def cast_demo(settings: Settings, count: int, console: Console) -> None:
    votes = [to_proto(v) for v in demo.generate(count)]

    async def run() -> None:
        target, roots = services.command_target(settings), services.tls_roots(settings)
        async with channel(target, settings.command_token, roots) as chan:
            summary = await cast_batches(voting_pb2_grpc.VotingServiceStub(chan), votes)
        print_summary(summary, console)

    console.print(f"casting {count} demo votes…")
    asyncio.run(run())


def run_foreground(settings: Settings, console: Console, demo_votes: int = 0) -> None:
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        console.print(f"\n{signal.Signals(signum).name}: stopping boleta…")
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    apps = services.app_services(settings)
    try:
        console.print("[bold]starting boleta's local stack[/]")
        stack.up(
            settings,
            on_ready=lambda name, outcome, secs: console.print(
                f"[green]✓[/] {name:<8} {stack.address(settings, name):<18} {outcome} ({secs:.1f}s)"
            ),
        )
        for app in apps:
            services.start(settings, app)
            console.print(f"[green]✓[/] {app.name:<8} {app.url(settings)}")
        host, port = settings.kafka_host_port
        console.print(f"\nKafka     {host}:{port}  (topics {settings.topic}, {settings.dlq_topic})")
        console.print(f"Redis     {redacted(settings.redis_url)}")
        console.print(f"MongoDB   {redacted(settings.mongo_url)}  (FerretDB)")
        for app in apps:
            console.print(f"{app.name:<9} {app.url(settings)}")
        console.print(f"logs      {settings.home / 'logs'}")
        console.print(clock_note(settings))
        if demo_votes:
            cast_demo(settings, demo_votes, console)
        console.print("\n[bold]boleta is up.[/] Press Ctrl-C to stop everything.")
        while not stop.wait(1.0):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for app in reversed(apps):
            if services.process(settings, app).stop():
                console.print(f"stopped {app.name}")
        for name, was_running in stack.down(settings).items():
            if was_running:
                console.print(f"stopped {name}")
