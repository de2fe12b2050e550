"""The wall's configuration file (``CCMON_WALL_CONFIG`` / ``ccmon wall --config``): named
screens for a floor, rotations between them, the screens' language, teams and the agents'
display names for the agent board (docs/wall.md, "Screens for a floor").

A pydantic model on :class:`ccmon.streams.configfile.Section`, like the queue configuration:
unknown keys, wrong types, an unknown language, a rotation of 0 s, a rotation naming an
unknown screen or a screen an unknown team are refused at start with one line each; the
queues a screen names are checked against the queue configuration (:func:`check_queues`).
``ccmon check-config --kind wall FILE`` checks a file offline.

Agent display names are personal data: they live here, read only by the wall server, never
in a metric (docs/wall.md, "Personal data").
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from ccmon.streams.configfile import ConfigError, Problem, Section, fail, join, load, validate

Language = Literal["en", "fr"]
LANGUAGES: tuple[str, ...] = ("en", "fr")
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]
Channel = Literal["call", "chat", "ticket"]
Seconds = Annotated[float, Field(gt=0, le=3600, allow_inf_nan=False)]


class Screen(Section):
    """One named screen: tiles of some queues, or the agent board of some teams/queues."""

    title: str = Field("", max_length=80, description="Shown in the header (default: the name).")
    layout: Literal["tiles", "agents"] = Field(
        "tiles", description="Queue tiles, or the agent board (needs agent_board: true)."
    )
    queues: list[str] | None = Field(
        None, description="Queues shown, in this order (tiles), or whose agents (board)."
    )
    channels: list[Channel] | None = Field(None, description="Channels shown (default: all).")
    teams: list[Name] | None = Field(None, description="Agent board: the agents of these teams.")
    columns: int | None = Field(
        None, ge=1, le=12, description="Tile columns (default: from the number of tiles)."
    )
    rows: int | None = Field(
        None, ge=1, le=12, description="Tile rows; more tiles than columns x rows: pages turn."
    )
    page_seconds: Seconds = Field(15, description="How long each page is shown.")
    sound: bool = Field(False, description="A tone when a tile turns breached (see docs).")

    @model_validator(mode="after")
    def _fits_its_layout(self) -> Screen:
        if self.layout == "tiles" and self.teams:
            raise fail("teams are for an agent board (layout: agents)", at=("teams",))
        return self


class Rotation(Section):
    screens: Annotated[list[Name], Field(min_length=1)] = Field(
        description="The screens shown in turn."
    )
    seconds: Seconds = Field(description="How long each screen is shown (greater than 0).")


class Team(Section):
    name: str = Field("", max_length=80, description="Display name (default: the key).")
    agents: list[str] = Field(default_factory=list, description="Agent ids of the team.")


class WallFile(Section):
    """The wall configuration file."""

    language: Language = Field("en", description="Language of the screens: en or fr.")
    agent_board: bool = Field(
        False, description="Serve the agent board (personal data; needs the wall's auth)."
    )
    screens: dict[Name, Screen] = Field(default_factory=dict, description="Named screens.")
    rotations: dict[Name, Rotation] = Field(
        default_factory=dict, description="Named rotations between screens."
    )
    teams: dict[Name, Team] = Field(default_factory=dict, description="Teams of agents.")
    agents: dict[str, str] = Field(
        default_factory=dict, description="Agent id -> display name on the agent board."
    )

    @model_validator(mode="after")
    def _names_exist(self) -> WallFile:
        for name, rotation in self.rotations.items():
            for i, shown in enumerate(rotation.screens):
                if shown not in self.screens:
                    known = ", ".join(sorted(self.screens)) or "none defined"
                    problem = f"no such screen (screens: {known})"
                    raise fail(problem, value=shown, at=("rotations", name, "screens", i))
        for name, screen in self.screens.items():
            for i, team in enumerate(screen.teams or ()):
                if team not in self.teams:
                    known = ", ".join(sorted(self.teams)) or "none defined"
                    problem = f"no such team (teams: {known})"
                    raise fail(problem, value=team, at=("screens", name, "teams", i))
            if screen.layout == "agents" and not self.agent_board:
                problem = "an agent board screen needs agent_board: true"
                raise fail(problem, value="agents", at=("screens", name, "layout"))
        return self

    def team_of(self) -> dict[str, str]:
        """Agent id -> the key of its (first) team."""
        found: dict[str, str] = {}
        for key, team in self.teams.items():
            for agent in team.agents:
                found.setdefault(agent, key)
        return found


def check_queues(wall: WallFile, queues: frozenset[str] | None, source: str) -> None:
    """ConfigError for each queue a screen names that the queue configuration does not
    configure; ``queues`` None: there is no queue configuration to check them against."""
    problems = []
    for name, screen in wall.screens.items():
        for i, queue in enumerate(screen.queues or ()):
            where = f"{join(join('screens', name), 'queues')}[{i}]"
            if queues is None:
                problems.append(
                    Problem(
                        source,
                        where,
                        "cannot be checked without the queue configuration (set "
                        "CCMON_QUEUE_CONFIG, the workers' file)",
                        queue,
                    )
                )
            elif queue not in queues:
                listed = ", ".join(sorted(queues)) or "none configured"
                problems.append(Problem(source, where, f"unknown queue (queues: {listed})", queue))
    if problems:
        raise ConfigError(problems)


def load_wall_config(path: str | Path) -> WallFile:
    return load(WallFile, path)


def parse_wall_config(document: object, source: str = "<wall config>") -> WallFile:
    return validate(WallFile, document, source)
