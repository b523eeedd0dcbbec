"""Kafka's storage formats with any cluster id, also one that begins like an option."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from boleta import settings as settings_mod
from boleta.stack import kafka


@pytest.mark.parametrize("cluster_id", ["-dU2ycXFSnatnEbWSMKw-Q", "_dU2ycXFSnatnEbWSMKw-Q"])
def test_storage_formats_with_ids_that_begin_with_dash_or_underscore(
    settings: settings_mod.Settings, tmp_path: Path, cluster_id: str
) -> None:
    private = dataclasses.replace(settings, home=tmp_path)
    config = kafka._write_config(private)
    kafka.format_storage(private, config, cluster_id)
    meta = (tmp_path / "kafka" / "data" / "meta.properties").read_text()
    assert f"cluster.id={cluster_id}\n" in meta
