"""Helpers for reading rendered manifests (the fixtures are in conftest.py)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra" / "k8s"
OVERLAYS = ("dev", "prod")
# Strimzi's CRDs: present wherever CI runs, beside the repo (never copied into it).
STRIMZI_SCHEMAS = ROOT.parent / "shared" / "schemas" / "strimzi"
PYTHON_IMAGE = "boleta"  # the one image of every Python process (Dockerfile)

Doc = dict[str, Any]


def load_script(name: str) -> ModuleType:
    """A module of scripts/ (a folder, not a package) by file name."""
    path = ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[Doc], kind: str, name: str) -> Doc:
    found = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def workloads(docs: list[Doc]) -> Iterator[Doc]:
    yield from (d for d in docs if d["kind"] in ("Deployment", "StatefulSet"))


def containers(workload: Doc) -> list[Doc]:
    spec = workload["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def python_containers(docs: list[Doc]) -> Iterator[tuple[Doc, Doc]]:
    """(workload, container) for every container of the boleta image."""
    for workload in workloads(docs):
        for container in containers(workload):
            if container["image"].split(":")[0] == PYTHON_IMAGE:
                yield workload, container


def config_map(docs: list[Doc], name: str) -> Doc:
    """A generated ConfigMap by its name before kustomize's hash suffix."""
    found = [
        d for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"].rsplit("-", 1)[0] == name
    ]
    assert len(found) == 1, f"expected one ConfigMap {name}-<hash>, found {len(found)}"
    return found[0]


def environment(docs: list[Doc], container: Doc, secret: str = "from-a-secret") -> dict[str, str]:
    """The container's environment as the process would see it; a value read from a Secret
    is ``secret`` (or a URL for *_URL names) since Secrets are not in git."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef")
        assert ref is not None, f"{container['name']}: envFrom only from ConfigMaps"
        cm = next(d for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"] == ref["name"])
        env.update(cm.get("data", {}))
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "secretKeyRef" in var.get("valueFrom", {}):
            fake = "mongodb://user:pass@mongo:27017/" if var["name"].endswith("_URL") else secret
            env[var["name"]] = fake
    return env


def pod_labels(workload: Doc) -> dict[str, str]:
    return dict(workload["spec"]["template"]["metadata"].get("labels", {}))


def selects(selector: Doc, labels: dict[str, str]) -> bool:
    """matchLabels only (what these manifests use); an empty selector selects every pod."""
    assert set(selector) <= {"matchLabels"}, f"unsupported selector {selector}"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())
