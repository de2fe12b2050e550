"""Network faults between a client and a real Redis: TCP proxies on 127.0.0.1 that pass
everything on, except what their fault keeps back.

- :class:`ReplyDropper`: a reply lost after the server acted on the request, as a connection
  reset, a failover or a stall past the client's socket timeout do;
- :class:`LinkHolder`: a replica that stays connected and healthy but receives nothing of
  its primary's writes (it lags), then a primary that dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
from collections.abc import Callable
from typing import Self


class Proxy:
    """Forwards every connection to ``host:port`` from a thread of its own. A subclass says
    what passes: :meth:`up` (client to server) and :meth:`down` (server to client) get each
    chunk and the connection's state, and answer whether it passes; ``None`` cuts the
    connection."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.listen_port = 0
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise AssertionError("the proxy did not start")
        return self

    def cut(self) -> None:
        """Refuse new connections and close every one, as a server that died."""
        self._in_loop(self._close)

    def stop(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def up(self, chunk: bytes, state: dict[str, bool]) -> bool | None:
        return True

    def down(self, chunk: bytes, state: dict[str, bool]) -> bool | None:
        return True

    def _in_loop(self, call: Callable[[], None]) -> None:
        done = threading.Event()

        def run() -> None:
            call()
            done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(10)

    def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0)
        )
        self.listen_port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(self.host, self.port)
        self._writers += [client_w, server_w]
        state: dict[str, bool] = {}

        async def pump(
            source: asyncio.StreamReader,
            sink: asyncio.StreamWriter,
            passes: Callable[[bytes, dict[str, bool]], bool | None],
        ) -> None:
            while chunk := await source.read(65536):
                verdict = passes(chunk, state)
                if verdict is None:
                    return
                if verdict:
                    sink.write(chunk)
                    await sink.drain()

        tasks = [
            asyncio.ensure_future(pump(client_r, server_w, self.up)),
            asyncio.ensure_future(pump(server_r, client_w, self.down)),
        ]
        with contextlib.suppress(OSError):
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        for writer in (client_w, server_w):
            writer.close()


def script_call(script: str) -> bytes:
    """What a call of the Lua ``script`` carries on the wire, whatever its arguments say:
    redis-py sends ``EVALSHA`` with the script's SHA1 (and loads the script once if Redis
    lacks it). A marker taken from the arguments (a key name, a field of a JSON document)
    silently stops matching when they change: the guard's TTL field renamed from ``ttl`` to
    ``gttl`` left the lost-replies test with no fault at all."""
    return hashlib.sha1(script.encode()).hexdigest().encode()


class ReplyDropper(Proxy):
    """Of the requests that contain ``marker``, every ``every``-th is passed on, and the
    connection is cut as soon as the server answers it: the server did the work, the client
    never hears so (its reply is lost). ``seen`` counts the requests that matched,
    ``dropped`` the replies lost."""

    def __init__(self, host: str, port: int, marker: bytes, every: int) -> None:
        super().__init__(host, port)
        self.marker, self.every = marker, every
        self.seen = self.dropped = 0

    def up(self, chunk: bytes, state: dict[str, bool]) -> bool | None:
        if self.marker in chunk:
            self.seen += 1
            state["drop"] = self.seen % self.every == 0
        return True

    def down(self, chunk: bytes, state: dict[str, bool]) -> bool | None:
        if state.get("drop"):
            self.dropped += 1
            return None  # the server answered; the client never hears it
        return True


class LinkHolder(Proxy):
    """In front of a Redis primary that everyone reaches it by (its replica, the sentinels,
    the workers). :meth:`hold` keeps what the primary sends down its replication links
    (connections that asked for ``PSYNC``) from the replica, which then lags by exactly that
    much (``held`` bytes) while both stay connected and healthy; everything else flows.
    :meth:`cut` drops it and closes every connection, as the primary dying would. (The
    sentinels must watch the primary at this address too: they would otherwise point the
    replica at the primary directly, DEVELOPERS.md pitfall 23.)"""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self.held = 0
        self._holding = False

    def hold(self) -> None:
        self._holding = True

    def up(self, chunk: bytes, state: dict[str, bool]) -> bool | None:
        state["replication"] = state.get("replication", False) or b"PSYNC" in chunk.upper()
        return True

    def down(self, chunk: bytes, state: dict[str, bool]) -> bool | None:
        if self._holding and state.get("replication"):
            self.held += len(chunk)
            return False
        return True
