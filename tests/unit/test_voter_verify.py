"""``boleta verify`` under one vote per voter: superseded audit documents are not counted,
and a mark that differs from the log's first vote per voter is a difference."""

from __future__ import annotations

from domain.projection import audit_change, fold, supersede
from projections.verify import Report, check_agreement, check_audit
from tests.unit.test_projection_laws import Log, clean_pass
from tests.unit.test_voter_laws import cast


def audit_of(log: Log) -> list[dict]:
    documents, _ = audit_change(clean_pass(log), {})
    return supersede(documents, {})[0]


LOG: Log = {
    0: [cast("e0", "A", "alice", "X"), cast("e1", "B", "alice", "Y"), cast("e2", "C", "bob", "Y")]
}


def test_a_correctly_marked_audit_log_verifies() -> None:
    view = fold([clean_pass(LOG)])
    report = Report()
    bands = check_audit(view, audit_of(LOG), {0: 2}, report)
    check_agreement(
        {"contests": {"jury": {"bands": {"x": 1, "y": 1}, "total": 2}}, "total": 2}, bands, report
    )
    assert report.ok, report.differences
    assert bands == {"jury": {"x": 1, "y": 1}}  # counted by key (ADR 7)


def test_a_missing_or_wrong_mark_is_a_difference() -> None:
    view = fold([clean_pass(LOG)])
    unmarked = [{k: v for k, v in d.items() if k != "superseded_by"} for d in audit_of(LOG)]
    report = Report()
    check_audit(view, unmarked, {0: 2}, report)
    assert any("superseded" in d for d in report.differences)
    wrong = audit_of(LOG)
    wrong[0] = {**wrong[0], "superseded_by": "B"}
    report = Report()
    check_audit(view, wrong, {0: 2}, report)
    assert any("superseded" in d for d in report.differences)
