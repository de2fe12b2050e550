"""The layering of pyproject.toml's [tool.importlinter] holds, one contract per folder, the
domain and the read model import no Faust, aiokafka or redis, and nothing imports the
repository folders under their bare names (the wheel has only ``ccmon``)."""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import ccmon
from tests.support.paths import ROOT

BARE = re.compile(r"^\s*(?:from|import)\s+(?:streams|agents)(?:\.|\s|$)", re.M)
PYTHON_TREES = ("ccmon", "streams", "agents", "tests", "bench", "alerts", "deploy")


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [lint_imports, "--no-cache", "--no-logo", "pyproject.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_nothing_imports_the_bare_folder_names() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for tree in PYTHON_TREES
        for path in (ROOT / tree).rglob("*.py")
        if not path.is_symlink()
        and "ccmon" not in path.relative_to(ROOT).parts[:1]
        and BARE.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], f"import ccmon.streams / ccmon.agents instead: {offenders}"


def _contracts() -> list[dict[str, Any]]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        contracts: list[dict[str, Any]] = tomllib.load(f)["tool"]["importlinter"]["contracts"]
    return contracts


def test_every_folder_has_its_layers_contract() -> None:
    """The contract reads like ``ls``: each package of ccmon is the container of one
    exhaustive layers contract (a folder of independent modules: one independence one)."""
    covered = {c for k in _contracts() if k.get("exhaustive") for c in k.get("containers", [])}
    covered |= {
        m.rpartition(".")[0] for k in _contracts() if k["type"] == "independence"
        for m in k["modules"]
    }  # fmt: skip
    packages = {"ccmon"} | {
        m.name for m in pkgutil.walk_packages(ccmon.__path__, "ccmon.") if m.ispkg
    }
    assert sorted(packages - covered) == [], "give these folders a contract in pyproject.toml"


def test_the_domain_and_the_read_model_are_forbidden_the_adapters() -> None:
    (pure,) = [k for k in _contracts() if k["type"] == "forbidden"]
    assert {"ccmon.agents.domain", "ccmon.agents.readmodel"} <= set(pure["source_modules"])
    assert {"faust", "mode", "aiokafka", "redis"} <= set(pure["forbidden_modules"])
    assert not pure.get("allow_indirect_imports", False)
