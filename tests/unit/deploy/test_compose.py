"""The compose stack, checked without a Docker engine: the Compose Specification JSON schema
(vendored in deploy/compose/schema/) through ``jsonschema``, amtool for the Alertmanager
configuration it mounts, and cross-checks against the repository: mounted paths exist,
every CCMON_* variable is a real setting, ports do not clash, the pieces point at each
other. promtool runs in test_prometheus_config.py."""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from ccmon.agents.devkit.simulator.cli import add_arguments
from ccmon.streams.config import load_queue_config
from ccmon.streams.settings import Settings
from tests.support.deploy import COMPOSE, COMPOSE_DIR, DOCKERFILE, setting_fields
from tests.support.paths import ROOT

SCHEMA = COMPOSE_DIR / "schema" / "compose-spec.json"
SCHEMA_SHA256 = "d61cc3df8c6e6a727043e84f3405c69ffd63d341f629db8480f1d2ee5405b10c"
WORKERS = ("ccmon-1", "ccmon-2")
KIOSK_URL = "http://localhost:3000/d/ccmon-wall?orgId=1&kiosk"
GO_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$")


# ---- helpers --------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def services() -> dict[str, dict[str, Any]]:
    svc: dict[str, dict[str, Any]] = compose()["services"]
    return svc


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def read_env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def bind_mounts(service: dict[str, Any]) -> list[tuple[Path, str, dict[str, Any]]]:
    """(host path, container path, long-syntax entry or {}) of every bind mount."""
    mounts = []
    for entry in service.get("volumes", []):
        if isinstance(entry, str):
            source, target = entry.split(":")[:2]
            if not source.startswith((".", "/")):
                continue  # a named volume
            mounts.append(((COMPOSE_DIR / source).resolve(), target, {}))
        elif entry.get("type") == "bind":
            mounts.append(((COMPOSE_DIR / entry["source"]).resolve(), entry["target"], entry))
    return mounts


def host_path(service: dict[str, Any], container_path: str) -> Path:
    """Where a container path of ``service`` lives in the repository, through its binds."""
    target = PurePosixPath(container_path)
    for source, mount, _ in bind_mounts(service):
        if target == PurePosixPath(mount) or PurePosixPath(mount) in target.parents:
            return source / target.relative_to(mount)
    raise AssertionError(f"{container_path} is not inside any bind mount of the service")


def published_ports(service: dict[str, Any]) -> list[tuple[int, int]]:
    """(host port, container port) pairs."""
    pairs = []
    for spec in service.get("ports", []):
        if isinstance(spec, dict):
            pairs.append((int(spec["published"]), int(spec["target"])))
        else:
            *_, host, container = str(spec).split(":")
            pairs.append((int(host), int(container.split("/")[0])))
    return pairs


# ---- compose: schema --------------------------------------------------------------------------


def test_vendored_schema_is_the_recorded_one() -> None:
    digest = hashlib.sha256(SCHEMA.read_bytes()).hexdigest()
    assert digest == SCHEMA_SHA256, "compose-spec.json changed: see deploy/compose/schema/README"
    assert SCHEMA_SHA256 in (SCHEMA.parent / "README.md").read_text(encoding="utf-8")


def schema_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(document)]


def test_compose_file_follows_the_compose_specification() -> None:
    assert schema_errors(compose()) == []


def test_the_schema_check_is_not_a_rubber_stamp() -> None:
    broken = copy.deepcopy(compose())
    broken["services"]["ccmon-1"]["healtcheck"] = broken["services"]["ccmon-1"]["healthcheck"]
    broken["services"]["kafka"]["depends_on"] = {"redis": {"condition": "service_up"}}
    assert len(schema_errors(broken)) >= 2


def test_durations_are_go_durations() -> None:
    for name, svc in services().items():
        values = {k: v for k, v in svc.get("healthcheck", {}).items() if k != "test"}
        values.pop("retries", None)
        values.pop("disable", None)
        if "stop_grace_period" in svc:
            values["stop_grace_period"] = svc["stop_grace_period"]
        for key, value in values.items():
            assert GO_DURATION.match(str(value)), f"{name}.{key}: {value!r}"


# ---- compose: images, files, ports ------------------------------------------------------------


