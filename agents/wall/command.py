"""``ccmon wall``: the wall server's command line.

Flags win over ``CCMON_WALL_*`` settings, which win over the built-in defaults; the read
model's Redis, prefix and timing come from the workers' ``CCMON_*`` settings unless given.
Secrets are better passed as ``CCMON_WALL_TOKEN`` / ``CCMON_WALL_BASIC_AUTH`` than as flags,
which every user of the machine can read in the process list.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from pydantic import ValidationError

from ccmon.agents.wall.server import WallConfig, build_web_app
from ccmon.agents.wall.settings import WallSettings
from ccmon.agents.wall.wallconfig import LANGUAGES, WallFile, check_queues, load_wall_config
from ccmon.streams import logs
from ccmon.streams.config import load_queue_config
from ccmon.streams.configfile import ConfigError, settings_problems
from ccmon.streams.logs import refusal
from ccmon.streams.settings import Settings

log = logging.getLogger(__name__)

# Delayed after this long without a republication: three missed snapshots, but at least
# 3 s (the bound) and never beyond the TTL, after which the document is gone.
MISSED_SNAPSHOTS = 3
MIN_STALE_SECONDS = 3.0


def stale_after(interval: float, ttl: float) -> float:
    return min(float(ttl), max(MIN_STALE_SECONDS, MISSED_SNAPSHOTS * interval))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ccmon wall",
        description="Serve the live wall page (Server-Sent Events from the Redis read model "
        "the workers publish every second). Read-only; docs/wall.md.",
    )
    p.add_argument("--redis", help="Redis URL of the read model (default: $CCMON_REDIS)")
    p.add_argument("--prefix", help="Redis key prefix (default: $CCMON_REDIS_PREFIX)")
    p.add_argument("--host", help="bind address (default: $CCMON_WALL_HOST or 0.0.0.0)")
    p.add_argument("--port", type=int, help="port (default: $CCMON_WALL_PORT or 8080)")
    p.add_argument(
        "--alertmanager",
        metavar="URL",
        help="list this Alertmanager's firing page alerts in a red banner",
    )
    p.add_argument("--alert-matcher", help='which alerts page (default: severity="page")')
    p.add_argument("--timezone", help="IANA zone of the header clock (default: the queues')")
    p.add_argument("--token", help="require ?token=... (prefer $CCMON_WALL_TOKEN)")
    p.add_argument("--basic-auth", metavar="USER:PASSWORD", help="prefer $CCMON_WALL_BASIC_AUTH")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="screens, rotations, teams, agent names (default: $CCMON_WALL_CONFIG); docs/wall.md",
    )
    p.add_argument("--language", choices=LANGUAGES, help="of the screens (default: en)")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    return p


def _settings() -> tuple[Settings, WallSettings]:
    """Both settings, or SystemExit saying which variables are wrong (one line each)."""
    problems = []
    try:
        worker = Settings()
    except ValidationError as exc:
        problems += settings_problems(exc, "CCMON_")
    try:
        wall = WallSettings()
    except ValidationError as exc:
        problems += settings_problems(exc, "CCMON_WALL_")
    if problems:
        raise SystemExit("\n".join(refusal("wall", [p.line() for p in problems])))
    return worker, wall


def config_from(
    args: argparse.Namespace, worker: Settings, wall: WallSettings
) -> tuple[WallConfig, str, int]:
    timezone = args.timezone if args.timezone is not None else wall.timezone
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a folder
            raise SystemExit(*refusal("wall", [f"unknown time zone {timezone!r}"])) from None
    basic = args.basic_auth if args.basic_auth is not None else wall.basic_auth
    if basic and ":" not in basic:
        raise SystemExit(*refusal("wall", ["--basic-auth must be USER:PASSWORD"]))
    screens = _screens(args.config or wall.config, worker.queue_config)
    if screens.agent_board and not (args.token or wall.token or basic):
        raise SystemExit(
            *refusal(
                "wall",
                [
                    "agent_board: true shows agents by name: set CCMON_WALL_TOKEN or "
                    'CCMON_WALL_BASIC_AUTH (docs/wall.md, "Personal data")'
                ],
            )
        )
    config = WallConfig(
        redis=args.redis or worker.redis,
        prefix=args.prefix or worker.redis_prefix,
        stale_after=stale_after(worker.snapshot_interval_seconds, worker.snapshot_ttl_seconds),
        ttl=float(worker.snapshot_ttl_seconds),
        alertmanager=args.alertmanager if args.alertmanager is not None else wall.alertmanager,
        alert_matcher=args.alert_matcher or wall.alert_matcher,
        token=args.token if args.token is not None else wall.token,
        basic_auth=basic,
        timezone=timezone,
        language=args.language or wall.language or screens.language,
        screens=screens,
    )
    host = args.host or wall.host
    port = args.port if args.port is not None else wall.port
    return config, host, port


def _screens(path: str, queue_config: Path | None) -> WallFile:
    """The wall's configuration, its queues checked against the workers' queue
    configuration; SystemExit with one line per problem."""
    if not path:
        return WallFile()
    try:
        screens = load_wall_config(path)
        queues = None if queue_config is None else load_queue_config(queue_config)
        check_queues(screens, None if queues is None else queues.configured_queues, path)
    except ConfigError as exc:
        raise SystemExit("\n".join(refusal("wall", exc.lines))) from None
    return screens


def run_wall(args: argparse.Namespace) -> int:
    worker, wall = _settings()
    logs.configure(worker.log_format, args.log_level)
    config, host, port = config_from(args, worker, wall)
    auth = "token" if config.token else "basic" if config.basic_auth else "none"
    # Logged, not printed: in JSON logs (CCMON_LOG_FORMAT=json) it is a line like the others.
    log.info(
        "ccmon wall: http://%s:%s/ (read model %s:live:* , delayed after %gs, auth %s%s)",
        host, port, config.prefix, config.stale_after, auth,
        f", alerts from {config.alertmanager}" if config.alertmanager else "",
    )  # fmt: skip
    # Streams end at once on shutdown: a screen reconnects by itself (EventSource).
    web.run_app(
        build_web_app(config), host=host, port=port, print=None, shutdown_timeout=1.0,
        access_log=None,
    )  # fmt: skip
    return 0
