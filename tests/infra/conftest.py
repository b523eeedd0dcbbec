"""Render every overlay once per session with a real Kustomize (scripts/kustomize.py)."""

from __future__ import annotations

from types import ModuleType

import pytest
import yaml

from tests.infra.manifests import K8S, OVERLAYS, Doc, load_script


@pytest.fixture(scope="session")
def kustomize() -> ModuleType:
    module = load_script("kustomize")
    module.ensure()  # build once (cached by version); the first time takes about a minute
    return module


@pytest.fixture(scope="session")
def rendered(kustomize: ModuleType) -> dict[str, list[Doc]]:
    """overlay name -> the rendered manifests."""
    return {
        name: [d for d in yaml.safe_load_all(kustomize.build(K8S / "overlays" / name)) if d]
        for name in OVERLAYS
    }


@pytest.fixture(params=OVERLAYS)
def docs(request: pytest.FixtureRequest, rendered: dict[str, list[Doc]]) -> list[Doc]:
    return rendered[request.param]