def test_images_are_pinned() -> None:
    for name, svc in services().items():
        image = svc["image"]
        if "build" in svc:
            assert image == "ccmon:local", f"{name}: the locally built image"
            assert (COMPOSE_DIR / svc["build"]["context"]).resolve() == ROOT
            assert (ROOT / svc["build"].get("dockerfile", "Dockerfile")).resolve() == DOCKERFILE
            continue
        repo, _, tag = image.rpartition(":")
        assert repo and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest" and re.search(r"\d", tag), f"{name}: pin a version, not {tag}"


def test_kafka_is_the_version_the_tests_run_against() -> None:
    pom = (ROOT / "deploy" / "local" / "kafka" / "pom.xml").read_text(encoding="utf-8")
    version = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom)
    assert version is not None
    assert services()["kafka"]["image"] == f"apache/kafka:{version.group(1)}"


def test_every_mounted_path_exists_in_the_repository() -> None:
    declared = set(compose().get("volumes", {}))
    for name, svc in services().items():
        for source, target, entry in bind_mounts(svc):
            assert source.exists(), f"{name}: {source} is mounted but does not exist"
            assert ROOT in source.parents, f"{name}: {source} lies outside the repository"
            is_file = PurePosixPath(target).suffix in {".yml", ".yaml", ".json"}
            assert source.is_file() == is_file, f"{name}: {source} -> {target} file/dir mismatch"
            if entry:
                assert entry.get("read_only") is True, f"{name}: {target} mounted writable"
                assert entry.get("bind", {}).get("create_host_path") is False, (
                    f"{name}: a missing {source} would silently become an empty directory"
                )
        for entry in svc.get("volumes", []):
            if isinstance(entry, str) and not entry.startswith((".", "/")):
                assert entry.split(":")[0] in declared, f"{name}: undeclared volume {entry}"
        for env_file in svc.get("env_file", []):
            assert (COMPOSE_DIR / env_file).is_file(), f"{name}: env_file {env_file} missing"


def test_host_ports_do_not_clash() -> None:
    seen: dict[int, str] = {}
    for name, svc in services().items():
        for host, container in published_ports(svc):
            assert 0 < container < 65536 and 1024 <= host < 65536, (name, host, container)
            assert host not in seen, f"host port {host}: {seen.get(host)} and {name}"
            seen[host] = name


# ---- compose: the workers ---------------------------------------------------------------------


@pytest.mark.parametrize("worker", WORKERS)
def test_worker_environment_is_made_of_real_settings(worker: str) -> None:
    env = env_of(services()[worker])
    fields = setting_fields()
    unknown = sorted(k for k in env if k not in fields)
    assert not unknown, f"not settings of streams/settings.py: {unknown}"
    settings = Settings(**{fields[k]: v for k, v in env.items()})  # validates every value
    assert settings.partitions >= len(WORKERS), "more workers than partitions would idle"


@pytest.mark.parametrize("worker", WORKERS)
def test_worker_is_wired_to_the_stack(worker: str) -> None:
    svc = services()[worker]
    env = env_of(svc)
    kafka_env = env_of(services()["kafka"])
    advertised = [u.split("://", 1)[1] for u in kafka_env["KAFKA_ADVERTISED_LISTENERS"].split(",")]
    assert env["CCMON_KAFKA"] in advertised, "the workers use an advertised listener"
    assert env["CCMON_KAFKA"].split(":")[0] == "kafka"
    assert urlsplit(env["CCMON_REDIS"]).hostname == "redis"
    queues = host_path(svc, env["CCMON_QUEUE_CONFIG"])
    load_queue_config(queues)  # the mounted file is a valid queue configuration
    if svc.get("read_only"):
        assert env["CCMON_DATA_DIR"] in svc.get("tmpfs", []), "data dir must stay writable"
        assert "/tmp" in svc.get("tmpfs", [])
    port = int(env["CCMON_WEB_PORT"])
    assert port in [c for _, c in published_ports(svc)]
    assert f":{port}/healthz" in " ".join(svc["healthcheck"]["test"])
    dependencies = svc["depends_on"]
    for needed in ("kafka", "redis"):
        assert dependencies[needed]["condition"] == "service_healthy"


def test_dependencies_exist_and_healthy_ones_have_a_healthcheck() -> None:
    svcs = services()
    for name, svc in svcs.items():
        for dep, spec in svc.get("depends_on", {}).items():
            assert dep in svcs, f"{name} depends on unknown {dep}"
            assert not svcs[dep].get("profiles"), f"{name} needs {dep}, which a profile hides"
            if spec.get("condition") == "service_healthy":
                check = svcs[dep].get("healthcheck", {})
                assert check.get("test") and not check.get("disable"), f"{dep}: no healthcheck"


