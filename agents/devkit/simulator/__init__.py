"""Discrete-event contact-centre simulator (`ccmon simulate`); see docs/simulator.md."""

from ccmon.agents.devkit.simulator.cli import add_arguments, run_cli
from ccmon.agents.devkit.simulator.config import (
    ConfigError,
    config_from_dict,
    load_config,
    parse_duration,
)
from ccmon.agents.devkit.simulator.defaults import default_config
from ccmon.agents.devkit.simulator.engine import format_time, iter_events
from ccmon.agents.devkit.simulator.model import (
    HandleTime,
    QueueModel,
    Scenario,
    SimConfig,
    Surge,
    Survey,
    TicketModel,
)
from ccmon.agents.devkit.simulator.runner import RunStats, run_fast, run_realtime
from ccmon.agents.devkit.simulator.scenarios import SCENARIOS, apply_scenarios, with_scenarios
from ccmon.agents.devkit.simulator.sinks import JsonlSink, KafkaSink, Progress, Sink, SinkError

__all__ = [
    "SCENARIOS",
    "ConfigError",
    "HandleTime",
    "JsonlSink",
    "KafkaSink",
    "Progress",
    "QueueModel",
    "RunStats",
    "Scenario",
    "SimConfig",
    "Sink",
    "SinkError",
    "Surge",
    "Survey",
    "TicketModel",
    "add_arguments",
    "apply_scenarios",
    "config_from_dict",
    "default_config",
    "format_time",
    "iter_events",
    "load_config",
    "parse_duration",
    "run_cli",
    "run_fast",
    "run_realtime",
    "with_scenarios",
]
