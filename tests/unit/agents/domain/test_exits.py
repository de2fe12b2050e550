"""Queue exits (docs/events.md, "Queue exits"): callbacks and their promise, flow-outs and
transfers offered to their target queue, abandons on hold, and the rules for exits that do
not fit: never offered, a second exit, an unknown target. The property tests throw any
sequence of them at the rules: nothing raises, no gauge goes negative, every visit leaves
its queue once."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain.contacts import apply_contact
from ccmon.agents.domain.effects import Effects, StateLimits
from ccmon.agents.domain.exits import CALLBACK_KEY, NOT_OFFERED, REPEATED, UNKNOWN_TARGET, Routes
from ccmon.agents.domain.expiry import apply_tick
from ccmon.agents.domain.servicelevel import parts
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.readmodel.views import view_of
from ccmon.streams.config import QueuePolicy
from ccmon.streams.contract.events import Event

NOW = 1_800_000_000.0
POLICY = QueuePolicy(threshold_seconds=20.0, comparison="<=", timezone="UTC", max_wait_seconds=600)
QUEUES = ("a", "b", "c")
# "c" is not configured: a flow-out or a transfer to it is offered nowhere.
ROUTES = Routes(partitions=1, known=lambda channel, queue: queue in ("a", "b"))


class World:
    """One partition holding every queue; the offers a step makes for target queues are
    counted after it, as the counting hop does once Kafka brought them back."""

    def __init__(self) -> None:
        self.state = PartitionState(0)
        self.n = 0

    def apply(self, e: Event) -> None:
        fx = Effects(self.state, StateLimits())
        fx.src = f"call:0:{self.n}"
        self.n += 1
        apply_contact(e, fx, POLICY, NOW, ROUTES)
        self.state.merge(fx.writes)
        for record in fx.outbox.get(0, []):
            self.apply(Event.from_dict(record))

    def tick(self, now: float) -> None:
        fx = Effects(self.state, StateLimits())
        apply_tick(fx, now, lambda channel, queue: POLICY)
        self.state.merge(fx.writes)

    def totals(self, queue: str = "a") -> dict[str, float]:
        return dict(self.state.totals.get(f"call|{queue}", {}))

    def waiting(self, queue: str = "a") -> int:
        return view_of(self.state, f"call|{queue}", lambda c, q: POLICY, NOW).waiting

    def callbacks_waiting(self, queue: str = "a") -> int:
        return view_of(self.state, f"call|{queue}", lambda c, q: POLICY, NOW).callbacks_waiting


def ev(kind: str, t: float, contact: str = "c1", queue: str = "a", **kw: Any) -> Event:
    return Event(f"{kind}-{contact}-{queue}-{t}", "call", kind, t, queue, contact, **kw)


def test_a_callback_leaves_the_queue_is_no_abandon_and_waits_as_its_own_contact() -> None:
    w = World()
    w.apply(ev("offered", NOW - 100))
    w.apply(ev("callback_requested", NOW - 70, callback_within_seconds=600))
    t = w.totals()
    assert (t[b.CALLBACKS], t.get(b.CALLBACKS_WITHIN), t.get(b.ABANDONED)) == (1, None, None)
    assert (w.waiting(), w.callbacks_waiting()) == (0, 1)
    # Placed within its window: the callback's promise is kept.
    w.apply(ev("callback_placed", NOW - 10))
    t = w.totals()
    assert (t[b.CALLBACKS_PLACED], t[b.CALLBACKS_MET], t.get(b.CALLBACKS_MISSED)) == (1, 1, None)
    assert w.callbacks_waiting() == 0
    # all_exits counts it (left at 30 s, not within 20 s); the two others do not see it.
    assert parts(t, "all_exits") == (0, 1)
    assert parts(t, "answered_abandoned") == (0, 0)


def test_a_callback_not_placed_in_its_window_is_missed_once_by_the_tick() -> None:
    w = World()
    w.apply(ev("offered", NOW - 1000))
    w.apply(ev("callback_requested", NOW - 990, wait_seconds=10))  # window: max_wait 600 s
    assert w.totals()[b.CALLBACKS_WITHIN] == 1
    w.tick(NOW - 400)  # within the window
    assert b.CALLBACKS_MISSED not in w.totals()
    w.tick(NOW)
    w.tick(NOW + 1)
    assert w.totals()[b.CALLBACKS_MISSED] == 1
    assert w.callbacks_waiting() == 1  # still to be placed
    w.apply(ev("callback_placed", NOW + 5))
    t = w.totals()
    assert (t[b.CALLBACKS_PLACED], t[b.CALLBACKS_MISSED], t.get(b.CALLBACKS_MET)) == (1, 1, None)
    w.apply(ev("callback_placed", NOW + 6))  # placed twice: counted once
    assert (w.totals()[b.CALLBACKS_PLACED], w.totals()[REPEATED]) == (1, 1)


def test_a_flow_out_to_a_queue_leaves_the_source_and_waits_in_the_target() -> None:
    w = World()
    w.apply(ev("offered", NOW - 100))
    w.apply(ev("flowed_out", NOW - 40, destination="queue", target_queue="b"))
    assert (w.waiting("a"), w.waiting("b")) == (0, 1)
    a, target = w.totals("a"), w.totals("b")
    assert (a[b.FLOWED_OUT], a[b.FLOWED_TO + "queue"], a[b.OFFERED]) == (1, 1, 1)
    assert target[b.OFFERED] == 1
    w.apply(ev("answered", NOW - 30, queue="b"))  # waited 10 s in b
    target = w.totals("b")
    assert (target[b.ANSWERED], target[b.WAIT_SUM], target[b.ANSWERED_WITHIN]) == (1, 10, 1)
    assert b.IRREGULAR + "not_offered" not in target
    # Not answered nor abandoned in a: its SL and abandon rate do not see it by default.
    assert parts(a, "answered_abandoned") == (0, 0)
    assert parts(a, "answered_abandoned", include_flow_outs=True) == (0, 1)


def test_a_flow_out_to_voicemail_or_an_unknown_queue_is_offered_nowhere() -> None:
    w = World()
    w.apply(ev("offered", NOW - 100, contact="v"))
    w.apply(ev("flowed_out", NOW - 50, contact="v", destination="voicemail"))
    w.apply(ev("offered", NOW - 100, contact="u"))
    w.apply(ev("flowed_out", NOW - 50, contact="u", destination="queue", target_queue="c"))
    a = w.totals("a")
    assert (a[b.FLOWED_OUT], a[b.FLOWED_TO + "voicemail"], a[UNKNOWN_TARGET]) == (2, 1, 1)
    assert "call|c" not in w.state.totals and w.waiting("a") == 0


def test_a_transfer_after_the_answer_is_counted_once_and_offered_to_the_target() -> None:
    w = World()
    w.apply(ev("offered", NOW - 300))
    w.apply(ev("answered", NOW - 290))
    w.apply(ev("transferred", NOW - 200, target_queue="b"))
    w.apply(ev("transferred", NOW - 199, target_queue="b"))  # the same transfer again
    a = w.totals("a")
    assert (a[b.TRANSFERRED], a[REPEATED], a[b.ANSWERED]) == (1, 1, 1)
    assert (w.totals("b")[b.OFFERED], w.waiting("b")) == (1, 1)
    # Back to a: a new visit there, answered again.
    w.apply(ev("answered", NOW - 150, queue="b"))
    w.apply(ev("transferred", NOW - 100, queue="b", target_queue="a"))
    assert w.waiting("a") == 1
    w.apply(ev("answered", NOW - 90))
    assert (w.totals("a")[b.ANSWERED], w.totals("a")[b.OFFERED], w.waiting("a")) == (2, 2, 0)
    w.apply(ev("abandoned_on_hold", NOW - 50, hold_seconds=40))
    w.apply(ev("abandoned_on_hold", NOW - 49))
    a = w.totals("a")
    assert (a[b.ABANDONED_ON_HOLD], a[REPEATED], a.get(b.ABANDONED)) == (1, 2, None)


def test_a_second_exit_changes_no_count() -> None:
    w = World()
    w.apply(ev("offered", NOW - 100))
    w.apply(ev("answered", NOW - 95))
    before = w.totals()
    for kind in ("abandoned", "answered", "callback_requested"):
        w.apply(ev(kind, NOW - 90, wait_seconds=3))
    w.apply(ev("flowed_out", NOW - 80, destination="queue", target_queue="b"))
    after = w.totals()
    assert after.pop(REPEATED) == 4
    assert after == before
    assert (w.waiting("b"), w.callbacks_waiting()) == (0, 0)


def test_an_exit_for_a_contact_never_offered_is_counted_and_marked_when_forgotten() -> None:
    w = World()
    w.apply(ev("abandoned", NOW - 10, wait_seconds=4))
    w.apply(ev("callback_requested", NOW - 10, contact="c2"))
    w.apply(ev("transferred", NOW - 10, contact="c3", target_queue="b"))
    w.apply(ev("answered", NOW - 10, contact="c4", wait_seconds=4))
    w.apply(ev("offered", NOW - 14, contact="c4"))  # overtaken by its answer: not missing
    t = w.totals()
    assert (t[b.ABANDONED], t[b.CALLBACKS], t[b.TRANSFERRED], t[b.ANSWERED]) == (1, 1, 1, 1)
    assert t[b.WAIT_UNKNOWN] == 1  # the callback's wait; the others said their own
    assert w.waiting() == 0 and w.waiting("b") == 1
    assert NOT_OFFERED not in t
    w.tick(NOW + 880)  # the closed markers are kept 15 minutes
    assert NOT_OFFERED not in w.totals()
    w.tick(NOW + 1000)
    assert w.totals()[NOT_OFFERED] == 3


def test_a_routed_offer_overtaken_by_the_answer_in_its_target_leaves_nothing_waiting() -> None:
    w = World()
    w.apply(ev("answered", NOW - 20, queue="b", wait_seconds=20))  # read first in b
    w.apply(ev("offered", NOW - 100))
    w.apply(ev("flowed_out", NOW - 40, destination="queue", target_queue="b"))
    assert (w.waiting("a"), w.waiting("b"), w.totals("b")[b.OFFERED]) == (0, 0, 1)
    w.tick(NOW + 1000)
    assert NOT_OFFERED not in w.totals("b")


def test_an_end_read_before_its_answer_leaves_the_answer_to_count() -> None:
    w = World()
    w.apply(ev("offered", NOW - 100))
    w.apply(ev("ended", NOW - 10, talk_seconds=50))
    w.apply(ev("answered", NOW - 60, wait_seconds=40))
    t = w.totals()
    assert (t[b.ANSWERED], t.get(REPEATED), w.waiting()) == (1, None, 0)


def test_an_offer_after_the_close_is_a_new_visit_and_a_late_offer_is_not() -> None:
    w = World()
    w.apply(ev("answered", NOW - 50, wait_seconds=5))
    w.apply(ev("offered", NOW - 55))  # its own offer, read late
    assert w.waiting() == 0
    w.apply(ev("offered", NOW - 20))  # offered again later: a new visit
    assert w.waiting() == 1
    w.apply(ev("abandoned", NOW - 10))
    t = w.totals()
    assert (t[b.ANSWERED], t[b.ABANDONED], t.get(REPEATED), w.waiting()) == (1, 1, None, 0)


KINDS = (
    "offered",
    "answered",
    "abandoned",
    "callback_requested",
    "callback_placed",
    "flowed_out",
    "transferred",
    "abandoned_on_hold",
    "ended",
)
steps = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.sampled_from(("c1", "c2", "c3")),
        st.sampled_from(QUEUES),
        st.integers(0, 900),  # seconds before NOW
        st.sampled_from(("queue", "voicemail", "site")),
        st.sampled_from(QUEUES),
        st.none() | st.floats(0, 120),
    ),
    max_size=40,
)


def event_of(step: tuple[str, str, str, int, str, str, float | None]) -> Event:
    kind, contact, queue, ago, destination, target, wait = step
    fields: dict[str, Any] = {}
    if kind in ("answered", "abandoned", "callback_requested", "flowed_out"):
        fields["wait_seconds"] = wait
    if kind == "flowed_out":
        fields["destination"] = destination
    if kind == "transferred" or (kind == "flowed_out" and destination == "queue"):
        fields["target_queue"] = target
    if kind == "ended":
        fields["talk_seconds"] = 10.0
    return ev(kind, NOW - ago, contact, queue, **fields)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_any_sequence_of_exits_keeps_every_count_consistent(
    sequence: list[tuple[str, str, str, int, str, str, float | None]],
) -> None:
    w = World()
    for step in sequence:
        w.apply(event_of(step))
    for queue in QUEUES:
        assert w.waiting(queue) <= w.totals(queue).get(b.OFFERED, 0)
    w.tick(NOW + 1000)  # every closed marker forgotten: the visits never offered marked
    # Nothing is routed to the unknown queue: its offers are the ones sent to it.
    direct = sum(1 for kind, _, queue, *_ in sequence if (kind, queue) == ("offered", "c"))
    assert w.totals("c").get(b.OFFERED, 0) == direct
    for queue in QUEUES:
        t = w.totals(queue)
        waiting, callbacks = w.waiting(queue), w.callbacks_waiting(queue)
        assert waiting >= 0 and callbacks >= 0
        assert all(v >= 0 for v in t.values()), t
        exits = sum(t.get(n, 0) for n in (b.ANSWERED, b.ABANDONED, b.CALLBACKS, b.FLOWED_OUT))
        # Every visit leaves once: the exits of visits that were offered, plus those marked
        # not offered, never more than the offers and the unmatched exits.
        assert exits <= t.get(b.OFFERED, 0) + t.get(NOT_OFFERED, 0)
        assert waiting <= t.get(b.OFFERED, 0)
        for good, eligible in (
            parts(t, p, include_flow_outs=True) for p in ("answered", "all_exits")
        ):
            assert 0 <= good <= eligible
        assert callbacks <= t.get(b.CALLBACKS, 0)
        placed = t.get(b.CALLBACKS_PLACED, 0)
        assert t.get(b.CALLBACKS_MET, 0) + t.get(b.CALLBACKS_MISSED, 0) <= placed + callbacks
        # Nothing of a contact leaks as a pending callback in another key space.
        for key, entry in w.state.live.get(f"call|{queue}", {}).items():
            assert entry["k"] != "cb" or key.startswith(CALLBACK_KEY)