def test_only_the_simulator_needs_the_demo_profile() -> None:
    profiled = {name: svc["profiles"] for name, svc in services().items() if "profiles" in svc}
    assert profiled == {"simulator": ["demo"]}


def test_simulator_command_is_valid_for_ccmon_simulate() -> None:
    sim = services()["simulator"]
    command = sim["command"]
    assert command[0] == "simulate"
    parser = argparse.ArgumentParser(prog="ccmon simulate", exit_on_error=False)
    add_arguments(parser)
    args = parser.parse_args(command[1:])
    assert args.kafka == env_of(services()["ccmon-1"])["CCMON_KAFKA"]
    assert args.realtime
    assert sim["healthcheck"] == {"disable": True}, "the simulator serves no /healthz"


def test_kafka_kraft_settings_are_consistent() -> None:
    env = env_of(services()["kafka"])
    listeners = {
        u.split("://")[0]: int(u.rsplit(":", 1)[1]) for u in env["KAFKA_LISTENERS"].split(",")
    }
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(listeners) <= set(protocols)
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    voter_id, voter = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split("@")
    assert voter_id == env["KAFKA_NODE_ID"] and voter == f"kafka:{listeners[controller]}"
    advertised = {
        u.split("://")[0]: u.split("://")[1] for u in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    }
    assert controller not in advertised and set(advertised) <= set(listeners)
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in advertised
    host_listener = next(h for h in advertised.values() if h.startswith("localhost:"))
    assert (int(host_listener.split(":")[1]), int(host_listener.split(":")[1])) in (
        published_ports(services()["kafka"])
    ), "the host listener is published on its own port"
    cluster_id = env["CLUSTER_ID"]
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16, "a KRaft cluster id"
    test = services()["kafka"]["healthcheck"]["test"]
    assert test[-1] in advertised.values()


# ---- compose: Prometheus, Alertmanager, Grafana -----------------------------------------------


def compose_prometheus_config() -> tuple[dict[str, Any], str]:
    svc = services()["prometheus"]
    flag = next(a for a in svc["command"] if a.startswith("--config.file="))
    target = flag.split("=", 1)[1]
    path = host_path(svc, target)
    assert path == COMPOSE_DIR / "prometheus.yml"
    return yaml.safe_load(path.read_text(encoding="utf-8")), target


def test_prometheus_scrapes_both_workers_under_the_rules_job() -> None:
    config, _ = compose_prometheus_config()
    job = yaml.safe_load((ROOT / "alerts" / "config.yaml").read_text(encoding="utf-8"))["job"]
    (scrape,) = [s for s in config["scrape_configs"] if s["job_name"] == job]
    targets = {t for sc in scrape["static_configs"] for t in sc["targets"]}
    ports = {w: env_of(services()[w])["CCMON_WEB_PORT"] for w in WORKERS}
    assert targets == {f"{w}:{ports[w]}" for w in WORKERS}
    assert scrape.get("metrics_path", "/metrics") == "/metrics"


def test_prometheus_scrapes_the_wall_under_the_wall_alerts_job() -> None:
    # The wall's alerts (CcmonWallDataStale, _NoScreens, _Down) select job=wall.job: a scrape
    # under another name, or of another port, leaves a frozen wall unwatched (issue 23).
    config, _ = compose_prometheus_config()
    rules = yaml.safe_load((ROOT / "alerts" / "config.yaml").read_text(encoding="utf-8"))
    (scrape,) = [s for s in config["scrape_configs"] if s["job_name"] == rules["wall"]["job"]]
    targets = {t for sc in scrape["static_configs"] for t in sc["targets"]}
    assert targets == {f"wall:{env_of(services()['wall'])['CCMON_WALL_PORT']}"}
    assert scrape.get("metrics_path", "/metrics") == "/metrics"
    assert "authorization" not in scrape and "basic_auth" not in scrape, "/metrics is public"


