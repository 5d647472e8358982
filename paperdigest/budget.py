"""Spending cap for a run: no request goes out that could push the cost past [llm] max_cost_usd."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from paperdigest.cost import Price, compute_cost
from paperdigest.models import Usage

# Completion tokens expected per paper before any answer has been seen. gpt-5 on a real day
# (2025-09-12, cs.LG and cs.AI) used 29,620 completion tokens for 196 papers: about 151 each,
# reasoning included. After the first answers, the run's own average replaces this guess.
DEFAULT_COMPLETION_PER_PAPER = 150
# A request is only worth sending under the cap if it may use this much of the expected
# completion; a tighter limit would mostly produce answers cut off by the length limit.
MIN_COMPLETION_SHARE = 1.5
MIN_COMPLETION_TOKENS = 256
MAX_WAIT_FOR_ROOM = 3600.0  # seconds a request waits for in-flight requests to settle
# Prompt tokens are counted with tiktoken, but a server with another tokenizer (a Llama model
# behind vLLM, say) may bill more. The worst case reserves this much more than the count, and
# once responses report usage, the largest ratio of reported to counted tokens seen so far.
PROMPT_MARGIN = 1.2


@dataclass(frozen=True)
class Reservation:
    cost: float  # USD held back until the request settles: its worst case under a cap
    completion_limit: int  # max_completion_tokens for this request
    prompt_tokens: int = 0  # the counted prompt tokens the reservation was made for


class Budget:
    """Reserves each request's cost before it is sent and settles it with the reported usage.

    With a cap, the reservation is the request's worst case: its prompt at the uncached rate
    plus a completion limit that the remaining money can pay for. The request is sent with that
    limit, so the cap is kept whatever the model returns. When the remaining money is too little
    but other requests are in flight, reserve() waits for them to settle, since they usually cost
    far less than their worst case. Thread-safe.

    NOTE: the prompt side of the worst case is the tiktoken count times PROMPT_MARGIN until the
    first usage is reported. A server whose tokenizer counts more than that margin above tiktoken
    can cross the cap by the difference on the requests already in flight.
    """

    def __init__(self, cap_usd: float | None, price: Price | None, clock: Callable[[], float] = time.monotonic):
        self.cap_usd = cap_usd
        self.price = price
        self.spent = 0.0
        self.reserved = 0.0
        self._completion_tokens = 0
        self._papers_answered = 0
        self._prompt_ratio = PROMPT_MARGIN
        self._clock = clock
        self._settled = threading.Condition()

    def completion_per_paper(self) -> float:
        with self._settled:
            return self._completion_per_paper()

    def _completion_per_paper(self) -> float:
        if self._papers_answered:
            return self._completion_tokens / self._papers_answered
        return DEFAULT_COMPLETION_PER_PAPER

    def estimate(self, prompt_tokens: int, papers: int) -> float:
        """Expected dollars of one request: every prompt token at the uncached rate."""
        if self.price is None:
            return 0.0
        completion = round(self._completion_per_paper() * papers)
        return compute_cost(Usage(prompt_tokens=prompt_tokens, completion_tokens=completion), self.price).total

    def reserve(self, prompt_tokens: int, papers: int, max_completion_tokens: int) -> Reservation | None:
        """Reserve a request's cost, or return None when it cannot fit under the cap."""
        deadline = self._clock() + MAX_WAIT_FOR_ROOM
        with self._settled:
            if self.cap_usd is None or self.price is None:
                reservation = Reservation(self.estimate(prompt_tokens, papers), max_completion_tokens, prompt_tokens)
                self.reserved += reservation.cost
                return reservation
            while True:
                reservation = self._fit(prompt_tokens, papers, max_completion_tokens)
                if reservation is not None:
                    self.reserved += reservation.cost
                    return reservation
                remaining = deadline - self._clock()
                if self.reserved <= 0 or remaining <= 0:
                    return None
                self._settled.wait(timeout=min(remaining, 5.0))

    def _fit(self, prompt_tokens: int, papers: int, max_completion_tokens: int) -> Reservation | None:
        assert self.cap_usd is not None and self.price is not None
        prompt_cost = prompt_tokens * self._prompt_ratio * self.price.input / 1_000_000
        available = self.cap_usd - self.spent - self.reserved - prompt_cost
        if available <= 0:
            return None
        rate = self.price.output / 1_000_000
        affordable = math.floor(available / rate) if rate > 0 else max_completion_tokens
        limit = min(max_completion_tokens, affordable)
        needed = max(MIN_COMPLETION_TOKENS, math.ceil(MIN_COMPLETION_SHARE * self._completion_per_paper() * papers))
        if limit < min(needed, max_completion_tokens):
            return None
        return Reservation(prompt_cost + limit * rate, limit, prompt_tokens)

    def settle(self, reservation: Reservation, usage: Usage | None, papers: int) -> None:
        """Replace a reservation with the cost of the reported usage (None: the request failed)."""
        with self._settled:
            self.reserved = max(0.0, self.reserved - reservation.cost)
            if usage is not None:
                if self.price is not None:
                    self.spent += compute_cost(usage, self.price).total
                self._completion_tokens += usage.completion_tokens
                self._papers_answered += papers
                if reservation.prompt_tokens > 0:
                    ratio = usage.prompt_tokens / reservation.prompt_tokens
                    self._prompt_ratio = max(self._prompt_ratio, ratio * PROMPT_MARGIN)
            self._settled.notify_all()

    def describe(self) -> str:
        return f"[llm] max_cost_usd = ${self.cap_usd:.4f}, ${self.spent:.4f} spent so far"
