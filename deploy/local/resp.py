"""A few Redis commands over a raw socket (RESP2), for the standard-library stack: it runs
before any virtualenv exists, so it cannot use redis-py."""

from __future__ import annotations

import socket

Reply = str | int | list["Reply"] | None


class ReplyError(OSError):
    """The server answered with an error (``-ERR ...``)."""


class Connection:
    """One connection to ``host:port``; ``call`` sends a command and reads its reply."""

    def __init__(self, host: str, port: int, timeout: float = 2.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def call(self, *args: str | int) -> Reply:
        parts = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            data = str(arg).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(parts))
        return self._reply()

    def _read_line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("connection closed")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def _read_exact(self, size: int) -> bytes:
        while len(self.buffer) < size + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("connection closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size + 2 :]
        return data

    def _reply(self) -> Reply:
        line = self._read_line()
        kind, rest = line[:1], line[1:].decode(errors="replace")
        if kind == b"+":
            return rest
        if kind == b"-":
            raise ReplyError(rest)
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            return None if size < 0 else self._read_exact(size).decode(errors="replace")
        if kind == b"*":
            size = int(rest)
            return None if size < 0 else [self._reply() for _ in range(size)]
        raise OSError(f"unexpected reply {line[:40]!r}")


def call(host: str, port: int, *args: str | int, timeout: float = 2.0) -> Reply:
    """One command on a connection of its own."""
    with Connection(host, port, timeout) as conn:
        return conn.call(*args)


def fields(text: Reply) -> dict[str, str]:
    """``key:value`` lines (INFO, CLUSTER INFO) as a dict."""
    pairs = (line.split(":", 1) for line in str(text or "").splitlines())
    return {kv[0]: kv[1].strip() for kv in pairs if len(kv) == 2}
