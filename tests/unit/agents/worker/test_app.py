"""The composition root: an app per test, with its own settings, and nothing global."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ccmon.agents.worker.app import build_app
from ccmon.streams.kafka.intake import intakes_of
from ccmon.streams.settings import Settings


def test_two_apps_with_different_settings_live_side_by_side(
    app_factory: Callable[..., Any],
) -> None:
    first = app_factory(partitions=2, topic_calls="site-a.calls")
    second = app_factory(app_id="other", partitions=5, topic_calls="site-b.calls")
    assert first is not second
    assert first.conf.id != second.conf.id
    assert "site-a.calls" in intakes_of(first) and "site-b.calls" not in intakes_of(first)
    assert "site-b.calls" in intakes_of(second)
    assert first.agents["ccmon.count"].channel.partitions == 2
    assert second.agents["ccmon.count"].channel.partitions == 5
    assert second.agents["ccmon.count"].channel.get_topic_name() == "other-events-by-queue"


def test_the_app_registers_its_agents_timers_and_pages(app_factory: Callable[..., Any]) -> None:
    app = app_factory()
    assert set(app.agents) == {"ccmon.count"}
    # The sources are read by ingest tasks from their intakes, subscribed as topics.
    sources = {f"contact-center.{n}" for n in ("calls", "chats", "tickets", "agents")}
    assert set(intakes_of(app)) == sources
    assert sources <= {name for topic in app.topics for name in topic.topics}
    assert not app.tables, "the state is in Redis: no Faust table, no changelog, no recovery"
    timers = {t.__name__ for t in app._app_tasks}
    assert {"expire", "publish_snapshot"} <= timers
    assert {f"ingest_{c}" for c in ("call", "chat", "ticket", "agent")} <= timers
    # Only these two: Faust's table and router pages would serve contact ids.
    assert set(app.web.views) == {"/metrics", "/healthz"}
    assert app.web.blueprints._enabled == []  # not even Faust's status page at "/"


def test_building_an_app_connects_to_nothing(tmp_path: Any) -> None:
    # Unreachable brokers and Redis: building must not touch them (only a worker's start does).
    settings = Settings(kafka="192.0.2.1:9", redis="redis://192.0.2.1:9/0", data_dir=tmp_path)
    app = build_app(settings)
    assert app.conf.broker[0].host == "192.0.2.1"


def test_a_released_record_is_not_awaited_by_a_revocation(app_factory: Callable[..., Any]) -> None:
    """countagent.release relies on Faust's consumer tracking the records it delivered in
    ``_unacked_messages``; a release of Faust that renamed it would hang revocations again."""
    from ccmon.agents.worker.countagent import release

    class Message:  # weakly referenced, as Faust's are
        acked = False

    consumer = app_factory().consumer
    message = Message()
    consumer._unacked_messages.add(message)
    release(consumer, message)
    assert message not in consumer._unacked_messages
    assert message.acked is False  # not acknowledged: no commit passes it
