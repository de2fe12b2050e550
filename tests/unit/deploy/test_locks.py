"""The lock files of the image and the image's build stage replayed without Docker: a clean
venv from the lock, the wheel built with the build lock, `pip check`, every module imported,
and the wheel's only top-level name is ``ccmon``."""

from __future__ import annotations

import os
import pkgutil
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.deploy import LOCKS, lock, pyproject, uv
from tests.support.paths import ROOT

# ---- lock files -----------------------------------------------------------------------------


def run_uv(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [uv(), *argv, "--offline", "--python", sys.executable],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never", **(env or {})},
    )


def test_uv_lock_agrees_with_pyproject() -> None:
    result = run_uv("lock", "--check")
    assert result.returncode == 0, f"uv.lock is stale: run `make lock`\n{result.stderr}"


def test_this_environment_is_exactly_the_lock() -> None:
    """What the tests run on is what uv.lock says, no more, no less: a release of the day
    cannot slip in (issue 20). `make venv` syncs it; a stray or missing package fails here."""
    result = run_uv(
        "sync", "--frozen", "--check", "--extra", "dev", "--extra", "embedded",
        env={"UV_PROJECT_ENVIRONMENT": sys.prefix},
    )  # fmt: skip
    assert result.returncode == 0, f"run `make venv`:\n{result.stderr}"


def test_image_lock_is_exported_from_uv_lock() -> None:
    exported = run_uv(
        "export", "--frozen", "--no-dev", "--no-emit-project", "--format", "requirements-txt",
        "--no-header",
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    ours = LOCKS["runtime"].read_text(encoding="utf-8")
    body = "\n".join(line for line in ours.splitlines() if not line.startswith("#"))
    want = "\n".join(line for line in exported.stdout.splitlines() if not line.startswith("#"))
    assert body.strip() == want.strip(), "deploy/requirements.lock is stale: run `make lock`"


def test_locks_are_hashed_exact_pins() -> None:
    lock("runtime")  # every entry an exact pin with its hashes
    build = lock("build")
    constraints = pyproject()["tool"]["uv"]["build-constraint-dependencies"]
    assert {canonicalize_name(Requirement(c).name): str(Requirement(c).specifier)[2:]
            for c in constraints} == build  # fmt: skip
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
    assert not tools & set(runtime), "dev/bench packages in the image lock"


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

    # uv's environments have no pip, but `-m venv` installs one from the standard library.
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    run(sys.executable, "-m", "venv", build)
    pip = [build / "bin" / "python", "-m", "pip", "--disable-pip-version-check", "-q"]
    run(*pip, "--python", venv / "bin" / "python", "install", "--no-deps", "--require-hashes",
        "-r", LOCKS["runtime"])  # fmt: skip
    run(*pip, "install", "--no-deps", "--require-hashes", "-r", LOCKS["build"])
    src = tmp / "src"
    src.mkdir()
    shutil.copy(ROOT / "pyproject.toml", src)
    for package in ("streams", "agents", "ccmon"):
        # symlinks=True: ccmon/ links streams/ and agents/ in, as in the Docker context.
        shutil.copytree(
            ROOT / package,
            src / package,
            symlinks=True,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    run(*pip, "wheel", "--no-deps",
        "--no-build-isolation", "--wheel-dir", wheels, ".", cwd=src)  # fmt: skip
    (wheel,) = wheels.glob("ccmon-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        top = {name.split("/")[0] for name in archive.namelist() if ".dist-info/" not in name}
    assert top == {"ccmon"}, f"the wheel installs more top-level names than ccmon: {top}"
    run(*pip, "--python", venv / "bin" / "python", "install", "--no-deps", wheel)
    run(*pip, "--python", venv / "bin" / "python", "check")
    return venv


def test_clean_install_from_the_lock_imports_everything_the_image_runs(
    clean_install: Path,
) -> None:
    import ccmon

    modules = [
        m.name
        for m in pkgutil.walk_packages(ccmon.__path__, "ccmon.")
        if not m.name.endswith(".__main__")  # running, not importing, is `python -m`
    ]
    assert len(modules) > 40, modules
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
    # The wall's page is package data: the image must ship it, not only the modules.
    page = (
        "from ccmon.agents.wall.server import STATIC as S; "
        "print(sorted(p.name for p in S.iterdir()))"
    )
    shipped = subprocess.run(
        [clean_install / "bin" / "python", "-c", page],
        cwd=clean_install, capture_output=True, text=True, check=False,
    )  # fmt: skip
    files = sorted(p.name for p in (ROOT / "agents" / "wall" / "static").iterdir())
    assert shipped.stdout.strip() == str(files), shipped.stderr
    assert {"index.html", "wall.css", "wall.js", "i18n.js"} <= set(files)
    for argv in (
        ["worker", "--help"],
        ["simulate", "--help"],
        ["validate", "--help"],
        ["wall", "--help"],
        ["check-config", "--help"],
        ["--help"],
        ["--version"],
    ):
        help_run = subprocess.run(
            [clean_install / "bin" / "ccmon", *argv],
            cwd=clean_install,
            capture_output=True,
            text=True,
            check=False,
        )
        assert help_run.returncode == 0, help_run.stderr[-3000:]
