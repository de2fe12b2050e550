"""The `ccmon` command run as a user runs it: a child process of this interpreter."""

from __future__ import annotations

import os
import subprocess
import sys


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
