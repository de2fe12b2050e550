"""Kafka connection options from the settings, for Faust and for plain aiokafka clients
(the preflight's admin client): one reading of the security settings."""

from __future__ import annotations

import ssl
from typing import Any

import faust

from ccmon.streams.settings import Settings


def _ssl_context(settings: Settings) -> ssl.SSLContext | None:
    if "SSL" not in settings.kafka_security_protocol:
        return None
    return ssl.create_default_context()


def bootstrap_servers(settings: Settings) -> list[str]:
    return [hostport.strip() for hostport in settings.kafka.split(",") if hostport.strip()]


def faust_credentials(settings: Settings) -> Any:
    """What ``faust.App(broker_credentials=...)`` takes: None, an SSL context, or SASL."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    if protocol == "SSL":
        return _ssl_context(settings)
    return faust.SASLCredentials(
        username=settings.kafka_sasl_username,
        password=settings.kafka_sasl_password,
        mechanism=settings.kafka_sasl_mechanism,
        ssl_context=_ssl_context(settings),
    )


def client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of aiokafka's clients (``AIOKafkaAdminClient(**options)``)."""
    options: dict[str, Any] = {"bootstrap_servers": bootstrap_servers(settings)}
    protocol = settings.kafka_security_protocol
    if protocol != "PLAINTEXT":
        options["security_protocol"] = protocol
        if (context := _ssl_context(settings)) is not None:
            options["ssl_context"] = context
        if protocol.startswith("SASL"):
            options["sasl_mechanism"] = settings.kafka_sasl_mechanism
            options["sasl_plain_username"] = settings.kafka_sasl_username
            options["sasl_plain_password"] = settings.kafka_sasl_password
    return options
