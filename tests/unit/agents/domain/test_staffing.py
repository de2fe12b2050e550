"""Agent states through both hops, on partitions' state in memory: an agent in several
queues, out-of-order events, staff records replayed or reordered, skill changes, a lost
logged_out, and the seconds per state that occupancy is computed from."""

from __future__ import annotations

from typing import Any

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain.effects import Effects, StateLimits
from ccmon.agents.domain.partition import partition_for
from ccmon.agents.domain.staffing import AGENT_CQ, apply_agent, apply_staff, expire_agents
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.metrics.staffing import occupancy
from ccmon.agents.readmodel.views import view_of
from ccmon.streams.config import QueuePolicy
from ccmon.streams.contract.events import Event

P = 8
NOW = 1_800_000_000.0  # a whole minute
SALES, BILLING = "call|sales", "chat|billing"


def agent_event(kind: str, t: float, agent: str = "a1", **kw: Any) -> Event:
    return Event(f"{kind}-{agent}-{t}", "agent", kind, t, "", "", agent_id=agent, **kw)


class Centre:
    """Every partition's state; staff records are delivered as the counting agent would."""

    def __init__(self, policy_for: Any = lambda c, q: QueuePolicy()) -> None:
        self.policy_for = policy_for
        self.states = {p: PartitionState(p) for p in range(P)}
        self.limits = StateLimits(agent_silence_seconds=3600.0)
        self.in_flight: list[dict[str, Any]] = []

    def agent(self, e: Event, deliver: bool = True) -> bool:
        state = self.states[partition_for(f"agent|{e.agent_id}", P)]
        fx = Effects(state, self.limits)
        late = apply_agent(e, f"agent:0:{e.occurred_at}", fx, P)
        state.merge(fx.writes)
        self.in_flight += [r for records in fx.outbox.values() for r in records]
        if deliver:
            self.deliver()
        return late

    def deliver(self, records: list[dict[str, Any]] | None = None) -> None:
        todo = self.in_flight if records is None else records
        for record in todo:
            state = self.states[partition_for(f"{record['channel']}|{record['queue']}", P)]
            fx = Effects(state, self.limits)
            slots = self.policy_for(record["channel"], record["queue"]).max_concurrent
            apply_staff(record, fx, "UTC", NOW, slots)
            state.merge(fx.writes)
        if records is None:
            self.in_flight = []

    def view(self, cq: str) -> Any:
        state = self.states[partition_for(cq, P)]
        return view_of(state, cq, self.policy_for, NOW + 600)

    def tick(self, now: float) -> int:
        n = 0
        for state in self.states.values():
            fx = Effects(state, self.limits)
            n += expire_agents(fx, now, self.limits.agent_silence_seconds, P)
            state.merge(fx.writes)
            self.in_flight += [r for records in fx.outbox.values() for r in records]
        self.deliver()
        return n


BOTH = ("call|sales", "chat|billing")


def test_an_agent_in_two_queues_counts_in_each() -> None:
    c = Centre()
    c.agent(agent_event("logged_in", NOW, queues=BOTH))
    c.agent(agent_event("logged_in", NOW, agent="a2", queues=("call|sales",)))
    assert c.view(SALES).agents == {"available": 2}
    assert c.view(BILLING).agents == {"available": 1}
    c.agent(agent_event("state_changed", NOW + 10, state="on_contact", contact_channel="call"))
    assert c.view(SALES).agents == {"available": 1, "on_contact": 1}
    assert c.view(BILLING).agents == {"on_contact": 1}  # busy is busy, whatever the channel
    assert c.view(SALES).staffed == 2


def test_not_ready_by_reason_and_logged_out() -> None:
    c = Centre()
    c.agent(agent_event("logged_in", NOW, queues=BOTH))
    c.agent(agent_event("state_changed", NOW + 5, state="not_ready", reason="lunch"))
    assert c.view(SALES).not_ready == {"lunch": 1}
    c.agent(agent_event("logged_out", NOW + 9))
    assert c.view(SALES).agents == {} and c.view(BILLING).staffed == 0


