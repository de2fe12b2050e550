"""Engine behaviour: determinism, the event contract, lifecycles, capacity rules, scenarios."""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import replace
from typing import Any

import orjson
import pytest

from ccmon.agents.devkit.simulator import (
    SCENARIOS,
    HandleTime,
    Scenario,
    SimConfig,
    Survey,
    TicketModel,
    default_config,
    iter_events,
)
from ccmon.agents.devkit.simulator.engine import format_time
from ccmon.streams.contract.events import Event as ValidEvent
from ccmon.streams.contract.events import validate
from tests.support.simulation import call_queue

START = 1_714_550_400.0  # 2024-05-01T08:00:00Z
Emitted = list[tuple[float, str, dict[str, Any]]]

# What the simulator promises to put in each event type, beyond the envelope.
ENVELOPE = {"event_id", "type", "occurred_at", "queue", "contact_id", "schema_version"}
FIELDS = {
    ("call", "offered"): set(),
    ("call", "answered"): {"wait_seconds"},
    ("call", "abandoned"): {"wait_seconds"},
    ("call", "blocked"): {"reason"},
    ("call", "ended"): {"talk_seconds", "hold_seconds", "wrap_seconds", "resolved_first_contact"},
    ("chat", "first_response"): {"response_seconds"},
    ("ticket", "created"): {"priority"},
    ("ticket", "first_response"): set(),
    ("ticket", "reopened"): set(),
    ("ticket", "customer_replied"): set(),
    ("ticket", "agent_replied"): set(),
    ("ticket", "pending"): set(),
    ("ticket", "resolved"): {"resolved_first_contact"},
}
for _t in ("offered", "answered", "abandoned", "blocked", "ended"):
    FIELDS["chat", _t] = FIELDS["call", _t]


def run(config: SimConfig, hours: float = 2.0) -> Emitted:
    """The contact events (agent states: test_staff.py)."""
    return [e for e in iter_events(config, START, hours * 3600) if e[1] != "agent"]


queue = call_queue


@pytest.fixture(scope="module")
def drill() -> Emitted:
    """Default queues with every scenario at once, 12 h (so tickets resolve and reopen)."""
    names = [s for s in SCENARIOS if s != "normal"]
    config = replace(default_config(), scenarios=tuple(Scenario(n) for n in names))
    return run(config, hours=12)


def test_same_seed_same_events_other_seed_other_events() -> None:
    config = replace(default_config(), scenarios=(Scenario("arrival_spike"),))
    first, second = run(config), run(config)
    assert first == second
    assert orjson.dumps(first) == orjson.dumps(second)
    assert run(replace(config, seed=43)) != first


def test_queues_draw_independent_random_streams() -> None:
    # Adding a queue must not change what the others do (per-queue generators).
    base = SimConfig(queues=(queue(name="a"),), seed=5)
    more = replace(base, queues=(queue(name="a"), queue(name="b", channel="chat")))
    only_a = [e["type"] + e["occurred_at"] for _, _, e in run(base) if e["queue"] == "a"]
    with_b = [e["type"] + e["occurred_at"] for _, _, e in run(more) if e["queue"] == "a"]
    assert only_a == with_b


def test_every_event_passes_the_contract(drill: Emitted) -> None:
    end = START + 12 * 3600
    seen: Counter[tuple[str, str]] = Counter()
    for t, channel, event in drill:
        parsed = validate(orjson.dumps(event), channel, end)
        assert isinstance(parsed, ValidEvent), (parsed, event)
        assert parsed.occurred_at == pytest.approx(t, abs=0.000501)  # ms rounding
        kind = (channel, event["type"])
        seen[kind] += 1
        extra = set(event) - ENVELOPE
        if event["type"] == "survey":
            assert extra and extra <= {"csat", "nps", "ces"}
        elif kind == ("ticket", "created"):
            assert extra == ({"priority"} if event["queue"] == "support" else set())
        else:
            assert set(event) >= ENVELOPE and extra == FIELDS[kind], kind
    # The drill exercises every (channel, type) the contract knows.
    assert set(seen) == set(FIELDS) | {("call", "survey"), ("chat", "survey"), ("ticket", "survey")}


