"""Simulator configuration: YAML/JSON loading with strict, path-qualified errors.

Unknown keys are errors rather than ignored: a misspelt ``patience_second`` silently giving
infinite patience would make a drill lie.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import yaml

from ccmon.agents.devkit.simulator.model import (
    PRIORITIES,
    HandleTime,
    QueueModel,
    Scenario,
    SimConfig,
    Survey,
    TicketModel,
)
from ccmon.agents.devkit.simulator.scenarios import SCENARIOS, apply_scenarios


class ConfigError(ValueError):
    """Bad simulator input; the message names the offending key."""


_DURATION = re.compile(
    r"^(?:(\d+(?:\.\d*)?)d)?(?:(\d+(?:\.\d*)?)h)?(?:(\d+(?:\.\d*)?)m)?"
    r"(?:(\d+(?:\.\d*)?)s)?$"
)


def parse_duration(value: object, where: str = "duration") -> float:
    """Seconds from a number or a string like ``2h``, ``90m``, ``3600s``, ``1h30m``, ``1d``."""
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a duration, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        try:
            seconds = float(text)
        except ValueError:
            match = _DURATION.match(text)
            if not text or match is None:
                raise ConfigError(
                    f"{where}: {value!r} is not a duration (examples: 2h, 90m, 3600s, 1h30m)"
                ) from None
            d, h, m, s = (float(g) if g else 0.0 for g in match.groups())
            seconds = d * 86_400 + h * 3600 + m * 60 + s
    else:
        raise ConfigError(f"{where}: expected a duration, got {type(value).__name__}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigError(f"{where}: must be a finite duration >= 0, got {value!r}")
    return seconds


class _Section:
    """Reads one mapping, remembers its path for messages, and rejects leftover keys."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: expected a mapping, got {type(data).__name__}")
        self.data = {str(k): v for k, v in data.items()}
        self.path = path
        self.used: set[str] = set()

    def raw(self, key: str, default: object = None) -> object:
        self.used.add(key)
        return self.data.get(key, default)

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def string(self, key: str, default: str | None = None, max_len: int = 100) -> str:
        value = self.raw(key, default)
        if not isinstance(value, str) or not 1 <= len(value) <= max_len:
            raise ConfigError(f"{self.where(key)}: expected a string of 1-{max_len} characters")
        return value

    def number(
        self,
        key: str,
        default: float | None = None,
        *,
        low: float = 0.0,
        high: float = math.inf,
        positive: bool = False,
    ) -> float:
        value = self.raw(key, default)
        if value is None:
            raise ConfigError(f"{self.where(key)}: required")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{self.where(key)}: expected a number, got {value!r}")
        x = float(value)
        if not (low <= x <= high) or (positive and x <= 0) or math.isnan(x):
            bound = "> 0" if positive else f"in [{low}, {high}]"
            raise ConfigError(f"{self.where(key)}: must be {bound}, got {value!r}")
        return x

    def seconds(self, key: str, default: object = None, *, positive: bool = False) -> float:
        value = self.raw(key, default)
        if value is None:
            raise ConfigError(f"{self.where(key)}: required")
        x = parse_duration(value, self.where(key))
        if positive and x <= 0:
            raise ConfigError(f"{self.where(key)}: must be > 0")
        return x

    def integer(self, key: str, default: int | None = None, low: int = 0) -> int:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"{self.where(key)}: expected an integer >= {low}, got {value!r}")
        return value

    def opt_seconds(
        self, key: str, default: float | None, *, positive: bool = False
    ) -> float | None:
        """Missing -> ``default``; explicit null -> None (unlimited); else a duration."""
        if key not in self.data:
            self.used.add(key)
            return default
        return None if self.raw(key) is None else self.seconds(key, positive=positive)

    def opt_integer(self, key: str, low: int = 0) -> int | None:
        return None if self.raw(key) is None else self.integer(key, low=low)

    def opt_number(self, key: str, *, positive: bool = False) -> float | None:
        return None if self.raw(key) is None else self.number(key, positive=positive)

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ConfigError(f"{self.path or 'config'}: unknown key(s) {', '.join(unknown)}")


def _items(value: object, where: str) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list")
    return list(value)


def _listed(sec: _Section, key: str) -> list[tuple[int, object]]:
    return list(enumerate(_items(sec.raw(key), sec.where(key))))


