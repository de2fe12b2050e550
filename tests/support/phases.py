"""`make test` in two phases: ``python -m tests.support.phases [PYTEST_ARGS...]``.

Why: on a 2-core runner the suite took 34 minutes against a 30-minute budget, and 7.4 of
them were two end-to-end tests that wait on real time (the demo's 10-minute promise, and the
understaffing drill at speed 1 against Prometheus's real `for:`), using a fraction of a core.
They are marked ``realtime`` and run beside the unit suite, which needs no service and is
CPU-bound: phase 1. Phase 2, the integration and the other end-to-end tests, runs alone,
because its restarts, failovers and timing are what a second load on 2 cores would disturb.

Phase 1 is several pytest processes side by side, each printed whole when it ends:
- the unit suite in two, so that it uses both cores: the few files that spend most of its
  CPU (:data:`UNIT_HEAVY`: simulations, a clean install from the lock) and the rest. In one
  process, on a slow sitting of the VM, it took 477 s, and CI 32.6 minutes (issue 22's
  note, stop 41);
- each realtime file in a pytest of its own: they wait on real time, so one after the
  other they took 466 s where the longer alone takes 280.

Every process must pass; one that collects nothing fails too (pytest exit 5), unless
PYTEST_ARGS narrowed the selection. A line a minute names those still running.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tests.support.paths import ROOT

REALTIME = "realtime"
MARK = "pytest.mark.realtime"
NOTHING_COLLECTED = 5
PROGRESS_SECONDS = 60.0
# Over a third of the unit suite's time between them (stop 41's CI: 254 of 477 s).
UNIT_HEAVY = (
    "tests/unit/agents/domain/test_forecast_vs_simulation.py",
    "tests/unit/agents/devkit/simulator/test_theory.py",
    "tests/unit/deploy/test_locks.py",
)


@dataclass(frozen=True)
class Job:
    name: str
    cmd: list[str]


def pytest(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-ra", *args]


def realtime_files(root: Path) -> list[str]:
    """The end-to-end files with realtime tests (tests/unit/support/test_phases.py checks
    that no other folder marks any)."""
    e2e = root / "tests" / "e2e"
    return [
        str(p.relative_to(root))
        for p in sorted(e2e.glob("test_*.py"))
        if MARK in p.read_text(encoding="utf-8")
    ]


def phase_one(extra: Sequence[str], root: Path = ROOT) -> list[Job]:
    """The unit suite in two, and each realtime file: run side by side. Only the first
    keeps pytest's cache: side by side, they would write it at once."""
    heavy = [p for p in UNIT_HEAVY if (root / p).exists()]
    ignored = [f"--ignore={p}" for p in heavy]
    jobs = [Job("unit", [*pytest("--durations=15", "tests/unit", *ignored), *extra])]
    if heavy:
        cmd = pytest("-p", "no:cacheprovider", "--durations=15", *heavy)
        jobs.append(Job("unit (simulations, install)", [*cmd, *extra]))
    for path in realtime_files(root):
        cmd = pytest("-p", "no:cacheprovider", "--durations=5", "-m", REALTIME, path)
        jobs.append(Job(f"realtime ({Path(path).name})", [*cmd, *extra]))
    return jobs


def phase_two(extra: Sequence[str]) -> list[str]:
    return [
        *pytest("--durations=15", "-m", f"not {REALTIME}", "tests/integration", "tests/e2e"),
        *extra,
    ]


def verdict(code: int, narrowed: bool) -> bool:
    """Whether a phase's exit code passes: 0, or nothing collected under a narrowed
    selection (``make test PYTEST_ARGS='-k wall'`` selects nothing in some phases)."""
    return code == 0 or (narrowed and code == NOTHING_COLLECTED)


def side_by_side(jobs: Sequence[Job], root: Path, began: float) -> list[int]:
    """Run the jobs at once; print each one's output whole when it ends. Their exit codes,
    in the jobs' order."""
    running: dict[int, subprocess.Popen[bytes]] = {}
    codes: dict[int, int] = {}
    with contextlib.ExitStack() as stack:
        logs = [stack.enter_context(tempfile.TemporaryFile()) for _ in jobs]
        try:
            for i, job in enumerate(jobs):
                running[i] = subprocess.Popen(
                    job.cmd, cwd=root, stdout=logs[i], stderr=subprocess.STDOUT
                )
            _wait(jobs, running, codes, logs, began)
        finally:
            for process in running.values():
                process.kill()
                process.wait()
    return [codes[i] for i in range(len(jobs))]


def _wait(
    jobs: Sequence[Job],
    running: dict[int, subprocess.Popen[bytes]],
    codes: dict[int, int],
    logs: Sequence[IO[bytes]],
    began: float,
) -> None:
    announced = time.monotonic()
    while running:
        for i, process in list(running.items()):
            code = process.poll()
            if code is None:
                continue
            del running[i]
            codes[i] = code
            logs[i].seek(0)
            print(f"[phases] 1: {jobs[i].name}, exit {code}:", flush=True)
            sys.stdout.buffer.write(logs[i].read())
            sys.stdout.flush()
        if running and time.monotonic() - announced >= PROGRESS_SECONDS:
            announced = time.monotonic()
            names = ", ".join(jobs[i].name for i in running)
            print(f"[phases] 1 after {announced - began:.0f} s, still running: {names}", flush=True)
        time.sleep(0.5)


def _phase_one(extra: Sequence[str], root: Path, began: float) -> list[str]:
    """Phase 1's jobs side by side; the names of those that failed."""
    jobs = phase_one(extra, root)
    print(f"[phases] 1, side by side: {'; '.join(job.name for job in jobs)}", flush=True)
    codes = side_by_side(jobs, root, began)
    failed = [
        job.name for job, code in zip(jobs, codes, strict=True) if not verdict(code, bool(extra))
    ]
    took = time.monotonic() - began
    print(f"[phases] 1 took {took:.0f} s; failed: {', '.join(failed) or 'none'}", flush=True)
    return failed


def run(extra: Sequence[str], root: Path = ROOT) -> int:
    began = time.monotonic()
    failed = _phase_one(extra, root, began)
    if not verdict(subprocess.call(phase_two(extra), cwd=root), bool(extra)):
        failed.append("integration and e2e")
    print(f"[phases] took {time.monotonic() - began:.0f} s", flush=True)
    if failed:
        print(f"[phases] FAILED: {', '.join(failed)} (each phase's report is above)")
        return 1
    return 0


def phase_one_alone(extra: Sequence[str], root: Path = ROOT) -> int:
    """``python -m tests.support.phases --phase-one``: phase 1 alone, to run it in a loop
    (its realtime tests wait on real time beside a CPU-bound load: DEVELOPERS.md, "Flaky
    is failing")."""
    return 1 if _phase_one(extra, root, time.monotonic()) else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--phase-one"]:
        raise SystemExit(phase_one_alone(sys.argv[2:]))
    raise SystemExit(run(sys.argv[1:]))
