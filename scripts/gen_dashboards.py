"""Generate the Grafana dashboards (infra/grafana/dashboards/*.json) from code.

``--check`` fails when the committed JSON is stale (tests/infra runs it). The Redis key
names come from ``domain.readmodel``, the metric names from the processes' metrics
modules, so a rename there shows up here. Built with grafana-foundation-sdk; the
redis-datasource plugin has no builder in the SDK, so :class:`RedisQuery` is one.

Run as ``uv run python scripts/gen_dashboards.py [--check]`` from anywhere.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import (
    bargauge,
    common,
    dashboard,
    prometheus,
    stat,
    timeseries,
)
from grafana_foundation_sdk.cog import variants
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as kinds
from grafana_foundation_sdk.models import dashboard as dashboard_models
from grafana_foundation_sdk.models.dashboard import (
    Dashboard,
    DataSourceRef,
    DataTransformerConfig,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # domain/ when run as a script
from domain import readmodel  # noqa: E402

OUT = ROOT / "infra" / "grafana" / "dashboards"
REDIS = DataSourceRef(type_val="redis-datasource", uid="boleta-redis")
PROMETHEUS = DataSourceRef(type_val="prometheus", uid="boleta-prometheus")


class RedisQuery(variants.Dataquery):
    """A query of the redis-datasource plugin: one command on one key."""

    def __init__(self, ref_id: str, command: str, key: str) -> None:
        self.ref_id, self.command, self.key = ref_id, command, key

    def to_json(self) -> dict[str, object]:
        return {
            "refId": self.ref_id,
            "datasource": REDIS.to_json(),
            "type": "command",
            "command": self.command,
            "keyName": self.key,
            # xrange with no start/end reads the dashboard's time range (stream ids are ms).
        }


# The dashboard variable of the contest shown (its values: the contests that have votes).
CONTEST_VAR = "contest"


class Redis(Builder[variants.Dataquery]):
    """A query of one model-wide key, or (``per_contest``) of the chosen contest's key."""

    def __init__(
        self, command: str, name: str, ref_id: str = "A", per_contest: bool = False
    ) -> None:
        key = (
            readmodel.contest_key(f"${CONTEST_VAR}", name)
            if per_contest
            else readmodel.tallies_key(name)
        )
        self._query = RedisQuery(ref_id, command, key)

    def build(self) -> variants.Dataquery:
        return self._query


def transform(id_val: str, **options: Any) -> DataTransformerConfig:
    return DataTransformerConfig(id_val=id_val, options=options)


def last_value() -> common.ReduceDataOptions:
    return common.ReduceDataOptions().values(False).calcs(["lastNotNull"])


def tallies_dashboard() -> Dashboard:
    """The live read model, from Redis alone (what a projection writes)."""
    # HGETALL returns one wide row: one field per band (per album, per partition).
    bands = (
        bargauge.Panel()
        .title("Votes per band in $contest")
        .datasource(REDIS)
        .with_target(Redis("hgetall", readmodel.BANDS, per_contest=True))
        .reduce_options(last_value())
        .orientation(kinds.VizOrientation.HORIZONTAL)
        .display_mode(kinds.BarGaugeDisplayMode.GRADIENT)
        .min(0)
        .height(12)
        .span(12)
    )
    albums = (
        bargauge.Panel()
        .title("Votes per album in $contest")
        .datasource(REDIS)
        .with_target(Redis("hgetall", readmodel.ALBUMS, per_contest=True))
        # Fields are "band<US>album" (readmodel.ALBUM_SEP); show "band - album".
        .with_transformation(
            transform(
                "renameByRegex",
                regex=f"(.*){readmodel.ALBUM_SEP}(.*)",
                renamePattern="$1 - $2",
            )
        )
        .reduce_options(last_value())
        .orientation(kinds.VizOrientation.HORIZONTAL)
        .display_mode(kinds.BarGaugeDisplayMode.GRADIENT)
        .min(0)
        .height(12)
        .span(12)
    )
    total = (
        stat.Panel()
        .title("Votes per contest")
        .datasource(REDIS)
        .with_target(Redis("hgetall", readmodel.CONTESTS))
        .reduce_options(last_value())
        .graph_mode(kinds.BigValueGraphMode.NONE)
        .height(6)
        .span(6)
    )
    lag_now = (
        bargauge.Panel()
        .title("Projection lag per partition (messages)")
        .datasource(REDIS)
        .with_target(Redis("hgetall", readmodel.LAG))
        .reduce_options(last_value())
        .min(0)
        .height(6)
        .span(18)
    )
    # The rate stream has one entry per applied batch (fields votes, total, lag; values
    # are strings). Votes per second = the batches' votes summed per second of entry time.
    per_second = (
        timeseries.Panel()
        .title("Votes per second (tallies applied)")
        .datasource(REDIS)
        .with_target(Redis("xrange", readmodel.RATE))
        .with_transformation(
            transform(
                "convertFieldType",
                conversions=[{"targetField": "votes", "destinationType": "number"}],
                fields={},
            )
        )
        .with_transformation(
            transform(
                "formatTime",
                timeField="$time",
                outputFormat="YYYY-MM-DD HH:mm:ss",
                useTimezone=False,
            )
        )
        .with_transformation(
            transform(
                "groupBy",
                fields={
                    "$time": {"operation": "groupby", "aggregations": []},
                    "votes": {"operation": "aggregate", "aggregations": ["sum"]},
                },
            )
        )
        .with_transformation(
            transform(
                "convertFieldType",
                conversions=[
                    {
                        "targetField": "$time",
                        "destinationType": "time",
                        "dateFormat": "YYYY-MM-DD HH:mm:ss",
                    }
                ],
                fields={},
            )
        )
        .unit("short")
        .draw_style(kinds.GraphDrawStyle.BARS)
        .fill_opacity(60)
        .height(9)
        .span(24)
    )
    lag_over_time = (
        timeseries.Panel()
        .title("Projection lag over time (messages behind the log)")
        .datasource(REDIS)
        .with_target(Redis("xrange", readmodel.RATE))
        .with_transformation(
            transform(
                "convertFieldType",
                conversions=[{"targetField": "lag", "destinationType": "number"}],
                fields={},
            )
        )
        .with_transformation(transform("filterFieldsByName", include={"names": ["$time", "lag"]}))
        .height(8)
        .span(24)
    )
    contest = (
        dashboard.QueryVariable(CONTEST_VAR)
        .label("Contest")
        .datasource(REDIS)
        .query(f"HKEYS {readmodel.tallies_key(readmodel.CONTESTS)}")
        .refresh(dashboard_models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dashboard_models.VariableSort.ALPHABETICAL_ASC)
    )
    return (
        dashboard.Dashboard("Boleta: live tallies")
        .uid("boleta-tallies")
        .tags(["boleta"])
        .refresh("5s")
        .time("now-15m", "now")
        .with_variable(contest)
        .with_panel(total)
        .with_panel(lag_now)
        .with_panel(bands)
        .with_panel(albums)
        .with_panel(per_second)
        .with_panel(lag_over_time)
        .build()
    )


