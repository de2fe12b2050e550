"""The `ccmon` command run as a user runs it: a child process of this interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.support.paths import ROOT


def run_ccmon(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m ccmon ARGV`` with ``env`` added to this environment; never raises on a
    non-zero exit (the status is what tests look at)."""
    return subprocess.run(
        [sys.executable, "-m", "ccmon", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **env},
    )


def refused_worker(env: dict[str, str]) -> tuple[str, float, subprocess.CompletedProcess[str]]:
    """``ccmon worker`` started with ``env`` (its whole environment) that must refuse to start:
    its one line on stderr, the seconds it took, and the process (a hang fails here, not in
    CI's global timeout)."""
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "ccmon", "worker", "-l", "info"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    seconds = time.monotonic() - began
    assert done.returncode != 0, done.stdout[-2000:] + done.stderr[-2000:]
    lines = [x for x in done.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0], seconds, done
