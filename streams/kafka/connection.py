"""Kafka connection options from the settings, for Faust and for plain aiokafka clients
(the preflight's admin client, the health probe): one reading of the security settings."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any

import faust
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError

from ccmon.streams.settings import Settings

# Faust's default; a dead-letter record may be longer (CCMON_DEAD_LETTER_MAX_BYTES + headers).
_MIN_REQUEST_BYTES = 1_000_000
_HEADER_ROOM_BYTES = 64 * 1024


class KafkaSettingsError(ValueError):
    """The CCMON_KAFKA_* settings cannot work as given; the message names the setting."""


def _ssl_context(settings: Settings) -> ssl.SSLContext | None:
    files = {
        "CCMON_KAFKA_SSL_CA_FILE": settings.kafka_ssl_ca_file,
        "CCMON_KAFKA_SSL_CERT_FILE": settings.kafka_ssl_cert_file,
        "CCMON_KAFKA_SSL_KEY_FILE": settings.kafka_ssl_key_file,
    }
    if "SSL" not in settings.kafka_security_protocol:
        given = sorted(name for name, path in files.items() if path is not None)
        if given:
            # Certificates with a plaintext protocol would be ignored: a silent downgrade.
            raise KafkaSettingsError(
                f"{', '.join(given)} set but CCMON_KAFKA_SECURITY_PROTOCOL="
                f"{settings.kafka_security_protocol}; use SSL or SASL_SSL"
            )
        return None
    cert, key = settings.kafka_ssl_cert_file, settings.kafka_ssl_key_file
    if (cert is None) != (key is None):
        raise KafkaSettingsError(
            "CCMON_KAFKA_SSL_CERT_FILE and CCMON_KAFKA_SSL_KEY_FILE go together (mutual TLS)"
        )
    name, path = "CCMON_KAFKA_SSL_CA_FILE", settings.kafka_ssl_ca_file
    try:
        context = ssl.create_default_context(cafile=path)
        if cert is not None and key is not None:
            name, path = "CCMON_KAFKA_SSL_CERT_FILE", cert
            context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise KafkaSettingsError(f"{name}={path}: cannot be used ({exc})") from exc
    return context


def bootstrap_servers(settings: Settings) -> list[str]:
    return [hostport.strip() for hostport in settings.kafka.split(",") if hostport.strip()]


def faust_credentials(settings: Settings) -> Any:
    """What ``faust.App(broker_credentials=...)`` takes: None, an SSL context, or SASL."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        _ssl_context(settings)  # refuses certificate files given with a plaintext protocol
        return None
    if protocol == "SSL":
        return _ssl_context(settings)
    return faust.SASLCredentials(
        username=settings.kafka_sasl_username,
        password=settings.kafka_sasl_password,
        mechanism=settings.kafka_sasl_mechanism,
        ssl_context=_ssl_context(settings),
    )


def max_request_bytes(settings: Settings) -> int:
    """The producer's largest record: a dead-letter record keeps up to
    ``CCMON_DEAD_LETTER_MAX_BYTES`` of the original value, plus its headers."""
    return max(_MIN_REQUEST_BYTES, settings.dead_letter_max_bytes + _HEADER_ROOM_BYTES)


def client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of aiokafka's clients (``AIOKafkaAdminClient(**options)``)."""
    options: dict[str, Any] = {"bootstrap_servers": bootstrap_servers(settings)}
    protocol = settings.kafka_security_protocol
    context = _ssl_context(settings)
    if protocol != "PLAINTEXT":
        options["security_protocol"] = protocol
        if context is not None:
            options["ssl_context"] = context
        if protocol.startswith("SASL"):
            options["sasl_mechanism"] = settings.kafka_sasl_mechanism
            options["sasl_plain_username"] = settings.kafka_sasl_username
            options["sasl_plain_password"] = settings.kafka_sasl_password
    return options


def describe(exc: BaseException) -> str:
    """``Name: message`` once (aiokafka's errors already start with their name)."""
    name, text = type(exc).__name__, str(exc)
    return text if text.startswith(name) else f"{name}: {text}".rstrip(": ")


class BrokerProbe:
    """Whether the cluster answers a metadata request right now (``/healthz``,
    ``ccmon_kafka_up``). A client of its own: Faust's consumer runs in a thread of its own
    and its producer hides connection state; a metadata request is what any client needs
    first, and the cheapest thing a broker answers."""

    def __init__(self, settings: Settings, timeout: float = 5.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self._client: Any = None

    async def check(self) -> str:
        """ "" when the cluster answered, else why it did not."""
        try:
            async with asyncio.timeout(self.timeout):
                if self._client is None:
                    client = AIOKafkaClient(
                        **client_options(self.settings),
                        request_timeout_ms=int(self.timeout * 1000),
                    )
                    try:
                        await client.bootstrap()
                    except BaseException:
                        await client.close()
                        raise
                    self._client = client
                await self._client.fetch_all_metadata()
        except (KafkaError, OSError, TimeoutError) as exc:
            # The next check starts again from the bootstrap servers. A client bootstrapped
            # by a broker that was shutting down (its metadata answer named no broker) knew
            # only that connection; once it closed, it had no node left to ask and reported
            # Kafka down for ever, the broker back long since (DEVELOPERS.md, pitfall 69).
            await self.close()
            return describe(exc)
        return ""

    async def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(KafkaError, OSError):
                await self._client.close()
            self._client = None
