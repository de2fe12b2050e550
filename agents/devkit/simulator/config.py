"""Simulator configuration: the YAML/JSON file as a pydantic model (docs/simulator.md).

:class:`SimFile` is the one description of the file: it validates (strictly: unknown keys
are errors, since a misspelt ``patience_second`` silently giving infinite patience would
make a drill lie), it is the JSON Schema editors complete from
(deploy/schemas/simulator.schema.json, ``python -m deploy.schemas``), and
:meth:`SimFile.to_config` turns it into the immutable :class:`SimConfig` the engine runs.
Every problem is one line naming the file, the path (``queues[1].agents``) and the value.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from annotated_types import GroupedMetadata
from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from ccmon.agents.devkit.simulator.durations import (
    Count,
    Duration,
    Name,
    PositiveDuration,
    Probability,
    Rate,
    parse_duration,
)
from ccmon.agents.devkit.simulator.exitconfig import ExitsBlock
from ccmon.agents.devkit.simulator.model import (
    NO_EXITS,
    PRIORITIES,
    HandleTime,
    QueueModel,
    Scenario,
    SimConfig,
    Survey,
    TicketModel,
)
from ccmon.agents.devkit.simulator.scenarios import SCENARIOS
from ccmon.streams.configfile import NO_VALUE, ConfigError, Section, TimeZone, fail, load
from ccmon.streams.configfile import validate as validate_file

__all__ = ["ConfigError", "SimFile", "config_from_dict", "load_config", "parse_duration"]


def _steps(value: object) -> object:
    """A constant is one step at offset 0; a step [offset, value] becomes a pair."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return [(0.0, value)]
    if isinstance(value, list):
        return [tuple(step) if isinstance(step, list) else step for step in value]
    raise fail("must be an integer >= 0, or a list of [offset, value] steps")


def _open_steps(value: object) -> object:
    return [(0.0, None)] if value is None else _steps(value)


def _from_zero(steps: list[tuple[float, Any]]) -> list[tuple[float, Any]]:
    steps = sorted(steps, key=lambda step: step[0])
    if not steps or steps[0][0] != 0:
        raise fail("the first step must start at offset 0", value=[list(s) for s in steps])
    return steps


Schedule = Annotated[
    list[tuple[Duration, Count]],
    BeforeValidator(_steps, json_schema_input_type=Count | list[tuple[Duration, Count]]),
    AfterValidator(_from_zero),
]
# Trunks: null, or a step's value null, is unlimited.
OpenSchedule = Annotated[
    list[tuple[Duration, Count | None]],
    BeforeValidator(
        _open_steps, json_schema_input_type=Count | None | list[tuple[Duration, Count | None]]
    ),
    AfterValidator(_from_zero),
]


class _Weights(GroupedMetadata):
    """Relative weights of ``size`` answers (or hours), not all zero."""

    def __init__(self, size: int, of: str) -> None:
        self.size, self.of = size, of

    def __iter__(self) -> Iterator[object]:
        yield BeforeValidator(self._sized)
        yield Field(min_length=self.size, max_length=self.size)
        yield AfterValidator(self._not_all_zero)

    def _sized(self, value: object) -> object:
        if isinstance(value, list) and len(value) != self.size:
            raise fail(f"must list {self.size} weights, {self.of}")
        return value

    @staticmethod
    def _not_all_zero(weights: list[float]) -> list[float]:
        if sum(weights) <= 0:
            raise fail("the weights must not all be zero")
        return weights


Weight = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Csat = Annotated[list[Weight], _Weights(5, "of the answers 1 to 5")]
Nps = Annotated[list[Weight], _Weights(11, "of the answers 0 to 10")]
Ces = Annotated[list[Weight], _Weights(7, "of the answers 1 to 7")]
Profile = Annotated[list[Weight], _Weights(24, "one per hour from 0h")]
_DEFAULT_SURVEY = Survey(probability=0.0)


class SurveyBlock(Section):
    probability: Probability = Field(description="Share of finished contacts surveyed.")
    delay_seconds: Duration = _DEFAULT_SURVEY.delay_seconds
    csat: Csat | None = Field(
        list(_DEFAULT_SURVEY.csat or ()), description="Weights of 1..5; null: not asked."
    )
    nps: Nps | None = Field(
        list(_DEFAULT_SURVEY.nps or ()), description="Weights of 0..10; null: not asked."
    )
    ces: Ces | None = Field(None, description="Weights of 1..7; null: not asked.")

    @model_validator(mode="after")
    def _asks_something(self) -> SurveyBlock:
        if self.csat is None and self.nps is None and self.ces is None:
            raise fail("at least one of csat, nps, ces is needed", value=NO_VALUE)
        return self

    def to_model(self) -> Survey:
        def weights(w: list[float] | None) -> tuple[float, ...] | None:
            return None if w is None else tuple(float(x) for x in w)

        return Survey(
            self.probability, self.delay_seconds, weights(self.csat), weights(self.nps),
            weights(self.ces),
        )  # fmt: skip


