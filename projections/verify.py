"""Verify the read models against the log (invariants 2 and 3).

2. For every contest and band, the tally equals the number of distinct vote_ids for that
   band in the log up to the read model's checkpoint; the total equals their sum (also per
   album).
3. Once both projections have caught up, the Redis total equals the number of audit
   documents, and per contest and band they agree.

In a one-vote-per-voter contest (ADR 6) only the first vote of each voter in log order
counts: the fold applies that law, and the audit documents of later votes must be marked
``superseded_by`` the counted one (and are not counted in 2 or 3).

Every check is made contest by contest; ``contest`` (when given) limits them to one.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
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
    log: Iterable[Sequence[Delivered]], limits: Mapping[str, Mapping[int, int]]
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


def _contests(*named: Iterable[str], only: str | None = None) -> list[str]:
    found = set().union(*(set(n) for n in named))
    return [only] if only is not None else sorted(found)


def check_tallies(
    view: TallyView, snapshot: Mapping[str, Any], report: Report, contest: str | None = None
) -> None:
    """Each contest's tallies in the model against the log's (invariant 2)."""
    stored = snapshot["contests"]
    empty: dict[str, Any] = {"bands": {}, "albums": {}, "total": 0, "names": {}}
    for name in _contests(view.contests, stored, only=contest):
        tally, model = view.contest(name), stored.get(name, empty)
        compare_counts(f"{name}: tallies band", tally.bands, model["bands"], report)
        compare_counts(f"{name}: tallies album", tally.albums, model["albums"], report)
        # The spelling each band key and album field shows (one name per band, ADR 7).
        compare_counts(
            f"{name}: tallies name",
            tally.shown_names(),
            model["names"],
            report,
            absent=None,
        )
        if tally.total != model["total"]:
            report.differences.append(
                f"{name}: tallies total: log says {tally.total}, read model has {model['total']}"
            )
        if sum(model["bands"].values()) != model["total"]:
            report.differences.append(f"{name}: tallies total is not the sum of the bands")
    if contest is None and sum(t["total"] for t in stored.values()) != snapshot["total"]:
        report.differences.append("tallies total is not the sum of the contests")


def check_audit(
    view: TallyView,
    documents: Iterable[Mapping[str, Any]],
    checkpoints: Mapping[int, int],
    report: Report,
    contest: str | None = None,
) -> dict[str, Counter[str]]:
    """Audit documents up to the checkpoints must be exactly the first occurrence of each
    distinct vote_id, marked superseded as the fold says; returns the audit log's counted
    votes per contest and band key (all documents not superseded). The audit log keeps
    each vote's spelling; its votes are counted under the names' keys (ADR 7)."""
    bands: dict[str, Counter[str]] = defaultdict(Counter)
    albums: dict[str, Counter[str]] = defaultdict(Counter)
    all_bands: dict[str, Counter[str]] = defaultdict(Counter)
    seen: Counter[str] = Counter()
    mismarked: list[str] = []
    for doc in documents:
        superseded = doc.get("superseded_by")
        band, album = name_fields(doc["band"], doc["album"])
        if superseded is None:
            all_bands[doc["contest"]][band] += 1
        if doc["offset"] > checkpoints.get(doc["partition"], -1):
            continue
        seen[doc["vote_id"]] += 1
        if doc.get("one_vote_per_voter"):
            winner = view.contest(doc["contest"]).voters.get(doc.get("voter_id", ""))
            if (superseded or doc["vote_id"]) != winner:
                mismarked.append(doc["vote_id"])
        if superseded is not None:
            continue
        bands[doc["contest"]][band] += 1
        albums[doc["contest"]][album] += 1
    doubled = [v for v, n in seen.items() if n > 1]
    if doubled:
        report.differences.append(f"audit: {len(doubled)} vote_ids stored twice, e.g. {doubled[0]}")
    if mismarked:
        report.differences.append(
            f"audit: {len(mismarked)} votes marked superseded otherwise than the log's first "
            f"vote per voter, e.g. {mismarked[0]}"
        )
    for name in _contests(view.contests, bands, only=contest):
        tally = view.contest(name)
        compare_counts(f"{name}: audit band", tally.bands, bands[name], report)
        compare_counts(f"{name}: audit album", tally.albums, albums[name], report)
    return all_bands


def check_agreement(
    snapshot: Mapping[str, Any],
    audit_bands: Mapping[str, Mapping[str, int]],
    report: Report,
    contest: str | None = None,
) -> None:
    stored = snapshot["contests"]
    for name in _contests(stored, audit_bands, only=contest):
        model = stored.get(name, {"bands": {}, "total": 0})
        audit = audit_bands.get(name, {})
        if model["total"] != sum(audit.values()):
            report.differences.append(
                f"{name}: caught up, yet Redis counts {model['total']} votes and the audit "
                f"log {sum(audit.values())}"
            )
        compare_counts(f"{name}: Redis vs audit band", model["bands"], audit, report)
    audit_total = sum(sum(a.values()) for a in audit_bands.values())
    if contest is None and snapshot["total"] != audit_total:
        report.differences.append(
            f"caught up, yet Redis counts {snapshot['total']} votes and the audit log {audit_total}"
        )
