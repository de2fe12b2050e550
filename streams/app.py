"""The Faust application and the ``ccmon`` command line.

``ccmon worker`` (and every other Faust command) is the Faust app's own ``main()``. Our
commands — ``demo``, ``simulate``, ``validate`` — sit beside it: they are argparse
programs that need no Kafka connection to print their help, so they are dispatched before
Faust's click CLI is loaded.
"""

from __future__ import annotations

import ssl
import sys
from typing import Any

import faust

from streams import transport
from streams.settings import Settings, get_settings

OWN_COMMANDS = ("demo", "simulate", "validate")


def _credentials(settings: Settings) -> Any:
    if settings.kafka_security_protocol == "PLAINTEXT":
        return None
    context = ssl.create_default_context() if "SSL" in settings.kafka_security_protocol else None
    if settings.kafka_security_protocol == "SSL":
        return context
    return faust.SASLCredentials(
        username=settings.kafka_sasl_username,
        password=settings.kafka_sasl_password,
        mechanism=settings.kafka_sasl_mechanism,
        ssl_context=context,
    )


def create_app(settings: Settings) -> faust.App:
    scheme = transport.register()
    brokers = ";".join(f"{scheme}://{hostport.strip()}" for hostport in settings.kafka.split(","))
    return faust.App(
        settings.app_id,
        broker=brokers,
        broker_credentials=_credentials(settings),
        store=settings.store,
        datadir=str(settings.data_dir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        table_standby_replicas=settings.standby_replicas,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=settings.commit_interval_seconds,
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_seconds / 3),
        producer_acks=-1,
        processing_guarantee="at_least_once",
        web_enabled=True,
        web_bind=settings.web_host,
        web_port=settings.web_port,
        # Faust's router and table blueprints serve raw table contents: contact ids.
        web_router_enabled=False,
        web_tables_enabled=False,
        # Faust's own Prometheus monitor records ~0 ms latencies; ours is agents.sensor.
        monitor=None,
        version=1,
    )


app = create_app(get_settings())


def main() -> None:
    argv = sys.argv[1:]
    if argv and argv[0] in OWN_COMMANDS:
        from streams.commands import run_command

        raise SystemExit(run_command(argv[0], argv[1:]))
    if not argv or argv[0] in ("-h", "--help"):
        print(
            "ccmon's own commands: demo, simulate, validate (ccmon COMMAND --help).\n"
            "Faust's commands follow; `ccmon worker -l info` runs a worker.\n"
        )
    if argv and argv[0] == "worker" and not {"-h", "--help"} & set(argv):
        from streams.preflight import PreflightError, run_preflight

        try:
            run_preflight(get_settings())
        except PreflightError as exc:
            raise SystemExit(f"ccmon worker: {exc}") from exc
    # Registering the agents, tables and pages is what importing these modules does.
    import agents.worker  # noqa: F401
    import streams.ingest  # noqa: F401

    app.main()
