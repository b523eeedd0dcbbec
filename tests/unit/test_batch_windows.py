"""Each projection worker waits for its batches as long as its readers allow."""

from __future__ import annotations

from boleta.serve_projections import Model, batch_timeout_s
from boleta.settings import load


def test_the_audit_worker_fills_its_batches_longer_than_the_tallies_worker() -> None:
    # The tallies are what dashboards and the end-to-end latency show; the audit log is
    # paged through by people, and FerretDB charges about a millisecond per request.
    defaults = load({})
    assert batch_timeout_s(defaults, Model.tallies) == 0.02
    assert batch_timeout_s(defaults, Model.audit) == 0.25


def test_each_window_is_its_own_setting() -> None:
    settings = load(
        {"BOLETA_PROJECTION_BATCH_TIMEOUT_MS": "5", "BOLETA_AUDIT_BATCH_TIMEOUT_MS": "40"}
    )
    assert batch_timeout_s(settings, Model.tallies) == 0.005
    assert batch_timeout_s(settings, Model.audit) == 0.04
