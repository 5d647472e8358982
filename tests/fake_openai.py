"""An OpenAI-compatible chat completions server on 127.0.0.1 for tests and the benchmark.

By default it answers every request with one JSONL score line per paper of the request, taking
scores from `scores` (paper id -> (relevance, novelty)) or 5/5 for unknown ids, and reports the
usage given by `usage_for`. A test can instead queue `Fault`s that the next requests receive.
With a `RateLimit`, requests over the limit get HTTP 429 with a Retry-After header, as OpenAI's
API does, and a faulted or rate-limited request is recorded like any other.
"""

from __future__ import annotations

import json
import re
import threading
import collections
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# One "ArXiv ID: ..." line per <paper> element; whitespace inside a paper is collapsed by the
# prompt builder, so no title or abstract text can start such a line.
PAPER_ID = re.compile(r"^ArXiv ID: (\S+)$", re.MULTILINE)


@dataclass(frozen=True)
class Fault:
    """One scripted reply: an HTTP status with a body, a delay, or a replacement answer text."""

    status: int = 200
    body: str | None = None  # raw response body for non-200 statuses
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before replying
    answer: str | None = None  # replaces the generated answer text
    finish_reason: str = "stop"
    raw: bool = False  # send `body` as is, even with status 200


@dataclass(frozen=True)
class RateLimit:
    """Limits that the server enforces with HTTP 429 and a Retry-After header in whole seconds.

    Each limit may be None (unlimited). Tokens are prompt tokens as `count_tokens` counts them
    (by default characters / 4). Requests and tokens are counted over a sliding `window`.
    """

    max_in_flight: int | None = None  # requests in progress at once
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    count_tokens: Callable[[dict[str, Any]], int] | None = None
    window: float = 60.0  # seconds


@dataclass
class Recorded:
    headers: dict[str, str]
    body: dict[str, Any]
    status: int = 200  # the HTTP status the request received
    received: float = 0.0  # time.monotonic() when the request arrived
    delay: float = 0.0  # seconds the server waited before replying

    @property
    def paper_ids(self) -> list[str]:
        return PAPER_ID.findall(self.body["messages"][-1]["content"])


def default_usage(request: dict[str, Any], ids: list[str]) -> tuple[int, int, int]:
    """(prompt, cached prompt, completion) tokens: a rough length-based count."""
    prompt = sum(len(m["content"]) for m in request["messages"]) // 4
    return prompt, 0, 40 * len(ids)


class FakeOpenAI:
    """Threaded server on an ephemeral port; use it as a context manager."""

    def __init__(
        self,
        scores: dict[str, tuple[int, int]] | None = None,
        usage_for: Callable[[dict[str, Any], list[str]], tuple[int, int, int] | None] = default_usage,
        latency: Callable[[list[str]], float] | None = None,
        rate_limit: RateLimit | None = None,
    ):
        self.scores = dict(scores or {})
        self.usage_for = usage_for
        self.latency = latency
        self.rate_limit = rate_limit
        self.faults: list[Fault] = []
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._in_flight: dict[int, float] = {}  # id(record) -> expected end, time.monotonic()
        self._window: collections.deque[tuple[float, int]] = collections.deque()  # (arrival, tokens)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def queue(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def answer_for(self, ids: list[str]) -> str:
        lines = []
        for paper_id in ids:
            relevance, novelty = self.scores.get(paper_id, (5, 5))
            record = {"ARXIVID": paper_id, "COMMENT": f"Scored by the test server: {relevance}/{novelty}.", "RELEVANCE": relevance, "NOVELTY": novelty}
            lines.append(json.dumps(record))
        return "\n".join(lines)

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def rate_limited(self) -> int:
        """Number of requests that got HTTP 429, from the rate limit or a queued Fault."""
        with self._lock:
            return sum(1 for record in self.requests if record.status == 429)

    def _handle(self, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, str], bytes, float, Recorded]:
        request = json.loads(raw)
        ids = PAPER_ID.findall(request["messages"][-1]["content"]) if request.get("messages") else []
        planned = self.latency(ids) if self.latency else 0.0

        with self._lock:
            now = time.monotonic()
            record = Recorded(headers, request, received=now)
            self.requests.append(record)
            retry_after = self._admit(record, now, planned)
            if retry_after is not None:
                record.status = 429
                message = f"rate limit reached; retry after {retry_after} s"
                body = json.dumps({"error": {"message": message, "type": "requests", "code": "rate_limit_exceeded"}})
                return 429, {"Content-Type": "application/json", "Retry-After": str(retry_after)}, body.encode(), 0.0, record
            fault = self.faults.pop(0) if self.faults else Fault()
            record.status = fault.status

        delay = fault.delay + planned
        record.delay = delay
        if fault.raw:
            return fault.status, {"Content-Type": "application/json", **fault.headers}, (fault.body or "").encode(), delay, record
        if fault.status != 200:
            body = fault.body if fault.body is not None else json.dumps({"error": {"message": f"injected HTTP {fault.status}", "type": "test"}})
            return fault.status, {"Content-Type": "application/json", **fault.headers}, body.encode(), delay, record
        text = fault.answer if fault.answer is not None else self.answer_for(ids)
        usage = self.usage_for(request, ids)
        response = {
            "id": f"chatcmpl-test-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "test"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": fault.finish_reason}],
        }
        if usage is not None:
            prompt, cached, completion = usage
            response["usage"] = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": cached},
            }
        return 200, {"Content-Type": "application/json", **fault.headers}, json.dumps(response).encode(), delay, record

    def _admit(self, record: Recorded, now: float, planned: float) -> int | None:
        """Count the request against the rate limit; return Retry-After seconds when it is over.

        Call with the lock held. An admitted request stays in flight until `_finished`.
        """
        limit = self.rate_limit
        if limit is None:
            return None
        while self._window and self._window[0][0] <= now - limit.window:
            self._window.popleft()
        tokens = 0
        if limit.tokens_per_minute is not None:
            tokens = limit.count_tokens(record.body) if limit.count_tokens else default_usage(record.body, [])[0]
        waits = []
        if limit.max_in_flight is not None and len(self._in_flight) >= limit.max_in_flight:
            waits.append(min(self._in_flight.values()) - now)
        if limit.requests_per_minute is not None and len(self._window) >= limit.requests_per_minute:
            waits.append(self._window[0][0] + limit.window - now)
        if limit.tokens_per_minute is not None:
            used = sum(t for _, t in self._window)
            if used + tokens > limit.tokens_per_minute:
                # The wait until enough of the oldest requests leave the window for this one to fit.
                wait = limit.window
                for arrived, sent in self._window:
                    used -= sent
                    if used + tokens <= limit.tokens_per_minute:
                        wait = arrived + limit.window - now
                        break
                waits.append(wait)
        if waits:
            return max(1, math.ceil(max(waits)))
        self._window.append((now, tokens))
        self._in_flight[id(record)] = now + planned
        return None

    def _finished(self, record: Recorded) -> None:
        with self._lock:
            self._in_flight.pop(id(record), None)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                if not self.path.endswith("/chat/completions"):
                    self.send_error(404)
                    return
                status, headers, body, delay, record = server._handle({k.lower(): v for k, v in self.headers.items()}, raw)
                try:
                    if delay:
                        time.sleep(delay)
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)
                finally:
                    server._finished(record)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