def test_event_time_order_ids_and_horizon(drill: Emitted) -> None:
    times = [t for t, _, _ in drill]
    assert times == sorted(times)
    assert times[0] >= START and times[-1] <= START + 12 * 3600
    assert len({e["event_id"] for _, _, e in drill}) == len(drill)
    assert all(e["occurred_at"].endswith("+00:00") for _, _, e in drill)
    assert drill[0][2]["occurred_at"].startswith("2024-05-01T08:")


def test_contact_lifecycles(drill: Emitted) -> None:
    by_contact: dict[str, list[tuple[float, dict[str, Any]]]] = defaultdict(list)
    for t, channel, event in drill:
        if channel != "ticket":
            by_contact[event["contact_id"]].append((t, event))
    allowed = {
        ("blocked",),
        ("offered",),  # still waiting at the horizon
        ("offered", "abandoned"),
        ("offered", "answered"),
        ("offered", "answered", "ended"),
        ("offered", "answered", "ended", "survey"),
        ("offered", "answered", "first_response"),
        ("offered", "answered", "first_response", "ended"),
        ("offered", "answered", "first_response", "ended", "survey"),
    }
    for cid, events in by_contact.items():
        kinds = tuple(e["type"] for _, e in events)
        assert kinds in allowed, (cid, kinds)
        stamps = {e["type"]: t for t, e in events}
        if "answered" in stamps:
            wait = events[1][1]["wait_seconds"]
            assert stamps["answered"] - stamps["offered"] == pytest.approx(wait, abs=0.001)
        if "ended" in stamps:
            ended = events[kinds.index("ended")][1]
            held = ended["talk_seconds"] + ended["wrap_seconds"]
            assert stamps["ended"] - stamps["answered"] == pytest.approx(held, abs=0.002)
        if "first_response" in stamps:
            fr = events[kinds.index("first_response")][1]
            assert fr["response_seconds"] == pytest.approx(
                stamps["first_response"] - stamps["offered"], abs=0.002
            )


def test_ticket_lifecycles(drill: Emitted) -> None:
    tickets: dict[str, list[tuple[float, dict[str, Any]]]] = defaultdict(list)
    for t, channel, event in drill:
        if channel == "ticket":
            tickets[event["contact_id"]].append((t, event))
    reopened = 0
    for events in tickets.values():
        kinds = [e["type"] for _, e in events]
        assert kinds[0] == "created"
        # created, first_response, then resolved / reopened alternating (the conversation,
        # customer messages, agent replies and pauses, is in between).
        body = [k for k in kinds if k in ("created", "first_response", "resolved", "reopened")]
        for i, k in enumerate(body[2:]):
            assert k == ("resolved" if i % 2 == 0 else "reopened")
        if "resolved" in kinds:
            first = next(e for _, e in events if e["type"] == "resolved")
            later = [e for _, e in events if e["type"] == "resolved" and e is not first]
            assert all(not e["resolved_first_contact"] for e in later)
        reopened += "reopened" in kinds
    assert reopened > 0
    priorities = Counter(e.get("priority") for _, _, e in drill if e["type"] == "created")
    assert set(priorities) <= {"low", "normal", "high", "urgent", None}


