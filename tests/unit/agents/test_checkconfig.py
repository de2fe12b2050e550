"""`ccmon check-config`: good files pass with a summary, the kind of a file is found, several
files and the exit status, the schemas it prints. (Broken files: test_cli_bad_configs.py.)"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ccmon.agents import checkconfig
from tests.support.paths import ROOT

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
