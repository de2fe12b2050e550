"""The agent board: per agent, its display name and team, its state, the reason of a
not-ready state and the time in it, filtered by team or queue (docs/wall.md, "The agent
board"). Pure: from the rows the workers publish (ccmon.agents.readmodel.agentboard) and the
wall's configuration.

Display names come from the wall's configuration (``agents:``), never from Prometheus: an
agent without one is shown by its id. Rows are rebuilt field by field: no contact id can
reach a screen. Served only behind the wall's authentication (ccmon.agents.wall.command
refuses to start otherwise).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ccmon.agents.wall.screens import View
from ccmon.agents.wall.wallconfig import WallFile

# Who a supervisor looks at first: not ready, then busy, then free.
STATE_ORDER = {"not_ready": 0, "on_contact": 1, "after_contact_work": 2, "available": 3}


def _queues(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    out = []
    for cq in row.get("queues") or ():
        channel, _, queue = str(cq).partition("|")
        out.append((channel, queue))
    return out


def board(
    rows: Iterable[Mapping[str, Any]], config: WallFile, view: View, now: float
) -> list[dict[str, Any]]:
    teams = config.team_of()
    shown = []
    for row in rows:
        agent = str(row.get("agent", ""))
        team = teams.get(agent)
        if view.teams and team not in view.teams:
            continue
        queues = _queues(row)
        wanted = [
            (c, q)
            for c, q in queues
            if (not view.filter.queues or q in view.filter.queues)
            and (not view.filter.channels or c in view.filter.channels)
        ]
        if (view.filter.queues or view.filter.channels) and not wanted:
            continue
        since = row.get("since")
        state = str(row.get("state", ""))
        shown.append(
            {
                "name": config.agents.get(agent) or agent,
                "team": None if team is None else (config.teams[team].name or team),
                "state": state if state in STATE_ORDER else "other",
                "reason": row.get("reason") if isinstance(row.get("reason"), str) else None,
                "channel": row.get("channel") if isinstance(row.get("channel"), str) else None,
                "seconds": None
                if not isinstance(since, int | float)
                else max(0.0, now - float(since)),
                "queues": sorted({q for _, q in (wanted or queues)}),
            }
        )
    shown.sort(key=_order)
    return shown


def _order(agent: dict[str, Any]) -> tuple[str, int, float, str]:
    """By team, then not ready first, then the longest in their state first."""
    team, seconds = agent["team"], agent["seconds"]
    return (team or "\uffff", STATE_ORDER.get(agent["state"], 9), -(seconds or 0.0), agent["name"])