def test_prometheus_finds_the_rules_through_its_mounts() -> None:
    config, target = compose_prometheus_config()
    svc = services()["prometheus"]
    rule_files = []
    for pattern in config["rule_files"]:
        container = os.path.normpath(PurePosixPath(target).parent / pattern)
        directory = host_path(svc, str(PurePosixPath(container).parent))
        rule_files += sorted(directory.glob(PurePosixPath(container).name))
    assert rule_files == sorted((ROOT / "alerts").glob("*.rules.yml")) != []
    (am,) = config["alerting"]["alertmanagers"]
    host, port = am["static_configs"][0]["targets"][0].split(":")
    assert host == "alertmanager" and host in services()
    assert (int(port), int(port)) in published_ports(services()["alertmanager"])


def test_alertmanager_config_it_mounts_is_valid() -> None:
    svc = services()["alertmanager"]
    flag = next(a for a in svc["command"] if a.startswith("--config.file="))
    path = host_path(svc, flag.split("=", 1)[1])
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.fail("amtool is not installed: run `make deps` (bash deploy/local/install.sh)")
    result = subprocess.run(
        [amtool, "check-config", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_provisioning_and_dashboards_line_up() -> None:
    svc = services()["grafana"]
    env = {}
    for env_file in svc.get("env_file", []):
        env.update(read_env_file(COMPOSE_DIR / env_file))
    env.update(env_of(svc))
    prometheus = urlsplit(env["PROMETHEUS_URL"])
    assert prometheus.hostname == "prometheus" and prometheus.hostname in services()
    assert (prometheus.port, prometheus.port) in published_ports(services()["prometheus"])
    provisioning = host_path(svc, "/etc/grafana/provisioning")
    datasources = provisioning / "datasources"
    assert "${PROMETHEUS_URL}" in "".join(p.read_text("utf-8") for p in datasources.glob("*.yml"))
    for provider_file in (provisioning / "dashboards").glob("*.yml"):
        for provider in yaml.safe_load(provider_file.read_text("utf-8"))["providers"]:
            folder = host_path(svc, provider["options"]["path"])
            assert sorted(folder.glob("*.json")), f"{provider['name']}: no dashboards there"
    home = host_path(svc, env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    assert home.is_file(), "the home dashboard (the wall screen) is mounted"
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer", "a wall screen must not edit"


def dashboard_uids() -> set[str]:
    folder = ROOT / "deploy" / "grafana" / "dashboards"
    return {json.loads(p.read_text("utf-8"))["uid"] for p in folder.glob("*.json")}


def test_kiosk_url_is_documented_and_points_at_a_dashboard() -> None:
    url = urlsplit(KIOSK_URL)
    uid = url.path.split("/")[2]
    assert uid in dashboard_uids()
    assert (url.port, 3000) in published_ports(services()["grafana"])
    assert KIOSK_URL in COMPOSE.read_text(encoding="utf-8")
    assert KIOSK_URL in (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


def _walk(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)
    elif isinstance(node, str):
        yield node


def test_no_secret_is_written_into_the_compose_file() -> None:
    for text in _walk(compose()):
        assert not re.search(r"(?i)password=", text)
    grafana = env_of(services()["grafana"])
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"].startswith("${"), "from the environment"


# ---- compose: the wall ------------------------------------------------------------------------


def test_wall_runs_ccmon_wall_against_the_stack() -> None:
    from ccmon.agents.wall.command import build_parser
    from ccmon.agents.wall.settings import WallSettings

    wall = services()["wall"]
    assert wall["image"] == "ccmon:local" and wall["command"][0] == "wall"
    args = build_parser().parse_args(wall["command"][1:])
    host, port = urlsplit(args.alertmanager).hostname, urlsplit(args.alertmanager).port
    assert host == "alertmanager" and (port, port) in published_ports(services()["alertmanager"])
    env = env_of(wall)
    walls = {f"CCMON_WALL_{n.upper()}" for n in WallSettings.model_fields}
    assert set(env) <= set(setting_fields()) | walls, "only real settings"
    assert urlsplit(env["CCMON_REDIS"]).hostname == "redis"
    assert env["CCMON_REDIS"] == env_of(services()["ccmon-1"])["CCMON_REDIS"]
    wall_port = int(env["CCMON_WALL_PORT"])
    assert (wall_port, wall_port) in published_ports(wall)
    assert f":{wall_port}/healthz" in " ".join(wall["healthcheck"]["test"])
    assert env["CCMON_WALL_TOKEN"].startswith("${"), "a token comes from the environment"
