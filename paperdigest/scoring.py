"""The LLM scorer: token-budget batches sent concurrently, cached, re-asked, within a budget."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

from paperdigest.answers import parse_answer
from paperdigest.budget import Budget, Reservation
from paperdigest.cost import TokenCounter
from paperdigest.errors import FatalLLMError, LLMError
from paperdigest.llm import ChatModel, Completion
from paperdigest.models import Paper, PromptText, Score, Usage
from paperdigest.prompt import PromptSet, build_messages, format_batch, format_paper
from paperdigest.store import NullCache, ScoreStore, score_key

log = logging.getLogger(__name__)

MAX_SPLIT_DEPTH = 4  # a batch cut off by the length limit is halved at most this many times
# After this many batches in a row failed even with retries, no further request is sent:
# the server is down or hanging, and waiting out every batch's timeouts would take hours.
MAX_CONSECUTIVE_FAILURES = 3
CHAT_OVERHEAD_TOKENS = 11  # chat formatting around two messages, on top of their text (estimate)


@dataclass
class ScoringOutcome:
    scores: dict[str, Score] = field(default_factory=dict)
    unscored: dict[str, str] = field(default_factory=dict)  # paper id -> reason
    usage: Usage = field(default_factory=Usage)
    prompt: PromptText | None = None
    cached: int = 0  # scores taken from the cache, no request sent
    requests_without_usage: int = 0  # answers whose usage the server did not report
    warnings: list[str] = field(default_factory=list)  # for the digest, e.g. a ranking without signal


class Scorer(Protocol):
    name: str

    def score(self, candidates: Sequence[Paper]) -> ScoringOutcome: ...


class Progress(Protocol):
    """Receives scoring progress; the CLI shows it as a bar or log lines."""

    def start(self, total: int, cached: int) -> None: ...

    def update(self, papers_done: int, in_flight: int, spent_usd: float | None) -> None: ...

    def finish(self) -> None: ...


@dataclass(frozen=True)
class BatchLimits:
    max_papers: int  # [llm] batch_size
    max_tokens: int  # [llm] batch_tokens: tokens of the papers part of one request


def make_batches(
    papers: Sequence[Paper], counter: TokenCounter, limits: BatchLimits, counts: dict[str, int] | None = None
) -> list[list[Paper]]:
    """Fill batches in order up to the paper and token limits, recording each paper's count in `counts`.

    A paper that alone exceeds the token limit has its abstract shortened to fit.
    """
    batches: list[list[Paper]] = []
    current: list[Paper] = []
    current_tokens = 0
    for paper in papers:
        tokens = counter.count(format_paper(paper))
        if tokens > limits.max_tokens:
            paper, tokens = _shorten(paper, counter, limits.max_tokens)
        if current and (len(current) >= limits.max_papers or current_tokens + tokens > limits.max_tokens):
            batches.append(current)
            current, current_tokens = [], 0
        current.append(paper)
        current_tokens += tokens
        if counts is not None:
            counts[paper.id] = tokens
    if current:
        batches.append(current)
    return batches


def _shorten(paper: Paper, counter: TokenCounter, max_tokens: int) -> tuple[Paper, int]:
    abstract = paper.abstract
    for _ in range(20):
        abstract = abstract[: int(len(abstract) * 0.8)]
        shorter = dataclasses.replace(paper, abstract=abstract + " [abstract shortened]")
        tokens = counter.count(format_paper(shorter))
        if tokens <= max_tokens:
            log.info("paper %s is longer than [llm] batch_tokens = %d; its abstract was shortened", paper.id, max_tokens)
            return shorter, tokens
    return shorter, tokens


@dataclass
class _BatchResult:
    batch: list[Paper]
    depth: int  # how many times this batch's papers were split before
    usage: Usage | None = None
    usage_missing: bool = False
    failed: bool = False  # the request failed even after retries
    scores: dict[str, Score] = field(default_factory=dict)
    missing: list[Paper] = field(default_factory=list)  # ask again in the next round
    final: dict[str, str] = field(default_factory=dict)  # paper id -> reason; not asked again
    splits: list[list[Paper]] = field(default_factory=list)  # halves to send now
    reasons: dict[str, str] = field(default_factory=dict)  # why each missing paper is missing


class LLMScorer:
    """Scores candidates with a chat model.

    Batches go out concurrently, up to `max_concurrency`. Scores found in the cache are not
    requested again. Papers missing from an answer are asked for once more, and an answer cut
    off by the length limit or empty is retried with its batch split in two. Before each request
    the budget reserves its estimated cost, and no request goes out once the cap would be crossed.
    The result does not depend on the order in which answers arrive.
    """

    name = "openai"

    def __init__(
        self,
        model: ChatModel,
        prompts: PromptSet,
        limits: BatchLimits,
        counter: TokenCounter,
        *,
        max_concurrency: int = 1,
        budget: Budget | None = None,
        cache: ScoreStore | None = None,
        cache_params: dict[str, Any] | None = None,
        progress: Progress | None = None,
    ):
        self.model = model
        self.prompts = prompts
        self.limits = limits
        self.counter = counter
        self.max_concurrency = max(1, max_concurrency)
        self.budget = budget or Budget(None, None)
        self.cache = cache or NullCache()
        self.cache_params = cache_params or {}
        self.progress = progress
        self._instruction_tokens = counter.count(prompts.instructions)
        # The user message is a short header plus the papers, so its count is estimated from the
        # per-paper counts make_batches already made instead of encoding every batch again.
        self._header_tokens = counter.count(format_batch([]))
        self._paper_tokens: dict[str, int] = {}
        self._done = 0  # papers with a final outcome in this run, for the progress display
        self._stopped = ""  # why no further request may be sent; a plain str, so setting it from a worker is atomic
        self._consecutive_failures = 0

    def cache_key(self, paper: Paper) -> str:
        return score_key(paper, self.prompts.digest, self.model.settings.model, self.cache_params)

    def score(self, candidates: Sequence[Paper]) -> ScoringOutcome:
        outcome = ScoringOutcome(prompt=self.prompts.as_prompt_text())
        keys = {paper.id: self.cache_key(paper) for paper in candidates}
        cached = self.cache.get_many(list(keys.values()))
        for paper in candidates:
            hit = cached.get(keys[paper.id])
            if hit is not None:
                outcome.scores[paper.id] = dataclasses.replace(hit, paper_id=paper.id)
        outcome.cached = len(outcome.scores)
        if outcome.cached:
            log.info("%d of %d scores taken from the cache", outcome.cached, len(candidates))

        self._done = outcome.cached
        if self.progress:
            self.progress.start(len(candidates), outcome.cached)
        reasons: dict[str, str] = {}
        pending = [p for p in candidates if p.id not in outcome.scores]
        try:
            for round_number in (1, 2):
                if not pending or self._stopped:
                    break
                if round_number == 2:
                    log.info("requesting again the %d papers missing from the answers", len(pending))
                batches = make_batches(pending, self.counter, self.limits, self._paper_tokens)
                missed = self._run_round(batches, outcome, keys, reasons)
                order = {p.id: i for i, p in enumerate(candidates)}
                pending = sorted(missed, key=lambda p: order[p.id])
        finally:
            if self.progress:
                self.progress.finish()
        for paper in pending:
            reason = reasons.get(paper.id, "no score in the answer")
            if self._stopped and paper.id not in reasons:
                reason = f"not sent: {self._stopped}"
            outcome.unscored.setdefault(paper.id, reason)
        return outcome

    def _run_round(
        self,
        batches: list[list[Paper]],
        outcome: ScoringOutcome,
        keys: dict[str, str],
        reasons: dict[str, str],
    ) -> list[Paper]:
        """Send the batches concurrently and return the papers to ask for again.

        On KeyboardInterrupt no further batch starts and the pool is not waited for, so Ctrl-C
        returns at once. The scores already received are in the cache.
        """
        missed: list[Paper] = []
        pool = ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="score")
        interrupted = False
        try:
            running: set[Future[_BatchResult]] = {pool.submit(self._score_batch, b, 0) for b in batches}
            while running:
                if self.progress:
                    self.progress.update(self._done, min(len(running), self.max_concurrency), self._spent())
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    try:
                        result = future.result()
                    except FatalLLMError as exc:
                        self._stopped = str(exc)
                        raise
                    self._merge(result, outcome, keys, reasons)
                    self._watch_failures(result)
                    missed.extend(result.missing)
                    for half in result.splits:
                        running.add(pool.submit(self._score_batch, half, result.depth + 1))
            if self.progress:
                self.progress.update(self._done, 0, self._spent())
        except KeyboardInterrupt:
            interrupted = True
            self._stopped = "the run was interrupted"
            raise
        finally:
            pool.shutdown(wait=not interrupted, cancel_futures=True)
        return missed

    def _spent(self) -> float | None:
        return self.budget.spent if self.budget.price is not None else None

    def _watch_failures(self, result: _BatchResult) -> None:
        """Stop sending once MAX_CONSECUTIVE_FAILURES batches in a row failed after their retries."""
        if not result.failed:
            if result.usage is not None or result.usage_missing:
                self._consecutive_failures = 0
            return
        self._consecutive_failures += 1
        if self._consecutive_failures >= MAX_CONSECUTIVE_FAILURES and not self._stopped:
            self._stopped = f"{self._consecutive_failures} requests in a row failed, so the model server looks unavailable"
            log.error("%s; no further requests are sent", self._stopped)

    def _merge(self, result: _BatchResult, outcome: ScoringOutcome, keys: dict[str, str], reasons: dict[str, str]) -> None:
        if result.usage_missing:
            outcome.requests_without_usage += 1
            outcome.usage = outcome.usage + Usage(requests=1)
        if result.usage is not None:
            outcome.usage = outcome.usage + result.usage
        new_scores = [(pid, s) for pid, s in result.scores.items() if pid not in outcome.scores]
        outcome.scores.update(new_scores)
        if new_scores:
            self.cache.put_many([(keys[pid], s) for pid, s in new_scores], model=self.model.settings.model)
        outcome.unscored.update(result.final)
        reasons.update(result.reasons)
        self._done += len(new_scores) + len(result.final)

    def _score_batch(self, batch: list[Paper], depth: int) -> _BatchResult:
        """Send one batch. Runs in a worker thread, so it touches no shared state but the budget."""
        result = _BatchResult(batch, depth)
        if self._stopped:
            result.final = {p.id: f"not sent: {self._stopped}" for p in batch}
            return result
        messages = build_messages(self.prompts, batch)
        papers_tokens = sum(self._paper_tokens.get(p.id) or self.counter.count(format_paper(p)) for p in batch)
        prompt_estimate = self._instruction_tokens + self._header_tokens + papers_tokens + len(batch) + CHAT_OVERHEAD_TOKENS
        reserved = self.budget.reserve(prompt_estimate, len(batch), self.model.settings.max_completion_tokens)
        if reserved is None:
            reason = f"not scored for budget: one more request could cross {self.budget.describe()}"
            result.final = {p.id: reason for p in batch}
            log.warning("budget: %d papers not scored; one more request could cross %s", len(batch), self.budget.describe())
            return result
        try:
            completion = self.model.complete(messages, prompt_estimate, reserved.completion_limit)
        except FatalLLMError as exc:
            self.budget.settle(reserved, None, 0)
            self._stopped = str(exc)  # queued batches see this before sending
            raise
        except LLMError as exc:
            self.budget.settle(reserved, None, 0)
            log.warning("batch of %d papers failed: %s", len(batch), exc)
            result.failed = True
            result.missing = list(batch)
            result.reasons = {p.id: f"request failed: {exc}" for p in batch}
            return result
        self._record_usage(result, completion, reserved, prompt_estimate)
        self._read_answer(result, completion)
        return result

    def _record_usage(self, result: _BatchResult, completion: Completion, reserved: Reservation, prompt_estimate: int) -> None:
        """Settle the budget reservation with the reported usage and log the request."""
        batch = result.batch
        usage = completion.usage
        if usage is None:
            # Without reported usage, count the estimate as spent so the budget stays safe.
            result.usage_missing = True
            expected = round(self.budget.completion_per_paper() * len(batch))
            self.budget.settle(reserved, Usage(prompt_estimate, 0, expected, 1), len(batch))
            log.info("batch of %d papers: the server reported no usage, %.1f s", len(batch), completion.latency)
            return
        self.budget.settle(reserved, usage, len(batch))
        result.usage = usage
        log.info(
            "batch of %d papers: %d prompt tokens (%d cached), %d completion tokens, %.1f s, finish reason %s",
            len(batch),
            usage.prompt_tokens,
            usage.cached_prompt_tokens,
            usage.completion_tokens,
            completion.latency,
            completion.finish_reason,
        )

    def _read_answer(self, result: _BatchResult, completion: Completion) -> None:
        """Take the scores from the answer; split the batch or mark papers missing for the rest."""
        batch = result.batch
        parsed = parse_answer(completion.text, [p.id for p in batch])
        result.scores = dict(parsed.scores)
        missing = [p for p in batch if p.id not in result.scores]
        cut_off = completion.finish_reason == "length"
        empty = not completion.text.strip()
        if cut_off:
            reason = "the answer was cut off by the length limit ([llm] max_completion_tokens)"
        elif empty:
            reason = "the answer was empty"
        elif parsed.errors:
            reason = f"no valid line for this paper in the answer ({len(parsed.errors)} lines rejected, e.g. {parsed.errors[0]})"
        else:
            reason = "no score in the answer"
        result.reasons = {p.id: reason for p in missing}

        if (cut_off or empty) and len(missing) > 1 and result.depth < MAX_SPLIT_DEPTH:
            middle = len(missing) // 2
            result.splits = [missing[:middle], missing[middle:]]
            log.warning("batch of %d papers: %s; sending the %d unanswered papers again in two halves", len(batch), reason, len(missing))
        elif missing:
            result.missing = missing
            log.warning("batch of %d papers: %d without a valid score (%s)", len(batch), len(missing), reason)
