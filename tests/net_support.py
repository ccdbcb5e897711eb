"""Network peers for the tests of what happens when a server misbehaves: one that accepts connections and never
says a word, one that answers like a web server, and a port where nothing listens."""
from __future__ import annotations

import contextlib
import http.server
import socket
import threading
from typing import Iterator


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts TCP connections and never sends a byte (a dead service, a firewall that holds)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for connection in held:
            connection.close()
        server.close()


@contextlib.contextmanager
def http_listener(handler: type[http.server.BaseHTTPRequestHandler] = http.server.BaseHTTPRequestHandler
                  ) -> Iterator[int]:
    """A port that answers like a web server (by default with 501 to everything), not like what was expected."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A port nobody listens on (freed just now), so a connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
