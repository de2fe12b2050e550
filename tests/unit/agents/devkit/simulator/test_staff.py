"""The simulator's agent state events: valid, and consistent with its own staffing (the
schedule, breaks, wrap-up) and with its contacts."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

from ccmon.agents.devkit.simulator import QueueModel, Scenario, SimConfig, iter_events
from ccmon.streams.contract.events import Event, validate
from tests.support.simulation import call_queue, chat_queue

START = 1_714_550_400.0
HOUR = 3600.0


def sales(**kw: Any) -> QueueModel:
    return call_queue(name="sales", wrap_seconds=20.0, **kw)


def replay(events: list[tuple[float, str, dict[str, Any]]], until: float) -> dict[str, Any]:
    """Every agent's state at ``until``, and seconds per state (what ccmon computes)."""
    agents: dict[str, tuple[str, float, str | None]] = {}
    seconds: Counter[str] = Counter()
    for t, channel, e in events:
        if channel != "agent" or t > until:
            continue
        prior = agents.get(e["agent_id"])
        if prior is not None:
            seconds[prior[0]] += t - prior[1]
        if e["type"] == "logged_out":
            agents.pop(e["agent_id"])
        elif e["type"] in ("logged_in", "state_changed"):
            agents[e["agent_id"]] = (e["state"], t, e.get("reason"))
    return {"agents": agents, "seconds": seconds}


def run(config: SimConfig, hours: float) -> list[tuple[float, str, dict[str, Any]]]:
    return list(iter_events(config, START, hours * HOUR))


def test_agent_events_follow_the_contract() -> None:
    events = run(SimConfig(queues=(sales(on_break=((0.0, 0), (600.0, 2), (1500.0, 0))),)), 1)
    kinds = Counter(e["type"] for _, c, e in events if c == "agent")
    assert kinds["logged_in"] == 14 and kinds["state_changed"] > 500
    for _, channel, e in events:
        if channel == "agent":
            assert isinstance(validate(orjson.dumps(e), "agent", START + 2 * HOUR), Event), e


def test_states_match_the_staffing_the_breaks_and_the_contacts() -> None:
    model = sales(on_break=((0.0, 0), (1200.0, 3), (2400.0, 0)))
    events = run(SimConfig(queues=(model,)), 1.0)
    mid_break = replay(events, START + 1800.0)["agents"]
    assert len(mid_break) == 14  # on a break is still logged in (staffed)
    states = Counter(s for s, _, _ in mid_break.values())
    assert states["not_ready"] == 3
    assert {r for s, _, r in mid_break.values() if s == "not_ready"} == {"break"}
    # on contact = calls answered and not yet finished talking, at any instant
    talking: set[str] = set()
    for t, channel, e in events:
        if t > START + 1800.0:
            break
        if channel == "call" and e["type"] == "answered":
            talking.add(e["contact_id"])
        elif channel == "call" and e["type"] == "ended":
            talking.discard(e["contact_id"])
    wrapping_or_talking = states["on_contact"] + states["after_contact_work"]
    assert wrapping_or_talking == len(talking)


def test_after_contact_work_lasts_the_wrap_time_and_busy_time_is_the_handle_time() -> None:
    events = run(SimConfig(queues=(sales(),)), 2.0)
    seconds = replay(events, START + 2 * HOUR)["seconds"]
    ended = [e for _, c, e in events if c == "call" and e["type"] == "ended"]
    # ACW seconds are wrap_seconds per ended contact (those still wrapping at the end aside)
    assert abs(seconds["after_contact_work"] - 20.0 * len(ended)) <= 20.0 * 14
    talk = sum(e["talk_seconds"] for e in ended)
    assert abs(seconds["on_contact"] - talk) / talk < 0.05


def test_agents_leaving_logs_agents_out_and_back_in() -> None:
    drill = Scenario("agents_leaving", start=1200.0, duration=1200.0, factor=0.5)
    events = run(SimConfig(queues=(sales(),), scenarios=(drill,)), 1.0)
    assert len(replay(events, START + 600.0)["agents"]) == 14
    during = replay(events, START + 1800.0)["agents"]
    assert len(during) == 7  # the busy ones finished their contact first, then left
    assert len(replay(events, START + 3000.0)["agents"]) == 14
    ids = {e["agent_id"] for _, c, e in events if c == "agent"}
    assert len(ids) == 14  # the same people come back


def test_agent_events_can_be_turned_off() -> None:
    events = run(SimConfig(queues=(sales(),), agent_events=False), 0.5)
    assert all(c != "agent" for _, c, _ in events)


def test_chat_agents_say_how_many_of_their_slots_are_busy() -> None:
    # 4 agents x 3 chats: after each instant, every agent's last slots_busy is the number of
    # chats it is serving (answered by it, not yet ended).
    model = chat_queue(staff=4, arrivals_per_hour=60.0)
    events = run(SimConfig(queues=(model,)), 2.0)
    logins = [e for _, c, e in events if c == "agent" and e["type"] == "logged_in"]
    assert {e["max_concurrent"] for e in logins} == {3}
    busy: dict[str, int] = {}
    serving: dict[str, str] = {}  # chat -> agent
    chats: Counter[str] = Counter()
    checked = peak = 0
    for i, (t, channel, e) in enumerate(events):
        if channel == "agent" and e["type"] == "state_changed":
            assert isinstance(validate(orjson.dumps(e), "agent", START + 3 * HOUR), Event), e
            busy[e["agent_id"]] = e["slots_busy"]
            peak = max(peak, e["slots_busy"])
            if e["state"] == "on_contact" and e.get("contact_id"):
                serving[e["contact_id"]] = e["agent_id"]
                chats[e["agent_id"]] += 1
        elif channel == "chat" and e["type"] == "ended":
            chats[serving.pop(e["contact_id"])] -= 1
        if i + 1 == len(events) or events[i + 1][0] > t:  # the instant is over
            assert all(busy[a] == chats[a] <= 3 for a in busy), (t, busy, chats)
            checked += 1
    assert peak == 3 and checked > 50
