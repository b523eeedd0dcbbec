"""The ``boleta`` command line (typer + rich).

Each command imports what it needs when it runs: a projection worker started as
``boleta project tallies`` loads neither gRPC nor the stack's Redis and MongoDB checks
(about 13 MB of resident memory it would otherwise carry)."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from boleta import settings as settings_mod
from boleta.board_cli import board, recount
from boleta.receipt_cli import receipt


class ServiceName(enum.StrEnum):
    commands = "commands"
    queries = "queries"


app = typer.Typer(
    help="Boleta: an event-sourced voting backend.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
infra = typer.Typer(
    help="The local stack's services: Kafka, Redis, FerretDB.", no_args_is_help=True
)
app.add_typer(infra, name="infra")
app.add_typer(board, name="board")
app.add_typer(receipt, name="receipt")
app.command("recount")(recount)
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
    from boleta import stack

    try:
        stack.install(_settings())
    except Exception as exc:
        raise _fail(exc) from None


@infra.command("up")
def infra_up() -> None:
    """Start Kafka, Redis and FerretDB in the background (idempotent) and wait until ready."""
    from boleta import stack

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
    from boleta import services, stack

    settings = _settings()
    for app_service in services.app_services(settings):
        if services.process(settings, app_service).stop():
            err.print(f"{app_service.name:<8} stopped")
    for name, was_running in stack.down(settings).items():
        err.print(f"{name:<8} {'stopped' if was_running else 'was not running'}")


@infra.command("status")
def infra_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show each service: address, pid, whether it answers. Exit 3 unless all run."""
    from boleta import stack

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
def up(
    demo: Annotated[
        int, typer.Option(help="Cast this many demo votes once the stack is ready.")
    ] = 0,
) -> None:
    """Run the whole local stack in the foreground; Ctrl-C stops everything."""
    from boleta.foreground import run_foreground

    try:
        run_foreground(_settings(), console=err, demo_votes=demo)
    except Exception as exc:
        raise _fail(exc) from None


@app.command("serve")
def serve(
    service: Annotated[ServiceName, typer.Argument(help="Which service to run.")],
) -> None:
    """Run one service in the foreground (what a Kubernetes pod runs)."""
    settings = _settings()
    if service is ServiceName.commands:
        from boleta import serve_commands

        serve_commands.main(settings)
    else:
        from boleta import serve_queries

        serve_queries.main(settings)


@app.command("project")
def project(
    model: Annotated[str, typer.Argument(help="Which read model: tallies, audit or board.")],
) -> None:
    """Run one projection worker (its own consumer group) until SIGTERM."""
    from boleta import serve_projections

    serve_projections.main(_settings(), _model(model))


@app.command("results")
def results(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    contest: Annotated[str, typer.Option(help="Contest id; default: the default contest")] = "",
    as_of: Annotated[
        str,
        typer.Option(
            "--as-of",
            help="RFC 3339 moment with a time zone (e.g. 2026-11-30T20:00:00Z), from "
            "1970-01-01T00:00:00Z, not in the future: the tallies of every vote cast up to it, "
            "replayed from the log",
        ),
    ] = "",
) -> None:
    """Print one contest's live tallies (per band, per album, total) and the projection lag,
    or (--as-of) its tallies as of a moment."""
    from boleta import ops, results_cli

    try:
        if as_of:
            moment = results_cli.moment_option("--as-of", as_of)
            data = results_cli.tallies_as_of(_settings(), _contest(contest), moment)
        else:
            data = ops.results(_settings(), _contest(contest))
    except results_cli.ResultsError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(exc.code) from None
    results_cli.show(data, as_json, console)


@app.command("verify")
def verify(
    wait: Annotated[float, typer.Option(help="Seconds to wait for the projections.")] = 60.0,
    contest: Annotated[str, typer.Option(help="Check only this contest; default: all")] = "",
) -> None:
    """Check both read models against the log (invariants 2 and 3), contest by contest;
    exit 1 on any difference."""
    from boleta import ops

    report = ops.verify(_settings(), err, wait, _contest(contest) if contest else None)
    for key, value in report.facts.items():
        err.print(f"{key}: {value}")
    for line in report.differences:
        console.print(f"[red]✗[/] {line}")
    if not report.ok:
        raise typer.Exit(1)
    console.print("[green]✓ the read models agree with the log[/]")


