"""An OpenAI-compatible chat completions server on 127.0.0.1 for tests and the benchmark.

By default it answers every request with one JSONL score line per <paper> of the request, taking
scores from `scores` (paper id -> (relevance, novelty)) or 5/5 for unknown ids, and reports the
usage given by `usage_for`. A test can instead queue `Fault`s that the next requests receive.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PAPER_ID = re.compile(r'<paper id="([^"]+)">')


@dataclass(frozen=True)
class Fault:
    """One scripted reply: an HTTP status with a body, a delay, or a replacement answer text."""

    status: int = 200
    body: str | None = None  # raw response body for non-200 statuses
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before replying
    answer: str | None = None  # replaces the generated answer text
    finish_reason: str = "stop"


@dataclass
class Recorded:
    headers: dict[str, str]
    body: dict[str, Any]

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
        usage_for: Callable[[dict[str, Any], list[str]], tuple[int, int, int]] = default_usage,
        latency: Callable[[list[str]], float] | None = None,
    ):
        self.scores = dict(scores or {})
        self.usage_for = usage_for
        self.latency = latency
        self.faults: list[Fault] = []
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
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

    def _handle(self, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, str], bytes, float]:
        request = json.loads(raw)
        with self._lock:
            record = Recorded(headers, request)
            self.requests.append(record)
            fault = self.faults.pop(0) if self.faults else Fault()
        ids = record.paper_ids
        delay = fault.delay + (self.latency(ids) if self.latency else 0.0)
        if fault.status != 200:
            body = fault.body if fault.body is not None else json.dumps({"error": {"message": f"injected HTTP {fault.status}", "type": "test"}})
            return fault.status, {"Content-Type": "application/json", **fault.headers}, body.encode(), delay
        text = fault.answer if fault.answer is not None else self.answer_for(ids)
        prompt, cached, completion = self.usage_for(request, ids)
        response = {
            "id": f"chatcmpl-test-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "test"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": fault.finish_reason}],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": cached},
            },
        }
        return 200, {"Content-Type": "application/json", **fault.headers}, json.dumps(response).encode(), delay

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                if not self.path.endswith("/chat/completions"):
                    self.send_error(404)
                    return
                status, headers, body, delay = server._handle({k.lower(): v for k, v in self.headers.items()}, raw)
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
