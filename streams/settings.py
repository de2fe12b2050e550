"""Worker settings, declared once, typed, read from ``CCMON_*`` environment variables.

Every field's env name is ``CCMON_`` + the upper-cased field name; ``docs/configuration.md``
lists them. The queue-level policy (thresholds, targets, time zones) is not here: it lives in
the queue YAML file named by ``CCMON_QUEUE_CONFIG`` (see :mod:`streams.config`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The windows the worker computes (ccmon.agents.domain.buckets.WINDOWS, repeated here because the
# settings sit below the agents): validated so that a typo fails at start-up.
WINDOWS = ("5m", "15m", "30m", "1h", "interval_15m", "interval_30m", "today")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CCMON_", extra="ignore")

    app_id: str = Field("ccmon", description="Faust app id: consumer group and table prefix.")
    kafka: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers, comma separated.")
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"] = Field(
        "PLAINTEXT", description="Kafka security protocol."
    )
    kafka_sasl_mechanism: str = Field("PLAIN", description="SASL mechanism when SASL is used.")
    kafka_sasl_username: str = Field("", description="SASL user name.")
    kafka_sasl_password: str = Field("", description="SASL password (use a Secret).")
    kafka_ssl_ca_file: Path | None = Field(
        None,
        description="PEM file of the CA that signed the brokers' certificates (SSL, "
        "SASL_SSL); None = the system's CA bundle.",
    )
    kafka_ssl_cert_file: Path | None = Field(
        None, description="PEM client certificate, for brokers that require mutual TLS."
    )
    kafka_ssl_key_file: Path | None = Field(
        None, description="PEM private key of the client certificate (unencrypted)."
    )
    produce_timeout_seconds: float = Field(
        60.0,
        gt=0,
        description="How long a record sent to Kafka (dead-letter, repartition) may wait for "
        "its acknowledgement before the batch is sent again (and the delay logged).",
    )
    redis: str = Field(
        "redis://127.0.0.1:6379/0",
        description="Redis URL: counting state and duplicate guard. redis:// or rediss:// for "
        "one server; redis+cluster://host:port[,host:port...] (rediss+cluster:// with TLS) for "
        "a Redis Cluster or Valkey cluster, through any of the seeds listed; "
        "redis+sentinel://host:port[,host:port...]/primary-name/db for Redis Sentinel.",
    )
    redis_prefix: str = Field("ccmon", description="Prefix of every Redis key ccmon writes.")

    topic_calls: str = Field("contact-center.calls", description="Source topic of call events.")
    topic_chats: str = Field("contact-center.chats", description="Source topic of chat events.")
    topic_tickets: str = Field("contact-center.tickets", description="Source topic of tickets.")
    topic_agents: str = Field(
        "contact-center.agents",
        description="Source topic of agent state events (logged in, state, skills).",
    )
    topic_dead_letter: str = Field(
        "contact-center.dead-letter", description="Where rejected events go, bytes unchanged."
    )
    topic_records: str | None = Field(
        None,
        description="Compacted topic of the closed interval and day records (ccmon report "
        "reads it); None = <CCMON_APP_ID>-records.",
    )
    dead_letter_retention_hours: float = Field(
        168.0,
        gt=0,
        description="Retention of the dead-letter topic when the worker creates it (it holds "
        "the rejected records' original bytes, personal data included).",
    )
    dead_letter_max_bytes: int = Field(
        1_000_000,
        ge=1024,
        le=8_000_000,
        description="Longest value kept in a dead-letter record; longer ones are cut to this "
        "many bytes (header ccmon-truncated-from holds the original length).",
    )
    partitions: int = Field(
        8,
        ge=1,
        description="Partitions of the internal repartition topic: the unit of state ownership.",
    )
    declare_source_topics: bool = Field(
        False, description="Create missing source topics (demo, tests); never alters them."
    )
    source_partitions: int = Field(
        3, ge=1, description="Partitions of source topics the worker creates."
    )
    session_timeout_seconds: float = Field(
        10.0,
        gt=1,
        description="Kafka group session timeout: how soon a dead worker's "
        "partitions move to the others (heartbeats every third of it).",
    )
    replication_factor: int = Field(1, ge=1, description="Replication of internal topics.")
    commit_interval_seconds: float = Field(
        2.8,
        gt=0,
        description="How often consumed offsets are committed: what a crashed worker's "
        "successor reads again (exactly: the duplicate guard drops what was counted).",
    )

    queue_config: Path | None = Field(None, description="Queue YAML file; None = defaults.")
    clock: Literal["wall", "stream"] = Field(
        "wall",
        description="'wall': windows end at the wall clock (live). 'stream': windows end at the "
        "largest event time seen (replays, accelerated simulations, golden tests).",
    )
    bucket_retention_minutes: int = Field(
        120, ge=61, description="How long 1-minute buckets are kept (>= the 1h window)."
    )
    day_retention_days: int = Field(3, ge=2, description="How long daily aggregates are kept.")
    record_grace_seconds: float = Field(
        120.0,
        ge=0,
        le=86400,
        description="How long after its end (in the partition's event time) an interval or "
        "day is closed and its record written; later events write a revision.",
    )
    record_revision_days: int = Field(
        3,
        ge=1,
        le=35,
        description="How long a closed interval or day record can be revised by a late event "
        "(its counts are kept that long); older events reach the cumulative counters only.",
    )
    dedupe_ttl_seconds: int = Field(
        86400,
        ge=60,
        description="Duplicate-guard memory, in event time: a minute's guard is dropped once the "
        "partition's event time (the wall clock when live) is this far past it; its Redis keys "
        "also expire this plus an hour after their last write.",
    )
    batch_max_events: int = Field(
        1000,
        ge=1,
        description=(
            "Most events an agent takes in one batch, and most events counted per Redis"
            " write (a longer batch is counted in steps, so the event loop never waits long)."
        ),
    )
    catch_up_lag_records: int = Field(
        10_000,
        ge=0,
        description="Records behind (summed over the worker's partitions) from which a worker "
        "catches up: forecasts slowed, the wall's documents published every 2 s only, "
        "until it is behind by less than half that. 0 = never.",
    )
    batch_max_wait_seconds: float = Field(
        0.05,
        gt=0,
        description="Longest an agent waits to fill a batch: the latency it adds per hop.",
    )
    tick_interval_seconds: float = Field(
        10.0,
        gt=0,
        description="How often each owned partition is expired (old buckets, long waits).",
    )
    windows: Annotated[list[str], NoDecode] = Field(
        ["30m", "today"],
        description="Windows exported on /metrics (comma separated; any of 5m, 15m, 30m, 1h, "
        "interval_15m, interval_30m, today). The Redis read model always has all of them.",
    )
    export_ratios: bool = Field(
        False,
        description="Also export the KPI ratio gauges (ccmon_service_level_ratio ...) per "
        "window; by default recording rules derive them from the windowed counts.",
    )
    export_detail: bool = Field(
        False,
        description="Also export secondary counters, full histogram ladders and windowed sums "
        "(docs/metrics.md, series budget).",
    )
    snapshot_interval_seconds: float = Field(1.0, gt=0, description="Redis read-model refresh.")
    snapshot_ttl_seconds: int = Field(5, ge=2, description="TTL of a read-model entry.")
    agent_board: bool = Field(
        False,
        description="Publish each agent's state, reason and queues in the read model, for "
        "the wall's agent board (agent ids: personal data, docs/wall.md).",
    )
    web_host: str = Field("0.0.0.0", description="Bind address of /metrics.")
    web_port: int = Field(6066, ge=0, le=65535, description="Port of /metrics.")
    data_dir: Path = Field(
        Path("/tmp/ccmon"),
        description="Faust data directory (no state is kept there: it lives in Redis).",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="'text', or 'json': one JSON object per line (time, level, logger, message, "
        "partition where known) for Loki or Elasticsearch, Faust's and aiokafka's lines too.",
    )
    max_future_skew_seconds: float = Field(300.0, description="Reject events further ahead.")
    agent_silence_seconds: float = Field(
        43200.0,
        gt=0,
        description="An agent with no event for this long is taken as logged out (a lost "
        "logged_out); event time, like every window.",
    )
    forecast_window: Literal["15m", "30m"] = Field(
        "30m",
        description="Window of the staffing forecast's inputs (arrival rate, handle time, "
        "patience).",
    )
    forecast_refresh_seconds: float = Field(
        10.0,
        ge=0,
        description="Most wall seconds a queue's forecast is reused (unless its staffing or "
        "window minute changed): Erlang A costs milliseconds.",
    )

    @field_validator("windows", mode="before")
    @classmethod
    def _split_windows(cls, value: object) -> object:
        if isinstance(value, str):
            value = [w.strip() for w in value.split(",") if w.strip()]
        return value

    @field_validator("windows")
    @classmethod
    def _known_windows(cls, value: list[str]) -> list[str]:
        unknown = [w for w in value if w not in WINDOWS]
        if unknown:
            raise ValueError(f"unknown windows {unknown}; choose among {', '.join(WINDOWS)}")
        return [w for w in WINDOWS if w in value]  # canonical order, no repeats

    @property
    def records_topic(self) -> str:
        return self.topic_records or f"{self.app_id}-records"

    def topic_channels(self) -> dict[str, str]:
        """Source topic name -> channel label."""
        return {
            self.topic_calls: "call",
            self.topic_chats: "chat",
            self.topic_tickets: "ticket",
            self.topic_agents: "agent",
        }
