"""Every rendered manifest is valid: Kubernetes kinds against the API's schemas
(kubernetes-validate, strict), Strimzi kinds against their CRDs' openAPIV3Schema."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import jsonschema
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from tests.infra.manifests import STRIMZI_SCHEMAS, Doc

pytestmark = pytest.mark.infra

K8S_VERSION = "1.34.0"  # a current GKE release; kubernetes-validate ships its schemas
STRIMZI_GROUP = "kafka.strimzi.io"


def closed(schema: Any) -> Any:
    """The schema with unknown fields rejected, as `kubectl --validate=strict` does: the API
    server would otherwise prune a misspelt field silently."""
    if isinstance(schema, dict):
        schema = {k: closed(v) for k, v in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [closed(v) for v in schema]
    return schema


@cache
def strimzi_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> schema, from the CRDs beside the repo."""
    assert STRIMZI_SCHEMAS.is_dir(), f"Strimzi CRDs missing: {STRIMZI_SCHEMAS}"
    found = {}
    for path in sorted(STRIMZI_SCHEMAS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        spec = crd["spec"]
        for version in spec["versions"]:
            if version.get("served"):
                schema = closed(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
                found[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = schema
    return found


def strimzi_errors(doc: Doc) -> list[str]:
    key = (doc["apiVersion"], doc["kind"])
    schema = strimzi_schemas().get(key)
    if schema is None:
        return [f"no served Strimzi CRD version for {key}"]
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)
    ]


def test_kubernetes_kinds_pass_strict_validation(docs: list[Doc]) -> None:
    failures = []
    for doc in docs:
        if doc["apiVersion"].startswith(STRIMZI_GROUP + "/"):
            continue
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = "/".join(map(str, exc.path))
            failures.append(f"{doc['kind']}/{doc['metadata']['name']} {where}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError:
            failures.append(f"{doc['kind']} {doc['apiVersion']}: no schema (unknown kind)")
    assert not failures, "\n".join(failures)


def test_strimzi_kinds_match_their_crds(docs: list[Doc]) -> None:
    strimzi = [d for d in docs if d["apiVersion"].startswith(STRIMZI_GROUP + "/")]
    assert {d["kind"] for d in strimzi} == {"Kafka", "KafkaNodePool", "KafkaTopic"}
    failures = [
        f"{d['kind']}/{d['metadata']['name']} {error}"
        for d in strimzi
        for error in strimzi_errors(d)
    ]
    assert not failures, "\n".join(failures)


def test_strimzi_api_is_v1(docs: list[Doc]) -> None:
    versions = {d["apiVersion"] for d in docs if d["apiVersion"].startswith(STRIMZI_GROUP)}
    assert versions == {f"{STRIMZI_GROUP}/v1"}


def test_the_closed_schema_catches_a_misspelt_field() -> None:
    topic = {
        "apiVersion": f"{STRIMZI_GROUP}/v1",
        "kind": "KafkaTopic",
        "metadata": {"name": "votes"},
        "spec": {"partitions": 12, "replica": 3},
    }
    assert any("replica" in e for e in strimzi_errors(topic))