def test_ticket_conversations_with_pauses() -> None:
    model = TicketModel(
        "mail", 20.0, 1800.0, 7200.0, exchanges=2.0, customer_reply_seconds=3600.0,
        pending_probability=0.5,
    )  # fmt: skip
    emitted = run(SimConfig(tickets=(model,)), hours=48)
    tickets: dict[str, list[str]] = defaultdict(list)
    for t, _, event in emitted:
        assert isinstance(validate(orjson.dumps(event), "ticket", t + 1), ValidEvent)
        tickets[event["contact_id"]].append(event["type"])
    kinds = Counter(k for ks in tickets.values() for k in ks)
    # Every message is answered, but the run stops at its horizon: a few answers come after.
    assert 0 <= kinds["customer_replied"] - kinds["agent_replied"] < 0.05 * kinds["agent_replied"]
    assert 0 < kinds["pending"] < kinds["agent_replied"] + kinds["first_response"]
    for ks in tickets.values():
        # A pause follows a reply; a customer message follows a reply too.
        for before, after in itertools.pairwise(ks):
            if after == "pending":
                assert before in ("first_response", "agent_replied")
    # Without a conversation the draws, hence the events, are those of before.
    plain = TicketModel("mail", 20.0, 1800.0, 7200.0)
    assert run(SimConfig(tickets=(plain,)), hours=6) == run(
        SimConfig(tickets=(replace(plain, customer_reply_seconds=60.0),)), hours=6
    )


def test_blocking_reasons() -> None:
    full = run(SimConfig(queues=(queue(agents=((0.0, 3),), queue_size=2),)), hours=1)
    trunks = run(SimConfig(queues=(queue(agents=((0.0, 3),), trunks=((0.0, 4),)),)), hours=1)
    closed = run(SimConfig(queues=(queue(agents=((0.0, 0),)),)), hours=1)
    assert {e.get("reason") for _, _, e in full if e["type"] == "blocked"} == {"queue_full"}
    assert {e.get("reason") for _, _, e in trunks if e["type"] == "blocked"} == {"trunks_busy"}
    assert {e["type"] for _, _, e in closed} == {"blocked"}
    assert {e["reason"] for _, _, e in closed} == {"no_agents"}


def max_concurrent(events: Emitted) -> int:
    busy = peak = 0
    for _, _, e in events:
        busy += {"answered": 1, "ended": -1}.get(e["type"], 0)
        peak = max(peak, busy)
    return peak


def test_chat_concurrency_and_wrap_occupy_slots() -> None:
    chats = queue(channel="chat", agents=((0.0, 2),), concurrency=3, handle_time=HandleTime(900))
    assert max_concurrent(run(SimConfig(queues=(chats,)))) == 6
    # With wrap-up the agent is busy after the call: at most 2 answered and not yet ended.
    calls = run(SimConfig(queues=(queue(agents=((0.0, 2),), wrap_seconds=60.0),)))
    assert max_concurrent(calls) == 2
    assert all(e["wrap_seconds"] == 60.0 for _, _, e in calls if e["type"] == "ended")


def test_lognormal_handle_time_mean_and_cv() -> None:
    spec = HandleTime(300.0, distribution="lognormal", cv=0.5)
    events = run(SimConfig(queues=(queue(handle_time=spec, agents=((0.0, 40),)),)), hours=50)
    talk = [e["talk_seconds"] for _, _, e in events if e["type"] == "ended"]
    assert len(talk) > 9000
    assert statistics.fmean(talk) == pytest.approx(300.0, rel=0.03)
    assert statistics.stdev(talk) / statistics.fmean(talk) == pytest.approx(0.5, rel=0.08)


