"""The `ccmon` command line: its own face (issue 20) — version, help, commands — and
`ccmon check-config` on good files."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from support.cli import run_ccmon
from support.paths import ROOT

from ccmon import __version__
from ccmon.agents import checkconfig
from ccmon.agents.cli import COMMANDS
from ccmon.streams.contract.events import ALL_CHANNELS

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
    assert listed == OURS == [c.name for c in COMMANDS]
    first_faust = min(i for i, line in enumerate(lines) if "agents, " in line)
    assert all(lines.index(next(x for x in lines if x.startswith(f"  {name} "))) < first_faust
               for name in OURS)  # fmt: skip
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


# ---- check-config on good files -------------------------------------------------------------

EXAMPLES = {
    ROOT / "deploy" / "queues.example.yaml": "queues",
    ROOT / "deploy" / "kubernetes" / "base" / "queues.yaml": "queues",
    ROOT / "agents" / "devkit" / "demo_queues.yaml": "queues",
    ROOT / "tests" / "integration" / "data" / "golden-queues.yaml": "queues",
    ROOT / "deploy" / "simulator.example.yaml": "simulator",
}


def check(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = checkconfig.main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_examples_pass(path: Path) -> None:
    code, out, err = check(str(path))
    assert (code, err) == (0, "")
    assert out.startswith(f"{path}: OK ({'queue' if EXAMPLES[path] == 'queues' else 'simulator'}")


def test_the_kind_comes_from_the_schema_line_then_the_shape(tmp_path: Path) -> None:
    sim = tmp_path / "drill.yaml"
    sim.write_text("queues: [{name: q, arrivals_per_hour: 1, handle_time: 60, agents: 1}]\n")
    assert check(str(sim))[1].startswith(f"{sim}: OK (simulator configuration, 1 call/chat")
    tickets = tmp_path / "tickets.yaml"
    tickets.write_text("tickets: []\n")
    assert "no queues and no tickets" in check(str(tickets))[2]
    named = tmp_path / "named.yaml"
    named.write_text("# yaml-language-server: $schema=../simulator.schema.json\n{}\n")
    assert check(str(named))[2] == f"{named}: (top level): no queues and no tickets to simulate\n"
    assert check("--kind", "queues", str(named))[0] == 0
    queues = tmp_path / "queues.yaml"
    queues.write_text("queues: {billing: {}}\n")
    assert check(str(queues))[1] == f"{queues}: OK (queue configuration, 1 queues, " \
        "limits.max_queues 500)\n"  # fmt: skip


def test_several_files_and_the_exit_status(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("queues: {billing: {max_wait_seconds: 0}}\n")
    code, out, err = check(str(ROOT / "deploy" / "queues.example.yaml"), str(bad))
    assert code == 1
    assert out.count(": OK (") == 1
    assert err == f"{bad}: queues.billing.max_wait_seconds: must be greater than 0 (got 0)\n"
    assert check()[0] == 2


def test_schema_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = check("--schema", "queues")
    assert code == 0
    assert json.loads(out) == checkconfig.json_schema("queues")
