"""A screen from its address: named screens, a rotation on the server's clock (every TV of
a rotation shows the same screen), screens described in the address, and the addresses no
screen answers to, said rather than shown empty."""

from __future__ import annotations

import pytest

from ccmon.agents.wall.screens import ScreenError, resolve
from ccmon.agents.wall.wallconfig import WallFile, parse_wall_config

WALL = parse_wall_config(
    {
        "agent_board": True,
        "screens": {
            "sales": {"queues": ["sales"], "channels": ["call"], "columns": 2, "sound": True},
            "team": {"layout": "agents", "teams": ["a"]},
        },
        "rotations": {"lobby": {"screens": ["sales", "team"], "seconds": 20}},
        "teams": {"a": {"agents": ["x"]}},
    }
)


def test_a_named_screen_carries_its_queues_layout_and_sound() -> None:
    view = resolve({"screen": "sales"}, WALL, "en", 0.0)
    assert (view.filter.queues, view.filter.channels, view.columns) == (("sales",), ("call",), 2)
    assert view.sound and view.title == "sales" and view.layout == "tiles"
    assert resolve({"screen": "sales", "sound": "0"}, WALL, "en", 0.0).sound is False


def test_a_rotation_turns_on_the_server_clock() -> None:
    at = [resolve({"rotation": "lobby"}, WALL, "fr", t) for t in (0.0, 19.9, 20.0, 41.0)]
    assert [v.name for v in at] == ["sales", "sales", "team", "sales"]
    assert at[2].rotation == {
        "name": "lobby", "index": 1, "count": 2, "seconds": 20.0, "next_at": 40.0,
        "screens": ["sales", "team"],
    }  # fmt: skip
    assert at[0].language == "fr"


@pytest.mark.parametrize(
    ("query", "config", "message"),
    [
        ({"lang": "de"}, WALL, "unknown language 'de' (?lang= takes en, fr)"),
        ({"screen": "nope"}, WALL, "unknown screen 'nope' (screens: sales, team)"),
        ({"rotation": "x"}, WALL, "unknown rotation 'x' (rotations: lobby)"),
        ({"board": "agents"}, WallFile(), "the agent board is off"),
        ({"board": "agents", "team": "b"}, WALL, "unknown team 'b' (teams: a)"),
        ({"cols": "0"}, WALL, "?cols= must be a number from 1 to 12 (got '0')"),
    ],
)
def test_an_address_no_screen_answers_to(
    query: dict[str, str], config: WallFile, message: str
) -> None:
    with pytest.raises(ScreenError, match=message.replace("?", r"\?").replace("(", r"\(")
                       .replace(")", r"\)")):  # fmt: skip
        resolve(query, config, "en", 0.0)


def test_an_address_describes_a_screen_of_its_own() -> None:
    view = resolve({"queue": "b,a", "channel": "chat", "cols": "3", "lang": "fr"}, WALL, "en", 0)
    assert (view.filter.queues, view.filter.channels, view.columns) == (("b", "a"), ("chat",), 3)
    assert view.language == "fr" and view.layout == "tiles"
    board = resolve({"board": "agents", "team": "a", "queue": "sales"}, WALL, "en", 0)
    assert board.layout == "agents" and board.teams == ("a",)
