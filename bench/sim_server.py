"""A simulated OpenAI chat server for the benchmark, built on tests/fake_openai.py.

It adds what a timing and token benchmark needs on top of the test server:
- latency = a fixed part + a part per paper of the request;
- usage counted with tiktoken (o200k_base) on the messages as sent;
- cached prompt tokens as OpenAI's prompt caching reports them: the prefix shared with the
  previous request, counted only from 1,024 tokens on and rounded down to a multiple of 128;
- completion tokens of about 40 per paper.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tiktoken

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tests"))

from fake_openai import FakeOpenAI, RateLimit, Recorded  # noqa: E402

ENCODING = "o200k_base"
# Chat formatting tokens, following OpenAI's cookbook count for its chat models: 3 per
# message (role and separators) plus 3 that prime the reply. An estimate, not a spec.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3
CACHE_MIN_TOKENS = 1024  # OpenAI caches prompts from 1,024 tokens on...
CACHE_STEP_TOKENS = 128  # ...in steps of 128 tokens
COMPLETION_TOKENS_PER_PAPER = 40

# Stand-ins for the chat markup in token sequences. Real token ids are never negative, so a
# role marker can only match the same marker when two prompts are compared.
_ROLE_MARKERS = {"system": -1, "user": -2, "assistant": -3, "developer": -4}


def chat_tokens(messages: Sequence[dict[str, str]], encoding: tiktoken.Encoding) -> list[int]:
    """Return the prompt of a chat request as a token sequence, markup included."""
    tokens: list[int] = []
    for message in messages:
        marker = _ROLE_MARKERS.get(message["role"], -9)
        tokens.extend([marker] * TOKENS_PER_MESSAGE)
        tokens.extend(encoding.encode(message["content"], disallowed_special=()))
    tokens.extend([-10] * TOKENS_PER_REPLY)
    return tokens


def common_prefix(first: Sequence[int], second: Sequence[int]) -> int:
    """Return the number of leading tokens the two sequences share."""
    length = 0
    for a, b in zip(first, second):
        if a != b:
            break
        length += 1
    return length


def cached_tokens(shared_prefix: int) -> int:
    """Return the cached token count OpenAI would report for a shared prefix of that length."""
    if shared_prefix < CACHE_MIN_TOKENS:
        return 0
    return shared_prefix - shared_prefix % CACHE_STEP_TOKENS


@dataclass(frozen=True)
class Latency:
    """Simulated response time: `fixed` seconds plus `per_paper` seconds per paper of the request."""

    fixed: float = 1.0
    per_paper: float = 0.2

    def __call__(self, ids: Sequence[str]) -> float:
        return self.fixed + self.per_paper * len(ids)


class SimulatedOpenAI:
    """FakeOpenAI with simulated latency, tiktoken usage and prompt caching; a context manager."""

    def __init__(self, latency: Latency, rate_limit: RateLimit | None = None):
        self.encoding = tiktoken.get_encoding(ENCODING)
        self._lock = threading.Lock()
        self._previous: list[int] = []
        # (prompt tokens, cached tokens) of each successful request, in the order the server counted them
        self.usages: list[tuple[int, int]] = []
        self.prompts: list[list[int]] = []
        if rate_limit is not None and rate_limit.tokens_per_minute is not None and rate_limit.count_tokens is None:
            rate_limit = RateLimit(
                max_in_flight=rate_limit.max_in_flight,
                requests_per_minute=rate_limit.requests_per_minute,
                tokens_per_minute=rate_limit.tokens_per_minute,
                count_tokens=self.count_prompt,
                window=rate_limit.window,
            )
        self.server = FakeOpenAI(usage_for=self._usage, latency=latency, rate_limit=rate_limit)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def requests(self) -> list[Recorded]:
        return self.server.requests

    def count_prompt(self, request: dict[str, Any]) -> int:
        return len(chat_tokens(request["messages"], self.encoding))

    def _usage(self, request: dict[str, Any], ids: list[str]) -> tuple[int, int, int]:
        tokens = chat_tokens(request["messages"], self.encoding)
        with self._lock:
            cached = cached_tokens(common_prefix(self._previous, tokens))
            self._previous = tokens
            self.usages.append((len(tokens), cached))
            self.prompts.append(tokens)
        return len(tokens), cached, COMPLETION_TOKENS_PER_PAPER * len(ids)

    def shared_prefix(self) -> int:
        """Return the number of leading tokens that every counted prompt shares (0 without prompts)."""
        with self._lock:
            prompts = list(self.prompts)
        if not prompts:
            return 0
        shared = len(prompts[0])
        for tokens in prompts[1:]:
            shared = min(shared, common_prefix(prompts[0], tokens))
        return shared

    def __enter__(self) -> SimulatedOpenAI:
        self.server.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.__exit__(*exc_info)
