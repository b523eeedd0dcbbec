"""The Grafana dashboards are generated, current, and query only what the code writes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib.resources import files
from typing import Any

import pytest
import redis
import yaml
from prometheus_client import CollectorRegistry

from commands.metrics import CommandMetrics
from domain import readmodel
from projections.metrics import ProjectionMetrics
from projections.redis_sink import RedisTallies
from tests.infra.manifests import ROOT, load_script

pytestmark = pytest.mark.infra

GRAFANA = ROOT / "infra" / "grafana"


def dashboards() -> dict[str, dict[str, Any]]:
    return {
        p.name: json.loads(p.read_text()) for p in sorted((GRAFANA / "dashboards").glob("*.json"))
    }


def targets() -> Iterator[dict[str, Any]]:
    for board in dashboards().values():
        for panel in board["panels"]:
            yield from panel.get("targets", [])


def test_the_committed_json_is_what_the_generator_makes() -> None:
    rendered = load_script("gen_dashboards").render()
    assert set(rendered) == set(dashboards()), "run `uv run python scripts/gen_dashboards.py`"
    for name, text in rendered.items():
        assert (GRAFANA / "dashboards" / name).read_text() == text, f"{name} is stale"


def test_every_redis_key_queried_is_one_the_projection_writes() -> None:
    # The keys the tallies sink hands to its Lua script: the ones a batch writes (the
    # per-contest ones of the contest the dashboard's variable names).
    sink = RedisTallies(redis.Redis())  # no connection is made
    written = set(sink._keys) | set(sink.contest_keys("$contest"))
    queried = {t["keyName"] for t in targets() if t["datasource"]["type"] == "redis-datasource"}
    assert queried, "no Redis query in the dashboards"
    assert queried <= written, f"never written: {queried - written}"
    expected = {readmodel.CONTESTS, readmodel.RATE, readmodel.LAG}
    assert {readmodel.tallies_key(k) for k in expected} <= queried
    per_contest = {
        readmodel.contest_key("$contest", k) for k in (readmodel.BANDS, readmodel.ALBUMS)
    }
    assert per_contest <= queried


def test_the_tallies_dashboard_picks_a_contest_from_the_read_model() -> None:
    board = dashboards()["boleta-tallies.json"]
    (variable,) = board["templating"]["list"]
    assert (variable["name"], variable["type"]) == ("contest", "query")
    assert variable["datasource"]["type"] == "redis-datasource"
    assert variable["query"] == f"HKEYS {readmodel.tallies_key(readmodel.CONTESTS)}"


def test_stream_fields_used_are_the_ones_the_projection_adds() -> None:
    lua = files("projections").joinpath("tallies.lua").read_text()
    xadd = next(line for line in lua.splitlines() if "'XADD'" in line)
    added = set(re.findall(r"'([a-z_]+)', [a-z_]+", xadd.split("'*'", 1)[1]))
    assert added == {"votes", "total", "lag"}
    used = set()
    for board in dashboards().values():
        for panel in board["panels"]:
            if any(t.get("command") == "xrange" for t in panel.get("targets", [])):
                for step in panel.get("transformations", []):
                    for conversion in step["options"].get("conversions", []):
                        used.add(conversion["targetField"])
    used.discard("$time")
    assert used, "the stream panels convert no field"
    assert used <= added, f"not in the stream: {used - added}"


def test_every_metric_queried_is_exported() -> None:
    registry = CollectorRegistry()
    commands = CommandMetrics(registry)
    commands.rejected("invalid")  # labelled series appear once a label value is used
    commands.latency.labels("CastVotes", "OK").observe(0.01)
    ProjectionMetrics(registry, "tallies").lag(0, 1)
    exported = {s.name for family in registry.collect() for s in family.samples}
    queried = set()
    for t in targets():
        if t["datasource"]["type"] == "prometheus":
            queried |= set(re.findall(r"\bboleta_[a-z_]+", t["expr"]))
    assert queried, "no Prometheus query in the dashboards"
    assert queried <= exported, f"not exported: {queried - exported}"


def test_data_sources_and_provisioned_files_line_up() -> None:
    provisioned = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "datasources.yaml").read_text()
    )
    uids = {d["uid"]: d["type"] for d in provisioned["datasources"]}
    for t in targets():
        assert uids.get(t["datasource"]["uid"]) == t["datasource"]["type"]
    kustomization = yaml.safe_load((GRAFANA / "kustomization.yaml").read_text())
    generated = {
        f
        for g in kustomization["configMapGenerator"]
        for f in g.get("files", [])
        if f.startswith("dashboards/")
    }
    assert generated == {f"dashboards/{name}" for name in dashboards()}
