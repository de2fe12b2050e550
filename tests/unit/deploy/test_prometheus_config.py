"""`promtool check config` on every Prometheus configuration of the repository.

deploy/compose/prometheus.yml is checked twice: in place (its relative rule_files path reaches
alerts/) and inside a copy of the compose mount layout (/ccmon/deploy/compose/prometheus.yml +
/ccmon/alerts, rebuilt under a temporary directory from the volumes of compose.yaml), so a
wrong mount fails here too. promtool accepts a rule_files glob that matches nothing, so the
number of rule files it reports is compared with alerts/*.rules.yml.
A missing promtool fails (never skips): `make deps` installs it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest
import yaml

from tests.support.paths import ROOT

COMPOSE_DIR = ROOT / "deploy" / "compose"
CONFIGS = [COMPOSE_DIR / "prometheus.yml", ROOT / "deploy" / "prometheus" / "prometheus.yml"]
RULE_FILES = sorted((ROOT / "alerts").glob("*.rules.yml"))


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is not installed: run `make deps` (bash deploy/local/install.sh)")
    return found


def check_config(promtool: str, config: Path) -> str:
    result = subprocess.run(
        [promtool, "check", "config", str(config)],
        capture_output=True,
        text=True,
        cwd=config.parent,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"promtool check config {config}:\n{output}"
    found = re.search(r"SUCCESS: (\d+) rule files found", output)
    assert found, output
    assert int(found.group(1)) == len(RULE_FILES) > 0, f"rule files not all found:\n{output}"
    return output


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_promtool_accepts_the_configuration_in_place(promtool: str, config: Path) -> None:
    assert config.is_file(), f"{config} is missing"
    check_config(promtool, config)


def test_promtool_accepts_the_compose_configuration_through_its_mounts(
    promtool: str, tmp_path: Path
) -> None:
    service = yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text("utf-8"))["services"][
        "prometheus"
    ]
    root = tmp_path / "container"
    for volume in service["volumes"]:
        if isinstance(volume, str):
            continue  # the named TSDB volume
        source = (COMPOSE_DIR / volume["source"]).resolve()
        target = root / PurePosixPath(volume["target"]).relative_to("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)
    flag = next(a for a in service["command"] if a.startswith("--config.file="))
    config = root / PurePosixPath(flag.split("=", 1)[1]).relative_to("/")
    check_config(promtool, config)