def _scalar_mean(value: object) -> object:
    return {"mean_seconds": value} if isinstance(value, int | float | str) else value


class HandleTimeBlock(Section):
    mean_seconds: PositiveDuration = Field(description="Mean talk time.")
    distribution: Literal["exponential", "lognormal"] = "exponential"
    cv: float = Field(1.0, gt=0, allow_inf_nan=False, description="Lognormal: sd / mean.")


def _not_ticket(value: object) -> object:
    if value == "ticket":
        raise fail("must be 'call' or 'chat'; ticket queues go under `tickets`")
    return value


class QueueBlock(Section):
    name: Name
    channel: Annotated[Literal["call", "chat"], BeforeValidator(_not_ticket)] = "call"
    arrivals_per_hour: Rate
    handle_time: Annotated[
        HandleTimeBlock,
        BeforeValidator(_scalar_mean, json_schema_input_type=Duration | HandleTimeBlock),
    ]
    agents: Schedule
    patience_seconds: PositiveDuration | None = Field(None, description="null: infinite.")
    trunks: OpenSchedule = Field([(0.0, None)], description="null or absent: unlimited.")
    queue_size: Count | None = Field(None, description="Most contacts waiting; null: no cap.")
    daily_profile: Profile | None = None
    wrap_seconds: Duration = 0.0
    first_contact_resolution: Probability = 0.7
    concurrency: int = Field(1, ge=1, description="Chats an agent handles at once.")
    first_response_seconds: Duration = 15.0
    survey: SurveyBlock | None = None
    on_break: Schedule = Field([(0.0, 0)], description="Agents on a break, as a schedule.")
    exits: ExitsBlock | None = Field(None, description="Callbacks, flow-outs, transfers.")

    @model_validator(mode="after")
    def _concurrent_chats_only(self) -> QueueBlock:
        if self.concurrency > 1 and self.channel == "call":
            raise fail("only chats can be handled concurrently", value=self.concurrency,
                       at=("concurrency",))  # fmt: skip
        return self

    def to_model(self) -> QueueModel:
        return QueueModel(
            name=self.name,
            channel=self.channel,
            arrivals_per_hour=self.arrivals_per_hour,
            handle_time=HandleTime(
                self.handle_time.mean_seconds, self.handle_time.distribution, self.handle_time.cv
            ),
            agents=tuple(self.agents),
            patience_seconds=self.patience_seconds,
            trunks=tuple(self.trunks),
            queue_size=self.queue_size,
            daily_profile=_tuple(self.daily_profile),
            wrap_seconds=self.wrap_seconds,
            first_contact_resolution=self.first_contact_resolution,
            concurrency=self.concurrency,
            first_response_seconds=self.first_response_seconds,
            survey=None if self.survey is None else self.survey.to_model(),
            on_break=tuple(self.on_break),
            exits=NO_EXITS if self.exits is None else self.exits.to_model(),
        )


class Priorities(Section):
    low: Rate | None = None
    normal: Rate | None = None
    high: Rate | None = None
    urgent: Rate | None = None

    @model_validator(mode="after")
    def _some_weight(self) -> Priorities:
        if sum(w for _, w in self.weights()) <= 0:
            raise fail("give at least one positive weight", value=self.model_dump())
        return self

    def weights(self) -> tuple[tuple[str, float], ...]:
        return tuple((p, float(w)) for p in PRIORITIES if (w := getattr(self, p)) is not None)


class TicketBlock(Section):
    name: Name
    created_per_hour: Rate
    first_response_seconds: PositiveDuration
    resolution_seconds: PositiveDuration = Field(
        description="Mean delay from first response (or reopen) to resolution."
    )
    reopen_probability: Probability = 0.0
    reopen_delay_seconds: PositiveDuration = 86_400.0
    max_reopens: Count = 2
    priorities: Priorities | None = None
    first_contact_resolution: Probability = 0.6
    daily_profile: Profile | None = None
    survey: SurveyBlock | None = None
    exchanges: Rate = Field(0.0, description="Mean customer messages after the first reply.")
    customer_reply_seconds: PositiveDuration = 14_400.0
    pending_probability: Probability = Field(
        0.0, description="Share of agent replies that set the ticket pending (on the customer)."
    )

    def to_model(self) -> TicketModel:
        plain = self.model_dump(exclude={"priorities", "daily_profile", "survey"})
        return TicketModel(
            **plain,
            priorities=None if self.priorities is None else self.priorities.weights(),
            daily_profile=_tuple(self.daily_profile),
            survey=None if self.survey is None else self.survey.to_model(),
        )


