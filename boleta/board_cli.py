"""``boleta board key|new-key`` and ``boleta recount``: the board's key, and anyone's recount
of the board (boleta/recount_cli.py). Each command imports what it needs when it runs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from boleta import settings as settings_mod

if TYPE_CHECKING:
    from boleta.recount_cli import BoardRecount

board = typer.Typer(
    help="The public board's signing key (the board itself: `boleta project board`).",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)


def _settings() -> settings_mod.Settings:
    try:
        return settings_mod.load()
    except settings_mod.SettingsError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


@board.command("key")
def key() -> None:
    """Print the board's verifier key, as name+id+base64: what a recount, a receipt check
    or Go's note.NewVerifier takes (BOLETA_BOARD_VERIFIER_KEY when set, else the signing
    key's, BOLETA_BOARD_KEY_FILE)."""
    from boleta.board_secrets import BoardSecretError, board_verifier_key

    try:
        print(board_verifier_key(_settings()))
    except BoardSecretError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None


@board.command("new-key")
def new_key(
    file: Annotated[Path, typer.Argument(help="Where to write the new signer key (mode 0600).")],
) -> None:
    """Make a new signing key for the board (origin BOLETA_BOARD_ORIGIN) in FILE, readable by
    its owner only; never overwrites. Prints only the verifier key: point
    BOLETA_BOARD_KEY_FILE at FILE (a mounted Secret in production) and publish the key."""
    from boleta.board_keys import NoteSigner, generate_signer_key

    text = generate_signer_key(_settings().board_origin)
    try:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        err.print(f"[red]error:[/] {file} exists; a key is never overwritten: choose another file")
        raise typer.Exit(1) from None
    except OSError as exc:
        err.print(f"[red]error:[/] cannot create {file}: {exc.strerror}")
        raise typer.Exit(1) from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text + "\n")
    print(NoteSigner.from_text(text).verifier_key_text)


def recount(
    board_url: Annotated[
        str, typer.Option("--board", help="The query service's base URL, e.g. http://host:8000")
    ],
    key_text: Annotated[
        str,
        typer.Option(
            "--key",
            help="The board's verifier key (name+id+base64), got from the organiser, not the "
            "server",
        ),
    ],
    catalog: Annotated[
        Path | None,
        typer.Option(
            help="The organiser's published catalog (boleta's format): the voting windows. "
            "Without it they come from the server's contests API"
        ),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            help="Where the checkpoints seen are kept, to check the next run's extend them "
            "(default: <BOLETA_CACHE_DIR>/recount)"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    compare: Annotated[
        bool,
        typer.Option(
            "--compare",
            help="Ask the results API for the results at the board's positions and compare",
        ),
    ] = False,
) -> None:
    """Recount every contest from the public board alone: every checkpoint's signature and
    consistency, every tile and entry checked, the published rules applied. Exit 1 on any
    verification failure or (--compare) difference."""
    import httpx

    from boleta import recount_cli as rc
    from boleta.ops import rebuild_progress

    try:
        key = rc.verifier(key_text)
        windows = rc.catalog_file(catalog) if catalog is not None else None
        store = rc.CheckpointStore(state or _settings().cache_dir / "recount")
        with (
            httpx.Client(base_url=board_url.rstrip("/"), timeout=30) as http,
            rebuild_progress(err) as progress,
        ):
            site = rc.BoardSite(http)
            task = progress.add_task("recounting the board", total=None, rate="")
            counted = rc.recount_board(
                site,
                key,
                windows,
                store,
                on_entries=lambda n: progress.advance(task, n),
                on_sizes=lambda total: progress.update(task, total=total),
            )
            progress.update(task, visible=False)
            differences = rc.compare_with_api(site, counted) if compare else None
    except rc.RecountError as exc:
        err.print(f"[red]recount failed:[/] {escape(str(exc))}")
        raise typer.Exit(exc.code) from None
    if as_json:
        found = rc.summary(counted)
        if differences is not None:
            found["compare"] = {"equal": not differences, "differences": differences}
        print(json.dumps(found, ensure_ascii=False))
    else:
        _show(counted, differences)
    if differences:
        raise typer.Exit(1)


def _show(counted: BoardRecount, differences: list[str] | None) -> None:
    from boleta.recount_cli import API_WINDOWS, summary

    found = summary(counted)
    for name, tally in found["contests"].items():
        table = Table("band", "votes", title=f"{name}: {tally['total']} votes")
        for band, votes in sorted(tally["bands"].items(), key=lambda kv: (-kv[1], kv[0])):
            table.add_row(escape(band), str(votes))
        console.print(table)
    if not found["contests"]:
        console.print("no vote counted")
    logs = ", ".join(f"p{c['partition']}: {c['size']} entries to {c['end']}" for c in found["logs"])
    console.print(f"positions counted (size, end offset): {logs}")
    console.print(f"positions: {found['positions']}")
    if counted.windows == API_WINDOWS:
        console.print(f"[yellow]note:[/] {API_WINDOWS}")
    if found["straddling_pseudonyms"]:
        console.print(
            f"[yellow]note:[/] {found['straddling_pseudonyms']} pseudonyms are in more than one "
            "partition: the live tallies may have decided them otherwise (ADR 8)"
        )
    checked = ", ".join(f"p{p} from size {s}" for p, s in sorted(counted.earlier.items()))
    console.print(
        "[green]✓[/] every checkpoint signed by the key given, every tile and entry checked"
        + (f"; consistent with the checkpoints seen before ({checked})" if checked else "")
    )
    if differences is None:
        return
    if differences:
        for line in differences:
            console.print(f"[red]✗[/] {escape(line)}")
    else:
        console.print("[green]✓ equal[/] to the results API at these positions")
