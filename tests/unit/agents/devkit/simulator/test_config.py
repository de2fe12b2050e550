"""Simulator config files: durations, schedules, strict errors, scenarios, the docs example."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ccmon.agents.devkit.simulator import (
    ConfigError,
    HandleTime,
    Scenario,
    apply_scenarios,
    config_from_dict,
    default_config,
    load_config,
    parse_duration,
    with_scenarios,
)
from ccmon.agents.devkit.simulator.scenarios import rescale, value_at
from tests.support.paths import ROOT

DOCS = ROOT / "docs" / "simulator.md"


def minimal(**queue: Any) -> dict[str, Any]:
    return {
        "queues": [{"name": "q", "arrivals_per_hour": 10, "handle_time": 60, "agents": 2, **queue}]
    }


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2h", 7200),
        ("90m", 5400),
        ("3600s", 3600),
        ("1h30m", 5400),
        ("1d", 86400),
        ("45", 45),
        (12.5, 12.5),
        ("0.5h", 1800),
        (" 10M ", 600),
    ],
)
def test_parse_duration(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "2x", "h", "-5", "1h-2m", True, None, [1], "nan", "inf"])
def test_parse_duration_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match=r"--duration: .*duration"):
        parse_duration(bad, "--duration")


def test_minimal_config_defaults() -> None:
    q = config_from_dict(minimal()).queues[0]
    assert q.channel == "call" and q.handle_time == HandleTime(60.0)
    assert q.agents == ((0.0, 2),) and q.trunks == ((0.0, None),)
    assert q.patience_seconds is None and q.queue_size is None and q.survey is None


def test_schedules_accept_durations_and_sort() -> None:
    cfg = config_from_dict(minimal(agents=[["1h", 5], [0, 2]], trunks=[[0, None], ["30m", 4]]))
    q = cfg.queues[0]
    assert q.agents == ((0.0, 2), (3600.0, 5))
    assert q.trunks == ((0.0, None), (1800.0, 4))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            minimal(patience_second=30),
            r"queues\[0\]\.patience_second: unknown key; did you mean patience_seconds\?",
        ),
        (
            minimal(agents=-1),
            r"queues\[0\]\.agents: must be an integer >= 0, or a list of \[offset, value\] steps "
            r"\(got -1\)",
        ),
        (minimal(agents=[[60, 3]]), r"queues\[0\]\.agents: the first step must start at offset 0"),
        (
            minimal(channel="ticket"),
            r"queues\[0\]\.channel: .*ticket queues go under `tickets` \(got 'ticket'\)",
        ),
        (minimal(concurrency=2), r"queues\[0\]\.concurrency: only chats"),
        (minimal(daily_profile=[1] * 23), r"queues\[0\]\.daily_profile: must list 24 weights"),
        (minimal(handle_time={"distribution": "gamma", "mean_seconds": 3}), "lognormal"),
        (
            minimal(first_contact_resolution=1.5),
            r"first_contact_resolution: must be less than or equal to 1 \(got 1\.5\)",
        ),
        (minimal(survey={"probability": 0.1, "csat": None, "nps": None}), "at least one"),
        (minimal(name=""), r"queues\[0\]\.name: must have at least 1 character"),
        ({"queues": []}, "no queues and no tickets"),
        ({**minimal(), "time_format": "iso"}, "time_format"),
        ({**minimal(), "timezone": "Mars/Olympus"}, "unknown IANA time zone"),
        (
            {**minimal(), "scenarios": ["meteor"]},
            r"scenarios\[0\]\.name: unknown scenario; known: .* \(got 'meteor'\)",
        ),
        ({**minimal(), "scenarios": [{"name": "normal", "queues": ["x"]}]}, "unknown queue"),
        (
            {"queues": minimal()["queues"] * 2},
            r"queues\[1\]\.name: a call queue of this name is already listed",
        ),
        (
            {
                "tickets": [
                    {
                        "name": "t",
                        "created_per_hour": 1,
                        "first_response_seconds": 0,
                        "resolution_seconds": 1,
                    }
                ]
            },
            r"tickets\[0\]\.first_response_seconds: must be greater than 0",
        ),
        (
            {
                "tickets": [
                    {
                        "name": "t",
                        "created_per_hour": 1,
                        "first_response_seconds": 1,
                        "resolution_seconds": 1,
                        "priorities": {"asap": 1},
                    }
                ]
            },
            "asap",
        ),
        ([1, 2], r"\(top level\): must be a mapping"),
    ],
)
def test_errors_name_the_offending_key(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data)


def test_scenarios_in_a_file_and_by_name() -> None:
    data = {
        **minimal(),
        "scenarios": [
            "arrival_spike",
            {"name": "agents_leaving", "start": "1h", "duration": None, "factor": 0.25},
        ],
    }
    cfg = config_from_dict(data)
    assert cfg.scenarios == (
        Scenario("arrival_spike"),
        Scenario("agents_leaving", start=3600.0, duration=None, factor=0.25),
    )
    folded = apply_scenarios(with_scenarios(cfg, ["trunk_outage"]))
    q = folded.queues[0]
    assert folded.scenarios == ()
    assert q.surges[0].factor == 3.0 and q.surges[0].start == 600.0
    assert q.agents == ((0.0, 2), (3600.0, 0))  # int(2 x 0.25)
    assert q.trunks == ((0.0, None), (600.0, 0), (2400.0, None))  # int(2 agents x 0.25)
    with pytest.raises(ValueError, match="unknown scenario"):
        with_scenarios(cfg, ["nope"])


def test_rescale_keeps_steps_outside_the_window() -> None:
    steps = ((0.0, 10), (100.0, 20))
    assert rescale(steps, 50.0, 150.0, lambda v: v // 2) == (
        (0.0, 10),
        (50.0, 5),
        (100.0, 10),
        (150.0, 20),
    )
    assert value_at(steps, 99.9) == 10 and value_at(steps, 100.0) == 20


def test_load_yaml_and_json(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(minimal(patience_seconds="2m")))
    (tmp_path / "c.json").write_text(json.dumps(minimal()))
    assert load_config(tmp_path / "c.yaml").queues[0].patience_seconds == 120.0
    assert load_config(tmp_path / "c.json").queues[0].name == "q"
    (tmp_path / "broken.yaml").write_text("queues: [")
    with pytest.raises(ConfigError, match=r"broken\.yaml: line 1, column 10: not valid YAML"):
        load_config(tmp_path / "broken.yaml")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_default_config_has_healthy_and_pressured_queues() -> None:
    cfg = default_config()
    names = {(q.channel, q.name) for q in cfg.queues}
    assert {("call", "sales"), ("call", "support"), ("chat", "billing")} <= names
    assert {t.name for t in cfg.tickets} == {"support", "billing"}


def test_docs_example_config_is_valid_and_is_the_example_file() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), flags=re.S)
    assert blocks, "docs/simulator.md should show an example config"
    cfg = config_from_dict(yaml.safe_load(blocks[0]))
    assert cfg.queues and cfg.tickets and cfg.scenarios
    example = (ROOT / "deploy" / "simulator.example.yaml").read_text(encoding="utf-8")
    body = "".join(line for line in example.splitlines(keepends=True) if line[:2] != "# ")
    assert body == blocks[0], "deploy/simulator.example.yaml is the block of docs/simulator.md"
    assert load_config(ROOT / "deploy" / "simulator.example.yaml") == cfg
