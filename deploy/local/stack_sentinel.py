"""How Redis Sentinel starts on 127.0.0.1, and how we know it answers (used by
:mod:`deploy.local.stack`). Standard library only, like the rest of the stack.

A primary and its replicas are ``redis`` services, a replica's config naming its primary
(``replicaof 127.0.0.1 PORT``); sentinels are ``sentinel`` services whose config names the
primary they watch (``sentinel monitor NAME 127.0.0.1 PORT QUORUM`` and its timings).
"""

from __future__ import annotations

from pathlib import Path

from ccmon.agents.devkit.procs import HOST
from deploy.local.stack_services import Launch, _redis_version, _require, ports, redis_info


def sentinel(work: Path, config: Path | None, keep: bool) -> Launch:
    """Debian's redis-sentinel. Its config file is its own, written here with the caller's
    lines copied in (not included): a sentinel rewrites its file as it learns the primary,
    its replicas and the other sentinels, and after a failover."""
    port = ports(work, keep, "sentinel")["sentinel"]
    conf = work / "ccmon-sentinel.conf"
    if not (keep and conf.exists()):
        own = config.read_text(encoding="utf-8") if config else ""
        conf.write_text(
            f'port {port}\nbind {HOST}\ndir {work}\nlogfile ""\n{own}', encoding="utf-8"
        )
    argv = [_require("redis-sentinel"), str(conf)]

    def probe() -> dict[str, str] | None:
        info = redis_info(HOST, port)
        return {
            "SENTINEL_ADDRESS": f"{HOST}:{port}",
            "SENTINEL_VERSION": info.get("redis_version") or _redis_version(),
        }

    return Launch(argv, probe, [])
