"""`make test`'s two phases (tests.support.phases): every test runs in exactly one, and any
phase's failure, or a phase that collects nothing, fails the whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import phases
from tests.support.paths import ROOT

PHASED = ("unit", "integration", "e2e")
MARK = "pytest.mark.realtime"


def test_every_test_file_is_in_a_phase() -> None:
    outside = [
        p.relative_to(ROOT)
        for p in (ROOT / "tests").rglob("test_*.py")
        if p.relative_to(ROOT / "tests").parts[0] not in PHASED
    ]
    assert outside == []


def test_realtime_tests_are_end_to_end_ones() -> None:
    """Phase 1 looks for them in tests/e2e only; one marked elsewhere would run in no phase
    (or twice, in tests/unit)."""
    marked = {
        p.relative_to(ROOT / "tests").parts[0]
        for p in (ROOT / "tests").rglob("test_*.py")
        if MARK in p.read_text() and p != Path(__file__)
    }
    assert marked == {"e2e"}


def test_phase_one_runs_each_unit_file_once_and_each_realtime_file_apart() -> None:
    jobs = {job.name: job.cmd for job in phases.phase_one([])}
    for heavy in phases.UNIT_HEAVY:
        assert (ROOT / heavy).is_file(), f"{heavy} moved: update phases.UNIT_HEAVY"
        assert f"--ignore={heavy}" in jobs["unit"]
        assert heavy in jobs["unit (simulations, install)"]
    realtime = {name for name in jobs if name.startswith("realtime")}
    assert realtime == {"realtime (test_demo_states.py)", "realtime (test_understaffed.py)"}
    # Side by side, only one pytest writes its cache.
    assert [name for name, cmd in jobs.items() if "no:cacheprovider" not in cmd] == ["unit"]


def test_a_narrowed_selection_may_leave_a_phase_empty() -> None:
    assert phases.verdict(0, narrowed=False)
    assert not phases.verdict(phases.NOTHING_COLLECTED, narrowed=False)
    assert phases.verdict(phases.NOTHING_COLLECTED, narrowed=True)
    assert not phases.verdict(1, narrowed=True)


def _suite(root: Path, realtime_body: str, unit_body: str = "pass") -> None:
    for part in PHASED:
        (root / "tests" / part).mkdir(parents=True)
    (root / "tests" / "unit" / "test_u.py").write_text(f"def test_u():\n    {unit_body}\n")
    (root / "tests" / "integration" / "test_i.py").write_text("def test_i():\n    pass\n")
    (root / "tests" / "e2e" / "test_rt.py").write_text(
        f"import pytest\n\n@pytest.mark.realtime\ndef test_rt():\n    {realtime_body}\n"
    )
    (root / "pytest.ini").write_text("[pytest]\nmarkers =\n    realtime: waits\n")


def test_a_passing_suite_passes(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    _suite(tmp_path, "pass")
    assert phases.run([], root=tmp_path) == 0
    out = capfd.readouterr().out
    assert "test_rt.py ." in out  # the background phase's report is printed
    assert "FAILED" not in out


def test_phase_one_alone_runs_no_phase_two(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    _suite(tmp_path, "pass")
    assert phases.phase_one_alone([], root=tmp_path) == 0
    out = capfd.readouterr().out
    assert "test_rt.py ." in out and "test_u.py ." in out
    assert "test_i.py" not in out
    assert "failed: none" in out


def test_each_failing_phase_fails_the_whole(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The realtime test fails in the background; phase 2 collects nothing (its one test is
    gone). Each pytest is a real one, on a suite of three files."""
    _suite(tmp_path, "assert False")
    (tmp_path / "tests" / "integration" / "test_i.py").unlink()
    assert phases.run([], root=tmp_path) == 1
    out = capfd.readouterr().out
    assert "[phases] FAILED: realtime (test_rt.py), integration and e2e" in out
