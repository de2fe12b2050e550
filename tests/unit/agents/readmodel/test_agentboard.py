"""The agent board's rows from the agents' hop-1 entries: logged-in agents only, the fields
of the allow-list only (an entry never holds a contact id, and a row could not carry one)."""

from __future__ import annotations

from ccmon.agents.domain.staffing import AGENT_CQ
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.readmodel.agentboard import agent_rows, board_documents


def test_rows_of_the_logged_in_agents() -> None:
    state = PartitionState(3)
    state.live[AGENT_CQ] = {
        "a1": {"k": "ag1", "s": "not_ready", "t": 100.0, "e": 100.0, "r": "lunch" * 20,
               "q": ["call|sales"], "contact_id": "SECRET"},
        "a2": {"k": "ag1", "s": "on_contact", "t": 90.0, "e": 95.0, "c": "chat", "r": "stale",
               "q": ["chat|billing", "call|sales"]},
        "a3": {"k": "ag1", "s": "out", "t": 80.0, "e": 80.0, "q": []},
    }  # fmt: skip
    state.live["call|sales"] = {"c1": {"k": "w", "t": 1.0}}
    rows = agent_rows(state)
    assert rows == [
        {"agent": "a1", "state": "not_ready", "since": 100.0, "reason": "lunch" * 8,
         "channel": None, "queues": ["call|sales"]},
        {"agent": "a2", "state": "on_contact", "since": 90.0, "reason": None,
         "channel": "chat", "queues": ["call|sales", "chat|billing"]},
    ]  # fmt: skip
    assert board_documents({3: state, 4: PartitionState(4)}) == {3: rows, 4: []}
