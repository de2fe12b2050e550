"""Real ``ccmon worker`` processes for integration tests (the dev kit's launcher with the
suite's defaults) and their /metrics as samples."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from ccmon.agents.devkit.launcher import WorkerProcess, owned_partitions
from ccmon.agents.devkit.procs import free_port

Sample = tuple[str, tuple[tuple[str, str], ...]]


class Worker(WorkerProcess):
    """One worker of the test's app. ``env`` adds CCMON_* settings to the test defaults."""

    def __init__(
        self,
        kafka: str,
        redis: str,
        workdir: Path,
        app_id: str,
        env: dict[str, str] | None = None,
        name: str = "w1",
        port: int | None = None,
    ) -> None:
        settings = {
            "CCMON_APP_ID": app_id,
            "CCMON_KAFKA": kafka,
            "CCMON_REDIS": redis,
            "CCMON_REDIS_PREFIX": app_id,
            "CCMON_PARTITIONS": "4",
            "CCMON_SESSION_TIMEOUT_SECONDS": "10",
            "CCMON_TOPIC_AGENTS": f"{app_id}.agents",  # one per test app, like its others
            **(env or {}),
        }
        super().__init__(settings, workdir, name, port or free_port())

    def start(
        self, wait_assigned: bool = True, timeout: float = 90.0, all_partitions: bool = False
    ) -> Worker:
        """Wait until the worker owns partitions (or, with ``all_partitions``, every one of
        them: a group that still lists a killed member only settles after its session
        timeout)."""
        want = int(self.settings["CCMON_PARTITIONS"]) if all_partitions else 1
        super().start()
        self.wait_ready(timeout, lambda h: not wait_assigned or owned_partitions(h) >= want)
        return self

    def samples(self) -> dict[Sample, float]:
        out: dict[Sample, float] = {}
        for family in text_string_to_metric_families(self.metrics_text(timeout=10)):
            for s in family.samples:
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return out
