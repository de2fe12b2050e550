"""The layering of pyproject.toml's [tool.importlinter] holds, and nothing imports the
repository folders under their bare names (the wheel has only ``ccmon``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from support.paths import ROOT

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
