"""Prometheus and Alertmanager for tests that run in real time: the committed alert rules
with only some ``for:`` shortened, the one Prometheus configuration the tests write, and
small clients of the two HTTP APIs."""

from __future__ import annotations

import copy
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from alerts.build import load_config, render


# ---------------------------------------------------------------- rules
def rules_variant(
    fast: Mapping[str, str],
    pipeline: Mapping[str, Any] | None = None,
    slo_for: str | None = None,
) -> dict[str, Any]:
    """alerts/config.yaml with these alerts' ``for:`` (and, with ``slo_for``, the burn-rate
    tiers') shortened and, with ``pipeline``, some pipeline limits lowered to the size of a
    test; nothing else."""
    config = copy.deepcopy(load_config())
    if slo_for is not None:
        for tier in config["slo"]["tiers"]:
            tier["for"] = slo_for
    for name, duration in fast.items():
        assert name in config["for"], name
        config["for"][name] = duration
    for key, limit in (pipeline or {}).items():
        assert key in config["pipeline"], key
        config["pipeline"][key] = limit
    return config


def fast_rules(
    directory: Path,
    fast: Mapping[str, str],
    pipeline: Mapping[str, Any] | None = None,
    slo_for: str | None = None,
) -> Path:
    """:func:`rules_variant` rendered into ``directory``; the rule file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "ccmon.rules.yml"
    path.write_text(render(rules_variant(fast, pipeline, slo_for)), encoding="utf-8")
    return path


# ---------------------------------------------------------------- configuration
def prometheus_config(
    directory: Path,
    targets: Sequence[str],
    rules: Path,
    *,
    job: str = "ccmon",
    interval: str = "2s",
    alertmanager: str | None = None,
) -> Path:
    """``directory``/prometheus.yml: scrapes ``targets`` (job ``ccmon``, as the rules
    expect) every ``interval`` with a timeout as long (a scrape that times out marks every
    series stale, which would resolve alerts mid-test on a loaded machine), evaluates every
    second and, with ``alertmanager`` (host:port), sends it the alerts."""
    doc: dict[str, Any] = {
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "evaluation_interval": "1s",
        },
        "rule_files": [str(rules)],
        "scrape_configs": [
            {
                "job_name": job,
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [*targets]}],
            }
        ],
    }
    if alertmanager is not None:
        doc["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


# ---------------------------------------------------------------- clients
def http_json(url: str, timeout: float = 10.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


@dataclass(frozen=True)
class Prometheus:
    url: str

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; raises AssertionError with Prometheus' message on a bad query."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            body = http_json(url)
        except urllib.error.HTTPError as exc:
            raise AssertionError(
                f"query failed ({exc.code}): {exc.read().decode()}: {expr}"
            ) from exc
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def alerts(self) -> list[dict[str, Any]]:
        return list(http_json(f"{self.url}/api/v1/alerts")["data"]["alerts"])

    def firing(self, name: str) -> list[dict[str, Any]]:
        return [
            a
            for a in self.alerts()
            if a["labels"].get("alertname") == name and a["state"] == "firing"
        ]

    def rule_groups(self) -> list[dict[str, Any]]:
        return list(http_json(f"{self.url}/api/v1/rules")["data"]["groups"])

    def targets(self) -> list[dict[str, Any]]:
        return list(http_json(f"{self.url}/api/v1/targets")["data"]["activeTargets"])


def alertmanager_alerts(url: str) -> list[dict[str, Any]]:
    return list(http_json(f"{url}/api/v2/alerts"))
