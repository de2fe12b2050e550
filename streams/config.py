"""Queue configuration: one YAML file, checked strictly at start-up (docs/configuration.md).

Every mistake is reported with the file, the dotted field path and the offending value, and
unknown keys are errors: a typo such as `treshold_seconds` must not silently fall back to a
default the contact centre never agreed to. Policies are resolved once at load time because
`QueueConfig.policy` is called for every event.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

CHANNELS: tuple[str, ...] = ("call", "chat", "ticket")
COMPARISONS: tuple[str, ...] = ("<", "<=")
VARIANTS: tuple[str, ...] = (
    "answered_abandoned",  # answered<=T / (answered + abandoned): Genesys, Talkdesk
    "answered_abandoned_excl_short",  # the same, short abandons left out of both sides
    "answered",  # answered<=T / answered: Asterisk
    "offered_within",  # (answered<=T + abandoned<=T) / offered: Amazon Connect style
)
OVERFLOW_QUEUE = "other"  # where queues beyond max_queues are counted; not configurable
DEFAULT_MAX_QUEUES = 500
_MAX_QUEUE_NAME = 100  # the event contract's limit on `queue`
_NO_VALUE = object()


class QueueConfigError(ValueError):
    """A configuration mistake; the message names the file, the field path and the value."""

    def __init__(self, source: str, path: str, problem: str, value: object = _NO_VALUE) -> None:
        where = f"{source}: {path}" if path else source
        got = "" if value is _NO_VALUE else f" (got {value!r})"
        super().__init__(f"{where}: {problem}{got}")
        self.source, self.path, self.problem, self.value = source, path, problem, value


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    """Everything the counters, gauges and alerts need to know about one channel x queue."""

    threshold_seconds: float = 90.0
    comparison: str = "<"
    target_ratio: float = 0.80
    variant: str = "answered_abandoned"
    short_abandon_seconds: float = 5.0
    max_wait_seconds: float = 3600.0
    first_response_target_seconds: float = 86400.0
    resolution_target_seconds: float = 172800.0
    timezone: str = "UTC"
    min_volume: int = 10
    abandon_ratio: float = 0.10
    blocking_ratio: float = 0.02
    waiting_contacts: int = 10

    def within(self, wait_seconds: float) -> bool:
        """Whether a wait meets the service-level threshold, honouring `<` versus `<=`."""
        if self.comparison == "<=":
            return wait_seconds <= self.threshold_seconds
        return wait_seconds < self.threshold_seconds

    def is_short_abandon(self, wait_seconds: float) -> bool:
        return wait_seconds < self.short_abandon_seconds

    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)  # ZoneInfo caches instances per key


BUILTIN_DEFAULTS = QueuePolicy()


class QueueConfig:
    """The loaded configuration; immutable after construction."""

    __slots__ = ("_channels", "_defaults", "_max_queues", "_policies", "_source")

    def __init__(
        self,
        defaults: QueuePolicy = BUILTIN_DEFAULTS,
        policies: Mapping[tuple[str, str], QueuePolicy] | None = None,
        channels: Mapping[str, frozenset[str]] | None = None,
        max_queues: int = DEFAULT_MAX_QUEUES,
        source: str | None = None,
    ) -> None:
        self._defaults = defaults
        self._policies = dict(policies or {})
        self._channels = dict(channels or {})
        self._max_queues = max_queues
        self._source = source

    def policy(self, channel: str, queue: str) -> QueuePolicy:
        """Policy of a channel x queue; unconfigured queues (and channels a queue does not
        list) get the defaults. Raises ValueError for an unknown channel (a caller bug)."""
        found = self._policies.get((channel, queue))
        if found is not None:
            return found
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}; expected one of {CHANNELS}")
        return self._defaults

    @property
    def defaults(self) -> QueuePolicy:
        return self._defaults

    @property
    def configured_queues(self) -> frozenset[str]:
        return frozenset(self._channels)

    def channels_of(self, queue: str) -> frozenset[str]:
        """Channels a configured queue takes (all three when it lists none)."""
        return self._channels.get(queue, frozenset())

    @property
    def max_queues(self) -> int:
        return self._max_queues

    @property
    def source(self) -> str | None:
        return self._source

    def all_thresholds(self) -> set[tuple[float, str]]:
        """(threshold_seconds, comparison) of every policy, to place histogram buckets on."""
        policies = [self._defaults, *self._policies.values()]
        return {(p.threshold_seconds, p.comparison) for p in policies}


def load_queue_config(path: str | Path | None) -> QueueConfig:
    """Load and check the queue YAML file; None gives the built-in defaults."""
    if path is None:
        return QueueConfig()
    source = str(path)
    try:
        # Reading through a file object lets PyYAML put the file name into its error marks.
        with Path(path).open(encoding="utf-8") as stream:
            document = yaml.load(stream, Loader=_StrictLoader)  # a SafeLoader: no objects
    except (OSError, UnicodeDecodeError) as exc:
        raise QueueConfigError(source, "", f"cannot read the queue configuration: {exc}") from None
    except yaml.YAMLError as exc:
        raise QueueConfigError(source, "", f"invalid YAML: {exc}") from None
    return parse_queue_config(document, source)


def parse_queue_config(document: object, source: str = "<queue config>") -> QueueConfig:
    """Check an already-parsed document (the YAML file's content) and build the config."""
    if document is None:
        return QueueConfig(source=source)
    check = _Checker(source)
    top = check.mapping(document, "", {"defaults", "limits", "queues"})
    defaults = replace(BUILTIN_DEFAULTS, **check.settings(top.get("defaults", {}), "defaults"))
    limits = check.mapping(top.get("limits", {}), "limits", {"max_queues"})
    max_queues = DEFAULT_MAX_QUEUES
    if "max_queues" in limits:
        max_queues = check.integer(limits["max_queues"], "limits.max_queues", minimum=1)
    policies: dict[tuple[str, str], QueuePolicy] = {}
    channels: dict[str, frozenset[str]] = {}
    for name, node in check.mapping(top.get("queues", {}), "queues", None).items():
        path = _join("queues", name)
        check.queue_name(name, path)
        entry = check.mapping(node, path, {*_SETTINGS, "channels", "overrides"})
        accepted = check.channels(entry.get("channels"), _join(path, "channels"))
        base = replace(defaults, **check.settings(entry, path, skip={"channels", "overrides"}))
        overrides = check.mapping(entry.get("overrides", {}), _join(path, "overrides"), None)
        for channel in overrides:
            opath = _join(_join(path, "overrides"), channel)
            check.choice(channel, opath, CHANNELS)
            if channel not in accepted:
                raise check.fail(opath, f"channel not in this queue's channels {sorted(accepted)}")
        channels[name] = accepted
        for channel in accepted:
            opath = _join(_join(path, "overrides"), channel)
            extra = check.settings(overrides.get(channel, {}), opath)
            policies[(channel, name)] = replace(base, **extra) if extra else base
    if len(channels) > max_queues:
        problem = f"is below the number of configured queues ({len(channels)})"
        raise check.fail("limits.max_queues", problem, max_queues)
    return QueueConfig(defaults, policies, channels, max_queues, source)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, which PyYAML would silently overwrite."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[Hashable, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *anchor` keys may legitimately be overridden
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"duplicate key {key!r} (first on line {seen[key]})",
                    key_node.start_mark,
                )
            if isinstance(key, Hashable):
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _join(path: str, key: object) -> str:
    if isinstance(key, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", key):
        return f"{path}.{key}" if path else key
    return f"{path}[{key!r}]"


class _Checker:
    """Typed accessors that raise QueueConfigError naming the file, the path and the value."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, problem: str, value: object = _NO_VALUE) -> QueueConfigError:
        return QueueConfigError(self.source, path, problem, value)

    def mapping(self, node: object, path: str, allowed: set[str] | None) -> dict[Any, Any]:
        if node is None:
            return {}
        if not isinstance(node, dict):
            raise self.fail(path or "(top level)", "must be a mapping", node)
        if allowed is not None:
            for key in node:
                if key not in allowed:
                    raise self.fail(
                        _join(path, key), f"unknown key; expected one of {sorted(allowed)}", key
                    )
        return node

    def number(self, value: object, path: str, *, minimum: float, positive: bool) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(path, "must be a number", value)
        if not math.isfinite(value) or value < minimum or (positive and value == 0):
            bound = "> 0" if positive else f">= {minimum:g}"
            raise self.fail(path, f"must be a finite number {bound}", value)
        return float(value)

    def ratio(self, value: object, path: str) -> float:
        ratio = self.number(value, path, minimum=0.0, positive=False)
        if ratio > 1.0:
            raise self.fail(path, "must be a ratio between 0 and 1 (0.8, not 80)", value)
        return ratio

    def integer(self, value: object, path: str, *, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(path, f"must be an integer >= {minimum}", value)
        return value

    def choice(self, value: object, path: str, choices: tuple[str, ...]) -> str:
        if not isinstance(value, str) or value not in choices:
            raise self.fail(path, f"must be one of {', '.join(choices)}", value)
        return value

    def timezone(self, value: object, path: str) -> str:
        if not isinstance(value, str):
            raise self.fail(path, "must be an IANA time zone name such as Europe/Paris", value)
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(
                path, "unknown IANA time zone (e.g. Europe/Paris, UTC)", value
            ) from None
        return value

    def queue_name(self, name: object, path: str) -> None:
        if not isinstance(name, str):
            raise self.fail(path, "queue names must be strings; quote numeric names", name)
        if not name or len(name) > _MAX_QUEUE_NAME:
            raise self.fail(path, f"queue names have 1 to {_MAX_QUEUE_NAME} characters", name)
        if name != name.strip() or any(ord(c) < 32 or 127 <= ord(c) <= 159 for c in name):
            raise self.fail(path, "queue name has control characters or outer whitespace", name)
        if name == OVERFLOW_QUEUE:
            raise self.fail(path, "'other' is reserved for queues beyond limits.max_queues", name)

    def channels(self, value: object, path: str) -> frozenset[str]:
        if value is None:
            return frozenset(CHANNELS)
        if not isinstance(value, list) or not value:
            raise self.fail(path, f"must be a non-empty list of {', '.join(CHANNELS)}", value)
        for i, channel in enumerate(value):
            self.choice(channel, f"{path}[{i}]", CHANNELS)
        if len(set(value)) != len(value):
            raise self.fail(path, "lists a channel twice", value)
        return frozenset(value)

    def settings(
        self, node: object, path: str, skip: frozenset[str] | set[str] = frozenset()
    ) -> dict[str, Any]:
        """Policy fields set in one `defaults`, queue or override block (nothing else allowed)."""
        block = self.mapping(node, path, None)
        found: dict[str, Any] = {}
        for key, value in block.items():
            if key in skip:
                continue
            spec = _SETTINGS.get(key) if isinstance(key, str) else None
            if spec is None:
                raise self.fail(
                    _join(path, key), f"unknown key; expected one of {sorted(_SETTINGS)}", key
                )
            kpath = _join(path, key)
            if callable(spec):
                found[key] = spec(self, value, kpath)
                continue
            for sub, subvalue in self.mapping(value, kpath, set(spec)).items():
                found[sub] = spec[sub](self, subvalue, _join(kpath, sub))
        return found


_Check = Callable[[_Checker, Any, str], Any]


def _seconds(checker: _Checker, value: object, path: str) -> float:
    return checker.number(value, path, minimum=0.0, positive=True)


# YAML key -> check; a nested dict is a sub-block whose keys are QueuePolicy field names.
_SETTINGS: dict[str, _Check | dict[str, _Check]] = {
    "timezone": _Checker.timezone,
    "service_level": {
        "threshold_seconds": _seconds,
        "comparison": lambda c, v, p: c.choice(v, p, COMPARISONS),
        "target_ratio": _Checker.ratio,
        "variant": lambda c, v, p: c.choice(v, p, VARIANTS),
    },
    "short_abandon_seconds": lambda c, v, p: c.number(v, p, minimum=0.0, positive=False),
    "max_wait_seconds": _seconds,
    "tickets": {"first_response_target_seconds": _seconds, "resolution_target_seconds": _seconds},
    "alerts": {
        "min_volume": lambda c, v, p: c.integer(v, p, minimum=0),
        "abandon_ratio": _Checker.ratio,
        "blocking_ratio": _Checker.ratio,
        "waiting_contacts": lambda c, v, p: c.integer(v, p, minimum=1),
    },
}
