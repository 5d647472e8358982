"""Spending cap for a run: no request goes out once it could push the cost past [llm] max_cost_usd."""

from __future__ import annotations

import threading

from paperdigest.cost import Price, compute_cost
from paperdigest.models import Usage

# Completion tokens expected per paper before any answer has been seen. gpt-5 on a real day
# (2025-09-12, cs.LG and cs.AI) used 29,620 completion tokens for 196 papers: about 151 each,
# reasoning included. After the first answers, the run's own average replaces this guess.
DEFAULT_COMPLETION_PER_PAPER = 150


class Budget:
    """Reserves the estimated cost of each request before it is sent and settles it after.

    Thread-safe: concurrent requests reserve against the same cap, so their sum stays under it.
    """

    def __init__(self, cap_usd: float | None, price: Price | None):
        self.cap_usd = cap_usd
        self.price = price
        self.spent = 0.0
        self.reserved = 0.0
        self._completion_tokens = 0
        self._papers_answered = 0
        self._lock = threading.Lock()

    def completion_per_paper(self) -> float:
        with self._lock:
            return self._completion_per_paper()

    def _completion_per_paper(self) -> float:
        if self._papers_answered:
            return self._completion_tokens / self._papers_answered
        return DEFAULT_COMPLETION_PER_PAPER

    def estimate(self, prompt_tokens: int, papers: int) -> float:
        """Dollar estimate of one request: every prompt token at the uncached rate."""
        if self.price is None:
            return 0.0
        completion = round(self._completion_per_paper() * papers)
        return compute_cost(Usage(prompt_tokens=prompt_tokens, completion_tokens=completion), self.price).total

    def reserve(self, prompt_tokens: int, papers: int) -> float | None:
        """Reserve the estimate and return it, or return None when it would cross the cap."""
        with self._lock:
            estimate = self.estimate(prompt_tokens, papers)
            if self.cap_usd is not None and self.spent + self.reserved + estimate > self.cap_usd:
                return None
            self.reserved += estimate
            return estimate

    def settle(self, reserved: float, usage: Usage | None, papers: int) -> None:
        """Replace a reservation with the cost of the reported usage (None: the request failed)."""
        with self._lock:
            self.reserved = max(0.0, self.reserved - reserved)
            if usage is None:
                return
            if self.price is not None:
                self.spent += compute_cost(usage, self.price).total
            self._completion_tokens += usage.completion_tokens
            self._papers_answered += papers

    def describe(self) -> str:
        return f"[llm] max_cost_usd = ${self.cap_usd:.4f} reached (spent ${self.spent:.4f})"