@app.command("rebuild")
def rebuild(
    model: Annotated[str, typer.Argument(help="Which read model: tallies, audit or board.")],
) -> None:
    """Replay the log into a fresh read model while the live one serves; then swap it in.
    The board is append-only: it is replayed into scratch collections up to the live
    board's positions and compared with it byte for byte (exit 1 on a difference)."""
    from boleta import ops
    from boleta.serve_projections import Model

    settings = _settings()
    chosen = _model(model)
    if chosen is Model.board:
        _rebuild_board(settings)
        return
    try:
        result = ops.run_rebuild(settings, chosen, err)
    except Exception as exc:
        raise _fail(exc) from None
    rate = result.messages / max(result.seconds, 1e-9)
    console.print(
        f"[green]✓[/] rebuilt {model}: {result.messages} messages, {result.votes} votes, "
        f"{result.seconds:.1f}s ({rate:,.0f} events/s), swapped in after {result.swaps_tried} "
        "attempt(s)"
    )


def _rebuild_board(settings: settings_mod.Settings) -> None:
    import time

    from boleta import board_ops, ops

    started = time.perf_counter()
    try:
        with ops.rebuild_progress(err) as progress:
            task = progress.add_task("rebuilding board", total=None, rate="")

            def on_progress(done: int, total: int) -> None:
                rate = done / max(time.perf_counter() - started, 1e-9)
                progress.update(task, completed=done, total=total, rate=f"{rate:,.0f} events/s")

            result = board_ops.rebuild_board(settings, err, on_progress)
    except Exception as exc:
        raise _fail(exc) from None
    found = result.comparison
    if not result.identical:
        for line in found.differences:
            console.print(f"[red]✗[/] {escape(line)}")
        console.print(
            f"[red]the rebuilt board differs from the live one[/]; the rebuilt board is kept "
            f"in {', '.join(result.scratch)} (drop them when done)"
        )
        raise typer.Exit(1)
    console.print(
        f"[green]✓[/] byte-identical: {found.files} files, {found.checkpoints} checkpoints "
        f"({result.messages} messages, {result.entries} entries replayed in "
        f"{result.seconds:.1f}s; {found.ahead} live files past those positions not compared)"
    )


def _contest(value: str) -> str:
    """A contest id as the command side accepts it (empty: the default contest)."""
    from domain.validation import contest_field

    checked = contest_field(value, _settings().default_contest)
    if not isinstance(checked, str):
        err.print(f"[red]error:[/] --contest: {checked.description}")
        raise typer.Exit(2)
    return checked


def _model(name: str) -> Any:
    from boleta.serve_projections import Model

    try:
        return Model(name)
    except ValueError:
        err.print(f"[red]error:[/] unknown read model {name!r}; use tallies, audit or board")
        raise typer.Exit(2) from None


@app.command("cast")
def cast(
    band: Annotated[str | None, typer.Option(help="The band's name.")] = None,
    album: Annotated[str | None, typer.Option(help="The album's title.")] = None,
    year: Annotated[str | None, typer.Option(help="Year, e.g. 2008.")] = None,
    rank: Annotated[str | None, typer.Option(help="Rank: 7, 1st, 2nd...")] = None,
    vote_id: Annotated[str, typer.Option(help="Idempotency key (UUID); default: new")] = "",
    contest: Annotated[str, typer.Option(help="Contest id; default: the server's")] = "",
    voter_id: Annotated[
        str, typer.Option(help="Who votes; required where one vote per voter counts")
    ] = "",
    file: Annotated[
        Path | None, typer.Option("--file", help="A JSON file of votes in the seed's format.")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=1000)] = 500,
    target: Annotated[str | None, typer.Option(help="host:port of the command service")] = None,
    receipts: Annotated[
        Path | None,
        typer.Option(
            "--receipts",
            help="Append the service's signed receipts to this file (created when missing), "
            "for `boleta receipt check FILE`: JSON Lines, one object per reply that accepted "
            'votes, {"receipt": "<signed note>", "vote_ids": [...]}: the reply\'s receipt '
            "as sent (a C2SP signed note of a `boleta receipt v1` statement for one vote, "
            "`boleta receipts v1` for a batch) and the vote_ids it covers, in its order "
            "(docs/architecture.md, Receipts).",
        ),
    ] = None,
) -> None:
    """Cast one vote, or every vote of a file with a progress bar; print each accepted vote's
    tracking code (its entry's leaf hash on the board). Exit 1 if any is rejected."""
    from boleta import cast_cli, services

    settings = _settings()
    address = target or f"{settings.command_host}:{settings.command_port}"
    roots = services.tls_roots(settings)
    if file is not None:
        code = cast_cli.cast_file(
            file, address, settings.command_token, batch_size, console, roots, receipts
        )
    else:
        missing = [
            n
            for n, v in (("band", band), ("album", album), ("year", year), ("rank", rank))
            if v is None
        ]
        if missing:
            err.print(f"[red]error:[/] give --{', --'.join(missing)} (or --file FILE)")
            raise typer.Exit(2)
        code = cast_cli.cast_one(
            address,
            settings.command_token,
            console,
            roots,
            receipts,
            band=band or "",
            album=album or "",
            year=year or "",
            rank=rank or "",
            vote_id=vote_id,
            contest=contest,
            voter_id=voter_id,
        )
    raise typer.Exit(code)


