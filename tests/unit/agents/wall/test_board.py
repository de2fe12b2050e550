"""The agent board: names from the wall's configuration (else the id), teams, the filters by
team and by queue, the order a supervisor reads, and nothing but the allow-listed fields."""

from __future__ import annotations

import json

from ccmon.agents.wall.board import board
from ccmon.agents.wall.screens import resolve
from ccmon.agents.wall.wallconfig import parse_wall_config

WALL = parse_wall_config(
    {
        "agent_board": True,
        "teams": {"a": {"name": "Team A", "agents": ["a1", "a2"]}, "b": {"agents": ["b1"]}},
        "agents": {"a1": "Alice M.", "b1": "Bob K."},
    }
)
NOW = 1_800_000_000.0
ROWS = [
    {"agent": "a1", "state": "available", "since": NOW - 30, "queues": ["call|sales"]},
    {"agent": "a2", "state": "not_ready", "since": NOW - 600, "reason": "lunch",
     "queues": ["call|sales", "chat|billing"], "contact_id": "SECRET-CONTACT-1"},
    {"agent": "b1", "state": "on_contact", "since": NOW - 90, "channel": "chat",
     "queues": ["chat|billing"]},
    {"agent": "x9", "state": "after_contact_work", "since": NOW - 5, "queues": ["call|sales"]},
]  # fmt: skip


def test_names_teams_states_and_time_in_state() -> None:
    shown = board(ROWS, WALL, resolve({"board": "agents"}, WALL, "en", NOW), NOW)
    assert [(a["name"], a["team"], a["state"], a["seconds"]) for a in shown] == [
        ("a2", "Team A", "not_ready", 600.0),  # no display name: its id
        ("Alice M.", "Team A", "available", 30.0),
        ("Bob K.", "b", "on_contact", 90.0),
        ("x9", None, "after_contact_work", 5.0),  # in no team: last
    ]
    assert shown[0]["reason"] == "lunch" and shown[2]["channel"] == "chat"
    assert "SECRET" not in json.dumps(shown)


def test_filtered_by_team_or_queue() -> None:
    team_a = board(ROWS, WALL, resolve({"board": "agents", "team": "a"}, WALL, "en", NOW), NOW)
    assert [a["name"] for a in team_a] == ["a2", "Alice M."]
    billing = resolve({"board": "agents", "queue": "billing"}, WALL, "en", NOW)
    assert [(a["name"], a["queues"]) for a in board(ROWS, WALL, billing, NOW)] == [
        ("a2", ["billing"]),
        ("Bob K.", ["billing"]),
    ]
