"""Grafana dashboards and provisioning: generated, fixed uids, one datasource, valid PromQL
on metrics that exist (docs/architecture.md or our recording rules)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.dashboards import (
    DASHBOARDS,
    iter_dashboard_queries,
    iter_panels,
    metric_names,
    panel_queries,
    substitute,
)
from tests.support.paths import ROOT

GRAFANA = ROOT / "deploy" / "grafana"
UIDS = {
    "ccmon-wall.json": "ccmon-wall",
    "ccmon-ops.json": "ccmon-ops",
    "ccmon-compliance.json": "ccmon-compliance",
}
DATASOURCE_UID = "ccmon-prometheus"  # the provisioned datasource, the variable's default
DATASOURCE = "${datasource}"  # what every panel, query and variable names
BUILTIN_METRICS = {"up", "ALERTS"}
WALL_PANELS = [
    "Service level 30 min",
    "Service level today",
    "Waiting",
    "Oldest waiting",
    "ASA 30 min",
    "Abandoned 30 min",
    "Blocked 30 min",
    "Backlog",
    "Backlog trend (tickets per hour)",
    "Overdue",
    "Oldest open",
    "Volume per channel (contacts per minute)",
]


def board(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DASHBOARDS / name).read_text(encoding="utf-8"))
    return data


def known_metrics() -> set[str]:
    contract = set(
        re.findall(r"\bccmon_[a-z0-9_]+", (ROOT / "docs" / "architecture.md").read_text("utf-8"))
    )
    rules = yaml.safe_load((ROOT / "alerts" / "ccmon.rules.yml").read_text("utf-8"))
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    return contract | recorded | BUILTIN_METRICS


def is_known(name: str, known: set[str]) -> bool:
    return name in known or re.sub(r"_(bucket|sum|count)$", "", name) in known


def test_dashboards_are_generated() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "deploy.grafana.build", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_dashboards_have_fixed_uids() -> None:
    assert {p.name for p in DASHBOARDS.glob("*.json")} == set(UIDS)
    for name, uid in UIDS.items():
        assert board(name)["uid"] == uid


def variable_query(variable: dict[str, Any]) -> str:
    """A query variable's PromQL: a string (Grafana's Prometheus shorthand) or an object."""
    query = variable["query"]
    return str(query if isinstance(query, str) else query["query"])


@pytest.mark.parametrize("name", sorted(UIDS))
def test_every_panel_and_query_uses_the_datasource_variable(name: str) -> None:
    """No uid in a dashboard: it loads unchanged into any Grafana (kube-prometheus-stack's)."""
    for panel in iter_panels(DASHBOARDS / name):
        assert panel["datasource"]["uid"] == DATASOURCE, panel["title"]
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == DATASOURCE, panel["title"]
    (source, *variables) = board(name)["templating"]["list"]
    assert source == source | {"name": "datasource", "type": "datasource", "query": "prometheus"}
    assert "current" not in source, "the instance's default Prometheus, whatever its uid"
    for variable in variables:
        assert variable["datasource"]["uid"] == DATASOURCE, variable["name"]
    assert DATASOURCE_UID not in (DASHBOARDS / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(UIDS))
def test_every_query_reads_known_metrics(name: str) -> None:
    known = known_metrics()
    queries = panel_queries(DASHBOARDS / name)
    assert queries
    for title, expr in queries:
        names = metric_names(expr)
        assert names, f"{title}: no metric in {expr}"
        unknown = {n for n in names if not is_known(n, known)}
        assert not unknown, f"{title}: {unknown} not in docs/architecture.md nor the rules"
    for variable in board(name)["templating"]["list"][1:]:  # after the datasource
        inner = re.fullmatch(r"label_values\((.+),\s*\w+\)", variable_query(variable))
        assert inner, variable_query(variable)
        assert metric_names(substitute(inner.group(1))) <= known


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each query (as a recording rule), with Grafana's variables filled."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed: run `make deps` (deploy/local/install.sh)")
    rules = [
        {"record": f"dashboard:query:{i}", "expr": expr}
        for i, expr in enumerate(
            q for name in sorted(UIDS) for q in iter_dashboard_queries(DASHBOARDS / name)
        )
    ]
    path = tmp_path / "queries.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_iter_dashboard_queries_substitutes_every_variable() -> None:
    queries = iter_dashboard_queries(DASHBOARDS / "ccmon-wall.json", {"queue": "sales"})
    assert queries
    assert not [q for q in queries if re.search(r"\$(?!\d)", q)]
    assert any('queue=~"sales"' in q for q in queries)
    assert all("[1m]" in q or "rate(" not in q for q in queries)
    with pytest.raises(KeyError):
        substitute('up{instance=~"$unknown"}')


def test_wall_screen() -> None:
    wall = board("ccmon-wall.json")
    assert wall["refresh"] == "5s"
    variables = {v["name"]: v for v in wall["templating"]["list"]}
    assert variable_query(variables["queue"]).startswith("label_values(ccmon_queue_info")
    assert variable_query(variables["queue"]).endswith(", queue)")
    assert variable_query(variables["channel"]) == "label_values(ccmon_queue_info, channel)"
    rows = [p for p in wall["panels"] if p["type"] == "row"]
    assert any(r.get("repeat") == "queue" for r in rows), "no per-queue repeated row"
    titles = {p["title"]: p for p in wall["panels"]}
    for title in WALL_PANELS:
        assert title in titles, title
    sl = titles["Service level 30 min"]
    assert sl["type"] == "stat"
    # Coloured by each queue's own levels, read from the exported gauges: no number here.
    assert sl["fieldConfig"]["defaults"]["thresholds"]["steps"] == [
        {"color": "blue", "value": None}
    ]
    steps = [t["expr"] for t in sl["targets"][1:]]
    assert ["ccmon_service_level_target_ratio" in e for e in steps] == [True, True, False]
    assert "ccmon_service_level_at_risk_ratio" in steps[2]
    assert [t["id"] for t in sl["transformations"]] == ["merge", "rowsToFields"]
    oldest = titles["Oldest waiting"]["targets"][0]["expr"]
    assert "time() - min by (channel) (ccmon_oldest_waiting_since_timestamp_seconds" in oldest
    for panel in wall["panels"]:
        if panel["type"] == "stat":
            assert panel["options"]["text"]["valueSize"] >= 40, panel["title"]


def test_ops_dashboard_covers_the_pipeline() -> None:
    exprs = " ".join(q for _, q in panel_queries(DASHBOARDS / "ccmon-ops.json"))
    for metric in (
        "ccmon_events_total", "ccmon_events_rejected_total", "ccmon_events_duplicate_total",
        "ccmon_events_late_total", "ccmon_consumer_lag", "ccmon_last_event_timestamp_seconds",
        'up{job="ccmon"', "ccmon_batch_seconds_bucket",
    ):  # fmt: skip
        assert metric in exprs, metric


def test_provisioning() -> None:
    datasources = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text("utf-8")
    )
    (source,) = datasources["datasources"]
    assert source["uid"] == DATASOURCE_UID
    assert source["type"] == "prometheus"
    assert source["url"] == "${PROMETHEUS_URL}"
    env = dict(
        line.split("=", 1)
        for line in (GRAFANA / "grafana.env").read_text("utf-8").splitlines()
        if line and not line.startswith("#")
    )
    assert env["PROMETHEUS_URL"] == "http://prometheus:9090"
    providers = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "ccmon.yml").read_text("utf-8")
    )
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"]
