"""The committed JSON Schemas of the configuration files (deploy/schemas/): current with the
models, named by the files that use them, and agreeing with the models on those files."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest

from ccmon.agents.checkconfig import KINDS, json_schema
from ccmon.streams.configfile import read_yaml
from deploy.schemas.__main__ import HERE, main
from tests.support.paths import ROOT

SCHEMA_LINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.M)
FOLDERS = ("deploy", "agents", "docs", "tests/integration/data")


def users() -> list[Path]:
    """Every YAML file of the repository that names a schema."""
    found = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.yaml")):
            if SCHEMA_LINE.search(path.read_text(encoding="utf-8")):
                found.append(path)
    return found


def test_schemas_are_current() -> None:
    assert main(["--check"]) == 0, "run python -m deploy.schemas"
    assert sorted(p.name for p in HERE.glob("*.json")) == sorted(f"{k}.schema.json" for k in KINDS)


def test_the_examples_name_their_schema() -> None:
    named = {p.relative_to(ROOT).as_posix() for p in users()}
    assert {
        "deploy/queues.example.yaml",
        "deploy/simulator.example.yaml",
        "deploy/kubernetes/base/queues.yaml",
        "agents/devkit/demo_queues.yaml",
    } <= named


@pytest.mark.parametrize("path", users(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_a_file_validates_against_the_schema_it_names(path: Path) -> None:
    match = SCHEMA_LINE.search(path.read_text(encoding="utf-8"))
    assert match
    schema_path = (path.parent / match.group(1)).resolve()
    assert schema_path.parent == HERE and schema_path.exists(), f"{match.group(1)} is not there"
    kind = schema_path.name.removesuffix(".schema.json")
    jsonschema.Draft202012Validator(json_schema(kind)).validate(read_yaml(path))
    KINDS[kind].model_validate(read_yaml(path))  # and the model agrees


@pytest.mark.parametrize(
    ("kind", "document"),
    [
        ("queues", {"queues": {"billing": {"service_level": {"threshold_seconds": -5}}}}),
        ("queues", {"queues": {"billing": {"service_level": {"target_ratio": 1.5}}}}),
        ("queues", {"defaults": {"treshold_seconds": 90}}),
        ("queues", {"queues": {"billing": {"channels": ["sms"]}}}),
        ("queues", {"queues": 5}),
        ("simulator", {"queues": [{"name": "q", "arrivals_per_hour": 1, "handle_time": "2x",
                                   "agents": 1}]}),
        ("simulator", {"queues": [{"name": "q", "arrivals_per_hour": 1, "handle_time": 60,
                                   "agents": 1, "daily_profile": [1] * 23}]}),
        ("simulator", {"scenarios": ["meteor"]}),
    ],
)  # fmt: skip
def test_editors_see_the_common_mistakes(kind: str, document: object) -> None:
    errors = list(jsonschema.Draft202012Validator(json_schema(kind)).iter_errors(document))
    assert errors, "the schema lets it through"
