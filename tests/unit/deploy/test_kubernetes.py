"""deploy/kubernetes: rendered by kustomize, validated by kubernetes-validate, cross-checked.

Tools: kustomize (the real one, pinned; built from its Go module once when not on PATH) renders
the base and the rocksdb overlay; kubernetes-validate checks every built-in kind strictly
(unknown fields are errors) against pinned Kubernetes versions, offline. kubernetes-validate
has no schema for the Prometheus Operator CRDs (it raises SchemaNotFoundError, asserted
below), so ServiceMonitor and PrometheusRule get a JSON schema of the CRD fields ccmon uses
(closed objects, the CRD's own patterns) plus semantic checks: the selector finds the metrics
Service, the port name exists, the rule groups ARE alerts/*.rules.yml (and pass promtool).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError, all_versions

from streams.config import load_queue_config
from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "kubernetes"
BASE = K8S / "base"
ROCKSDB_OVERLAY = K8S / "overlays" / "rocksdb"
# The oldest Kubernetes ccmon supports (docs/operations.md) and a current one.
K8S_VERSIONS = ("1.30", "1.35")
KUSTOMIZE_VERSION = "v5.7.1"
KUSTOMIZE_MODULE = "sigs.k8s.io/kustomize/kustomize/v5"
CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}
IMAGE_UID = 10001
LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?"  # optional DNS-subdomain prefix
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
# Prometheus Operator's Duration pattern (monitoring.coreos.com/v1 CRDs).
DURATION = (
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?"
    r"(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
)

# Loaded under a name of its own: other tests load other scripts called build/generate.
_spec = importlib.util.spec_from_file_location("ccmon_k8s_generate", K8S / "generate.py")
assert _spec is not None and _spec.loader is not None
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)

# ---- kustomize ------------------------------------------------------------------------------


def _cache() -> Path:
    base = os.environ.get("CCMON_CACHE_DIR") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "ccmon"
    )
    return Path(base) / f"kustomize-{KUSTOMIZE_VERSION}"


@pytest.fixture(scope="session")
def kustomize() -> str:
    """$CCMON_KUSTOMIZE, else the pinned version built once from its Go module into the ccmon
    cache (about 2 minutes the first time; the Go toolchain is on every machine of ours)."""
    if explicit := os.environ.get("CCMON_KUSTOMIZE"):
        return explicit
    binary = _cache() / "kustomize"
    if binary.is_file():
        return str(binary)
    go = shutil.which("go")
    if go is None:
        pytest.fail(
            f"kustomize is needed: set CCMON_KUSTOMIZE, or install Go so that this test can "
            f"`go install {KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION}`"
        )
    partial = binary.parent / "partial"
    partial.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [go, "install", f"{KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION}"],
        env={**os.environ, "GOBIN": str(partial), "CGO_ENABLED": "0"},
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"go install kustomize failed:\n{result.stderr[-3000:]}")
    (partial / "kustomize").rename(binary)  # complete or absent, never half-written
    return str(binary)


def build(kustomize: str, directory: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [kustomize, "build", str(directory)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"kustomize build {directory}:\n{result.stderr}"
    return [d for d in yaml.safe_load_all(result.stdout) if d]


@pytest.fixture(scope="session")
def base(kustomize: str) -> list[dict[str, Any]]:
    return build(kustomize, BASE)


@pytest.fixture(scope="session")
def rocksdb(kustomize: str) -> list[dict[str, Any]]:
    return build(kustomize, ROCKSDB_OVERLAY)


def one(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def worker(docs: list[dict[str, Any]]) -> dict[str, Any]:
    container: dict[str, Any] = one(docs, "StatefulSet")["spec"]["template"]["spec"]["containers"][
        0
    ]
    return container


def env(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Everything the worker container gets: ConfigMap envFrom, then env (which wins)."""
    container = worker(docs)
    values: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        values.update(one(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
    for item in container.get("env", []):
        values[item["name"]] = item.get("value", item.get("valueFrom"))
    return values


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


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
@pytest.mark.parametrize("variant", ["base", "rocksdb"])
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
        "ServiceAccount", "ConfigMap", "Service", "StatefulSet", "PodDisruptionBudget"
    }  # fmt: skip


def test_strict_validation_catches_a_typo(base: list[dict[str, Any]]) -> None:
    sts = json.loads(json.dumps(one(base, "StatefulSet")))
    sts["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(ValidationError):
        kubernetes_validate.validate(sts, K8S_VERSIONS[0], strict=True)


def test_kubernetes_validate_does_not_know_the_operator_crds(base: list[dict[str, Any]]) -> None:
    """Why ServiceMonitor and PrometheusRule get their own schema below."""
    for kind in CRD_KINDS:
        with pytest.raises(SchemaNotFoundError):
            kubernetes_validate.validate(one(base, kind), K8S_VERSIONS[-1], strict=True)


def test_namespace_agnostic_and_valid_labels(rocksdb: list[dict[str, Any]]) -> None:
    for doc in rocksdb:
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
    assert settings.standby_replicas >= 1, "a failover should find warm tables"
    assert settings.store == "memory://" and not settings.declare_source_topics


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
    assert text.endswith((ROOT / "deploy" / "queues.example.yaml").read_text("utf-8"))
    (tmp_path / path.name).write_text(text, encoding="utf-8")
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
    assert "emptyDir" in volumes[mounts[env(base)["CCMON_DATA_DIR"]]], "memory store: emptyDir"


def test_resources_have_requests_and_limits(base: list[dict[str, Any]]) -> None:
    resources = worker(base)["resources"]
    for key in ("cpu", "memory"):
        assert key in resources["requests"] and key in resources["limits"]
    assert resources["requests"]["memory"] == "512Mi" and resources["limits"]["memory"] == "1Gi"


def test_probes_ask_healthz_on_the_web_port(base: list[dict[str, Any]]) -> None:
    container = worker(base)
    (port,) = container["ports"]
    web_port = int(env(base)["CCMON_WEB_PORT"])
    assert port["containerPort"] == web_port == Settings.model_fields["web_port"].default
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        assert get == {"path": "/healthz", "port": port["name"]}, probe
    assert '@app.page("/healthz")' in (ROOT / "agents" / "worker.py").read_text("utf-8")


def test_image_tag_follows_the_project_version(
    base: list[dict[str, Any]], rocksdb: list[dict[str, Any]]
) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    version = pyproject["project"]["version"]
    assert worker(base)["image"] == f"ccmon:{version}"
    assert worker(rocksdb)["image"] == f"ccmon:{version}-rocksdb"
    assert worker(base)["args"] == ["worker", "-l", "info"]


def test_rocksdb_overlay_keeps_state_on_a_volume_claim(rocksdb: list[dict[str, Any]]) -> None:
    sts = one(rocksdb, "StatefulSet")
    values = env(rocksdb)
    assert values["CCMON_STORE"] == "rocksdb://"
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    mounts = {m["mountPath"]: m["name"] for m in worker(rocksdb)["volumeMounts"]}
    assert mounts[values["CCMON_DATA_DIR"]] == claim["metadata"]["name"]
    volumes = {v["name"] for v in sts["spec"]["template"]["spec"]["volumes"]}
    assert claim["metadata"]["name"] not in volumes, "the emptyDir of the base is gone"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"]["whenScaled"] == "Delete"


# ---- Services, PDB, ServiceMonitor ------------------------------------------------------------


def test_services_select_the_workers(base: list[dict[str, Any]]) -> None:
    sts = one(base, "StatefulSet")
    pod_labels = sts["spec"]["template"]["metadata"]["labels"]
    assert matches(sts["spec"]["selector"]["matchLabels"], pod_labels)
    headless = one(base, "Service", sts["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    port_names = {p["name"] for p in worker(base)["ports"]}
    for svc in (d for d in base if d["kind"] == "Service"):
        assert matches(svc["spec"]["selector"], pod_labels), svc["metadata"]["name"]
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in port_names
    pdb = one(base, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"] == sts["spec"]["selector"]["matchLabels"]
    assert pdb["spec"]["maxUnavailable"] == 1 < sts["spec"]["replicas"]


SERVICE_MONITOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "jobLabel": {"type": "string"},
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "matchLabels": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                        }
                    },
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["port"],
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string"},
                            "scheme": {"enum": ["http", "https", "HTTP", "HTTPS"]},
                            "interval": {"type": "string", "pattern": DURATION},
                            "scrapeTimeout": {"type": "string", "pattern": DURATION},
                        },
                    },
                },
            },
        },
    },
}

