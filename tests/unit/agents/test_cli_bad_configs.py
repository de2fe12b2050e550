"""Broken configuration files (issue 20, "Bad input"): `ccmon check-config`, `ccmon worker`
and `ccmon demo` each answer with one line naming the file and the place, exit status 1,
no traceback, and the worker and the demo say it before they connect to anything (their
Kafka and Redis here are closed ports: an attempt would answer something else).

The files are tests/unit/agents/data/bad-configs/ (committed), plus a 50 MB file made here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccmon.agents.devkit.procs import free_port
from ccmon.streams.configfile import MAX_FILE_BYTES
from tests.support.cli import run_ccmon
from tests.support.paths import ROOT

BAD = ROOT / "tests" / "unit" / "agents" / "data" / "bad-configs"
BIG = "fifty-megabytes.yaml"

# file -> (the place the line names right after the file, what it says is wrong)
EXPECTED = {
    "wrong-type.yaml": ("defaults.service_level.threshold_seconds", "must be a number (got '90')"),
    "boolean-for-integer.yaml": (
        "queues.billing.alerts.waiting_contacts", "must be an integer (got True)",
    ),
    "misspelt-key.yaml": (
        "queues.billing.service_level.treshold_seconds", "did you mean threshold_seconds?",
    ),
    "negative-threshold.yaml": (
        "queues.billing.service_level.threshold_seconds", "must be greater than 0 (got -5)",
    ),
    "target-above-one.yaml": (
        "queues.billing.service_level.target_ratio", "between 0 and 1 (0.8, not 80) (got 1.5)",
    ),
    "unknown-timezone.yaml": ("defaults.timezone", "unknown IANA time zone"),
    "duplicate-queues.yaml": ("line 5 (queues.billing)", "key 'billing' (first on line 2)"),
    "queues-not-a-mapping.yaml": ("queues", "must be a mapping (got 5)"),
    "unknown-channel.yaml": ("queues.billing.channels[1]", "'chat' or 'ticket' (got 'sms')"),
    "override-of-unlisted-channel.yaml": (
        "queues.billing.overrides.chat", "channel not in this queue's channels ['call']",
    ),
    "numeric-queue-name.yaml": ("queues[1001]", "quote numeric names"),
    "reserved-queue-name.yaml": ("queues.other", "'other' is reserved"),
    "max-queues-below-queues.yaml": ("limits.max_queues", "number of configured queues (2)"),
    "top-level-list.yaml": ("(top level)", "must be a mapping"),
    "empty.yaml": ("", "is empty"),
    "comments-only.yaml": ("", "is empty"),
    "broken-syntax.yaml": ("line 2, column 1", "not valid YAML"),
    "two-documents.yaml": ("line 2, column 1", "expected a single document"),
    "python-tag.yaml": ("line 2, column 12", "could not determine a constructor"),
    "binary.yaml": ("", "is a binary file"),
    "random-bytes.yaml": ("", "is a binary file"),
    "latin1.yaml": ("line 2", "is not UTF-8 text (byte 0xe9"),
    "yaml-bomb.yaml": ("line 7 (f)", "expands to more than 200,000 values"),
    "recursive-alias.yaml": ("line 1 (queues.billing)", "refers to the anchor that contains it"),
    "deep-nesting.yaml": ("line 1 (queues[0]", "nests deeper than 64 levels"),
    "overlapping-hours.yaml": (
        "calendars.office.hours.mon-fri", "09:00-13:00 and 12:00-17:00 overlap",
    ),
    "inverted-hours.yaml": ("calendars.night.hours.mon-fri[0]", "hours past midnight are two"),
    "unknown-calendar.yaml": ("queues.billing.calendar", "no such calendar (calendars: office"),
    "unparsable-holiday-file.yaml": (
        "calendars.office.holidays_file", "timed-event.ics: line 4: DTSTART",
    ),
    "bad-holiday-date.yaml": ("calendars.office.holidays[0]", "not a date: YYYY-MM-DD"),
    BIG: ("", "is 52,428,800 bytes; a configuration file holds at most 1 MiB"),
}  # fmt: skip


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    # Files they name (holiday calendars) are in folders of their own.
    found = {path.name: path for path in BAD.iterdir() if path.is_file()}
    big = tmp_path_factory.mktemp("big") / BIG
    with big.open("wb") as stream:  # sparse: the size alone must refuse it
        stream.write(b"queues:\n")
        stream.truncate(50 * 2**20)
    assert big.stat().st_size > MAX_FILE_BYTES
    return {**found, BIG: big}


def test_every_file_has_its_expectation(files: dict[str, Path]) -> None:
    assert set(files) == set(EXPECTED)
    assert len(files) >= 15


def assert_one_line(line: str, prefix: str, name: str, path: Path) -> None:
    place, what = EXPECTED[name]
    head = f"{prefix}{path}: {place}" if place else f"{prefix}{path}: "
    assert line.startswith(head), line
    assert what in line, line


def test_check_config_gives_one_line_per_file(files: dict[str, Path]) -> None:
    names = sorted(files)
    result = run_ccmon("check-config", "--kind", "queues", *(str(files[n]) for n in names))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == len(names), result.stderr
    for name, line in zip(names, lines, strict=True):
        assert_one_line(line, "", name, files[name])


@pytest.fixture(scope="module")
def closed() -> dict[str, str]:
    """Kafka and Redis where nothing listens: any connection attempt fails loudly."""
    kafka, redis = f"127.0.0.1:{free_port()}", f"redis://127.0.0.1:{free_port()}/0"
    return {"CCMON_KAFKA": kafka, "CCMON_REDIS": redis, "CCMON_DEMO_KAFKA": kafka,
            "CCMON_DEMO_REDIS": redis}  # fmt: skip


@pytest.mark.parametrize("command", ["worker", "demo"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_worker_and_demo_refuse_before_connecting(
    files: dict[str, Path], closed: dict[str, str], command: str, name: str
) -> None:
    argv = [command, "-l", "info"] if command == "worker" else [command, "--no-view"]
    result = run_ccmon(*argv, **closed, CCMON_QUEUE_CONFIG=str(files[name]))
    assert result.returncode == 1, result.stderr
    assert result.stdout == "", "it started something before checking its configuration"
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert_one_line(lines[0], f"ccmon {command}: ", name, files[name])


def test_a_refusal_is_json_when_the_logs_are(
    files: dict[str, Path], closed: dict[str, str]
) -> None:
    path = files["negative-threshold.yaml"]
    env = {**closed, "CCMON_QUEUE_CONFIG": str(path), "CCMON_LOG_FORMAT": "json"}
    result = run_ccmon("worker", "-l", "info", **env)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    doc = json.loads(line)
    assert doc["level"] == "error" and doc["logger"] == "ccmon.worker"
    assert_one_line(doc["message"], "ccmon worker: ", "negative-threshold.yaml", path)