def _known_scenario(name: str) -> str:
    if name not in SCENARIOS:
        raise fail(f"unknown scenario; known: {', '.join(SCENARIOS)}")
    return name


ScenarioName = Annotated[
    str, AfterValidator(_known_scenario), Field(json_schema_extra={"enum": list(SCENARIOS)})
]
_DEFAULT_SCENARIO = Scenario("normal")


class ScenarioBlock(Section):
    name: ScenarioName
    start: Duration = _DEFAULT_SCENARIO.start
    duration: PositiveDuration | None = Field(
        _DEFAULT_SCENARIO.duration, description="null: until the end of the run."
    )
    factor: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="Default: the scenario's own."
    )
    queues: list[Name] | None = Field(None, description="Default: every queue it applies to.")

    def to_model(self) -> Scenario:
        queues = None if self.queues is None else tuple(self.queues)
        return Scenario(self.name, self.start, self.duration, self.factor, queues)


def _named(value: object) -> object:
    return {"name": value} if isinstance(value, str) else value


class SimFile(Section):
    """A simulator configuration file (``ccmon simulate --config``)."""

    seed: int = 42
    time_format: Literal["rfc3339", "epoch_ms"] = "rfc3339"
    timezone: TimeZone = Field("UTC", description="Hour of day of the daily profiles.")
    run_id: Annotated[str, Field(min_length=1, max_length=60)] | None = None
    agent_events: bool = Field(True, description="Emit the agents' states too.")
    queues: list[QueueBlock] = []
    tickets: list[TicketBlock] = []
    scenarios: list[
        Annotated[
            ScenarioBlock,
            BeforeValidator(_named, json_schema_input_type=ScenarioName | ScenarioBlock),
        ]
    ] = []

    @model_validator(mode="after")
    def _consistent(self) -> SimFile:
        if not self.queues and not self.tickets:
            raise fail("no queues and no tickets to simulate", value=NO_VALUE)
        seen: set[tuple[str, str]] = set()
        named: list[tuple[str, int, tuple[str, str]]]
        named = [("queues", i, (q.channel, q.name)) for i, q in enumerate(self.queues)]
        named += [("tickets", i, ("ticket", t.name)) for i, t in enumerate(self.tickets)]
        for section, i, key in named:
            if key in seen:
                problem = f"a {key[0]} queue of this name is already listed"
                raise fail(problem, value=key[1], at=(section, i, "name"))
            seen.add(key)
        for i, q in enumerate(self.queues):
            for field in ("flow_out_to", "transfer_to"):
                target = getattr(q.exits, field, None)
                if target is not None and (q.channel, target) not in seen:
                    raise fail(f"no {q.channel} queue of this name", value=target,
                               at=("queues", i, "exits", field))  # fmt: skip
        known = {name for _, name in seen}
        for i, scenario in enumerate(self.scenarios):
            missing = sorted(set(scenario.queues or ()) - known)
            if missing:
                raise fail(f"unknown queue(s) {', '.join(missing)}", value=scenario.queues,
                           at=("scenarios", i, "queues"))  # fmt: skip
        return self

    def to_config(self) -> SimConfig:
        return SimConfig(
            queues=tuple(q.to_model() for q in self.queues),
            tickets=tuple(t.to_model() for t in self.tickets),
            scenarios=tuple(s.to_model() for s in self.scenarios),
            seed=self.seed,
            time_format=self.time_format,
            timezone=self.timezone,
            run_id=self.run_id,
            agent_events=self.agent_events,
        )


def _tuple(values: list[float] | None) -> tuple[float, ...] | None:
    return None if values is None else tuple(float(v) for v in values)


def config_from_dict(data: object, source: str = "<simulator config>") -> SimConfig:
    """Build and validate a config from parsed YAML/JSON; ConfigError lists the problems."""
    return validate_file(SimFile, data, source).to_config()


def load_config(path: str | Path) -> SimConfig:
    """Read a ``.yaml``/``.yml``/``.json`` file (YAML is a superset, so any suffix parses)."""
    return load(SimFile, path).to_config()
