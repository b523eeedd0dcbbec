"""Verify the read models against the log (invariants 2 and 3).

2. For every band, the tally equals the number of distinct vote_ids for that band in the
   log up to the read model's checkpoint; the total equals their sum (also per album).
3. Once both projections have caught up, the Redis total equals the number of audit
   documents, and per band they agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.projection import Delivered, TallyView, name_fields


@dataclass
class Report:
    differences: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.differences


def fold_until(
    log: Iterable[list[Delivered]], limits: Mapping[str, Mapping[int, int]]
) -> dict[str, TallyView]:
    """One pass over the log, one view per named checkpoint set (offsets <= checkpoint)."""
    views = {name: TallyView() for name in limits}
    for batch in log:
        for name, view in views.items():
            cps = limits[name]
            view.apply([d for d in batch if d.offset <= cps.get(d.partition, -1)])
    return views


def compare_counts(
    what: str,
    expected: Mapping[str, object],
    actual: Mapping[str, object],
    report: Report,
    limit: int = 20,
    absent: object = 0,
) -> None:
    keys = sorted(set(expected) | set(actual))
    wrong = [k for k in keys if expected.get(k, absent) != actual.get(k, absent)]
    for key in wrong[:limit]:
        shown = key.replace("\x1f", " / ")
        log_says, model_has = expected.get(key, absent), actual.get(key, absent)
        report.differences.append(
            f"{what} {shown!r}: log says {log_says!r}, model has {model_has!r}"
        )
    if len(wrong) > limit:
        report.differences.append(f"... and {len(wrong) - limit} more {what} differences")


def check_tallies(view: TallyView, snapshot: Mapping[str, Any], report: Report) -> None:
    compare_counts("tallies band", view.bands, snapshot["bands"], report)
    compare_counts("tallies album", view.albums, snapshot["albums"], report)
    # The spelling shown per band key and album field (one name per band: domain.names).
    names = view.summary()["names"]
    compare_counts("tallies name", names, snapshot["names"], report, absent=None)
    if view.total != snapshot["total"]:
        report.differences.append(
            f"tallies total: log says {view.total}, read model has {snapshot['total']}"
        )
    if sum(snapshot["bands"].values()) != snapshot["total"]:
        report.differences.append("tallies total is not the sum of the bands")


def check_audit(
    view: TallyView,
    documents: Iterable[Mapping[str, Any]],
    checkpoints: Mapping[int, int],
    report: Report,
) -> Counter[str]:
    """Audit documents up to the checkpoints must be exactly the first occurrence of each
    distinct vote_id; returns the audit log's votes per band key (all documents). The audit
    log keeps each vote's spelling; its votes are counted under the names' keys."""
    bands: Counter[str] = Counter()
    albums: Counter[str] = Counter()
    all_bands: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for doc in documents:
        band, album = name_fields(doc["band"], doc["album"])
        all_bands[band] += 1
        if doc["offset"] > checkpoints.get(doc["partition"], -1):
            continue
        seen[doc["vote_id"]] += 1
        bands[band] += 1
        albums[album] += 1
    doubled = [v for v, n in seen.items() if n > 1]
    if doubled:
        report.differences.append(f"audit: {len(doubled)} vote_ids stored twice, e.g. {doubled[0]}")
    compare_counts("audit band", view.bands, bands, report)
    compare_counts("audit album", view.albums, albums, report)
    return all_bands


def check_agreement(
    snapshot: Mapping[str, Any], audit_bands: Mapping[str, int], report: Report
) -> None:
    audit_total = sum(audit_bands.values())
    if snapshot["total"] != audit_total:
        report.differences.append(
            f"caught up, yet Redis counts {snapshot['total']} votes and the audit log {audit_total}"
        )
    compare_counts("Redis vs audit band", snapshot["bands"], audit_bands, report)
