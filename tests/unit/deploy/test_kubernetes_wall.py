"""deploy/kubernetes: the wall server's Deployment and Service (rendered by kustomize, the
built-in kinds validated strictly in test_kubernetes.py), cross-checked against the code."""

from __future__ import annotations

from typing import Any

from ccmon.agents.wall.command import build_parser
from ccmon.agents.wall.settings import WallSettings
from ccmon.streams.settings import Settings
from tests.support.kube import matches, one


def wall_container(base: list[dict[str, Any]]) -> dict[str, Any]:
    pod = one(base, "Deployment", "ccmon-wall")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return dict(container)


def wall_env(base: list[dict[str, Any]]) -> dict[str, Any]:
    container = wall_container(base)
    values: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        values.update(one(base, "ConfigMap", source["configMapRef"]["name"])["data"])
    for item in container.get("env", []):
        values[item["name"]] = item.get("value", item.get("valueFrom"))
    return values


def test_the_service_reaches_the_wall_pods_and_only_them(base: list[dict[str, Any]]) -> None:
    deployment = one(base, "Deployment", "ccmon-wall")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert matches(deployment["spec"]["selector"]["matchLabels"], pod_labels)
    service = one(base, "Service", "ccmon-wall")
    assert matches(service["spec"]["selector"], pod_labels)
    workers = one(base, "StatefulSet")["spec"]["template"]["metadata"]["labels"]
    assert not matches(service["spec"]["selector"], workers), "the wall is not a worker"
    ports = {p["name"] for p in wall_container(base)["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports


def test_the_wall_runs_ccmon_wall_with_real_settings(base: list[dict[str, Any]]) -> None:
    container = wall_container(base)
    assert container["args"][0] == "wall"
    build_parser().parse_args(container["args"][1:])
    values = wall_env(base)
    worker_fields = {f"CCMON_{n.upper()}": n for n in Settings.model_fields}
    wall_fields = {f"CCMON_WALL_{n.upper()}": n for n in WallSettings.model_fields}
    unknown = sorted(k for k in values if k not in worker_fields and k not in wall_fields)
    assert not unknown, f"not settings of the worker or the wall: {unknown}"
    literal = {k: v for k, v in values.items() if isinstance(v, str)}
    settings = WallSettings(**{wall_fields[k]: v for k, v in literal.items() if k in wall_fields})
    (port,) = container["ports"]
    assert port["containerPort"] == settings.port == WallSettings.model_fields["port"].default
    for name in ("CCMON_REDIS", "CCMON_WALL_TOKEN"):
        assert "secretKeyRef" in values[name], f"{name} must come from a Secret"
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": port["name"]}


def test_the_wall_pod_is_hardened_like_the_workers(base: list[dict[str, Any]]) -> None:
    pod = one(base, "Deployment", "ccmon-wall")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False and pod["enableServiceLinks"] is False
    ctx = wall_container(base)["securityContext"]
    assert ctx["readOnlyRootFilesystem"] is True and ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"]["drop"] == ["ALL"]
    assert (
        wall_container(base)["image"]
        == one(base, "StatefulSet")["spec"]["template"]["spec"]["containers"][0]["image"]
    ), "one image for the workers and the wall"