PROMETHEUS_RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PrometheusRule"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["groups"],
            "additionalProperties": False,
            "properties": {
                "groups": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "rules"],
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "interval": {"type": "string", "pattern": DURATION},
                            "limit": {"type": "integer"},
                            "rules": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["expr"],
                                    "oneOf": [
                                        {"required": ["record"]},
                                        {"required": ["alert"]},
                                    ],
                                    "additionalProperties": False,
                                    "properties": {
                                        "record": {"type": "string"},
                                        "alert": {"type": "string"},
                                        "expr": {"type": ["string", "integer"]},
                                        "for": {"type": "string", "pattern": DURATION},
                                        "keep_firing_for": {"type": "string", "pattern": DURATION},
                                        "labels": {
                                            "type": "object",
                                            "additionalProperties": {"type": "string"},
                                        },
                                        "annotations": {
                                            "type": "object",
                                            "additionalProperties": {"type": "string"},
                                        },
                                    },
                                },
                            },
                        },
                    },
                }
            },
        },
    },
}


@pytest.mark.parametrize(
    ("kind", "schema"),
    [("ServiceMonitor", SERVICE_MONITOR_SCHEMA), ("PrometheusRule", PROMETHEUS_RULE_SCHEMA)],
)
def test_operator_objects_match_the_crd_fields(
    base: list[dict[str, Any]], kind: str, schema: dict[str, Any]
) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = [
        f"{e.json_path}: {e.message}"
        for e in jsonschema.Draft202012Validator(schema).iter_errors(one(base, kind))
    ]
    assert errors == []


