"""How each local service is launched and how we know it really answers.

Used by :mod:`deploy.local.stack` (start/stop/pid bookkeeping and the CLI).
Standard library only. The Kafka build (pom.xml, log4j2.properties) lives in the
repository's deploy/local/kafka/, so these launchers work from a checkout.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import shutil
import socket
import struct
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ccmon.agents.devkit.procs import HOST, free_port

LOCAL = Path(__file__).resolve().parent
SERVICES = ("kafka", "redis", "sentinel", "prometheus", "alertmanager")
INSTALL_HINT = "run `make deps` (bash deploy/local/install.sh)"
START_TIMEOUT = {"kafka": 120.0, "redis": 30.0, "prometheus": 60.0, "alertmanager": 30.0}
START_TIMEOUT |= {"sentinel": 30.0, "redis-cluster": 60.0, "valkey-cluster": 60.0}
# Kafka's controlled shutdown of a single KRaft node takes a few seconds; give it room
# before SIGKILL so the next start never sees a half-written log.
STOP_TIMEOUT = {"kafka": 45.0, "redis": 15.0, "prometheus": 30.0, "alertmanager": 15.0}
STOP_TIMEOUT |= {"sentinel": 15.0, "redis-cluster": 20.0, "valkey-cluster": 20.0}
Probe = Callable[[], dict[str, str] | None]
_PORT = re.compile(r"\$\{port:(\w+)\}")


class StackError(RuntimeError):
    """A service could not be started or stopped; the message says why and what to do."""


class PortTaken(StackError):
    """Another process grabbed a port between our pick and the bind: retry with new ones."""


@dataclass
class Launch:
    argv: list[str]
    probe: Probe
    logs: list[Path]


def ports(work: Path, keep: bool, *names: str) -> dict[str, int]:
    """Free ports for a first start, recorded in ``work/ports.json``; with ``keep`` (a
    restart on the kept data dir) the recorded ones again, since clients hold those
    addresses: a service restarted on other ports would be another service to them."""
    record = work / "ports.json"
    if keep:
        try:
            known = {k: int(v) for k, v in json.loads(record.read_text()).items()}
        except (OSError, ValueError) as exc:
            raise StackError(f"no ports recorded in {record} to restart on ({exc})") from exc
        if set(names) <= set(known):
            return {name: known[name] for name in names}
        raise StackError(f"{record} lacks {sorted(set(names) - set(known))}")
    chosen = {name: free_port() for name in names}
    record.write_text(json.dumps(chosen), encoding="utf-8")
    return chosen


def cache_dir() -> Path:
    if override := os.environ.get("CCMON_CACHE_DIR"):
        return Path(override)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ccmon"


def kafka_version() -> str:
    """The Kafka version pinned in deploy/local/kafka/pom.xml (the single place to bump it)."""
    pom = (LOCAL / "kafka" / "pom.xml").read_text(encoding="utf-8")
    found = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom)
    if not found:
        raise StackError(f"no <kafka.version> in {LOCAL / 'kafka' / 'pom.xml'}")
    return found.group(1).strip()


def kafka_libs() -> Path:
    if override := os.environ.get("CCMON_KAFKA_LIBS"):
        return Path(override)
    return cache_dir() / f"kafka-{kafka_version()}" / "libs"


def _require(binary: str) -> str:
    found = shutil.which(binary)
    if not found:
        raise StackError(f"`{binary}` is not installed: {INSTALL_HINT}")
    return found


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return f"--- {path}: not written ---"
    return "\n".join([f"--- last {lines} lines of {path} ---", *text[-lines:]])


# ---- probes: each returns the service's env once it really answers, else None ----------


def _http_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.loads(response.read())


def _http_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def redis_info(host: str, port: int) -> dict[str, str]:
    """PING then INFO server over raw RESP; raises OSError unless the server answers PONG.
    A server that wants a password first (AUTH, ACL) answers too: then nothing is known."""
    with socket.create_connection((host, port), timeout=2) as sock:
        sock.sendall(b"*1\r\n$4\r\nPING\r\n")
        answer = sock.recv(64)
        if answer.startswith(b"-NOAUTH"):
            return {}
        if not answer.startswith(b"+PONG"):
            raise OSError("no PONG")
        sock.sendall(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
        data = b""
        while not data.endswith(b"\r\n\r\n") and len(data) < 65536:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    fields = (line.split(":", 1) for line in data.decode(errors="replace").splitlines())
    return {kv[0]: kv[1] for kv in fields if len(kv) == 2}


def kafka_metadata(host: str, port: int) -> tuple[int, str | None]:
    """Metadata v4 (the oldest Kafka 4 serves) over a raw socket: (broker count, cluster id).

    A broker accepts connections before it has caught up with the KRaft log; only a metadata
    answer that lists a broker means produce and consume will work.
    """
    client = b"ccmon-stack"
    header = struct.pack(">hhih", 3, 4, 7, len(client)) + client
    body = struct.pack(">ib", -1, 0)  # null topic list = all topics; no auto-creation
    with socket.create_connection((host, port), timeout=2) as sock:
        sock.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
        size = struct.unpack(">i", _recv_exact(sock, 4))[0]
        data = _recv_exact(sock, size)
    offset = 8  # correlation id, throttle time
    (brokers,) = struct.unpack_from(">i", data, offset)
    offset += 4
    for _ in range(brokers):
        offset += 4  # node id
        (host_len,) = struct.unpack_from(">h", data, offset)
        offset += 2 + host_len + 4  # host, port
        (rack_len,) = struct.unpack_from(">h", data, offset)
        offset += 2 + max(rack_len, 0)
    (cluster_len,) = struct.unpack_from(">h", data, offset)
    cluster = data[offset + 2 : offset + 2 + cluster_len].decode() if cluster_len >= 0 else None
    return brokers, cluster


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    return data


# ---- launch recipes ----------------------------------------------------------------


def _kafka(work: Path, config: Path | None, keep: bool) -> Launch:
    java = str(Path(os.environ["JAVA_HOME"]) / "bin" / "java") if "JAVA_HOME" in os.environ else ""
    java = java or _require("java")
    libs = kafka_libs()
    jars = sorted(libs.glob("kafka_2.13-*.jar"))
    if not jars:
        raise StackError(f"no Kafka jars in {libs}: {INSTALL_HINT}")
    version = jars[0].name.removeprefix("kafka_2.13-").removesuffix(".jar")
    # A caller's properties may ask for more ports (``${port:NAME}``, say a SASL_SSL
    # listener beside the PLAINTEXT one our probe speaks) and SCRAM users, which KRaft
    # only takes at format time (``ccmon.format.add-scram``, StorageTool's --add-scram).
    extra = _read_properties(config) if config else {}
    scram = extra.pop("ccmon.format.add-scram", "")
    named = sorted(set(_PORT.findall("".join(extra.values()))) - {"broker", "controller"})
    chosen = ports(work, keep, "broker", "controller", *named)
    port, controller = chosen["broker"], chosen["controller"]
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{HOST}:{controller}",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(work / "data"),
        # One node on two cores: no replication, single-partition internal topics, few threads.
        "num.partitions": "1",
        "auto.create.topics.enable": "true",
        "offsets.topic.num.partitions": "1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.num.partitions": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.num.partitions": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "log.cleaner.dedupe.buffer.size": "2097152",
        "log.cleaner.threads": "1",
        "num.network.threads": "2",
        "num.io.threads": "2",
        "num.recovery.threads.per.data.dir": "1",
        "background.threads": "2",
    }
    # Extra broker properties from the caller win over ours.
    props.update({k: _PORT.sub(lambda m: str(chosen[m[1]]), v) for k, v in extra.items()})
    properties = work / "server.properties"
    properties.write_text("".join(f"{k}={v}\n" for k, v in props.items()), encoding="utf-8")
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    jvm = [
        java,
        f"-Dlog4j2.configurationFile={LOCAL / 'kafka' / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={logs}",
        # log4j's own hook would close the file before Kafka logs its shutdown.
        "-Dlog4j2.shutdownHookEnabled=false",
        "-Djava.awt.headless=true",
        "-cp",
        f"{libs}/*",
    ]
    if not (keep and (work / "data" / "meta.properties").exists()):
        _kafka_format(jvm, properties, work, ["--add-scram", scram] if scram else [])
    heap = shlex.split(os.environ.get("CCMON_KAFKA_HEAP_OPTS", "-Xmx512m -Xms256m"))
    argv = [*jvm[:1], *heap, "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]
    argv += ["-XX:+ExitOnOutOfMemoryError", *jvm[1:], "kafka.Kafka", str(properties)]

    def probe() -> dict[str, str] | None:
        brokers, cluster = kafka_metadata(HOST, port)
        if brokers < 1:
            return None
        return {
            "KAFKA_BOOTSTRAP": f"{HOST}:{port}",
            "KAFKA_VERSION": version,
            "KAFKA_CLUSTER_ID": cluster or "",
            "KAFKA_LOG": str(logs / "server.log"),
            **{f"KAFKA_PORT_{name.upper()}": str(chosen[name]) for name in named},
        }

    return Launch(argv, probe, [logs / "server.log"])


def _kafka_format(jvm: list[str], properties: Path, work: Path, extra: list[str]) -> None:
    # The format tool is short-lived: C1-only JIT and serial GC start it about twice as fast.
    fmt = [*jvm[:1], "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", *jvm[1:]]
    fmt += ["kafka.tools.StorageTool", "format", "-t", _kafka_cluster_id(), "-c", str(properties)]
    fmt += extra
    done = subprocess.run(fmt, capture_output=True, text=True, timeout=120, check=False)
    (work / "format.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode != 0:
        raise StackError(
            f"Kafka storage format failed ({done.returncode})\n{tail(work / 'format.log')}"
        )


def _kafka_cluster_id() -> str:
    # Kafka's Uuid.toString: url-safe base64 without padding; ids starting with "-" are
    # rejected by Kafka's own generator because they read as command-line options.
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def _read_properties(path: Path) -> dict[str, str]:
    props: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.lstrip().startswith(("#", "!")):
            props[key.strip()] = value.strip()
    return props


def _redis(work: Path, config: Path | None, keep: bool) -> Launch:
    port = ports(work, keep, "redis")["redis"]
    # Throw-away data by default (no snapshots or AOF, so nothing forks or writes behind the
    # tests' back); a caller's config comes after these lines and may turn persistence on.
    defaults = 'save ""\nappendonly no\n' + (f'include "{config}"\n' if config else "")
    conf = work / "ccmon-redis.conf"
    conf.write_text(defaults, encoding="utf-8")
    argv = [_require("redis-server"), str(conf)]
    argv += ["--bind", HOST, "--port", str(port), "--dir", str(work), "--daemonize", "no"]
    argv += ["--logfile", ""]

    def probe() -> dict[str, str] | None:
        info = redis_info(HOST, port)
        return {
            "REDIS_URL": f"redis://{HOST}:{port}/0",
            "REDIS_VERSION": info.get("redis_version") or _redis_version(),
        }

    return Launch(argv, probe, [])


def _redis_version() -> str:
    done = subprocess.run(
        [_require("redis-server"), "--version"], capture_output=True, text=True, check=False
    )
    found = re.search(r"v=(\S+)", done.stdout)
    return found.group(1) if found else "unknown"


def _default_config(work: Path, name: str, text: str) -> Path:
    path = work / name
    path.write_text(text, encoding="utf-8")
    return path


def _prometheus(work: Path, config: Path | None, keep: bool) -> Launch:
    port = ports(work, keep, "prometheus")["prometheus"]
    url = f"http://{HOST}:{port}"
    config = config or _default_config(
        work,
        "prometheus.yml",
        "global: {scrape_interval: 5s, evaluation_interval: 5s}\n"
        "scrape_configs:\n"
        f"  - {{job_name: prometheus, static_configs: [{{targets: ['{HOST}:{port}']}}]}}\n",
    )
    argv = [
        _require("prometheus"),
        f"--config.file={config}",
        f"--storage.tsdb.path={work / 'data'}",
    ]
    argv += [f"--web.listen-address={HOST}:{port}", "--web.enable-lifecycle"]

    def probe() -> dict[str, str] | None:
        if not _http_ready(url):
            return None
        info = _http_json(f"{url}/api/v1/status/buildinfo")
        version = info.get("data", {}).get("version", "unknown") if isinstance(info, dict) else ""
        return {
            "PROMETHEUS_URL": url,
            "PROMETHEUS_VERSION": str(version),
            "PROMETHEUS_CONFIG": str(config),
        }

    return Launch(argv, probe, [])


def _alertmanager(work: Path, config: Path | None, keep: bool) -> Launch:
    port = ports(work, keep, "alertmanager")["alertmanager"]
    url = f"http://{HOST}:{port}"
    config = config or _default_config(
        work, "alertmanager.yml", "route: {receiver: discard}\nreceivers: [{name: discard}]\n"
    )
    binary = shutil.which("prometheus-alertmanager") or _require("alertmanager")
    argv = [binary, f"--config.file={config}", f"--storage.path={work / 'data'}"]
    # An empty cluster address turns gossip off; otherwise every instance binds 0.0.0.0:9094.
    argv += [f"--web.listen-address={HOST}:{port}", "--cluster.listen-address="]

    def probe() -> dict[str, str] | None:
        if not _http_ready(url):
            return None
        status = _http_json(f"{url}/api/v2/status")
        info = status.get("versionInfo", {}) if isinstance(status, dict) else {}
        return {
            "ALERTMANAGER_URL": url,
            "ALERTMANAGER_VERSION": str(info.get("version", "unknown")),
            "ALERTMANAGER_CONFIG": str(config),
        }

    return Launch(argv, probe, [])


RECIPES: dict[str, Callable[[Path, Path | None, bool], Launch]] = {
    "kafka": _kafka,
    "redis": _redis,
    "prometheus": _prometheus,
    "alertmanager": _alertmanager,
}
