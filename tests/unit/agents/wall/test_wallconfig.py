"""The wall's configuration file: what a floor configures (screens, rotations, teams, agent
names), and the bad input refused at start with one line naming the place and the value."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ccmon.agents import checkconfig
from ccmon.agents.wall.wallconfig import check_queues, parse_wall_config
from ccmon.streams.configfile import ConfigError

FLOOR = {
    "language": "fr",
    "agent_board": True,
    "screens": {
        "sales": {"title": "Ventes", "queues": ["sales", "support"], "columns": 2, "rows": 1},
        "team-a": {"layout": "agents", "teams": ["a"]},
    },
    "rotations": {"lobby": {"screens": ["sales", "team-a"], "seconds": 20}},
    "teams": {"a": {"name": "Team A", "agents": ["agent-1", "agent-2"]}},
    "agents": {"agent-1": "Alice M."},
}


def problems(document: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_wall_config(document, "wall.yaml")
    return caught.value.lines


def test_a_floor_is_screens_rotations_teams_and_names() -> None:
    wall = parse_wall_config(FLOOR)
    assert wall.language == "fr" and wall.rotations["lobby"].seconds == 20
    assert wall.team_of() == {"agent-1": "a", "agent-2": "a"}
    check_queues(wall, frozenset({"sales", "support", "billing"}), "wall.yaml")


@pytest.mark.parametrize(
    ("change", "line"),
    [
        ({"language": "de"}, "wall.yaml: language: must be 'en' or 'fr' (got 'de')"),
        (
            {"rotations": {"lobby": {"screens": ["sales"], "seconds": 0}}},
            "wall.yaml: rotations.lobby.seconds: must be greater than 0 (got 0)",
        ),
        (
            {"rotations": {"lobby": {"screens": ["sales", "nope"], "seconds": 5}}},
            "wall.yaml: rotations.lobby.screens[1]: no such screen (screens: sales, team-a) "
            "(got 'nope')",
        ),
        (
            {"agent_board": False},
            "wall.yaml: screens.team-a.layout: an agent board screen needs agent_board: true "
            "(got 'agents')",
        ),
        (
            {"screens": {"x": {"layout": "agents", "teams": ["b"]}}, "rotations": {}},
            "wall.yaml: screens.x.teams[0]: no such team (teams: a) (got 'b')",
        ),
        (
            {"screens": {"x": {"queues": ["sales"], "colums": 3}}, "rotations": {}},
            "wall.yaml: screens.x.colums: unknown key; did you mean columns? allowed here: "
            "channels, columns, layout, page_seconds, queues, rows, sound, teams, title "
            "(got 'colums')",
        ),
    ],
)
def test_bad_input_is_one_line_naming_the_place(change: dict[str, object], line: str) -> None:
    assert problems(FLOOR | change) == [line]


def test_a_screen_of_unknown_queues_is_refused_against_the_queue_configuration() -> None:
    wall = parse_wall_config(FLOOR)
    with pytest.raises(ConfigError) as caught:
        check_queues(wall, frozenset({"sales"}), "wall.yaml")
    assert caught.value.lines == [
        "wall.yaml: screens.sales.queues[1]: unknown queue (queues: sales) (got 'support')"
    ]
    with pytest.raises(ConfigError) as caught:
        check_queues(wall, None, "wall.yaml")
    assert "cannot be checked without the queue configuration" in caught.value.lines[0]


def test_check_config_knows_a_wall_file(tmp_path: Path) -> None:
    queues = tmp_path / "queues.yaml"
    queues.write_text("queues: {sales: {}, support: {}}\n")
    wall = tmp_path / "wall.yaml"
    wall.write_text("screens: {floor: {queues: [sales, support]}}\nrotations: {}\n")
    out, err = io.StringIO(), io.StringIO()
    assert checkconfig.main([str(wall), "--queues", str(queues)], out, err) == 0, err.getvalue()
    assert out.getvalue().startswith(f"{wall}: OK (wall configuration, 1 screens")
    wall.write_text("screens: {floor: {queues: [sales, sails]}}\n")
    out, err = io.StringIO(), io.StringIO()
    assert checkconfig.main([str(wall), "--queues", str(queues)], out, err) == 1
    assert "screens.floor.queues[1]: unknown queue" in err.getvalue()