def test_out_of_order_events_are_applied_by_event_time() -> None:
    c = Centre()
    c.agent(agent_event("logged_in", NOW, queues=BOTH))
    c.agent(agent_event("state_changed", NOW + 20, state="after_contact_work"))
    # older than what was applied: late, no change
    assert c.agent(agent_event("state_changed", NOW + 10, state="on_contact")) is True
    assert c.view(SALES).agents == {"after_contact_work": 1}
    assert c.agent(agent_event("logged_in", NOW - 5, queues=())) is True
    assert c.view(SALES).agents == {"after_contact_work": 1}


def test_a_login_overtaken_by_the_agents_first_contact_still_brings_its_skills() -> None:
    # Keyed by contact id, the on_contact travels in another source partition than the
    # logged_in and can reach hop 1 first: the state is the newer one, the skills the login's.
    c = Centre()
    c.agent(agent_event("state_changed", NOW + 2, state="on_contact", contact_channel="call"))
    assert c.agent(agent_event("logged_in", NOW, queues=BOTH)) is True
    assert c.view(SALES).agents == {"on_contact": 1}
    assert c.view(BILLING).agents == {"on_contact": 1}
    c.agent(agent_event("state_changed", NOW + 62, state="available"))
    assert c.view(SALES).agents == {"available": 1}
    minutes = c.states[partition_for(SALES, P)].minutes[SALES]
    m0 = b.minute_of(NOW)
    # from the contact's start, not the login; one slot busy of one
    assert minutes[m0] == {"as:on_contact": 58.0, "sl:busy": 58.0, "sl:ready": 58.0}
    assert minutes[m0 + 1] == {"as:on_contact": 2.0, "sl:busy": 2.0, "sl:ready": 2.0}


def test_late_skills_newer_than_the_ones_held_move_the_agent_with_its_state() -> None:
    c = Centre()
    c.agent(agent_event("logged_in", NOW, queues=(SALES,)))
    c.agent(agent_event("state_changed", NOW + 20, state="not_ready", reason="lunch"))
    assert c.agent(agent_event("skills_changed", NOW + 10, queues=(BILLING,))) is True
    assert c.view(SALES).agents == {}
    assert c.view(BILLING).not_ready == {"lunch": 1}
    # older than the skills now held: changes nothing
    assert c.agent(agent_event("skills_changed", NOW + 5, queues=(SALES,))) is True
    assert c.view(SALES).agents == {} and c.view(BILLING).staffed == 1


def test_staff_records_replayed_or_reordered_change_nothing() -> None:
    c = Centre()
    c.agent(agent_event("logged_in", NOW, queues=("call|sales",)), deliver=False)
    c.agent(agent_event("state_changed", NOW + 30, state="on_contact"), deliver=False)
    first, second = c.in_flight
    c.deliver([second, first, second])  # newer first, then the older one, then a replay
    assert c.view(SALES).agents == {"on_contact": 1}


def test_skills_change_moves_the_agent_with_its_state() -> None:
    c = Centre()
    c.agent(agent_event("logged_in", NOW, queues=("call|sales",)))
    c.agent(agent_event("state_changed", NOW + 1, state="on_contact"))
    c.agent(agent_event("skills_changed", NOW + 2, queues=("chat|billing",)))
    assert c.view(SALES).agents == {}
    assert c.view(BILLING).agents == {"on_contact": 1}


def test_a_state_change_without_login_logs_in_but_counts_nowhere_until_skills_come() -> None:
    c = Centre()
    c.agent(agent_event("state_changed", NOW, state="available"))
    assert c.view(SALES).staffed == 0
    c.agent(agent_event("skills_changed", NOW + 1, queues=("call|sales",)))
    assert c.view(SALES).agents == {"available": 1}


def test_a_lost_logged_out_expires_after_the_silence() -> None:
    c = Centre()
    c.agent(agent_event("logged_in", NOW, queues=BOTH))
    assert c.tick(NOW + 3599) == 0 and c.view(SALES).staffed == 1
    assert c.tick(NOW + 3601) == 1
    assert c.view(SALES).staffed == 0 and c.view(BILLING).staffed == 0
    hop1 = c.states[partition_for("agent|a1", P)]
    assert hop1.live.get(AGENT_CQ, {}) == {}


