"""deploy/kubernetes rendered by kustomize and validated by kubernetes-validate: every
built-in kind strictly (unknown fields are errors) against pinned Kubernetes versions,
offline; then the workers' pod spec cross-checked against the settings and the image."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError, all_versions

from ccmon.streams.config import load_queue_config
from ccmon.streams.configfile import read_yaml
from ccmon.streams.settings import Settings
from tests.support.kube import (
    BASE,
    CRD_KINDS,
    IMAGE_UID,
    K8S_VERSIONS,
    LABEL_KEY,
    LABEL_VALUE,
    env,
    one,
    worker,
)
from tests.support.paths import ROOT

# ---- rendering and schemas --------------------------------------------------------------------


def test_kustomization_lists_every_manifest_and_nothing_else() -> None:
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text("utf-8"))
    listed = set(kustomization["resources"])
    generated = {f for g in kustomization.get("configMapGenerator", []) for f in g.get("files", [])}
    on_disk = {p.name for p in BASE.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed | generated == on_disk, "a manifest is missing from kustomization.yaml"


def test_kubernetes_validate_bundles_the_pinned_versions() -> None:
    available = all_versions()
    for version in K8S_VERSIONS:
        assert any(v.startswith(f"{version}.") for v in available), (
            f"kubernetes-validate {available[0]}..{available[-1]} lacks {version}"
        )


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("variant", ["base"])
def test_built_in_kinds_validate_strictly(
    variant: str, version: str, request: pytest.FixtureRequest
) -> None:
    docs = request.getfixturevalue(variant)
    kinds = set()
    for doc in docs:
        if doc["kind"] in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except ValidationError as exc:
            where = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} {where}: {exc.message}")
        kinds.add(doc["kind"])
    assert kinds == {
        "ServiceAccount", "ConfigMap", "Service", "StatefulSet", "PodDisruptionBudget", "Deployment"
    }  # fmt: skip


def test_strict_validation_catches_a_typo(base: list[dict[str, Any]]) -> None:
    sts = json.loads(json.dumps(one(base, "StatefulSet")))
    sts["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(ValidationError):
        kubernetes_validate.validate(sts, K8S_VERSIONS[0], strict=True)


def test_kubernetes_validate_does_not_know_the_operator_crds(base: list[dict[str, Any]]) -> None:
    """Why ServiceMonitor and PrometheusRule get their own schema below."""
    for doc in (d for d in base if d["kind"] in CRD_KINDS):
        with pytest.raises(SchemaNotFoundError):
            kubernetes_validate.validate(doc, K8S_VERSIONS[-1], strict=True)


def test_namespace_agnostic_and_valid_labels(base: list[dict[str, Any]]) -> None:
    for doc in base:
        meta = doc["metadata"]
        assert "namespace" not in meta, f"{doc['kind']}/{meta['name']} names a namespace"
        for key, value in meta.get("labels", {}).items():
            assert LABEL_KEY.match(key) and LABEL_VALUE.match(value) and len(value) <= 63


# ---- the workers ------------------------------------------------------------------------------


def test_worker_settings_are_real_settings(base: list[dict[str, Any]]) -> None:
    fields = {f"CCMON_{name.upper()}": name for name in Settings.model_fields}
    values = env(base)
    unknown = sorted(k for k in values if k not in fields)
    assert not unknown, f"not settings of streams/settings.py: {unknown}"
    literal = {fields[k]: v for k, v in values.items() if isinstance(v, str)}
    settings = Settings(**literal)  # validates every literal value
    replicas = one(base, "StatefulSet")["spec"]["replicas"]
    assert 2 <= replicas <= settings.partitions, "workers beyond the partitions idle"
    assert not settings.declare_source_topics


def test_secrets_are_references_never_values(base: list[dict[str, Any]]) -> None:
    assert not [d for d in base if d["kind"] == "Secret"], "ship references, not Secrets"
    values = env(base)
    for name in ("CCMON_REDIS", "CCMON_KAFKA_SASL_USERNAME", "CCMON_KAFKA_SASL_PASSWORD"):
        ref = values[name]
        assert isinstance(ref, dict) and "secretKeyRef" in ref, f"{name} must come from a Secret"
    for name, value in values.items():
        if re.search("PASSWORD|SECRET|TOKEN", name):
            assert not isinstance(value, str), f"{name} has a literal value"


def test_queue_configuration_is_mounted_where_the_worker_reads_it(
    base: list[dict[str, Any]], tmp_path: Path
) -> None:
    container = worker(base)
    path = Path(env(base)["CCMON_QUEUE_CONFIG"])
    (mount,) = [m for m in container["volumeMounts"] if Path(m["mountPath"]) == path.parent]
    assert mount.get("readOnly") is True
    volumes = one(base, "StatefulSet")["spec"]["template"]["spec"]["volumes"]
    (volume,) = [v for v in volumes if v["name"] == mount["name"]]
    config_map = one(base, "ConfigMap", volume["configMap"]["name"])
    text = config_map["data"][path.name]
    (tmp_path / path.name).write_text(text, encoding="utf-8")
    # The example's settings (its comments too, all but the editor's schema line).
    example = ROOT / "deploy" / "queues.example.yaml"
    assert text.splitlines()[-20:] == example.read_text("utf-8").splitlines()[-20:]
    assert read_yaml(tmp_path / path.name) == read_yaml(example)
    load_queue_config(tmp_path / path.name)  # what the worker will load at start-up


def test_pod_runs_non_root_on_a_read_only_root(base: list[dict[str, Any]]) -> None:
    pod = one(base, "StatefulSet")["spec"]["template"]["spec"]
    security = pod["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == security["runAsGroup"] == security["fsGroup"] == IMAGE_UID
    assert security["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False, "service links inject CCMON_*-like variables"
    container = worker(base)
    ctx = container["securityContext"]
    assert ctx["readOnlyRootFilesystem"] is True and ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]], "/tmp stays writable"
    assert "emptyDir" in volumes[mounts[env(base)["CCMON_DATA_DIR"]]], "no local state: emptyDir"


def test_resources_have_requests_and_limits(base: list[dict[str, Any]]) -> None:
    resources = worker(base)["resources"]
    for key in ("cpu", "memory"):
        assert key in resources["requests"] and key in resources["limits"]
    # docs/operations.md, "Capacity": the 2,000-agent line, sized for day 5 of the soak on
    assert resources["requests"]["memory"] == "768Mi"
    assert resources["limits"]["memory"] == "1536Mi"


def test_probes_ask_healthz_on_the_web_port(base: list[dict[str, Any]]) -> None:
    container = worker(base)
    (port,) = container["ports"]
    web_port = int(env(base)["CCMON_WEB_PORT"])
    assert port["containerPort"] == web_port == Settings.model_fields["web_port"].default
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        assert get == {"path": "/healthz", "port": port["name"]}, probe
    assert '@app.page("/healthz"' in (ROOT / "agents" / "worker" / "web.py").read_text("utf-8")


def test_image_tag_follows_the_project_version(base: list[dict[str, Any]]) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    version = pyproject["project"]["version"]
    assert worker(base)["image"] == f"ccmon:{version}"
    assert worker(base)["args"] == ["worker", "-l", "info"]