def offered_per_hour(events: Emitted) -> list[int]:
    hours = Counter(int((t - START) // 3600) for t, _, e in events if e["type"] == "offered")
    return [hours[h] for h in range(max(hours) + 1)]


def test_daily_profile_shapes_arrivals() -> None:
    profile = tuple(0.0 if h < 9 else 1.0 for h in range(24))  # START is 08:00 UTC
    counts = offered_per_hour(run(SimConfig(queues=(queue(daily_profile=profile),)), 3))
    assert counts[0] == 0 and counts[1] > 120 and counts[2] > 120


def test_arrival_spike_and_ticket_flood() -> None:
    spike = Scenario("arrival_spike", start=3600, duration=3600)
    counts = offered_per_hour(run(SimConfig(queues=(queue(),), scenarios=(spike,)), 3))
    assert 450 < counts[1] < 750 and counts[0] < 260 and counts[2] < 260
    tickets = TicketModel(
        "t", created_per_hour=20, first_response_seconds=60, resolution_seconds=60
    )
    flood = Scenario("ticket_flood", start=3600, duration=3600)
    events = run(SimConfig(tickets=(tickets,), scenarios=(flood,)), 3)
    created = Counter(int((t - START) // 3600) for t, _, e in events if e["type"] == "created")
    assert created[1] > 5 * max(created[0], created[2])


def test_agents_leaving_hurts_and_trunk_outage_blocks() -> None:
    leave = Scenario("agents_leaving", start=3600, duration=None)
    events = run(SimConfig(queues=(queue(patience_seconds=120.0),), scenarios=(leave,)), 3)
    abandoned = Counter(int((t - START) // 3600) for t, _, e in events if e["type"] == "abandoned")
    assert abandoned[2] > 10 * max(abandoned[0], 1)  # 7 agents for 10 Erlangs
    outage = Scenario("trunk_outage", start=3600, duration=1800)
    events = run(SimConfig(queues=(queue(),), scenarios=(outage,)), 3)
    blocked = [t - START for t, _, e in events if e["type"] == "blocked"]
    assert blocked and all(3600 <= t < 5400 for t in blocked)
    assert {e["reason"] for _, _, e in events if e["type"] == "blocked"} == {"trunks_busy"}


def test_agent_schedule_steps_are_followed() -> None:
    model = queue(agents=((0.0, 14), (3600.0, 1), (5400.0, 14)))
    events = run(SimConfig(queues=(model,)), 2)
    answered = Counter(round(t - START, 3) for t, _, e in events if e["type"] == "answered")
    # One agent builds a backlog; the 13 returning agents each take a caller at once.
    assert answered[5400.0] == 13
    late = sum(n for t, n in answered.items() if 3600 + 900 < t < 5400)
    assert late < 15  # ~5 expected: one agent, 900 s, AHT 180 s


def test_surveys_follow_configured_weights() -> None:
    survey = Survey(probability=1.0, delay_seconds=0.0, csat=(0, 0, 0, 0, 1), nps=None, ces=None)
    events = run(SimConfig(queues=(queue(survey=survey),)), 1)
    surveys = [e for _, _, e in events if e["type"] == "survey"]
    ended = [e for _, _, e in events if e["type"] == "ended"]
    assert len(surveys) == len(ended) > 0
    assert all(e["csat"] == 5 and "nps" not in e for e in surveys)


def test_time_formats_and_ids() -> None:
    config = SimConfig(
        queues=(queue(),), time_format="epoch_ms", run_id="drill7", agent_events=False
    )
    events = run(config, 0.5)
    assert all(e["occurred_at"] == round(t * 1000) for t, _, e in events)
    assert events[0][2]["event_id"] == "drill7-1"
    assert events[0][2]["contact_id"].startswith("drill7-call")
    assert format_time(1_714_550_400.1234, "rfc3339") == "2024-05-01T08:00:00.123+00:00"
    assert format_time(0.9996, "rfc3339") == "1970-01-01T00:00:01.000+00:00"


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        iter_events(SimConfig(queues=(queue(),)), math.nan, 10.0)
    with pytest.raises(ValueError):
        run(replace(SimConfig(queues=(queue(),)), scenarios=(Scenario("nope"),)))
    with pytest.raises(ValueError, match="unknown queue"):
        run(SimConfig(queues=(queue(),), scenarios=(Scenario("arrival_spike", queues=("x",)),)))
    assert list(iter_events(SimConfig(queues=(queue(),)), START, math.inf).__next__()) != []
