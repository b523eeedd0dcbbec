"""``boleta results``: one contest's tallies, live or as of a moment, as a table or JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from boleta import ops
from boleta.settings import Settings
from domain.names import shown_tallies
from queries.inputs import InputError, as_of


class ResultsError(Exception):
    """What ``boleta results`` prints instead of the tallies, and its exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def moment_option(option: str, value: str) -> datetime:
    """The moment an option names, as the query API accepts ``as_of`` (queries.inputs):
    else ``ResultsError`` naming the option and what it accepts (exit 2, a usage error)."""
    try:
        return as_of(option, value, datetime.now(UTC))
    except InputError as exc:
        raise ResultsError(str(exc), 2) from None


def tallies_as_of(settings: Settings, contest: str, moment: datetime) -> dict[str, Any]:
    """The contest's tallies as of ``moment``, replayed from the log (``ResultsError``,
    exit 1, when the log cannot answer)."""
    from confluent_kafka import KafkaException

    from domain.asof import ReplayTooLongError

    try:
        view = ops.results_as_of(settings, moment, settings.as_of_timeout_s)
    except (TimeoutError, ReplayTooLongError) as exc:
        raise ResultsError(str(exc), 1) from None
    except KafkaException as exc:
        raise ResultsError(f"the log (Kafka) could not be read: {exc}", 1) from None
    tally = view.contests.get(contest)
    summary = tally.summary() if tally else {"bands": {}, "albums": {}, "total": 0, "names": {}}
    return {
        "contest": contest,
        **summary,
        "checkpoints": view.checkpoints,
        "lag": {},
        "as_of": moment.isoformat(),
    }


def show(data: dict[str, Any], as_json: bool, console: Console) -> None:
    """The tallies as a table (with the lag, or the moment they are as of) or one JSON line.
    Bands and albums are counted under their keys; each is shown as its first spelling."""
    shown = shown_tallies(data["bands"], data["albums"], data["names"])
    bands = {band: votes for band, votes, _ in shown}
    if as_json:
        albums = [
            {"band": band, "album": album, "votes": n}
            for band, _, band_albums in shown
            for album, n in band_albums
        ]
        print(
            json.dumps(
                {
                    "contest": data["contest"],
                    "total": data["total"],
                    "bands": bands,
                    "albums": albums,
                    "checkpoints": data["checkpoints"],
                    "lag": data["lag"],
                    **({"as_of": data["as_of"]} if "as_of" in data else {}),
                },
                ensure_ascii=False,
            )
        )
        return
    title = f"{data['contest']}: {data['total']} votes"
    table = Table("band", "votes", "share", title=title)
    for band, votes in sorted(bands.items(), key=lambda kv: -kv[1]):
        table.add_row(band, str(votes), f"{votes / max(data['total'], 1):.1%}")
    console.print(table)
    if "as_of" in data:
        console.print(f"as of {data['as_of']}: every vote cast up to it, replayed from the log")
    else:
        console.print(f"lag: {sum(data['lag'].values())} messages behind the log")