def test_state_seconds_land_in_the_minutes_they_covered() -> None:
    c = Centre()
    c.agent(agent_event("logged_in", NOW, queues=("call|sales",)))
    c.agent(agent_event("state_changed", NOW + 90, state="on_contact"))  # 90 s available
    c.agent(agent_event("state_changed", NOW + 120, state="after_contact_work"))  # 30 s talk
    c.agent(agent_event("state_changed", NOW + 130, state="available"))  # 10 s wrap
    minutes = c.states[partition_for(SALES, P)].minutes[SALES]
    m0 = b.minute_of(NOW)
    assert minutes[m0] == {"as:available": 60.0, "sl:ready": 60.0}
    assert minutes[m0 + 1] == {
        "as:available": 30.0,
        "as:on_contact": 30.0,
        "sl:ready": 60.0,
        "sl:busy": 30.0,
    }
    assert minutes[m0 + 2] == {"as:after_contact_work": 10.0, "sl:ready": 10.0, "sl:busy": 10.0}
    # The view is at NOW + 600: the agent has been available for 470 s, still in progress.
    window = c.view(SALES).windows["30m"]
    assert window["as:available"] == 90.0 + 470.0
    assert occupancy(window) == 40 / 600


def test_occupancy_counts_the_state_in_progress_up_to_now() -> None:
    # Six of ten agents on a contact for the last 5 minutes, none ended yet: the occupancy the
    # gauges show (60 %), not the 0 % of intervals that have not ended.
    c = Centre()
    for i in range(10):
        c.agent(agent_event("logged_in", NOW + 300, f"a{i}", queues=(SALES,)))
        if i < 6:
            c.agent(agent_event("state_changed", NOW + 300, f"a{i}", state="on_contact"))
    view = c.view(SALES)
    assert view.agents == {"available": 4, "on_contact": 6}
    assert occupancy(view.windows["5m"]) == occupancy(view.windows["today"]) == 0.6


def test_a_chat_agent_counts_its_slots_and_its_own_limit() -> None:
    # billing serves 2 chats per agent; a1 says it takes 3, a2 keeps the queue's 2, and a1's
    # chat limit means nothing in the call queue.
    c = Centre(lambda channel, queue: QueuePolicy(max_concurrent=2 if channel == "chat" else 1))
    both = (SALES, BILLING)
    c.agent(agent_event("logged_in", NOW, "a1", queues=both, max_concurrent=3))
    c.agent(agent_event("logged_in", NOW, "a2", queues=(BILLING,)))
    c.agent(agent_event("state_changed", NOW + 60, "a1", state="on_contact", slots_busy=2))
    c.agent(agent_event("state_changed", NOW + 60, "a2", state="on_contact", slots_busy=1))
    c.agent(agent_event("state_changed", NOW + 120, "a1", state="on_contact", slots_busy=3))
    chats = c.view(BILLING)
    assert (chats.slots, chats.slots_busy, chats.slots_staffed) == (5, 4, 5)
    # In the call queue a chat limit means nothing: one slot, busy.
    calls = c.view(SALES)
    assert (calls.slots, calls.slots_busy) == (1, 1)
    c.agent(agent_event("state_changed", NOW + 130, "a2", state="not_ready", reason="break"))
    chats = c.view(BILLING)
    assert (chats.slots, chats.slots_busy, chats.slots_staffed) == (3, 3, 5)
    minutes = c.states[partition_for(BILLING, P)].minutes[BILLING]
    m1 = b.minute_of(NOW) + 1  # a1 with 2 of its 3 slots busy, a2 with 1 of 2
    assert (minutes[m1]["sl:busy"], minutes[m1]["sl:ready"]) == (60.0 * 3, 60.0 * 5)


def test_the_timer_s_logout_has_the_same_guard_whenever_it_is_made() -> None:
    """A staff record of the silence timer has no position: a crash before hop 1's write
    makes it again at another "now", and only its guard (id and minute) tells it."""
    made = []
    for now in (NOW + 3601, NOW + 3900):
        c = Centre()
        c.agent(agent_event("logged_in", NOW, queues=("call|sales",)))
        fx = Effects(c.states[partition_for("agent|a1", P)], c.limits)
        expire_agents(fx, now, c.limits.agent_silence_seconds, P)
        made += [(r["event_id"], r["g"]) for rs in fx.outbox.values() for r in rs]
    assert made[0] == made[1] == (made[0][0], NOW + 3600)
