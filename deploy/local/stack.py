"""Start and stop real Kafka (KRaft), Redis, Redis Sentinel, Prometheus and Alertmanager on
127.0.0.1.

    python3 -m deploy.local.stack start kafka DIR
    python3 -m deploy.local.stack start redis-cluster DIR   # 3 primaries + 3 replicas
    python3 -m deploy.local.stack start prometheus DIR --config prometheus.yml
    python3 -m deploy.local.stack env kafka DIR        # KEY=value lines of a running one
    python3 -m deploy.local.stack stop kafka DIR       # or: stop all DIR
    python3 -m deploy.local.stack restart kafka DIR    # stop, start again on its data

`start` prints shell `KEY=value` lines on stdout (so `eval "$(... start redis DIR)"` works),
writes them to DIR/<service>.env and the pid to DIR/<service>.pid, and returns only once the
service really answers. Each start picks free ports and wipes DIR/<service>/ (data and logs);
`start --keep-data` (and `restart`) keeps them and the ports of the previous start instead,
so clients see the same service come back (what the fault tests do to a broker). Whether
Redis kept anything depends on its config: by default it persists nothing.
Standard library only: the Makefile and the demo run it with whatever python3 is there, the
test fixtures import it. Binaries come from deploy/local/install.sh (`make deps`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

from ccmon.agents.devkit import procs
from ccmon.agents.devkit.procs import free_port
from deploy.local.stack_cluster import CLUSTERS, cluster_recipe
from deploy.local.stack_sentinel import sentinel
from deploy.local.stack_services import RECIPES as SINGLE_RECIPES
from deploy.local.stack_services import SERVICES as SINGLE_SERVICES
from deploy.local.stack_services import (
    START_TIMEOUT,
    STOP_TIMEOUT,
    Launch,
    PortTaken,
    StackError,
    cache_dir,
    kafka_libs,
    kafka_metadata,
    kafka_version,
    redis_info,
    tail,
)

__all__ = [
    "SERVICES",
    "StackError",
    "cache_dir",
    "env_name",
    "free_port",
    "kafka_libs",
    "kafka_metadata",
    "kafka_version",
    "read_env",
    "redis_info",
    "restart",
    "start",
    "stop",
]

# `start all` starts the single services; `stop all` stops the clusters too.
SERVICES = (*SINGLE_SERVICES, *CLUSTERS)
RECIPES = {
    **SINGLE_RECIPES,
    "sentinel": sentinel,
    **{name: cluster_recipe(name) for name in CLUSTERS},
}


def env_name(service: str) -> str:
    """The prefix of a service's env keys: ``REDIS``, ``REDIS_CLUSTER``..."""
    return service.upper().replace("-", "_")


# ---- process bookkeeping -----------------------------------------------------------


def _files(service: str, directory: Path) -> tuple[Path, Path, Path]:
    return directory / f"{service}.pid", directory / f"{service}.env", directory / service


def _start_ticks(pid: int) -> str | None:
    """Kernel start time of a live (non-zombie) pid; guards against pid reuse on stop."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


def _owned_pid(service: str, directory: Path) -> int | None:
    pid_file, _, work = _files(service, directory)
    try:
        pid = int(pid_file.read_text().split()[0])
        ticks = (work / "proc-start").read_text().strip()
    except (OSError, ValueError, IndexError):
        return None
    return pid if _start_ticks(pid) == ticks else None


def read_env(service: str, directory: Path) -> dict[str, str] | None:
    """The env of a service started in `directory` that is still running, else None."""
    directory = Path(directory).resolve()
    env_file = _files(service, directory)[1]
    if _owned_pid(service, directory) is None or not env_file.exists():
        return None
    pairs = (
        shlex.split(line)[0].split("=", 1) for line in env_file.read_text().splitlines() if line
    )
    return {k: v for k, v in pairs}


def _terminate(pid: int, timeout: float) -> bool:
    """SIGTERM, wait, then SIGKILL to the process group; True when it went by itself."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    clean = False
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaps it when it is our own child
        if _start_ticks(pid) is None:
            clean = True
            break
        time.sleep(0.1)
    if not clean:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)  # start_new_session made pid the group leader
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    return clean


def start(
    service: str,
    directory: Path,
    config: Path | None = None,
    *,
    timeout: float | None = None,
    die_with_parent: bool = False,
    keep_data: bool = False,
) -> dict[str, str]:
    """Start `service` in `directory` and return its env once it answers.

    Idempotent: a service already running from `directory` is returned as it is.
    `keep_data`: start on the data and the ports of the previous start (a restart).
    Raises StackError with the log tail when it fails to start in `timeout` seconds.
    """
    if service not in RECIPES:
        raise StackError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    if (running := read_env(service, directory)) is not None:
        return running
    stop(service, directory)  # one left half-started (pid but no env) by an interrupted start
    config = Path(config).resolve() if config else None
    if config and not config.is_file():
        raise StackError(f"{service} config {config} does not exist")
    pid_file, env_file, work = _files(service, directory)
    limit = timeout or START_TIMEOUT[service]
    if keep_data and not work.is_dir():
        raise StackError(f"{service} has no data in {work} to start again on")
    for attempt in range(3):
        if not keep_data:
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
        launch = RECIPES[service](work, config, keep_data)
        out = work / f"{service}.out"
        with out.open("ab") as log:
            proc = subprocess.Popen(
                launch.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=work,
                start_new_session=True,
                preexec_fn=procs.die_with_parent if die_with_parent else None,  # noqa: PLW1509
            )
        # Recorded before the wait, so that `stop` finds it even if this start is interrupted.
        (work / "proc-start").write_text(_start_ticks(proc.pid) or "", encoding="ascii")
        pid_file.write_text(f"{proc.pid}\n", encoding="ascii")
        try:
            env = _wait(service, proc, launch, [out, *launch.logs], limit)
        except BaseException as exc:
            # _wait already stopped a failed start; ^C or a test timeout land here too.
            _terminate(proc.pid, 10)
            pid_file.unlink(missing_ok=True)
            if isinstance(exc, PortTaken) and attempt < 2 and not keep_data:
                continue  # new ports; a restart cannot move, its clients hold the old ones
            raise
        env[f"{env_name(service)}_PID"] = str(proc.pid)
        env_file.write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in env.items()))
        return env
    raise AssertionError("unreachable")