@app.command("bench")
def bench(
    quick: Annotated[bool, typer.Option("--quick", help="Small counts: under 2 minutes.")] = False,
    full: Annotated[bool, typer.Option("--full", help="The docs' run: 1,000,000 events.")] = False,
    file: Annotated[
        Path | None, typer.Option("--file", help="Seed-format votes for the load generator.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Directory of the JSON results.")] = None,
) -> None:
    """Measure every DESIGN.md target in one run; print a table and save it as JSON."""
    from loadtest import bench as bench_mod

    if quick and full:
        err.print("[red]error:[/] give --quick or --full, not both")
        raise typer.Exit(2)
    plan = bench_mod.PLANS["quick" if quick else "full" if full else "default"]
    settings = _settings()
    try:
        results = bench_mod.run(settings, plan, err, file)
    except Exception as exc:
        raise _fail(exc) from None
    console.print(results.table())
    path = results.save(out or settings_mod.REPO_ROOT / "bench" / "results")
    console.print(f"saved {path}")


@app.command(
    "loadtest", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def loadtest(
    ctx: typer.Context,
    users: Annotated[int, typer.Option("--users", "-u")] = 50,
    spawn_rate: Annotated[float, typer.Option("--spawn-rate", "-r")] = 25,
    run_time: Annotated[str, typer.Option("--run-time", "-t")] = "60s",
    file: Annotated[Path | None, typer.Option("--file", help="Seed-format votes.")] = None,
    target: Annotated[str | None, typer.Option(help="host:port of the command service")] = None,
    out: Annotated[Path | None, typer.Option(help="Directory of Locust's reports.")] = None,
) -> None:
    """Run Locust headless against the command service; write its HTML and CSV reports.

    Extra arguments go to Locust (e.g. `-- --batch-size 500`)."""
    import subprocess
    import sys
    import time

    settings = _settings()
    reports = out or settings_mod.REPO_ROOT / "bench" / "results"
    reports.mkdir(parents=True, exist_ok=True)
    prefix = reports / f"locust-{time.strftime('%Y%m%dT%H%M%S')}"
    argv = [
        sys.executable, "-m", "locust", "--headless", "--only-summary",
        "-f", str(settings_mod.REPO_ROOT / "loadtest" / "locustfile.py"),
        "--host", target or f"{settings.command_host}:{settings.command_port}",
        "-u", str(users), "-r", str(spawn_rate), "-t", run_time, "--stop-timeout", "30",
        "--csv", str(prefix), "--html", f"{prefix}.html", "--json-file", str(prefix),
        *(["--votes-file", str(file)] if file else []),
        *(["--token", settings.command_token] if settings.command_token else []),
        *(["--tls-ca", settings.command_tls_roots] if settings.command_tls_roots else []),
        *ctx.args,
    ]  # fmt: skip
    code = subprocess.call(argv)
    err.print(f"reports: {prefix}.html, {prefix}.json (final) and {prefix}_*.csv")
    raise typer.Exit(code)


def main() -> None:
    app(prog_name="boleta")


if __name__ == "__main__":
    main()
