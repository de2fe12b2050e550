"""The worker's own Kafka probe (``/healthz``, ``ccmon_kafka_up``) on a real broker."""

from __future__ import annotations

import asyncio

import pytest

from ccmon.streams.kafka.connection import BrokerProbe
from ccmon.streams.settings import Settings
from tests.support.services import KafkaServer

pytestmark = pytest.mark.integration


def test_a_probe_that_knows_no_broker_any_more_asks_the_bootstrap_servers_again(
    kafka: KafkaServer,
) -> None:
    """DEVELOPERS.md, pitfall 69: a worker started while its broker was shutting down
    reported Kafka down for ever, though it counted again once the broker was back."""

    async def scenario() -> list[str]:
        probe = BrokerProbe(Settings(kafka=kafka.bootstrap))
        answers = [await probe.check()]
        # The state that broker left the probe's client in: its metadata answer named no
        # broker, and the one connection it had (aiokafka's "bootstrap" node) then closed.
        # aiokafka's own fields: a release that renames them fails this test loudly.
        client = probe._client
        client.cluster._brokers.clear()
        for conn in client._conns.values():
            conn.close()
        client._conns.clear()
        answers.append(await probe.check())  # nobody to ask
        answers.append(await probe.check())  # the bootstrap servers, again
        await probe.close()
        return answers

    first, stuck, again = asyncio.run(scenario())
    assert first == ""
    assert stuck != ""
    assert again == "", "the probe did not go back to the bootstrap servers"