def _wait(
    service: str, proc: subprocess.Popen[bytes], launch: Launch, logs: list[Path], limit: float
) -> dict[str, str]:
    deadline = time.monotonic() + limit
    problem = ""
    while time.monotonic() < deadline:
        if (code := proc.poll()) is not None:
            problem = f"{service} exited with code {code} before it answered"
            break
        try:
            if (env := launch.probe()) is not None:
                return env
        except (OSError, ValueError, struct.error) as exc:
            problem = f"last probe: {exc}"
        time.sleep(0.25)
    else:
        problem = f"{service} did not answer within {limit:.0f}s ({problem or 'no answer'})"
    _terminate(proc.pid, 10)
    tails = "\n".join(tail(path) for path in logs)
    if "ddress already in use" in tails:
        raise PortTaken(problem)
    raise StackError(f"{problem}\n{tails}\ncommand: {shlex.join(launch.argv)}")


def stop(service: str, directory: Path, timeout: float | None = None) -> str:
    """Stop a service started in `directory`: "stopped" (went on SIGTERM), "killed"
    (needed SIGKILL after `timeout`) or "not running"."""
    directory = Path(directory).resolve()
    pid_file, env_file, _ = _files(service, directory)
    pid = _owned_pid(service, directory)
    outcome = "not running"
    if pid is not None:
        outcome = "stopped" if _terminate(pid, timeout or STOP_TIMEOUT[service]) else "killed"
    pid_file.unlink(missing_ok=True)
    env_file.unlink(missing_ok=True)
    return outcome


def restart(
    service: str,
    directory: Path,
    config: Path | None = None,
    *,
    timeout: float | None = None,
    die_with_parent: bool = False,
) -> dict[str, str]:
    """Stop a service and start it again on its data dir and ports (a broker restart)."""
    stop(service, directory)
    return start(
        service, directory, config, timeout=timeout, die_with_parent=die_with_parent, keep_data=True
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m deploy.local.stack",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=("start", "stop", "env", "restart"))
    parser.add_argument("service", choices=(*SERVICES, "all"))
    parser.add_argument("directory", type=Path)
    parser.add_argument(
        "--config",
        type=Path,
        help="prometheus.yml, alertmanager.yml, redis.conf or extra broker properties",
    )
    parser.add_argument("--timeout", type=float, help="seconds to wait for an answer")
    parser.add_argument(
        "--keep-data",
        action="store_true",
        help="start on the data dir and ports of the previous start instead of wiping them",
    )
    args = parser.parse_args(argv)
    # SIGTERM (make or `timeout` giving up) unwinds like ^C, so a half-started service is
    # stopped instead of orphaned.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    services: tuple[str, ...] = SERVICES if args.service == "all" else (args.service,)
    if args.action == "stop":
        for service in services:
            if (outcome := stop(service, args.directory, args.timeout)) != "not running":
                print(f"{service}: {outcome}", file=sys.stderr)
        return 0
    if args.service == "all" and args.config:
        parser.error("--config needs a single service")
    if args.service == "all":
        services = SINGLE_SERVICES
    for service in services:
        began = time.monotonic()
        if args.action == "restart":
            stop(service, args.directory, args.timeout)
        was = read_env(service, args.directory)
        keep = args.keep_data or args.action == "restart"
        try:
            env = (
                start(service, args.directory, args.config, timeout=args.timeout, keep_data=keep)
                if args.action in ("start", "restart")
                else was
            )
        except StackError as exc:
            print(f"ccmon stack: {service}: {exc}", file=sys.stderr)
            return 1
        if env is None:
            print(f"ccmon stack: {service} is not running in {args.directory}", file=sys.stderr)
            return 1
        if args.action in ("start", "restart"):
            version = env.get(f"{env_name(service)}_VERSION", "?")
            names = {"kafka": "Apache Kafka", "redis": "Redis server", "sentinel": "Redis Sentinel"}
            name = names.get(service, service)
            if service in CLUSTERS:
                name = f"{env[f'{env_name(service)}_SERVER'].capitalize()} Cluster (3 + 3 nodes)"
            took = "already running" if was else f"ready in {time.monotonic() - began:.1f}s"
            print(f"{name} {version} at {_address(env)}: {took}", file=sys.stderr)
        print("".join(f"{k}={shlex.quote(v)}\n" for k, v in env.items()), end="")
    return 0


def _address(env: dict[str, str]) -> str:
    ends = ("_BOOTSTRAP", "_URL", "_ADDRESS")
    return next((v for k, v in env.items() if k.endswith(ends)), "?")


if __name__ == "__main__":
    sys.exit(main())