def promql(expr: str, legend: str, ref_id: str = "A") -> prometheus.Dataquery:
    return (
        prometheus.Dataquery()
        .expr(expr)
        .legend_format(legend)
        .ref_id(ref_id)
        .datasource(PROMETHEUS)
    )


def series(title: str, unit: str, *queries: prometheus.Dataquery) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).datasource(PROMETHEUS).unit(unit).height(8).span(12)
    for query in queries:
        panel = panel.with_target(query)
    return panel


def operations_dashboard() -> Dashboard:
    """The processes' Prometheus metrics (commands/metrics.py, projections/metrics.py)."""
    latency = "boleta_grpc_server_handling_seconds_bucket"
    return (
        dashboard.Dashboard("Boleta: operations")
        .uid("boleta-operations")
        .tags(["boleta"])
        .refresh("10s")
        .time("now-1h", "now")
        .with_panel(
            series(
                "Ingest: votes acknowledged per second",
                "short",
                promql("sum(rate(boleta_votes_accepted_total[1m]))", "accepted"),
                promql(
                    "sum by (model) (rate(boleta_projection_votes_applied_total[1m]))",
                    "applied by {{model}}",
                    "B",
                ),
            )
        )
        .with_panel(
            series(
                "Rejections per second, by reason",
                "short",
                promql("sum by (reason) (rate(boleta_votes_rejected_total[1m]))", "{{reason}}"),
            )
        )
        .with_panel(
            series(
                "gRPC latency percentiles",
                "s",
                *(
                    promql(
                        f"histogram_quantile({q}, sum by (le, method) (rate({latency}[1m])))",
                        f"p{round(q * 100)} {{{{method}}}}",
                        ref,
                    )
                    for q, ref in ((0.5, "A"), (0.9, "B"), (0.99, "C"))
                ),
            )
        )
        .with_panel(
            series(
                "Consumer lag (messages behind the log)",
                "short",
                promql("sum by (model) (boleta_projection_lag)", "{{model}}"),
            )
        )
        .with_panel(
            series(
                "Projection batch p99 and DLQ",
                "short",
                promql(
                    "histogram_quantile(0.99, sum by (le, model) "
                    "(rate(boleta_projection_batch_seconds_bucket[1m])))",
                    "batch p99 s {{model}}",
                ),
                promql(
                    "sum by (model) (rate(boleta_projection_dead_lettered_total[5m]))",
                    "dead-lettered/s {{model}}",
                    "B",
                ),
            )
        )
        .with_panel(
            series(
                "In-flight gRPC calls",
                "short",
                promql("sum(boleta_grpc_inflight_calls)", "in flight"),
            )
        )
        .build()
    )


def render() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    boards = {
        "boleta-tallies.json": tallies_dashboard(),
        "boleta-operations.json": operations_dashboard(),
    }
    return {
        name: json.dumps(board, cls=JSONEncoder, indent=2, sort_keys=True, ensure_ascii=False)
        + "\n"
        for name, board in boards.items()
    }


def main() -> int:
    check = "--check" in sys.argv[1:]
    stale = []
    for name, text in render().items():
        path = OUT / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
            if not check:
                OUT.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    if check and stale:
        fix = "uv run python scripts/gen_dashboards.py"
        print(f"stale dashboards: {', '.join(stale)}; run `{fix}`", file=sys.stderr)
        return 1
    print("dashboards are up to date" if check or not stale else f"generated {', '.join(stale)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
