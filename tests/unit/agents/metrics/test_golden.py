"""Golden-file tests of the /metrics exposition (node_exporter style): a fixed state and a
fixed clock give byte-identical output, with the default series budget and with everything
opted in; the per-worker part (pipeline counters, ``ccmon_queues_tracked``, the health
gauges ``ccmon_redis_up`` and ``ccmon_kafka_up``) in a file of its own; promtool and
prometheus_client's parser accept them all.

Regenerate on purpose with ``CCMON_UPDATE_GOLDEN=1 pytest tests/unit/agents``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ccmon.agents.domain.contacts import apply_contact
from ccmon.agents.domain.effects import HANDLE, WAIT, Effects, StateLimits
from ccmon.agents.domain.staffing import apply_staff
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.domain.surveys import apply_survey
from ccmon.agents.domain.tickets import apply_ticket
from ccmon.agents.metrics.budget import Budget
from ccmon.agents.metrics.queues import QueueExposition
from ccmon.agents.readmodel.source import ReadModelSource
from ccmon.agents.worker.runtime import Runtime
from ccmon.streams.config import load_queue_config
from ccmon.streams.contract.events import Event
from ccmon.streams.settings import Settings
from tests.support.paths import ROOT

GOLDEN = {
    "default": Path(__file__).parent / "data" / "metrics.golden.txt",
    "everything": Path(__file__).parent / "data" / "metrics-everything.golden.txt",
    "worker": Path(__file__).parent / "data" / "metrics-worker.golden.txt",
}
BUDGETS = {"default": Budget(), "everything": Budget.everything()}  # "worker": no budget
NOW = 1_795_435_200.0  # 2026-11-23T09:00:00Z
CONFIG = load_queue_config(ROOT / "deploy" / "queues.example.yaml")


def _state() -> PartitionState:
    state = PartitionState(0)
    limits = StateLimits(histogram_bounds={WAIT: [20.0, 60.0, 89.99999999999999], HANDLE: [300.0]})
    events = [
        ("call", "offered", 600, "c1", {}),
        ("call", "answered", 590, "c1", {"wait_seconds": 10.0}),
        ("call", "ended", 300, "c1", {"talk_seconds": 200.0, "resolved_first_contact": True}),
        ("call", "offered", 400, "c2", {}),
        ("call", "abandoned", 300, "c2", {"wait_seconds": 100.0}),
        ("call", "offered", 120, "c3", {}),
        ("call", "blocked", 60, "c4", {"reason": "trunks_busy"}),
        ("call", "survey", 30, "c1", {"csat": 5, "nps": 10, "ces": 2}),
        # The other queue exits (docs/metrics.md, "Queue exits"): a callback requested and
        # one still to place, a flow-out to voicemail, a transfer and an abandon on hold after
        # the answer, an abandon read after the answer (counted once: a repeat).
        ("call", "offered", 500, "c5", {}),
        ("call", "callback_requested", 470, "c5", {"callback_within_seconds": 3600.0}),
        ("call", "callback_placed", 200, "c5", {}),
        ("call", "offered", 450, "c6", {}),
        ("call", "callback_requested", 440, "c6", {}),
        ("call", "offered", 430, "c7", {}),
        ("call", "flowed_out", 330, "c7", {"destination": "voicemail"}),
        ("call", "transferred", 250, "c1", {"target_queue": "sales"}),
        ("call", "abandoned_on_hold", 240, "c1", {}),
        ("call", "abandoned", 230, "c1", {"wait_seconds": 5.0}),
        ("chat", "offered", 2000, "h1", {}),
        ("ticket", "created", 3 * 86400, "T1", {}),
    ]
    for offset, (channel, kind, ago, contact, extra) in enumerate(events):
        ev = Event(
            event_id=str(offset),
            channel=channel,
            type=kind,
            occurred_at=NOW - ago,
            queue="billing",
            contact_id=contact,
            **extra,
        )
        fx = Effects(state, limits)
        policy = CONFIG.policy(channel, "billing")
        if kind == "survey":
            apply_survey(ev, fx, policy, NOW)
        elif channel == "ticket":
            apply_ticket(ev, fx, policy, NOW)
        else:
            apply_contact(ev, fx, policy, NOW)
        state.merge(fx.writes)
    _staff(state, limits)
    return state


def worker_part() -> bytes:
    """The per-worker registry of a worker that admitted 3 queues and lost Redis."""
    runtime = Runtime(
        Settings(app_id="golden", queue_config=ROOT / "deploy" / "queues.example.yaml")
    )
    runtime.health.redis_status(False, "ConnectionError: refused")
    runtime.pipeline.queues_tracked.set(3)
    text = generate_latest(runtime.registry).decode()
    # Creation times and the package version change from run to run and release to release,
    # the process's own numbers and the Python build from process to process and host to
    # host: their families stay pinned (HELP and TYPE), their samples do not.
    varying = ("ccmon_worker_info{", "process_", "python_info{")
    lines = [
        x
        for x in text.splitlines(keepends=True)
        if "_created" not in x and not x.startswith(varying)
    ]
    return "".join(lines).encode()


def _staff(state: PartitionState, limits: StateLimits) -> None:
    """Agents on call|billing and chat|billing, and a busy call|sales with a forecast."""
    records: list[dict[str, object]] = [
        {"agent_id": "a1", "s": "available", "t": NOW - 100, "ps": "on_contact", "pt": NOW - 400},
        {"agent_id": "a2", "s": "on_contact", "t": NOW - 50, "ps": "available", "pt": NOW - 200},
        {"agent_id": "a3", "s": "not_ready", "r": "lunch", "t": NOW - 900},
        {"agent_id": "a4", "s": "after_contact_work", "t": NOW - 20},
    ]
    for i, rec in enumerate(records):
        for channel in ("call", "chat"):
            record = {"channel": channel, "queue": "billing", "e": rec["t"], **rec}
            fx = Effects(state, limits)
            apply_staff({"event_id": f"s{i}", **record}, fx, "UTC", NOW)
            state.merge(fx.writes)
    for i in range(40):  # 40 calls in 30 min, 180 s each: A = 4 erlangs, 5 staffed
        fx = Effects(state, limits)
        for kind, extra in (("offered", {}), ("answered", {"wait_seconds": 5.0})):
            ev = Event(f"o{kind}{i}", "call", kind, NOW - 1700 + i * 40, "sales", f"s{i}", **extra)
            apply_contact(ev, fx, CONFIG.policy("call", "sales"), NOW)
        ended = Event(
            f"e{i}", "call", "ended", NOW - 1500 + i * 30, "sales", f"s{i}", talk_seconds=180.0
        )
        apply_contact(ended, fx, CONFIG.policy("call", "sales"), NOW)
        if i % 8 == 0:
            ab = Event(
                f"ab{i}",
                "call",
                "abandoned",
                NOW - 1600 + i * 30,
                "sales",
                f"x{i}",
                wait_seconds=30.0,
            )
            apply_contact(ab, fx, CONFIG.policy("call", "sales"), NOW)
        state.merge(fx.writes)
    for n in range(5):
        fx = Effects(state, limits)
        record = {"channel": "call", "queue": "sales", "agent_id": f"b{n}", "s": "on_contact"}
        apply_staff({"event_id": f"b{n}", "e": NOW - 60, "t": NOW - 60, **record}, fx, "UTC", NOW)
        state.merge(fx.writes)


def exposition(budget: str) -> bytes:
    if budget == "worker":
        return worker_part()
    state = _state()
    source = ReadModelSource(lambda: {0: state}, CONFIG.policy, lambda: NOW)
    bounds = {WAIT: [20.0, 60.0, 89.99999999999999], HANDLE: [300.0]}
    text = QueueExposition(source, BUDGETS[budget], bounds).render()
    # The staleness gauge is the one number that depends on when the test runs.
    lines = [x for x in text.splitlines(keepends=True) if not x.startswith("ccmon_metrics_stal")]
    return "".join(lines).encode()


@pytest.mark.parametrize("budget", sorted(GOLDEN))
def test_metrics_match_the_golden_file(budget: str) -> None:
    got = exposition(budget)
    if os.environ.get("CCMON_UPDATE_GOLDEN") == "1":
        GOLDEN[budget].write_bytes(got)
    assert got.decode() == GOLDEN[budget].read_text()


@pytest.mark.parametrize("budget", sorted(GOLDEN))
def test_exposition_passes_promtool_and_the_client_parser(budget: str) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found: run `make deps` (Debian package prometheus)")
    body = exposition(budget)
    result = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr.decode() + result.stdout.decode()
    families = list(text_string_to_metric_families(body.decode()))
    assert len({f.name for f in families}) == len(families), "a family twice"
    assert sum(len(f.samples) for f in families) > 0


def test_label_values_are_escaped() -> None:
    state = _state()
    for bucket in (state.totals,):
        bucket['call|say "hi"\\ or\nnot'] = dict(bucket["call|billing"])
    source = ReadModelSource(lambda: {0: state}, CONFIG.policy, lambda: NOW)
    text = QueueExposition(source, Budget(), {WAIT: [20.0]}).render()
    queues = {
        s.labels["queue"]
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if "queue" in s.labels
    }
    assert 'say "hi"\\ or\nnot' in queues


def test_only_owned_partitions_are_exported() -> None:
    owned: dict[int, PartitionState] = {0: _state()}
    source = ReadModelSource(lambda: owned, CONFIG.policy, lambda: NOW, max_age_seconds=0)
    assert source.get().queues
    owned.clear()  # revoked: its queues leave the read model with it
    assert source.get().queues == {}
