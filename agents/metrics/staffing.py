"""Agents per queue and the live staffing forecast (docs/metrics.md, "Agents and staffing").

An agent who serves several queues counts in each. The four state gauges are exported for
every call and chat pair (0 when nobody is staffed: a queue without agents is news), and for
ticket pairs once agents are staffed there; not-ready agents only per reason present. The
forecast families, its inputs and the estimated wait exist for call and chat pairs with
enough volume in the forecast window."""

from __future__ import annotations

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain.forecast import estimated_wait
from ccmon.agents.domain.staffing import SECONDS, SLOTS_BUSY, SLOTS_READY
from ccmon.agents.metrics.budget import Budget
from ccmon.agents.metrics.text import Family, escape, line, pair_labels
from ccmon.agents.readmodel.views import QueueView

STATES: tuple[tuple[str, str, str], ...] = (
    ("ccmon_agents_available", "available", "Agents staffed for the queue and available."),
    ("ccmon_agents_on_contact", "on_contact", "Agents staffed for the queue on a contact."),
    (
        "ccmon_agents_after_contact_work",
        "after_contact_work",
        "Agents staffed for the queue in after-contact work (wrap-up).",
    ),
)
LOGGED_IN = Family(
    "ccmon_agents_logged_in",
    "gauge",
    "Agents logged in and skilled for the queue (an agent in several queues counts in each).",
)
NOT_READY = Family(
    "ccmon_agents_not_ready", "gauge", "Agents staffed for the queue and not ready, by reason."
)
OCCUPANCY = Family(
    "ccmon_agents_occupancy_ratio",
    "gauge",
    "Busy / ready contact-slot time in the window (agents x max_concurrent; calls: (on "
    "contact + after-contact work) / (those + available)), states in progress up to now.",
)
SLOTS = Family(
    "ccmon_agent_slots",
    "gauge",
    "Contact slots of the agents staffed for the queue and ready (available, on a contact "
    "or wrapping): agents x max_concurrent.",
)
SLOTS_BUSY_FAMILY = Family(
    "ccmon_agent_slots_busy", "gauge", "Of ccmon_agent_slots, those serving a contact now."
)
FORECAST_INFO = Family(
    "ccmon_forecast_info",
    "gauge",
    "Model of the queue's staffing forecast: erlang_a, erlang_c or erlang_c_overloaded, "
    "with _slots where agents serve several contacts at once (slots are the servers).",
)
ESTIMATED_WAIT = Family(
    "ccmon_estimated_wait_seconds",
    "gauge",
    "Expected wait of a contact arriving now: sum over j = 0..k of 1 / (c / AHT + j / "
    "patience), k contacts ahead, c ready slots (docs/metrics.md, 'Estimated wait').",
)
PREDICTED = Family(
    "ccmon_service_level_predicted_ratio",
    "gauge",
    "Service level predicted with the agents staffed now (absent when Erlang C is overloaded).",
)
REQUIRED = Family(
    "ccmon_agents_required", "gauge", "Fewest agents that meet the queue's service-level target."
)
SHORTFALL = Family(
    "ccmon_agents_shortfall", "gauge", "Agents required minus agents staffed (negative: spare)."
)
# The forecast's inputs, so that anyone can recompute it (N is ccmon_agents_logged_in).
INPUTS = (
    Family("ccmon_forecast_arrival_rate", "gauge", "Forecast input lambda: offered per second."),
    Family("ccmon_forecast_offered_load_erlangs", "gauge", "Forecast input A = lambda x AHT."),
    Family("ccmon_forecast_handle_time_seconds", "gauge", "Forecast input AHT."),
    Family(
        "ccmon_forecast_patience_seconds",
        "gauge",
        "Forecast input: mean patience estimated from abandonment (Erlang A only).",
    ),
    Family(
        "ccmon_forecast_servers",
        "gauge",
        "Forecast input N: agents staffed, or their contact slots where the queue is concurrent.",
    ),
)
BUSY = (SECONDS + "on_contact", SECONDS + "after_contact_work")


def families(budget: Budget) -> list[Family]:
    out = [LOGGED_IN, *(Family(n, "gauge", h) for n, _, h in STATES), NOT_READY, OCCUPANCY]
    out += [SLOTS, SLOTS_BUSY_FAMILY, FORECAST_INFO, PREDICTED, REQUIRED, SHORTFALL]
    return [*out, ESTIMATED_WAIT, *INPUTS]


def occupancy(window: b.Counters) -> float | None:
    """Busy over ready slot-time; from the agent-state seconds where the window has no slot
    time (buckets written before ccmon counted slots)."""
    ready = window.get(SLOTS_READY, 0.0)
    if ready > 0:
        return min(1.0, window.get(SLOTS_BUSY, 0.0) / ready)
    busy = sum(window.get(name, 0.0) for name in BUSY)
    return b.ratio(busy, busy + window.get(SECONDS + "available", 0.0))


def wait_estimate(view: QueueView) -> float | None:
    """ccmon_estimated_wait_seconds of a view: None without a forecast's inputs or a slot."""
    fc = view.forecast
    if fc is None:
        return None
    return estimated_wait(view.waiting, view.slots, view.slots_busy, fc.inputs)


def lines(view: QueueView, budget: Budget, out: dict[str, list[str]]) -> None:
    if view.channel == "ticket" and not view.agents:
        return
    labels = pair_labels(view.channel, view.queue)

    def put(name: str, value: float, extra: str = "") -> None:
        out.setdefault(name, []).append(line(name, labels + extra, value))

    put(LOGGED_IN.name, view.staffed)
    for name, state, _ in STATES:
        put(name, view.agents.get(state, 0))
    for reason, n in sorted(view.not_ready.items()):
        put(NOT_READY.name, n, f',reason="{escape(reason)}"')
    put(SLOTS.name, view.slots)
    put(SLOTS_BUSY_FAMILY.name, view.slots_busy)
    for window in budget.windows:
        value = occupancy(view.windows.get(window, {}))
        if value is not None:
            put(OCCUPANCY.name, value, f',window="{window}"')
    fc = view.forecast
    if fc is None:
        return
    put(FORECAST_INFO.name, 1.0, f',model="{fc.model}"')
    if fc.predicted is not None:
        put(PREDICTED.name, fc.predicted)
    put(REQUIRED.name, fc.required)
    put(SHORTFALL.name, fc.shortfall)
    wait = wait_estimate(view)
    if wait is not None:
        put(ESTIMATED_WAIT.name, wait)
    x = fc.inputs
    values = (x.arrival_rate, x.traffic, x.aht, x.patience, float(x.servers))
    for family, value in zip(INPUTS, values, strict=True):
        if value is not None:
            put(family.name, value)
