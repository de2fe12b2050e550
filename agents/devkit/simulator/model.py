"""Immutable description of what the simulator runs: queues, ticket queues, scenarios.

Times in a model are seconds; offsets (schedules, scenario windows) count from the start of
the run, so one config can be replayed at any start instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Channel = Literal["call", "chat", "ticket"]
TimeFormat = Literal["rfc3339", "epoch_ms"]
CHANNELS: tuple[Channel, ...] = ("call", "chat", "ticket")
PRIORITIES = ("low", "normal", "high", "urgent")


@dataclass(frozen=True, slots=True)
class HandleTime:
    """Talk-time distribution: exponential (the Erlang assumption) or lognormal.

    Lognormal is parametrised by mean and coefficient of variation (sd / mean) because that
    is what a WFM report gives, not the mu/sigma of the underlying normal.
    """

    mean_seconds: float
    distribution: Literal["exponential", "lognormal"] = "exponential"
    cv: float = 1.0


@dataclass(frozen=True, slots=True)
class Survey:
    """Post-contact survey: sent after ``probability`` of the finished contacts.

    Each score list holds relative weights of the possible answers (csat 1..5, nps 0..10,
    ces 1..7); ``None`` leaves that score out of the event.
    """

    probability: float
    delay_seconds: float = 300.0
    csat: tuple[float, ...] | None = (0.05, 0.05, 0.15, 0.35, 0.40)
    nps: tuple[float, ...] | None = (
        0.02,
        0.01,
        0.02,
        0.02,
        0.03,
        0.05,
        0.05,
        0.10,
        0.20,
        0.25,
        0.25,
    )
    ces: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class Surge:
    """Arrival-rate multiplier ``factor`` on [start, end) seconds from the run start."""

    start: float
    end: float
    factor: float


@dataclass(frozen=True, slots=True)
class Exits:
    """The ways out of a queue besides the answer and the abandon (docs/simulator.md, "Queue
    exits"); every rate 0 by default, and a queue without them draws exactly as before.

    - ``callback``: of the contacts whose patience runs out, the share that ask to be called
      back instead of abandoning; the callback is placed Exp(``callback_delay_seconds``)
      later, promised within ``callback_within_seconds`` (None: the queue's max wait).
    - ``flow_out_after_seconds``: a contact still waiting that long flows out, to the queue
      ``flow_out_to`` of the same channel (it waits there), or to voicemail (None).
    - ``transfer``: of the answered contacts, the share transferred at the end of the talk
      to ``transfer_to`` (a queue of the same channel, where they wait again).
    - ``hold_abandon``: of the answered contacts, the share that hang up on hold at the end
      of the talk (``abandoned_on_hold``, then ``ended`` as usual).
    """

    callback: float = 0.0
    callback_within_seconds: float | None = None
    callback_delay_seconds: float = 900.0
    flow_out_after_seconds: float | None = None
    flow_out_to: str | None = None
    transfer: float = 0.0
    transfer_to: str | None = None
    hold_abandon: float = 0.0


NO_EXITS = Exits()


@dataclass(frozen=True, slots=True)
class QueueModel:
    """One call or chat queue: M/G/N(+M) with optional trunk and waiting-room limits.

    ``agents`` and ``trunks`` are step schedules of (offset_seconds, value) sorted by offset,
    starting at 0. ``trunks`` caps contacts in the system (talking + waiting, wrap-up frees
    the trunk); ``queue_size`` caps waiting contacts. ``None`` means unlimited.
    """

    name: str
    channel: Literal["call", "chat"]
    arrivals_per_hour: float
    handle_time: HandleTime
    agents: tuple[tuple[float, int], ...]
    patience_seconds: float | None = None
    trunks: tuple[tuple[float, int | None], ...] = ((0.0, None),)
    queue_size: int | None = None
    daily_profile: tuple[float, ...] | None = None
    surges: tuple[Surge, ...] = ()
    wrap_seconds: float = 0.0
    first_contact_resolution: float = 0.7
    concurrency: int = 1  # chats an agent handles at once
    first_response_seconds: float = 15.0  # chats: mean agent reply delay after answer
    survey: Survey | None = None
    # Of the logged-in agents, how many are on a break (not ready, not serving): a step
    # schedule like ``agents``.
    on_break: tuple[tuple[float, int], ...] = ((0.0, 0),)
    exits: Exits = NO_EXITS


@dataclass(frozen=True, slots=True)
class TicketModel:
    """Ticket queue: Poisson creation; exponential first-response and resolution delays."""

    name: str
    created_per_hour: float
    first_response_seconds: float
    resolution_seconds: float  # mean delay from first response (or reopen) to resolution
    reopen_probability: float = 0.0
    reopen_delay_seconds: float = 86_400.0
    max_reopens: int = 2
    priorities: tuple[tuple[str, float], ...] | None = None
    first_contact_resolution: float = 0.6
    daily_profile: tuple[float, ...] | None = None
    surges: tuple[Surge, ...] = ()
    survey: Survey | None = None
    # The conversation after the first reply: a Poisson number (mean ``exchanges``) of
    # customer messages, each Exp(customer_reply_seconds) after the agent's last reply and
    # answered Exp(first_response_seconds) later; each agent reply sets the ticket pending
    # (waiting on the customer) with ``pending_probability``.
    exchanges: float = 0.0
    customer_reply_seconds: float = 14_400.0
    pending_probability: float = 0.0


@dataclass(frozen=True, slots=True)
class Scenario:
    """A drill applied on top of a config; see ``scenarios.py`` for what each name does."""

    name: str
    start: float = 600.0
    duration: float | None = 1800.0  # None = until the end of the run
    factor: float | None = None  # spike / flood multiplier, or share of agents/trunks kept
    queues: tuple[str, ...] | None = None  # None = every queue the scenario applies to


@dataclass(frozen=True, slots=True)
class SimConfig:
    queues: tuple[QueueModel, ...] = ()
    tickets: tuple[TicketModel, ...] = ()
    scenarios: tuple[Scenario, ...] = ()
    seed: int = 42
    time_format: TimeFormat = "rfc3339"
    timezone: str = "UTC"  # hour-of-day for daily profiles
    run_id: str | None = None  # event/contact id prefix; default "{seed}-{start_ms}"
    agent_events: bool = True  # the agents' states (topic contact-center.agents)
