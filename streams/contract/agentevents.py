"""Agent state events (topic ``contact-center.agents``): the field checks behind
``streams.contract.events.validate`` for the ``agent`` channel (docs/events.md, "Agent events").

Kept apart from :mod:`ccmon.streams.contract.events` so that both stay small; the envelope and the
rejection machinery are shared. An agent event names an agent, not a queue: ``queue`` and
``contact_id`` are optional, ``agent_id`` is required, and the queues an agent serves come
from ``queues`` on ``skills_changed`` (or ``logged_in``).
"""

from __future__ import annotations

from typing import Any

from ccmon.streams.contract.eventfields import FieldError, ValidationLimits, show, text, wrong_type

AGENT_CHANNEL = "agent"
AGENT_TYPES = frozenset({"logged_in", "logged_out", "state_changed", "skills_changed"})
AGENT_STATES = ("available", "on_contact", "after_contact_work", "not_ready")
# The `reason` label of ccmon_agents_not_ready is bounded: a reason outside this list is
# accepted (ACDs let supervisors invent codes) and counted as "other".
NOT_READY_REASONS = (
    "break",
    "lunch",
    "meeting",
    "training",
    "coaching",
    "admin",
    "personal",
    "technical",
    "outbound",
    "other",
)
CONTACT_CHANNELS = frozenset({"call", "chat", "ticket"})
MAX_AGENT_QUEUES = 200
MAX_SLOTS = 20  # the queue configuration's limit on max_concurrent (ccmon.streams.policy)
AGENT_REASONS = frozenset({"invalid_state", "invalid_channel", "invalid_queues", "invalid_slots"})

_REASON_SET = frozenset(NOT_READY_REASONS)
_STATE_SET = frozenset(AGENT_STATES)

AgentFields = dict[str, Any]


def not_ready_reason(value: object) -> str:
    """The bounded label of a not_ready reason; absent means "other"."""
    if value is None:
        return "other"
    if type(value) is not str:
        raise wrong_type("reason", "a string", value)
    return value if value in _REASON_SET else "other"


def _state(obj: dict[str, Any], default: str | None) -> str:
    value = obj.get("state")
    if value is None:
        if default is None:
            raise FieldError("missing_field", "state_changed events need a state")
        return default
    if type(value) is not str or value not in _STATE_SET:
        raise FieldError(
            "invalid_state", f"state {show(value)} is not one of {', '.join(AGENT_STATES)}"
        )
    return value


def _queues(
    obj: dict[str, Any], required: bool, limits: ValidationLimits
) -> tuple[str, ...] | None:
    """``[{"channel": "call", "queue": "sales"}, ...]`` -> ``("call|sales", ...)``, sorted
    and without repeats (a set: the order an ACD lists skills in means nothing here)."""
    value = obj.get("queues")
    if value is None:
        if required:
            raise FieldError("missing_field", "skills_changed events need queues")
        return None
    if type(value) is not list:
        raise FieldError("invalid_queues", f"queues must be an array, got {show(value)}")
    if len(value) > MAX_AGENT_QUEUES:
        raise FieldError(
            "invalid_queues", f"queues has {len(value)} entries, max {MAX_AGENT_QUEUES}"
        )
    pairs: set[str] = set()
    for i, item in enumerate(value):
        if type(item) is not dict or item.get("channel") not in CONTACT_CHANNELS:
            raise FieldError(
                "invalid_queues",
                f"queues[{i}] must be an object with channel (call, chat, ticket) and queue, "
                f"got {show(item)}",
            )
        try:
            queue = text(item, "queue", limits.max_queue_length)
        except FieldError as exc:
            raise FieldError("invalid_queues", f"queues[{i}]: {exc.detail}") from None
        pairs.add(f"{item['channel']}|{queue}")
    return tuple(sorted(pairs))


def _slots(obj: dict[str, Any], name: str, low: int) -> int | None:
    value = obj.get(name)
    if value is None:
        return None
    if type(value) is not int or not low <= value <= MAX_SLOTS:
        raise FieldError(
            "invalid_slots",
            f"{name} must be an integer from {low} to {MAX_SLOTS}, got {show(value)}",
        )
    return value


def agent_fields(obj: dict[str, Any], type_: str, limits: ValidationLimits) -> AgentFields:
    """The normalised fields of one agent event (the envelope is checked by the caller)."""
    fields: AgentFields = {"agent_id": text(obj, "agent_id", limits.max_id_length)}
    if obj.get("contact_id") not in (None, ""):
        fields["contact_id"] = text(obj, "contact_id", limits.max_id_length)
    if type_ == "logged_in":
        fields["queues"] = _queues(obj, False, limits)
        fields["state"] = _state(obj, "available")
    elif type_ == "skills_changed":
        fields["queues"] = _queues(obj, True, limits)
    elif type_ == "state_changed":
        fields["state"] = _state(obj, None)
    if fields.get("state") == "not_ready":
        fields["reason"] = not_ready_reason(obj.get("reason"))
    elif fields.get("state") == "on_contact":
        channel = obj.get("channel")
        if channel is not None and channel not in CONTACT_CHANNELS:
            raise FieldError(
                "invalid_channel", f"channel {show(channel)} is not one of call, chat, ticket"
            )
        fields["contact_channel"] = channel
    # Concurrency (docs/events.md, "Agent events"): the agent's own limit of contacts at once,
    # and how many of its slots are busy now; both optional, on any event.
    for name, low in (("max_concurrent", 1), ("slots_busy", 0)):
        value = _slots(obj, name, low)
        if value is not None:
            fields[name] = value
    limit = fields.get("max_concurrent")
    if limit is not None and fields.get("slots_busy", 0) > limit:
        detail = f"slots_busy {fields['slots_busy']} is above max_concurrent {limit}"
        raise FieldError("invalid_slots", detail)
    return fields