def test_service_monitor_scrapes_the_metrics_service_under_the_rules_job(
    base: list[dict[str, Any]],
) -> None:
    monitor = one(base, "ServiceMonitor")["spec"]
    services = [
        s
        for s in base
        if s["kind"] == "Service"
        and matches(monitor["selector"]["matchLabels"], s["metadata"]["labels"])
    ]
    assert [s["metadata"]["name"] for s in services] == ["ccmon-metrics"], "exactly one target set"
    (service,) = services
    port_names = {p["name"] for p in service["spec"]["ports"]}
    for endpoint in monitor["endpoints"]:
        assert endpoint["port"] in port_names
        assert endpoint.get("path", "/metrics") == "/metrics"
    job = yaml.safe_load((ROOT / "alerts" / "config.yaml").read_text("utf-8"))["job"]
    assert service["metadata"]["labels"][monitor["jobLabel"]] == job, "up{job=...} in the rules"


# ---- generated from other sources of truth ----------------------------------------------------


def test_generated_manifests_are_up_to_date() -> None:
    stale = [p.relative_to(ROOT).as_posix() for p in generate.stale()]
    assert stale == [], f"stale: {stale}; run `python deploy/kubernetes/generate.py`"


def test_prometheus_rule_groups_are_the_alert_rules(base: list[dict[str, Any]]) -> None:
    groups = one(base, "PrometheusRule")["spec"]["groups"]
    expected = []
    for path in sorted((ROOT / "alerts").glob("*.rules.yml")):
        expected += yaml.safe_load(path.read_text("utf-8"))["groups"]
    assert expected and groups == expected


def test_prometheus_rule_passes_promtool(base: list[dict[str, Any]], tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed: run `make deps` (bash deploy/local/install.sh)")
    rules = tmp_path / "prometheusrule.rules.yml"
    rules.write_text(yaml.safe_dump({"groups": one(base, "PrometheusRule")["spec"]["groups"]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(rules)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboards_config_map_for_the_grafana_sidecar(base: list[dict[str, Any]]) -> None:
    cm = one(base, "ConfigMap", "ccmon-grafana-dashboards")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    files = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
    assert files and sorted(cm["data"]) == [p.name for p in files]
    for path in files:
        assert cm["data"][path.name] == path.read_text("utf-8")
        assert json.loads(cm["data"][path.name])["uid"]
    size = len(json.dumps(cm).encode())
    assert size < generate.APPLY_ANNOTATION_LIMIT, "too big for client-side kubectl apply"
