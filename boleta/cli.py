"""The ``boleta`` command line (typer + rich)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from boleta import settings as settings_mod
from boleta import stack
from boleta.foreground import run_foreground

app = typer.Typer(
    help="Boleta: an event-sourced voting backend.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
infra = typer.Typer(
    help="The local stack's services: Kafka, Redis, FerretDB.", no_args_is_help=True
)
app.add_typer(infra, name="infra")
console = Console()
err = Console(stderr=True)


def _settings() -> settings_mod.Settings:
    try:
        return settings_mod.load()
    except settings_mod.SettingsError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[red]error:[/] {exc}")
    return typer.Exit(1)


@infra.command("install")
def infra_install() -> None:
    """Fetch Kafka's jars and build FerretDB into the cache (done by `up` when missing)."""
    try:
        stack.install(_settings())
    except Exception as exc:
        raise _fail(exc) from None


@infra.command("up")
def infra_up() -> None:
    """Start Kafka, Redis and FerretDB in the background (idempotent) and wait until ready."""
    settings = _settings()

    def report(name: str, outcome: str, seconds: float) -> None:
        err.print(
            f"[green]✓[/] {name:<8} {stack.address(settings, name):<18} {outcome} "
            f"[dim](ready after {seconds:.1f}s)[/]"
        )

    try:
        stack.up(settings, on_ready=report)
    except Exception as exc:
        raise _fail(exc) from None
    err.print(f"state and logs in {settings.home}; stop with `boleta infra down`")


@infra.command("down")
def infra_down() -> None:
    """Stop the services boleta started; leaves no process behind."""
    for name, was_running in stack.down(_settings()).items():
        err.print(f"{name:<8} {'stopped' if was_running else 'was not running'}")


@infra.command("status")
def infra_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show each service: address, pid, whether it answers. Exit 3 unless all run."""
    statuses = stack.status(_settings())
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "name": s.name,
                        "address": s.address,
                        "pid": s.pid,
                        "ready": s.ready,
                        "state": s.state,
                        "detail": s.detail,
                    }
                    for s in statuses
                ]
            )
        )
    else:
        table = Table("service", "address", "pid", "state", "detail")
        for s in statuses:
            colour = "green" if s.state == "running" else "red"
            table.add_row(s.name, s.address, str(s.pid or "-"), f"[{colour}]{s.state}[/]", s.detail)
        console.print(table)
    if any(s.state != "running" for s in statuses):
        raise typer.Exit(3)


@app.command("up")
def up() -> None:
    """Run the whole local stack in the foreground; Ctrl-C stops everything."""
    try:
        run_foreground(_settings(), console=err)
    except Exception as exc:
        raise _fail(exc) from None


def main() -> None:
    app(prog_name="boleta")


if __name__ == "__main__":
    main()
