"""One version: pyproject.toml's. The installed package, `ccmon --version`,
`ccmon_worker_info{version}`, the changelog's newest entry and the image tags say the same."""

from __future__ import annotations

import re
import tomllib

from prometheus_client import CollectorRegistry

from ccmon import __version__
from ccmon.agents.cli import version_line
from ccmon.agents.metrics.pipeline import PipelineMetrics
from tests.support.paths import ROOT

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def test_the_installed_package_is_this_version() -> None:
    assert __version__ == VERSION, "the environment predates a version change: make venv"
    assert version_line().startswith(f"ccmon {VERSION} (Faust ")


def test_worker_info_carries_the_version() -> None:
    registry = CollectorRegistry()
    PipelineMetrics(registry, [], {}, [], [])
    assert registry.get_sample_value("ccmon_worker_info", {"version": VERSION}) == 1


def test_the_changelog_leads_with_this_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    versions = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", text, re.M)
    assert versions and versions[0] == VERSION, "add this version's section to CHANGELOG.md"
    assert versions == sorted(versions, key=lambda v: tuple(map(int, v.split("."))), reverse=True)


def test_image_tags_name_this_version() -> None:
    places = [
        ROOT / "Dockerfile",
        ROOT / "deploy" / "kubernetes" / "base" / "statefulset.yaml",
        ROOT / "deploy" / "kubernetes" / "base" / "wall.yaml",
        ROOT / "docs" / "operations.md",
    ]
    for path in places:
        tags = set(re.findall(r"ccmon:(\d+\.\d+\.\d+)", path.read_text(encoding="utf-8")))
        assert tags == {VERSION}, f"{path.relative_to(ROOT)} names ccmon:{tags}"
