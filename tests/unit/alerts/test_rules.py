"""The alerting rules: generated, valid, unit-tested by promtool, documented, contract-true.

promtool is a hard requirement (never a skip): `make deps` installs it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.dashboards import metric_names
from tests.support.paths import ROOT

ALERTS_DIR = ROOT / "alerts"
RULE_FILES = sorted(ALERTS_DIR.glob("*.rules.yml"))
TEST_FILES = sorted((ALERTS_DIR / "tests").glob("*.yml"))
RUNBOOK = ROOT / "docs" / "runbook.md"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
RUNBOOK_URL = "https://github.com/ccmon/ccmon/blob/main/docs/runbook.md#"
# Metrics Prometheus itself provides.
BUILTIN_METRICS = {"up", "ALERTS"}


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run `make deps` (deploy/local/install.sh)")
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def all_rules() -> list[dict[str, Any]]:
    return [rule for path in RULE_FILES for g in load(path)["groups"] for rule in g["rules"]]


def alerting_rules() -> list[dict[str, Any]]:
    return [rule for rule in all_rules() if "alert" in rule]


def alert_names() -> list[str]:
    return sorted({rule["alert"] for rule in alerting_rules()})


def contract_metrics() -> set[str]:
    return set(re.findall(r"\bccmon_[a-z0-9_]+", ARCHITECTURE.read_text(encoding="utf-8")))


def known_metric(name: str, recorded: set[str]) -> bool:
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    return name in recorded or name in BUILTIN_METRICS or {name, base} & contract_metrics() != set()


def seconds(text: str) -> int:
    match = re.fullmatch(r"(\d+)([smhd])", str(text))
    assert match, f"not a duration: {text!r}"
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def duration_minutes(text: str) -> int:
    return seconds(text) // 60


# ---------------------------------------------------------------- generation and promtool
def test_rules_file_is_generated_from_config() -> None:
    result = run(sys.executable, "-m", "alerts.build", "--check")
    assert result.returncode == 0, result.stderr


def test_rule_files_exist() -> None:
    assert RULE_FILES == [ALERTS_DIR / "ccmon.rules.yml"]
    assert TEST_FILES, "no promtool tests in alerts/tests/"


def test_promtool_check_rules() -> None:
    result = run(
        tool("promtool"), "check", "rules", "--lint=all", "--lint-fatal", *map(str, RULE_FILES)
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests() -> None:
    result = run(tool("promtool"), "test", "rules", *map(str, TEST_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_prometheus_config() -> None:
    result = run(
        tool("promtool"), "check", "config", "--lint=all", "--lint-fatal", str(PROMETHEUS_CONFIG)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The relative rule_files glob resolves (from the config's directory) to our rules.
    assert "alerts/ccmon.rules.yml" in result.stdout


def test_prometheus_config_scrapes_ccmon_and_loads_rules() -> None:
    config = load(PROMETHEUS_CONFIG)
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert "ccmon" in jobs
    rule_globs = [PROMETHEUS_CONFIG.parent / pattern for pattern in config["rule_files"]]
    found = {p.resolve() for g in rule_globs for p in g.parent.glob(g.name)}
    assert found == {p.resolve() for p in RULE_FILES}
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]


# ---------------------------------------------------------------- every alert well-formed
@pytest.mark.parametrize("rule", alerting_rules(), ids=lambda r: r["alert"])
def test_alert_has_severity_and_annotations(rule: dict[str, Any]) -> None:
    severity = rule["labels"]["severity"]
    if rule["alert"] == "Watchdog":
        # The dead man's switch: no severity route or inhibition may ever catch it.
        assert severity == "none"
    else:
        assert severity in {"page", "ticket"}
    annotations = rule["annotations"]
    assert annotations["summary"].strip()
    assert annotations["description"].strip()
    if rule["alert"] != "Watchdog":
        assert "{{" in annotations["description"], "description without live values"
    assert annotations["runbook_url"] == RUNBOOK_URL + rule["alert"].lower()


def test_runbook_has_a_section_per_alert() -> None:
    headings = set(re.findall(r"^## (\S+)\s*$", RUNBOOK.read_text(encoding="utf-8"), re.M))
    missing = [name for name in alert_names() if name not in headings]
    assert not missing, f"docs/runbook.md lacks '## <alertname>' sections for {missing}"


def test_queue_alerts_keep_channel_and_queue() -> None:
    for rule in alerting_rules():
        expr = rule["expr"]
        if "on (channel, queue)" in expr:
            # Per-queue alerts must not aggregate the queue away before comparing.
            assert "by (channel, queue)" in expr or "ccmon:" in expr, rule["alert"]


def test_rules_read_only_metrics_of_the_contract() -> None:
    recorded = {rule["record"] for rule in all_rules() if "record" in rule}
    for rule in all_rules():
        unknown = {n for n in metric_names(rule["expr"]) if not known_metric(n, recorded)}
        assert not unknown, f"{rule.get('alert') or rule.get('record')}: {unknown}"


def test_thresholds_are_target_metrics_or_config() -> None:
    """No magic numbers: a literal in an expression is 0/1/3600 or comes from config.yaml."""
    config = load(ALERTS_DIR / "config.yaml")
    allowed = {0.0, 1.0, 3600.0}
    allowed |= {float(t["factor"]) for t in config["slo"]["tiers"]}
    per = seconds(config["queues"]["window"])
    allowed |= {seconds(t["long"]) / per for t in config["slo"]["tiers"]}
    allowed.add(float(config["tickets"]["first_response_share"]))
    pipeline = config["pipeline"]
    allowed |= {
        float(pipeline[k])
        for k in ("consumer_lag_limit", "rejected_ratio_limit", "rejected_min_events")
    }
    allowed |= {float(seconds(t["silent_after"])) for t in pipeline["topics"].values()}
    allowed.add(float(seconds(config["wall"]["stale_after"])))
    for rule in all_rules():
        text = re.sub(r'"[^"]*"|\[[^\]]*\]|[A-Za-z_:][\w:]*', " ", rule["expr"])
        literals = {float(n) for n in re.findall(r"\d+(?:\.\d+)?", text)}
        assert literals <= allowed, (
            f"{rule.get('alert') or rule.get('record')}: {literals - allowed}"
        )


# ---------------------------------------------------------------- the promtool tests cover all
def rule_identity(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """Tiers of one alert differ by static labels (long/short); topics are one rule each."""
    return tuple(sorted((k, v) for k, v in labels.items() if k in {"alertname", "long", "short"}))


def test_promtool_tests_evaluate_recording_rules_first() -> None:
    groups = [g["name"] for path in RULE_FILES for g in load(path)["groups"]]
    for path in TEST_FILES:
        spec = load(path)
        assert spec.get("group_eval_order") == groups, f"{path.name}: group_eval_order"


def test_every_alert_fires_and_is_quiet_one_evaluation_before_its_for() -> None:
    fired: set[tuple[tuple[str, str], ...]] = set()
    boundary: set[tuple[tuple[str, str], ...]] = set()
    for path in TEST_FILES:
        spec = load(path)
        step = duration_minutes(spec.get("evaluation_interval", "1m"))
        for case in spec["tests"]:
            expected: dict[tuple[str, int], set[tuple[tuple[str, str], ...]]] = {}
            for check in case.get("alert_rule_test", []):
                ids = {
                    rule_identity({"alertname": check["alertname"], **a["exp_labels"]})
                    for a in check.get("exp_alerts") or []
                }
                expected[(check["alertname"], duration_minutes(check["eval_time"]))] = ids
            for (name, minute), ids in expected.items():
                fired |= ids
                before = expected.get((name, minute - step))
                if before is not None:
                    boundary |= ids - before
    for rule in alerting_rules():
        identity = rule_identity({"alertname": rule["alert"], **rule["labels"]})
        assert identity in fired, f"no promtool test where {identity} fires"
        if rule.get("for"):
            assert identity in boundary, (
                f"no promtool test showing {identity} quiet one evaluation before its for: "
                f"{rule['for']} elapses"
            )
