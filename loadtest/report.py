"""The benchmark's figures, their targets (``DESIGN.md``, section Targets), table and JSON."""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from rich.table import Table

RSS_LIMIT_MB = 200.0


@dataclass
class Figure:
    """One measured figure; ``ratio`` against its anchor, ``met`` against its target."""

    label: str
    value: float
    unit: str
    target: str = ""
    ratio: float | None = None
    met: bool | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Measured:
    """A rate over ``events`` and the CPU seconds the measured process spent on them."""

    rate: float
    events: int
    cpu_s: float

    @property
    def cpu_us_per_event(self) -> float:
        return self.cpu_s * 1e6 / self.events if self.events else float("nan")


def at_least(ratio: float, minimum: float, of: str = "anchor") -> tuple[str, bool]:
    return f">= {minimum:.0%} of {of}", ratio >= minimum


def at_most(ratio: float, maximum: float, of: str) -> tuple[str, bool]:
    return f"<= {maximum:g}x {of}", ratio <= maximum


class Results:
    def __init__(self, mode: str, command: str) -> None:
        self.figures: dict[str, Figure] = {}
        self.rss_mb: dict[str, float] = {}
        self.meta: dict[str, Any] = {
            "mode": mode,
            "command": command,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
        }

    def anchor(self, key: str, label: str, value: float, unit: str, **detail: Any) -> Figure:
        figure = Figure(label, value, unit, target="anchor", detail=detail)
        self.figures[key] = figure
        return figure

    def against(
        self,
        key: str,
        label: str,
        value: float,
        unit: str,
        anchor: str,
        minimum: float,
        goal: float | None = None,
        of: str = "anchor",
        **d: Any,
    ) -> Figure:
        """A rate measured against the anchor ``anchor`` (``of`` names it in the target);
        met when at least ``minimum``x. A ``goal`` above the minimum is shown in the target
        and kept in the detail."""
        ratio = value / self.figures[anchor].value
        target, met = at_least(ratio, minimum, of)
        if goal is not None:
            target += f" (goal {goal:.0%})"
            d = {"goal": goal, "goal_met": ratio >= goal, **d}
        figure = Figure(label, value, unit, target, ratio, met, {"anchor": anchor, **d})
        self.figures[key] = figure
        return figure

    def ceiling(
        self, key: str, label: str, value: float, unit: str, limit: float, **d: Any
    ) -> Figure:
        """A cost met when at most ``limit`` (in ``unit``)."""
        target = f"<= {limit:g} {unit}"
        return self.add(key, Figure(label, value, unit, target, value / limit, value <= limit, d))

    def within(
        self,
        key: str,
        label: str,
        value: float,
        unit: str,
        anchor_value: float,
        maximum: float,
        of: str,
        **d: Any,
    ) -> Figure:
        """A cost met when at most ``maximum`` times ``anchor_value`` (``of`` names it)."""
        ratio = value / anchor_value
        target, met = at_most(ratio, maximum, of)
        return self.add(key, Figure(label, value, unit, target, ratio, met, d))

    def add(self, key: str, figure: Figure) -> Figure:
        self.figures[key] = figure
        return figure

    def memory(self, peaks: dict[str, int]) -> None:
        self.rss_mb = {role: rss / 2**20 for role, rss in sorted(peaks.items())}
        for role, mb in self.rss_mb.items():
            self.figures[f"rss_{role}"] = Figure(
                f"peak RSS: {role}",
                mb,
                "MB",
                f"< {RSS_LIMIT_MB:.0f} MB",
                mb / RSS_LIMIT_MB,
                mb < RSS_LIMIT_MB,
            )

    def to_json(self) -> dict[str, Any]:
        return {
            **self.meta,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "figures": {k: asdict(f) for k, f in self.figures.items()},
            "peak_rss_mb": self.rss_mb,
        }

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = directory / f"bench-{self.meta['mode']}-{stamp}.json"
        path.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n")
        return path

    def table(self) -> Table:
        table = Table(
            "figure", "value", "target", "ratio", "met",
            title=f"boleta bench ({self.meta['mode']})",
        )  # fmt: skip
        for figure in self.figures.values():
            met = (
                "" if figure.met is None else ("[green]met[/]" if figure.met else "[red]not met[/]")
            )
            ratio = "" if figure.ratio is None else f"{figure.ratio:.2f}"
            table.add_row(figure.label, value_text(figure), figure.target, ratio, met)
        return table


def value_text(figure: Figure) -> str:
    text = (
        f"{figure.value:,.0f} {figure.unit}"
        if figure.value >= 100
        else (f"{figure.value:,.1f} {figure.unit}")
    )
    p50, p99 = figure.detail.get("p50_ms"), figure.detail.get("p99_ms")
    if p50 is not None and p99 is not None and figure.unit != "ms":
        text += f" (p50 {p50:.1f} ms, p99 {p99:.1f} ms)"
    for key, shown in CPU_DETAILS.items():
        cpu = figure.detail.get(key)
        if cpu is not None:
            text += f", {shown} {cpu:,.0f} us/{key.rsplit('_', 1)[1]}"
    anchor_cpu = figure.detail.get("anchor_cpu_us_per_event")
    if anchor_cpu is not None:
        text += f" (anchor {anchor_cpu:,.0f} us/event)"
    if figure.unit == "ms" and "failed" in figure.detail:
        d = figure.detail
        text += (
            f" ({d['offered_per_s']:,.0f}/s offered, {d['acked_per_s']:,.0f}/s acknowledged,"
            f" {d['failed']:,} failed)"
        )
    steps = figure.detail.get("steps")
    if steps:
        tried = ", ".join(f"{s['rate']:,.0f} {'ok' if s['met'] else 'miss'}" for s in steps)
        text += f" (tried {tried})"
    return text


CPU_DETAILS = {
    "server_cpu_us_per_vote": "server CPU",
    "server_cpu_us_per_call": "server CPU",
    "cpu_us_per_event": "CPU",
}


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def markdown(report: dict[str, Any]) -> str:
    """A saved run as the Markdown table of docs/performance.md."""
    lines = ["| figure | value | target | ratio | met |", "|---|---|---|---|---|"]
    for figure in report["figures"].values():
        shown = Figure(**figure)
        met = {None: "", True: "met", False: "**not met**"}[shown.met]
        ratio = "" if shown.ratio is None else f"{shown.ratio:.2f}"
        lines.append(f"| {shown.label} | {value_text(shown)} | {shown.target} | {ratio} | {met} |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m loadtest.report bench/results/bench-full-....json
    print(markdown(json.loads(Path(sys.argv[1]).read_text())))
