"""Cluster ids are drawn as Kafka draws them: never one that begins with a dash."""

from __future__ import annotations

import uuid

import pytest

from boleta.stack import kafka


def test_new_cluster_ids_never_begin_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    # 0xf8 encodes to '-' as the first base64 character: the first draw must be refused.
    draws = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=b"\x01" * 16)])
    monkeypatch.setattr(kafka.uuid, "uuid4", lambda: next(draws))
    assert kafka.new_cluster_id() == "AQEBAQEBAQEBAQEBAQEBAQ"
