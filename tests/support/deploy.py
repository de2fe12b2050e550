"""Shared by the deployment tests (tests/unit/deploy): where the artefacts are, and small
readers of them (settings, pyproject, dev tools)."""

from __future__ import annotations

import os
import shutil
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ccmon.streams.settings import Settings
from support.paths import ROOT

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
INSTALL_HINT = "install the dev tools: .venv/bin/pip install -e '.[dev]'"


def setting_fields() -> dict[str, str]:
    return {f"CCMON_{name.upper()}": name for name in Settings.model_fields}


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
