"""`make test` in two phases: ``python -m tests.support.phases [PYTEST_ARGS...]``.

Why: on a 2-core runner the suite took 34 minutes against a 30-minute budget, and 7.4 of
them were two end-to-end tests that wait on real time (the demo's 10-minute promise, and the
understaffing drill at speed 1 against Prometheus's real `for:`), using a fraction of a core.
They are marked ``realtime`` and run in a pytest of their own beside the unit suite, which
needs no service and is CPU-bound: phase 1. Phase 2, the integration and the other
end-to-end tests, runs alone, as before, because its restarts, failovers and timing are
what a second load on 2 cores would disturb.

Every phase must pass; a phase that collects nothing fails too (pytest exit 5), unless
PYTEST_ARGS narrowed the selection. The background phase's output is printed whole when
it ends, after a line a minute saying that it still runs.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from tests.support.paths import ROOT

REALTIME = "realtime"
NOTHING_COLLECTED = 5
PROGRESS_SECONDS = 60.0


def pytest(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-ra", *args]


def phase_one(extra: Sequence[str]) -> tuple[list[str], list[str]]:
    """(the background realtime tests, the unit suite)."""
    background = pytest("-p", "no:cacheprovider", "--durations=5", "-m", REALTIME, "tests/e2e")
    return [*background, *extra], [*pytest("--durations=15", "tests/unit"), *extra]


def phase_two(extra: Sequence[str]) -> list[str]:
    return [
        *pytest("--durations=15", "-m", f"not {REALTIME}", "tests/integration", "tests/e2e"),
        *extra,
    ]


def verdict(code: int, narrowed: bool) -> bool:
    """Whether a phase's exit code passes: 0, or nothing collected under a narrowed
    selection (``make test PYTEST_ARGS='-k wall'`` selects nothing in some phases)."""
    return code == 0 or (narrowed and code == NOTHING_COLLECTED)


def _announce(name: str, process: subprocess.Popen[bytes], began: float) -> None:
    while True:
        try:
            process.wait(PROGRESS_SECONDS)
            return
        except subprocess.TimeoutExpired:
            print(
                f"[phases] {name}: still running after {time.monotonic() - began:.0f} s",
                flush=True,
            )


def run(extra: Sequence[str], root: Path = ROOT) -> int:
    narrowed = bool(extra)
    failed: list[str] = []
    background_cmd, unit_cmd = phase_one(extra)
    began = time.monotonic()
    with tempfile.TemporaryFile() as log:
        print(f"[phases] 1: the unit suite, and beside it: {' '.join(background_cmd[2:])}")
        background = subprocess.Popen(
            background_cmd, cwd=root, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            if not verdict(subprocess.call(unit_cmd, cwd=root), narrowed):
                failed.append("unit")
            watcher = threading.Thread(
                target=_announce, args=("the realtime tests", background, began), daemon=True
            )
            watcher.start()
            code = background.wait()
            watcher.join()
        finally:
            if background.poll() is None:
                background.kill()
                background.wait()
        log.seek(0)
        print(f"[phases] 1: the realtime tests' output (exit {code}):", flush=True)
        sys.stdout.buffer.write(log.read())
        sys.stdout.flush()
        if not verdict(code, narrowed):
            failed.append(REALTIME)
    print(f"[phases] 1 took {time.monotonic() - began:.0f} s", flush=True)
    if not verdict(subprocess.call(phase_two(extra), cwd=root), narrowed):
        failed.append("integration and e2e")
    print(f"[phases] took {time.monotonic() - began:.0f} s", flush=True)
    if failed:
        print(f"[phases] FAILED: {', '.join(failed)} (each phase's report is above)")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
