"""Network faults between a worker and a real server: a TCP proxy that passes everything
on, but can lose a reply after the server has acted on the request, as a connection reset,
a failover or a stall past the client's socket timeout do."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field


@dataclass
class ReplyDropper:
    """Listens on 127.0.0.1 and forwards to ``host:port``. Of the requests that contain
    ``marker``, every ``every``-th is passed on, and the connection is cut as soon as the
    server answers it: the server did the work, the client never hears so (its reply is
    lost). ``dropped`` counts them."""

    host: str
    port: int
    marker: bytes
    every: int
    dropped: int = 0
    seen: int = 0
    listen_port: int = 0
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _thread: threading.Thread | None = None
    _ready: threading.Event = field(default_factory=threading.Event)

    def start(self) -> ReplyDropper:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise AssertionError("the proxy did not start")
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.listen_port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(self.host, self.port)
        drop = asyncio.Event()

        async def upstream() -> None:
            while chunk := await client_r.read(65536):
                if self.marker in chunk:
                    self.seen += 1
                    if self.seen % self.every == 0:
                        drop.set()
                server_w.write(chunk)
                await server_w.drain()

        async def downstream() -> None:
            while chunk := await server_r.read(65536):
                if drop.is_set():
                    self.dropped += 1
                    return  # the server answered; the client never hears it
                client_w.write(chunk)
                await client_w.drain()

        tasks = [asyncio.ensure_future(upstream()), asyncio.ensure_future(downstream())]
        with contextlib.suppress(OSError):
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        for writer in (client_w, server_w):
            writer.close()


@dataclass
class LinkHolder:
    """A TCP proxy in front of ``host:port``, a Redis primary, that everyone reaches it by
    (its replica, the sentinels, the workers). :meth:`hold` keeps what the primary sends
    down its replication links (connections that asked for ``PSYNC``) from the replica,
    which then lags by exactly that much (``held`` bytes) while both stay connected and
    healthy; everything else flows. :meth:`cut` drops it and closes every connection, as
    the primary dying would. (The sentinels must watch the primary at this address too:
    they would otherwise point the replica at the primary directly.)"""

    host: str
    port: int
    held: int = 0
    listen_port: int = 0
    _holding: bool = False
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _thread: threading.Thread | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _server: asyncio.Server | None = None

    def start(self) -> LinkHolder:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise AssertionError("the proxy did not start")
        return self

    def hold(self) -> None:
        self._holding = True

    def cut(self) -> None:
        done = threading.Event()

        def close() -> None:
            if self._server is not None:
                self._server.close()
            for writer in self._writers:
                writer.close()
            done.set()

        self._loop.call_soon_threadsafe(close)
        done.wait(10)

    def stop(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

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
        replication = False

        async def upstream() -> None:
            nonlocal replication
            while chunk := await client_r.read(65536):
                replication = replication or b"PSYNC" in chunk.upper()
                server_w.write(chunk)
                await server_w.drain()

        async def downstream() -> None:
            while chunk := await server_r.read(65536):
                if self._holding and replication:
                    self.held += len(chunk)
                    continue
                client_w.write(chunk)
                await client_w.drain()

        tasks = [asyncio.ensure_future(upstream()), asyncio.ensure_future(downstream())]
        with contextlib.suppress(OSError):
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        for writer in (client_w, server_w):
            writer.close()
