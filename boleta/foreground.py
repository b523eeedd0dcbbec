"""``boleta up``: the whole local stack in the foreground, stopped on Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import threading
from types import FrameType

from rich.console import Console

from boleta import stack
from boleta.settings import Settings


def run_foreground(settings: Settings, console: Console) -> None:
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        console.print(f"\n{signal.Signals(signum).name}: stopping boleta…")
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        console.print("[bold]starting boleta's local stack[/]")
        stack.up(
            settings,
            on_ready=lambda name, outcome, secs: console.print(
                f"[green]✓[/] {name:<8} {stack.address(settings, name):<18} {outcome} ({secs:.1f}s)"
            ),
        )
        host, port = settings.kafka_host_port
        console.print(f"\nKafka     {host}:{port}  (topics {settings.topic}, {settings.dlq_topic})")
        console.print(f"Redis     {settings.redis_url}")
        console.print(f"MongoDB   {settings.mongo_url}  (FerretDB)")
        console.print("\n[bold]boleta is up.[/] Press Ctrl-C to stop everything.")
        while not stop.wait(1.0):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for name, was_running in stack.down(settings).items():
            if was_running:
                console.print(f"stopped {name}")
