"""What one screen shows, from its address and the wall's configuration (docs/wall.md,
"Screens for a floor"): a named screen (``?screen=``), the screen a rotation is on now
(``?rotation=``, the same one on every TV, by the server's clock), or one described in the
address (``?channel=&queue=&cols=``, ``?board=agents&team=``); in a language (``?lang=``).

A screen the address cannot mean (an unknown name or language, the agent board while it is
off) is a :class:`ScreenError`: the server answers 400 with its message, so a typo in a
TV's URL is said on the TV rather than shown as an empty wall.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ccmon.agents.wall.tiles import Filter
from ccmon.agents.wall.wallconfig import LANGUAGES, Screen, WallFile

DEFAULT_PAGE_SECONDS = 15.0
T = TypeVar("T")


class ScreenError(ValueError):
    """An address no screen answers to; the message says what is wrong and what exists."""


@dataclass(frozen=True)
class View:
    layout: str  # "tiles" or "agents"
    filter: Filter
    language: str
    name: str = ""
    title: str = ""
    teams: tuple[str, ...] = ()
    columns: int | None = None
    rows: int | None = None
    page_seconds: float = DEFAULT_PAGE_SECONDS
    sound: bool = False
    rotation: dict[str, Any] | None = None

    def describe(self) -> dict[str, Any]:
        """What the page needs to know of its screen (the feed's ``screen``)."""
        return {
            "name": self.name,
            "title": self.title,
            "layout": self.layout,
            "columns": self.columns,
            "rows": self.rows,
            "page_seconds": self.page_seconds,
            "sound": self.sound,
            "rotation": self.rotation,
        }


def _values(query: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = query.get(name, "")
    return tuple(dict.fromkeys(v.strip() for v in raw.split(",") if v.strip()))


def _count(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name, "")
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 12:
        raise ScreenError(f"?{name}= must be a number from 1 to 12 (got {raw!r})")
    return int(raw)


def _named(name: str, screen: Screen, language: str, sound: bool | None) -> View:
    return View(
        layout=screen.layout,
        filter=Filter(tuple(screen.channels or ()), tuple(screen.queues or ())),
        language=language,
        name=name,
        title=screen.title or name,
        teams=tuple(screen.teams or ()),
        columns=screen.columns,
        rows=screen.rows,
        page_seconds=screen.page_seconds,
        sound=screen.sound if sound is None else sound,
    )


def _known(table: Mapping[str, T], name: str, what: str) -> T:
    """``table[name]``, or ScreenError naming what exists."""
    found = table.get(name)
    if found is None:
        known = ", ".join(sorted(table)) or "none configured"
        raise ScreenError(f"unknown {what} {name!r} ({what}s: {known})")
    return found


def resolve(query: Mapping[str, str], config: WallFile, language: str, now: float) -> View:
    """The screen of an address, at server time ``now`` (for rotations)."""
    lang = query.get("lang") or language
    if lang not in LANGUAGES:
        raise ScreenError(f"unknown language {lang!r} (?lang= takes {', '.join(LANGUAGES)})")
    sound = {"1": True, "0": False}.get(query.get("sound", ""))
    if "rotation" in query:
        name = query["rotation"]
        rotation = _known(config.rotations, name, "rotation")
        turn = math.floor(now / rotation.seconds)
        index = turn % len(rotation.screens)
        shown = rotation.screens[index]
        view = _named(shown, config.screens[shown], lang, sound)
        about = {
            "name": name,
            "index": index,
            "count": len(rotation.screens),
            "seconds": rotation.seconds,
            "next_at": (turn + 1) * rotation.seconds,
            "screens": list(rotation.screens),
        }
        return View(**{**view.__dict__, "rotation": about})
    if "screen" in query:
        name = query["screen"]
        return _named(name, _known(config.screens, name, "screen"), lang, sound)
    board = query.get("board", "")
    if board not in ("", "agents"):
        raise ScreenError(f"?board= takes 'agents' (got {board!r})")
    if board and not config.agent_board:
        raise ScreenError("the agent board is off: agent_board: true in the wall configuration")
    teams = _values(query, "team")
    for team in teams:
        _known(config.teams, team, "team")
    return View(
        layout="agents" if board else "tiles",
        filter=Filter(_values(query, "channel"), _values(query, "queue")),
        language=lang,
        teams=teams,
        columns=_count(query, "cols"),
        rows=_count(query, "rows"),
        sound=bool(sound),
    )
