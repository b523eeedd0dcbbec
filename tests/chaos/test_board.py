"""The public board under faults, while votes flow: its worker SIGKILLed again and again
(mid-tile: between a batch's files and its checkpoint, or inside either), and its link to
FerretDB resetting connections as the server answers (a checkpoint written that the worker
never hears of). Each row then checks the votes exactly (test_faults' checks) and the board
against the log (tests.chaos.board_checks): every file is what the log implies, every
checkpoint the query service served while the fault ran is signed and a prefix of the
log's tree (so consistent with every later one), and a rebuild is byte-identical; then
``boleta recount --compare`` reads the board over HTTP and counts it: its total is the
tallies' count, and it equals the results API at the board's positions.
"""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from boleta.settings import Settings
from tests.chaos.board_checks import CheckpointWatch, check_board
from tests.chaos.conftest import Chaos
from tests.chaos.stack import PARTITIONS
from tests.chaos.test_faults import progress
from tests.integration.cli_helpers import recount as cli_recount
from tests.integration.projection_helpers import wait_for

pytestmark = pytest.mark.timeout(1200)

KILLS = 8
RESET_S = 6.0


def board_rows(chaos: Chaos, tmp_path: Path) -> CheckpointWatch:
    """Start the board worker and the query service; watch the checkpoints it serves."""
    chaos.start_app("board", tmp_path / "logs")
    queries = chaos.start_queries(tmp_path / "logs")
    base = f"http://{queries.settings.query_host}:{queries.settings.query_port}"
    return CheckpointWatch(base, PARTITIONS)


def finish(chaos: Chaos, watch: CheckpointWatch, state: Path, rebuild: bool = False) -> None:
    load = chaos.loads[-1]
    chaos.check(load.wait())
    failures = check_board(chaos.world, watch.served, rebuild=rebuild)
    chaos.row.notes.update(checkpoints_served=watch.count())
    assert not failures, "\n".join(failures)
    recounted = recount(chaos.world, watch.base, state)
    assert recounted["total"] == chaos.row.counted, "the recount is not the tallies' count"
    assert recounted["compare"] == {"equal": True, "differences": []}, recounted["compare"]
    chaos.row.notes.update(recounted=recounted["total"])


def recount(world: Settings, base: str, state: Path) -> dict[str, Any]:
    """``boleta recount --compare`` of the board the query service serves: anyone's count,
    equal to the results API at the board's positions."""
    done = cli_recount(world, base, state, "--compare", "--json", timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_board_worker_sigkilled_mid_tile(chaos: Chaos, tmp_path: Path) -> None:
    """SIGKILL of the board worker, 8 times, mid-tile; then a byte-identical rebuild."""
    with board_rows(chaos, tmp_path) as watch:
        kills_done = threading.Event()
        load = chaos.load(flow_s=30, until=kills_done)
        board = chaos.apps["board"]
        rng = random.Random(25)
        progress(chaos, 0.1)
        for _ in range(KILLS):
            served = watch.count()
            wait_for(lambda s=served: watch.count() > s, 60, "the board to publish a checkpoint")
            time.sleep(rng.uniform(0.0, 0.3))  # anywhere in a batch: files, codes, state
            board.kill()
            board.spawn()
        kills_done.set()
        board.wait_ready()
        wait_for(lambda: not load.flowing(), 300, "the load to end")
        finish(chaos, watch, tmp_path / "recount", rebuild=True)


def test_board_ferretdb_resets_during_checkpoint_writes(chaos: Chaos, tmp_path: Path) -> None:
    """Connection resets on the board worker's FerretDB link, as checkpoints are written."""
    chaos.row.fault += f" (twice, {RESET_S:.0f} s each)"
    with board_rows(chaos, tmp_path) as watch:
        healed = threading.Event()
        chaos.load(flow_s=30, until=healed)
        progress(chaos, 0.1)
        for _ in range(2):
            served = watch.count()
            with chaos.network.resets("board-ferretdb"):
                time.sleep(RESET_S)
            wait_for(lambda s=served: watch.count() > s, 120, "a checkpoint after the resets")
        healed.set()
        finish(chaos, watch, tmp_path / "recount")
