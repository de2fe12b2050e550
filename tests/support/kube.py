"""Shared by the Kubernetes tests: where the manifests are, and readers of rendered ones."""

from __future__ import annotations

import re
from typing import Any

from tests.support.paths import ROOT

K8S = ROOT / "deploy" / "kubernetes"
BASE = K8S / "base"
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