def _weights(value: object, size: int, where: str) -> tuple[float, ...] | None:
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != size
        or not all(isinstance(w, int | float) and not isinstance(w, bool) for w in value)
        or any(w < 0 for w in value)
        or sum(value) <= 0
    ):
        raise ConfigError(f"{where}: expected {size} non-negative weights, not all zero")
    return tuple(float(w) for w in value)


def _profile(sec: _Section) -> tuple[float, ...] | None:
    return _weights(sec.raw("daily_profile"), 24, sec.where("daily_profile"))


def _schedule(sec: _Section, key: str, default: object, nullable: bool) -> Any:
    """An int (constant) or a list of [offset, value] steps; offsets accept durations."""
    value = sec.raw(key, default)
    where = sec.where(key)
    what = "an integer >= 0" + (" or null" if nullable else "")

    def check(v: object) -> int | None:
        if v is None and nullable:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ConfigError(f"{where}: expected {what}, got {v!r}")
        return v

    if not isinstance(value, list):
        return ((0.0, check(value)),)
    steps: list[tuple[float, int | None]] = []
    for i, step in enumerate(value):
        if not isinstance(step, list | tuple) or len(step) != 2:
            raise ConfigError(f"{where}[{i}]: expected [offset, value]")
        steps.append((parse_duration(step[0], f"{where}[{i}]"), check(step[1])))
    steps.sort(key=lambda s: s[0])
    if not steps or steps[0][0] != 0:
        raise ConfigError(f"{where}: the first step must start at offset 0")
    return tuple(steps)


def _survey(value: object, where: str) -> Survey | None:
    if value is None:
        return None
    sec = _Section(value, where)
    default = Survey(probability=0.0)
    survey = Survey(
        probability=sec.number("probability", low=0.0, high=1.0),
        delay_seconds=sec.seconds("delay_seconds", default.delay_seconds),
        csat=_weights(sec.raw("csat", list(default.csat or ())), 5, sec.where("csat")),
        nps=_weights(sec.raw("nps", list(default.nps or ())), 11, sec.where("nps")),
        ces=_weights(sec.raw("ces"), 7, sec.where("ces")),
    )
    sec.finish()
    if survey.csat is None and survey.nps is None and survey.ces is None:
        raise ConfigError(f"{where}: at least one of csat, nps, ces is needed")
    return survey


def _handle_time(value: object, where: str) -> HandleTime:
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        return HandleTime(parse_duration(value, where))
    sec = _Section(value, where)
    dist = sec.raw("distribution", "exponential")
    if dist not in ("exponential", "lognormal"):
        raise ConfigError(f"{sec.where('distribution')}: exponential or lognormal")
    ht = HandleTime(
        mean_seconds=sec.seconds("mean_seconds", positive=True),
        distribution=cast(Any, dist),
        cv=sec.number("cv", 1.0, positive=True),
    )
    sec.finish()
    return ht


def _queue(value: object, where: str) -> QueueModel:
    sec = _Section(value, where)
    channel = sec.raw("channel", "call")
    if channel not in ("call", "chat"):
        raise ConfigError(f"{sec.where('channel')}: call or chat (tickets go under 'tickets')")
    model = QueueModel(
        name=sec.string("name"),
        channel=cast(Any, channel),
        arrivals_per_hour=sec.number("arrivals_per_hour"),
        handle_time=_handle_time(sec.raw("handle_time"), sec.where("handle_time")),
        agents=_schedule(sec, "agents", None, nullable=False),
        patience_seconds=sec.opt_seconds("patience_seconds", None, positive=True),
        trunks=_schedule(sec, "trunks", None, nullable=True),
        queue_size=sec.opt_integer("queue_size"),
        daily_profile=_profile(sec),
        wrap_seconds=sec.seconds("wrap_seconds", 0.0),
        first_contact_resolution=sec.number("first_contact_resolution", 0.7, high=1.0),
        concurrency=sec.integer("concurrency", 1, low=1),
        first_response_seconds=sec.seconds("first_response_seconds", 15.0),
        survey=_survey(sec.raw("survey"), sec.where("survey")),
        on_break=_schedule(sec, "on_break", 0, nullable=False),
    )
    sec.finish()
    if model.concurrency > 1 and model.channel == "call":
        raise ConfigError(f"{where}.concurrency: only chats can be handled concurrently")
    return model


