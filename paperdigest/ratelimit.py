"""Pacing shared by the concurrent requests of a run: rate limits and a pause after 429."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

WINDOW = 60.0  # seconds: requests_per_minute and tokens_per_minute are counted over this window
MAX_WAITS = 1000  # sleeps per acquire; each is at most WINDOW, so the loop ends even with a broken clock


class RateLimiter:
    """Blocks callers so that requests and tokens per minute stay within the configured limits.

    Either limit may be None (unlimited). A request larger than the whole token limit is let
    through alone once the window is empty, since waiting longer could never make room for it.
    A shared pause (see `pause`) delays every caller after the provider answered 429.
    """

    def __init__(
        self,
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self.clock = clock
        self.sleep = sleep
        self._sent: collections.deque[tuple[float, int]] = collections.deque()  # (time, tokens)
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def pause(self, seconds: float) -> None:
        """Hold back every caller for `seconds` from now, e.g. after a 429 with Retry-After."""
        with self._lock:
            self._paused_until = max(self._paused_until, self.clock() + seconds)

    def acquire(self, tokens: int) -> float:
        """Wait until a request of `tokens` prompt tokens may go out; return the seconds waited."""
        waited = 0.0
        for _ in range(MAX_WAITS):
            with self._lock:
                now = self.clock()
                delay = self._delay(now, tokens)
                if delay <= 0:
                    self._sent.append((now, tokens))
                    return waited
            delay = min(delay, WINDOW)
            self.sleep(delay)
            waited += delay
        with self._lock:
            self._sent.append((self.clock(), tokens))
        return waited

    def _delay(self, now: float, tokens: int) -> float:
        """Seconds to wait before sending; 0 when the request fits now. Call with the lock held."""
        if now < self._paused_until:
            return self._paused_until - now
        while self._sent and self._sent[0][0] <= now - WINDOW:
            self._sent.popleft()
        if self.requests_per_minute and len(self._sent) >= self.requests_per_minute:
            return self._sent[0][0] + WINDOW - now
        if self.tokens_per_minute and self._sent:
            used = sum(t for _, t in self._sent)
            if used + tokens > self.tokens_per_minute:
                # Wait for the oldest entries to leave the window until the request fits.
                for sent_at, sent_tokens in self._sent:
                    used -= sent_tokens
                    if used + tokens <= self.tokens_per_minute:
                        return sent_at + WINDOW - now
                return self._sent[-1][0] + WINDOW - now
        return 0.0
