"""HTTP/1.1 serving with keep-alive: a thread per connection, a WSGI app behind it.

werkzeug's own request handler sends ``Connection: close`` on every answer (its run_wsgi
says keep-alive is not handled well by http.server), and werkzeug's server exits the
process when it cannot bind. An upload benchmark needs kept-alive connections and a test
needs an ``OSError``, so this module keeps werkzeug's WSGI environ builder and replaces
the rest:

* the response's status line, headers and (small) body leave in one ``sendall``, and the
  socket has ``TCP_NODELAY``: a head and body written separately would wait ~40 ms for the
  client's delayed ACK (Nagle's algorithm) on every answer;
* a request body the app left unread is drained before the answer, so the connection
  stays usable; ``Expect: 100-continue`` is answered only when the app starts reading
  the body, so a refused upload is not sent at all;
* the app can ask for the connection to be dropped unanswered (the "lost response"
  fault) by setting :data:`DROP_CONNECTION` in the environ;
* :meth:`KeepAliveServer.close_connections` ends idle kept-alive connections at stop, so
  no thread or socket outlives the server.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import socketserver
import threading
from collections.abc import Iterable
from http.server import HTTPServer
from typing import Any

from werkzeug.serving import WSGIRequestHandler, get_sockaddr, select_address_family

log = logging.getLogger("junit2af.localserver")

#: environ key the app sets to close the connection without answering
DROP_CONNECTION = "junit2af.drop_connection"
#: a body the app did not read is drained up to this size; a larger one closes instead
DRAIN_LIMIT = 128 * 1024 * 1024
#: idle kept-alive connections (and stalled uploads) are closed after this many seconds
IDLE_TIMEOUT = 120
#: responses up to this size are sent with their head in a single write
COALESCE = 64 * 1024


class _Body(io.RawIOBase):
    """At most Content-Length bytes of the request; sends ``100 Continue`` when first read."""

    def __init__(self, handler: KeepAliveHandler, length: int) -> None:
        self._handler = handler
        self.remaining = length
        self.broken = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.remaining <= 0:
            return 0
        self._handler.send_continue()
        view = memoryview(buffer)[: min(len(buffer), self.remaining)]
        count = self._handler.rfile.readinto(view)
        if not count:
            self.broken = True  # the client closed before sending the whole body
            return 0
        self.remaining -= count
        return count


class KeepAliveHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT
    server: KeepAliveServer  # type: ignore[assignment]

    @property
    def server_version(self) -> str:  # type: ignore[override]
        return "junit2af-localserver"

    def setup(self) -> None:
        super().setup()
        # Not TCP, or already closed: nothing to tune.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # Keep http.server and werkzeug from logging every request to stderr; the app keeps
    # its own request log.
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def log(self, type: str, message: str, *args: Any) -> None:
        log.debug(message, *args)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)

    def log_error(self, format: str, *args: Any) -> None:
        log.debug(format, *args)

    def handle_expect_100(self) -> bool:
        self._continue_pending = True
        return True

    def send_continue(self) -> None:
        if getattr(self, "_continue_pending", False):
            self._continue_pending = False
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def handle_one_request(self) -> None:
        self._continue_pending = False
        super().handle_one_request()

    def run_wsgi(self) -> None:
        environ = self.make_environ()
        chunked = bool(environ.get("wsgi.input_terminated"))
        body: _Body | None = None
        if chunked:
            self.send_continue()
        else:
            try:
                length = int(self.headers.get("Content-Length") or 0)
                if length < 0:
                    raise ValueError(length)
            except ValueError:
                self.close_connection = True
                self._write_simple(400, b'{"message": "invalid Content-Length"}')
                return
            body = _Body(self, length)
            environ["wsgi.input"] = body

        started: list[Any] = []
        early: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            started[:] = [status, headers]
            return early.append  # the legacy write() callable: collected, sent in order

        result: Iterable[bytes] = ()
        try:
            result = self.server.app(environ, start_response)
            if environ.get(DROP_CONNECTION):
                self.close_connection = True
                return
            self._settle_body(body, environ, chunked)
            self._send(started, early, result)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:
            log.exception("error answering %s %s", self.command, self.path)
            self.close_connection = True
            if not started:
                self._write_simple(500, b'{"message": "internal server error"}')
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    def _settle_body(self, body: _Body | None, environ: dict[str, Any], chunked: bool) -> None:
        """Read what is left of the request body, or decide to close the connection."""
        if chunked:
            stream = environ["wsgi.input"]
            drained = 0
            while drained < DRAIN_LIMIT:
                chunk = stream.read(1024 * 1024)
                if not chunk:
                    break
                drained += len(chunk)
            # The end of a chunked body is not worth tracking exactly: close after it.
            self.close_connection = True
            return
        assert body is not None
        if body.remaining == 0:
            return
        if self._continue_pending or body.remaining > DRAIN_LIMIT:
            # The client waits for "100 Continue" before sending, or the rest is too big
            # to read for nothing: answer, then close.
            self.close_connection = True
            return
        while body.remaining and not body.broken:
            body.read(1024 * 1024)
        if body.broken:
            self.close_connection = True

    def _send(self, started: list[Any], early: list[bytes], result: Iterable[bytes]) -> None:
        status, headers = started
        code = int(status.split(None, 1)[0])
        names = {name.lower() for name, _ in headers}
        no_body = self.command == "HEAD" or code in (204, 304) or 100 <= code < 200
        head = [f"HTTP/1.1 {status}\r\n"]
        if "date" not in names:
            head.append(f"Date: {self.date_time_string()}\r\n")
        if "server" not in names:
            head.append(f"Server: {self.server_version}\r\n")
        head.extend(f"{name}: {value}\r\n" for name, value in headers)
        if "content-length" not in names and not no_body:
            if isinstance(result, list | tuple):
                total = sum(len(part) for part in early) + sum(len(part) for part in result)
                head.append(f"Content-Length: {total}\r\n")
            else:
                self.close_connection = True  # the body ends where the connection does
        if self.close_connection:
            head.append("Connection: close\r\n")
        elif self.request_version == "HTTP/1.0":
            head.append("Connection: keep-alive\r\n")
        head.append("\r\n")
        pending = bytearray("".join(head).encode("latin-1"))
        if not no_body:
            for part in (*early, *result) if early else result:
                pending += part
                if len(pending) >= COALESCE:
                    self.wfile.write(pending)
                    pending.clear()
        if pending:
            self.wfile.write(pending)

    def _write_simple(self, code: int, body: bytes) -> None:
        reason = self.responses.get(code, ("",))[0]
        self.wfile.write(
            f"HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode("latin-1")
            + body
        )


class KeepAliveServer(socketserver.ThreadingMixIn, HTTPServer):
    """A thread per connection; remembers its connections so that stop can end them."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    # What werkzeug's make_environ reads from its server.
    multithread = True
    multiprocess = False
    ssl_context = None
    passthrough_errors = False

    def __init__(self, host: str, port: int, app: Any) -> None:
        self.address_family = select_address_family(host, port)
        self.app = app
        self._connections: dict[Any, threading.Thread] = {}
        self._connections_lock = threading.Lock()
        address: Any = get_sockaddr(host, port, self.address_family)  # (host, port) or a path
        super().__init__(address, KeepAliveHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), which can wait seconds on DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]  # type: ignore[assignment]

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"localserver-conn-{client_address}",
            daemon=True,
        )
        # Registered here, in the accepting thread, so that after shutdown() returns every
        # accepted connection is known to close_connections().
        with self._connections_lock:
            self._connections[request] = thread
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.pop(request, None)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s failed", client_address, exc_info=True)

    def close_connections(self, timeout: float = 5.0) -> None:
        """End every open connection (idle keep-alives included) and wait for its thread."""
        with self._connections_lock:
            items = list(self._connections.items())
        for sock, _ in items:
            with contextlib.suppress(OSError):  # already closed by its thread
                sock.shutdown(socket.SHUT_RDWR)
        for _, thread in items:
            thread.join(timeout)
