"""Fixtures of the deployment tests: kustomize and the rendered manifests."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.kube import BASE, KUSTOMIZE_MODULE, KUSTOMIZE_VERSION


def _cache() -> Path:
    base = os.environ.get("CCMON_CACHE_DIR") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "ccmon"
    )
    return Path(base) / f"kustomize-{KUSTOMIZE_VERSION}"


@pytest.fixture(scope="session")
def kustomize() -> str:
    """$CCMON_KUSTOMIZE, else the pinned version built once from its Go module into the ccmon
    cache (about 2 minutes the first time; the Go toolchain is on every machine of ours)."""
    if explicit := os.environ.get("CCMON_KUSTOMIZE"):
        return explicit
    binary = _cache() / "kustomize"
    if binary.is_file():
        return str(binary)
    go = shutil.which("go")
    if go is None:
        pytest.fail(
            f"kustomize is needed: set CCMON_KUSTOMIZE, or install Go so that this test can "
            f"`go install {KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION}`"
        )
    partial = binary.parent / "partial"
    partial.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [go, "install", f"{KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION}"],
        env={**os.environ, "GOBIN": str(partial), "CGO_ENABLED": "0"},
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"go install kustomize failed:\n{result.stderr[-3000:]}")
    (partial / "kustomize").rename(binary)  # complete or absent, never half-written
    return str(binary)


def build(kustomize: str, directory: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [kustomize, "build", str(directory)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"kustomize build {directory}:\n{result.stderr}"
    return [d for d in yaml.safe_load_all(result.stdout) if d]


@pytest.fixture(scope="session")
def base(kustomize: str) -> list[dict[str, Any]]:
    return build(kustomize, BASE)
