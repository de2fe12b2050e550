"""The built-in demo config, written in the file format so it doubles as its example.

* ``sales`` (calls) is the published Erlang C reference point (200 calls/h, AHT 180 s,
  14 agents, infinite patience): healthy, SL(20 s) ~ 0.888, ASA ~ 7.84 s, so the wall
  screen can be checked against docs/simulator.md by eye.
* ``support`` (calls) is under pressure: 32 Erlangs of work (talk + wrap) on 31 agents,
  customers give up after 3 min on average, 45 trunks and at most 12 waiting; Erlang A
  predicts ~10 % abandonment and ~50 % of callers waiting.
* ``billing`` (chats): 10 agents x 2 concurrent chats, comfortable; the chat widget
  refuses new chats (``queue_full``) when 10 are waiting.
* tickets for ``support`` and ``billing`` with reopens and priorities.
"""

from __future__ import annotations

from typing import Any

from ccmon.agents.devkit.simulator.config import config_from_dict
from ccmon.agents.devkit.simulator.model import SimConfig

_SURVEY: dict[str, Any] = {"probability": 0.2, "delay_seconds": 120}

DEFAULT_CONFIG: dict[str, Any] = {
    "queues": [
        {
            "name": "sales",
            "channel": "call",
            "arrivals_per_hour": 200,
            "handle_time": {"distribution": "exponential", "mean_seconds": 180},
            "agents": 14,
            "first_contact_resolution": 0.8,
            "survey": _SURVEY,
        },
        {
            "name": "support",
            "channel": "call",
            "arrivals_per_hour": 360,
            "handle_time": {"distribution": "lognormal", "mean_seconds": 300, "cv": 0.8},
            "wrap_seconds": 20,
            "agents": 31,
            "patience_seconds": 180,
            "trunks": 45,
            "queue_size": 12,
            "first_contact_resolution": 0.65,
            "survey": {**_SURVEY, "ces": [0.1, 0.2, 0.3, 0.2, 0.1, 0.05, 0.05]},
        },
        {
            "name": "billing",
            "channel": "chat",
            "arrivals_per_hour": 120,
            "handle_time": {"distribution": "lognormal", "mean_seconds": 480, "cv": 0.6},
            "agents": 10,
            "concurrency": 2,
            "patience_seconds": 240,
            "queue_size": 10,
            "first_response_seconds": 20,
            "survey": _SURVEY,
        },
    ],
    "tickets": [
        {
            "name": "support",
            "created_per_hour": 30,
            "first_response_seconds": "2h",
            "resolution_seconds": "6h",
            "reopen_probability": 0.08,
            "reopen_delay_seconds": "1d",
            # A conversation: the customer writes back, replies set the ticket pending.
            "exchanges": 1.0,
            "customer_reply_seconds": "3h",
            "pending_probability": 0.3,
            "priorities": {"low": 0.2, "normal": 0.6, "high": 0.15, "urgent": 0.05},
            "survey": _SURVEY,
        },
        {
            "name": "billing",
            "created_per_hour": 10,
            "first_response_seconds": "4h",
            "resolution_seconds": "12h",
            "reopen_probability": 0.05,
        },
    ],
}


def default_config() -> SimConfig:
    return config_from_dict(DEFAULT_CONFIG)
