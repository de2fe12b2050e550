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
from support.deploy import LOCKS, lock, pyproject
from support.paths import ROOT

# ---- lock files -----------------------------------------------------------------------------


def test_locks_are_exact_pins_without_overlap() -> None:
    lock("runtime")  # every line an exact pin
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
    for package in ("streams", "agents", "ccmon"):
        # symlinks=True: ccmon/ links streams/ and agents/ in, as in the Docker context.
        shutil.copytree(
            ROOT / package,
            src / package,
            symlinks=True,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    run(build / "bin" / "python", "-m", "pip", "-q", "wheel", "--no-deps",
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
    assert shipped.stdout.strip() == "['index.html', 'wall.css', 'wall.js']", shipped.stderr
    for argv in (
        ["worker", "--help"],
        ["simulate", "--help"],
        ["validate", "--help"],
        ["wall", "--help"],
    ):
        help_run = subprocess.run(
            [clean_install / "bin" / "ccmon", *argv],
            cwd=clean_install,
            capture_output=True,
            text=True,
            check=False,
        )
        assert help_run.returncode == 0, help_run.stderr[-3000:]