def _ticket(value: object, where: str) -> TicketModel:
    sec = _Section(value, where)
    priorities: tuple[tuple[str, float], ...] | None = None
    raw = sec.raw("priorities")
    if raw is not None:
        psec = _Section(raw, sec.where("priorities"))
        priorities = tuple((p, psec.number(p, 0.0)) for p in PRIORITIES if p in psec.data)
        psec.finish()
        if not priorities or sum(w for _, w in priorities) <= 0:
            raise ConfigError(f"{sec.where('priorities')}: give at least one positive weight")
    model = TicketModel(
        name=sec.string("name"),
        created_per_hour=sec.number("created_per_hour"),
        first_response_seconds=sec.seconds("first_response_seconds", positive=True),
        resolution_seconds=sec.seconds("resolution_seconds", positive=True),
        reopen_probability=sec.number("reopen_probability", 0.0, high=1.0),
        reopen_delay_seconds=sec.seconds("reopen_delay_seconds", 86_400.0, positive=True),
        max_reopens=sec.integer("max_reopens", 2),
        priorities=priorities,
        first_contact_resolution=sec.number("first_contact_resolution", 0.6, high=1.0),
        daily_profile=_profile(sec),
        survey=_survey(sec.raw("survey"), sec.where("survey")),
    )
    sec.finish()
    return model


def _scenario(value: object, where: str) -> Scenario:
    if isinstance(value, str):
        value = {"name": value}
    sec = _Section(value, where)
    name = sec.string("name")
    if name not in SCENARIOS:
        raise ConfigError(
            f"{where}.name: unknown scenario {name!r} (known: {', '.join(SCENARIOS)})"
        )
    queues = sec.raw("queues")
    if queues is not None and (
        not isinstance(queues, list) or not all(isinstance(q, str) for q in queues)
    ):
        raise ConfigError(f"{sec.where('queues')}: expected a list of queue names")
    default = Scenario(name)
    scenario = Scenario(
        name=name,
        start=sec.seconds("start", default.start),
        duration=sec.opt_seconds("duration", default.duration, positive=True),
        factor=sec.opt_number("factor", positive=True),
        queues=tuple(queues) if queues is not None else None,
    )
    sec.finish()
    return scenario


def _flag(sec: _Section, key: str, default: bool) -> bool:
    value = sec.raw(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{sec.where(key)}: expected true or false, got {value!r}")
    return value


def config_from_dict(data: object) -> SimConfig:
    """Build and validate a config from parsed YAML/JSON (see docs/simulator.md)."""
    sec = _Section(data, "")
    fmt = sec.raw("time_format", "rfc3339")
    if fmt not in ("rfc3339", "epoch_ms"):
        raise ConfigError("time_format: rfc3339 or epoch_ms")
    queues = tuple(_queue(q, f"queues[{i}]") for i, q in _listed(sec, "queues"))
    tickets = tuple(_ticket(t, f"tickets[{i}]") for i, t in _listed(sec, "tickets"))
    scenarios = tuple(_scenario(s, f"scenarios[{i}]") for i, s in _listed(sec, "scenarios"))
    timezone = sec.string("timezone", "UTC")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(timezone)
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"timezone: unknown time zone {timezone!r}") from exc
    config = SimConfig(
        queues=queues,
        tickets=tickets,
        scenarios=scenarios,
        seed=sec.integer("seed", 42),
        time_format=cast(Any, fmt),
        timezone=timezone,
        run_id=None if sec.raw("run_id") is None else sec.string("run_id", max_len=60),
        agent_events=_flag(sec, "agent_events", True),
    )
    sec.finish()
    names = [(q.channel, q.name) for q in queues] + [("ticket", t.name) for t in tickets]
    if len(set(names)) != len(names):
        raise ConfigError("queues/tickets: a queue name appears twice on the same channel")
    if not names:
        raise ConfigError("config: no queues and no tickets to simulate")
    try:
        apply_scenarios(config)  # e.g. a scenario naming a queue that does not exist
    except ValueError as exc:
        raise ConfigError(f"scenarios: {exc}") from None
    return config


def load_config(path: str | Path) -> SimConfig:
    """Read a ``.yaml``/``.yml``/``.json`` file (YAML is a superset, so any suffix parses)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not valid {file.suffix.lstrip('.') or 'YAML'}: {exc}") from exc
    return config_from_dict(data)
