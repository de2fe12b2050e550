"""The agent board's rows, pure: per logged-in agent of the owned partitions, its state, the
reason of a not-ready state, since when, the channel of its contact and the queues it
serves, read from the agent's hop-1 entry (ccmon.agents.domain.staffing).

Built from an allow-list of the entry's fields, never by copying it: an entry names no
contact, and a row could not carry one if it ever did. Agent ids are personal data: only
a worker with CCMON_AGENT_BOARD publishes these rows, for the wall's agent board behind its
authentication (docs/wall.md, "Personal data"); never a metric.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ccmon.agents.domain.staffing import AGENT_CQ, OUT
from ccmon.agents.domain.state import PartitionState

MAX_REASON = 40  # a free string of the ACD: shown, cut


def _text(value: object, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def agent_rows(state: PartitionState) -> list[dict[str, Any]]:
    """The logged-in agents whose hop-1 entry this partition holds, by agent id."""
    rows = []
    for agent, entry in sorted(state.live.get(AGENT_CQ, {}).items()):
        status = entry.get("s")
        if not isinstance(status, str) or status == OUT:
            continue
        since = entry.get("t")
        rows.append(
            {
                "agent": agent,
                "state": status,
                "since": float(since) if isinstance(since, int | float) else None,
                "reason": _text(entry.get("r"), MAX_REASON) if status == "not_ready" else None,
                "channel": _text(entry.get("c"), 10) if status == "on_contact" else None,
                "queues": sorted(q for q in entry.get("q") or () if isinstance(q, str)),
            }
        )
    return rows


def board_documents(states: Mapping[int, PartitionState]) -> dict[int, list[dict[str, Any]]]:
    """Rows per owned partition (a partition without agents: an empty list)."""
    return {partition: agent_rows(state) for partition, state in states.items()}
