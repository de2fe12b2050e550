"""The `ccmon` command line: its own face (issue 20) — version, help, commands, settings
refused before anything connects."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ccmon import __version__
from ccmon.agents.cli import COMMANDS
from ccmon.streams.contract.events import ALL_CHANNELS
from tests.support.cli import run_ccmon
from tests.support.paths import ROOT

OURS = ["worker", "demo", "simulate", "validate", "wall", "check-config"]


def test_version_is_ccmons_own() -> None:
    result = run_ccmon("--version")
    assert result.returncode == 0
    assert result.stdout.startswith(f"ccmon {__version__} (Faust "), result.stdout
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'\nversion = "{__version__}"\n' in pyproject, "installed version != pyproject"


def test_help_lists_our_commands_first_one_line_each() -> None:
    result = run_ccmon("--help")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    listed = [m.group(1) for line in lines if (m := re.match(r"  ([a-z][a-z-]+)  +\S", line))]
    # The six of issue 20 first; a command added later is listed too, after them.
    assert listed == [c.name for c in COMMANDS] and listed[: len(OURS)] == OURS
    first_faust = min(i for i, line in enumerate(lines) if "agents, " in line)
    assert all(lines.index(next(x for x in lines if x.startswith(f"  {name} "))) < first_faust
               for name in listed)  # fmt: skip
    assert "tables" in lines[first_faust] and "send" in lines[first_faust]
    assert run_ccmon().stdout == result.stdout


def test_an_unknown_command_is_a_usage_error() -> None:
    result = run_ccmon("wrokers")
    assert result.returncode == 2
    assert result.stderr == "ccmon: unknown command 'wrokers'; see ccmon --help\n"


@pytest.mark.parametrize("name", OURS)
def test_each_command_has_its_own_help(name: str) -> None:
    result = run_ccmon(name, "--help")
    assert result.returncode == 0, result.stderr
    assert f"ccmon {name}" in result.stdout


def test_faust_commands_stay_reachable() -> None:
    result = run_ccmon("tables", "--help")
    assert result.returncode == 0, result.stderr
    assert "List available tables" in result.stdout


@pytest.mark.parametrize("channel", ALL_CHANNELS)
def test_validate_takes_every_channel_of_the_contract(tmp_path: Path, channel: str) -> None:
    (tmp_path / "events.jsonl").write_text("\n", encoding="utf-8")
    result = run_ccmon("validate", str(tmp_path / "events.jsonl"), "--channel", channel)
    assert result.returncode == 0, result.stderr
    assert f"channel {channel}" in result.stdout


def test_bad_settings_are_one_line_each_before_any_connection() -> None:
    result = run_ccmon("worker", CCMON_PARTITIONS="many", CCMON_WINDOWS="5m,2h")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "ccmon worker: CCMON_PARTITIONS: must be a valid integer, unable to parse string as an "
        "integer (got 'many')",
        "ccmon worker: CCMON_WINDOWS: unknown windows ['2h']; choose among 5m, 15m, 30m, 1h, "
        "interval_15m, interval_30m, today (got '5m,2h')",
    ]
    wall = run_ccmon("wall", CCMON_WALL_PORT="http", CCMON_SNAPSHOT_TTL_SECONDS="1")
    assert wall.returncode == 1 and "Traceback" not in wall.stderr
    assert wall.stderr.splitlines() == [
        "ccmon wall: CCMON_SNAPSHOT_TTL_SECONDS: must be greater than or equal to 2 (got '1')",
        "ccmon wall: CCMON_WALL_PORT: must be a valid integer, unable to parse string as an "
        "integer (got 'http')",
    ]
