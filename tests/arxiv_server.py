"""A small HTTP server on 127.0.0.1 that serves canned responses to the tests.

Each path gets a queue of responses: every request takes the next one, and the last one
repeats. A path registered with `respond_with` is answered by a function of the request,
whatever its query string. Unknown paths get 404. Every request is recorded in `requests`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class CannedResponse:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]


class ArxivServer:
    """Threaded HTTP server on an ephemeral port, used as a context manager."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._routes: dict[str, list[CannedResponse]] = {}
        self._responders: dict[str, Callable[[RecordedRequest], CannedResponse]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def serve(self, path: str, *responses: CannedResponse) -> str:
        """Queue `responses` for `path` and return its full URL."""
        with self._lock:
            self._routes[path] = list(responses)
        return self.url(path)

    def serve_bytes(self, path: str, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> str:
        return self.serve(path, CannedResponse(body, status, dict(headers or {})))

    def respond_with(self, path: str, responder: Callable[[RecordedRequest], CannedResponse]) -> str:
        """Answer requests to `path`, with any query string, by responder(request); return the URL.

        Queued responses for the exact path, query string included, take precedence.
        """
        with self._lock:
            self._responders[path] = responder
        return self.url(path)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [request for request in self.requests if request.path == path]

    def requests_to_path(self, path: str) -> list[RecordedRequest]:
        """Return the requests to `path` with any query string."""
        with self._lock:
            return [request for request in self.requests if request.path.split("?", 1)[0] == path]

    def _next_response(self, method: str, path: str, headers: dict[str, str]) -> CannedResponse:
        request = RecordedRequest(method, path, headers)
        with self._lock:
            self.requests.append(request)
            queue = self._routes.get(path)
            if queue:
                return queue.pop(0) if len(queue) > 1 else queue[0]
            responder = self._responders.get(path.split("?", 1)[0])
        if responder is None:
            return CannedResponse(b"not found", 404)
        return responder(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                response = server._next_response("GET", self.path, dict(self.headers.items()))
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep pytest output quiet

        return Handler

    def __enter__(self) -> ArxivServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
