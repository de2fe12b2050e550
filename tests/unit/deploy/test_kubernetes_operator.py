"""deploy/kubernetes: Services, the PodDisruptionBudget and the Prometheus Operator objects.

kubernetes-validate has no schema for the Operator CRDs, so ServiceMonitor and
PrometheusRule get a JSON schema of the CRD fields ccmon uses (closed objects, the CRD's
own patterns) plus semantic checks: the selector finds the metrics Service, the port name
exists, the rule groups ARE alerts/*.rules.yml (and pass promtool); and the generated
manifests are up to date."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from deploy.kubernetes import generate
from tests.support.kube import DURATION, matches, one, worker
from tests.support.paths import ROOT

# ---- Services, PDB, ServiceMonitor ------------------------------------------------------------


def test_services_select_the_workers(base: list[dict[str, Any]]) -> None:
    sts = one(base, "StatefulSet")
    pod_labels = sts["spec"]["template"]["metadata"]["labels"]
    assert matches(sts["spec"]["selector"]["matchLabels"], pod_labels)
    headless = one(base, "Service", sts["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    port_names = {p["name"] for p in worker(base)["ports"]}
    for svc in (
        d for d in base if d["kind"] == "Service" and d["metadata"]["name"] != "ccmon-wall"
    ):
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
                "sampleLimit": {"type": "integer", "minimum": 0},
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
                            "relabelings": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {
                                        "action": {"enum": ["replace", "keep", "drop"]},
                                        "sourceLabels": {"type": "array"},
                                        "regex": {"type": "string"},
                                        "targetLabel": {"type": "string"},
                                        "replacement": {"type": "string"},
                                    },
                                },
                            },
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
    ("kind", "name", "schema"),
    [
        ("ServiceMonitor", "ccmon", SERVICE_MONITOR_SCHEMA),
        ("ServiceMonitor", "ccmon-wall", SERVICE_MONITOR_SCHEMA),
        ("PrometheusRule", None, PROMETHEUS_RULE_SCHEMA),
    ],
)
def test_operator_objects_match_the_crd_fields(
    base: list[dict[str, Any]], kind: str, name: str | None, schema: dict[str, Any]
) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = [
        f"{e.json_path}: {e.message}"
        for e in jsonschema.Draft202012Validator(schema).iter_errors(one(base, kind, name))
    ]
    assert errors == []


def test_service_monitor_scrapes_the_metrics_service_under_the_rules_job(
    base: list[dict[str, Any]],
) -> None:
    monitor = one(base, "ServiceMonitor", "ccmon")["spec"]
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


def test_the_wall_is_scraped_under_the_job_its_alerts_select(base: list[dict[str, Any]]) -> None:
    monitor = one(base, "ServiceMonitor", "ccmon-wall")["spec"]
    services = [
        s
        for s in base
        if s["kind"] == "Service"
        and matches(monitor["selector"]["matchLabels"], s["metadata"]["labels"])
    ]
    assert [s["metadata"]["name"] for s in services] == ["ccmon-wall"]
    wall = one(base, "Deployment", "ccmon-wall")["spec"]["template"]["metadata"]["labels"]
    assert matches(services[0]["spec"]["selector"], wall)
    (endpoint,) = monitor["endpoints"]
    assert endpoint["port"] in {p["name"] for p in services[0]["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    job = yaml.safe_load((ROOT / "alerts" / "config.yaml").read_text("utf-8"))["wall"]["job"]
    assert endpoint["relabelings"] == [
        {"action": "replace", "targetLabel": "job", "replacement": job}
    ]


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
