"""Scorers: the LLM scorer that sends batches to the model, and the offline keyword scorer."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from paperdigest.answers import parse_answer
from paperdigest.errors import LLMError
from paperdigest.llm import ChatModel, Completion
from paperdigest.models import Paper, PromptText, Score, Usage
from paperdigest.prompt import PromptSet, build_messages
from paperdigest.rules import Keyword

log = logging.getLogger(__name__)


@dataclass
class ScoringOutcome:
    scores: dict[str, Score] = field(default_factory=dict)
    unscored: dict[str, str] = field(default_factory=dict)  # paper id -> reason
    usage: Usage = field(default_factory=Usage)
    prompt: PromptText | None = None


class Scorer(Protocol):
    name: str

    def score(self, candidates: Sequence[Paper]) -> ScoringOutcome: ...


def batched(papers: Sequence[Paper], size: int) -> list[list[Paper]]:
    return [list(papers[i : i + size]) for i in range(0, len(papers), size)]


class LLMScorer:
    """Scores candidates with a chat model, in batches, asking once more for papers it missed."""

    name = "openai"

    def __init__(
        self,
        model: ChatModel,
        prompts: PromptSet,
        batch_size: int,
        on_batch: Callable[[int, Usage], None] | None = None,
    ):
        self.model = model
        self.prompts = prompts
        self.batch_size = batch_size
        self.on_batch = on_batch  # called with (papers in the batch, usage) after each request

    def score(self, candidates: Sequence[Paper]) -> ScoringOutcome:
        outcome = ScoringOutcome(prompt=self.prompts.as_prompt_text())
        last_problem: dict[str, str] = {}
        pending = list(candidates)
        for attempt in (1, 2):
            if not pending:
                break
            if attempt == 2:
                log.info("asking again for %d papers missing from the answers", len(pending))
            missed: list[Paper] = []
            for batch in batched(pending, self.batch_size):
                missed.extend(self._score_batch(batch, outcome, last_problem))
            pending = missed
        for paper in pending:
            outcome.unscored[paper.id] = last_problem.get(paper.id, "no score in the answer")
        return outcome

    def _score_batch(self, batch: list[Paper], outcome: ScoringOutcome, problems: dict[str, str]) -> list[Paper]:
        """Send one batch; record scores and usage; return the papers still without a score."""
        try:
            completion: Completion = self.model.complete(build_messages(self.prompts, batch))
        except LLMError as exc:
            log.warning("batch of %d papers failed: %s", len(batch), exc)
            for paper in batch:
                problems[paper.id] = f"request failed: {exc}"
            return batch
        outcome.usage = outcome.usage + completion.usage
        if self.on_batch:
            self.on_batch(len(batch), completion.usage)
        log.debug(
            "batch of %d papers: %d prompt tokens (%d cached), %d completion tokens, %.1f s, finish reason %s",
            len(batch),
            completion.usage.prompt_tokens,
            completion.usage.cached_prompt_tokens,
            completion.usage.completion_tokens,
            completion.latency,
            completion.finish_reason,
        )
        parsed = parse_answer(completion.text, [p.id for p in batch])
        for error in parsed.errors:
            log.info("answer line rejected: %s", error)
        outcome.scores.update({pid: s for pid, s in parsed.scores.items() if pid not in outcome.scores})
        missing = [p for p in batch if p.id not in outcome.scores]
        reason = "no score in the answer"
        if completion.finish_reason == "length":
            reason = "the answer was cut off by the length limit ([llm] max_completion_tokens)"
        elif not completion.text.strip():
            reason = "the answer was empty"
        for paper in missing:
            problems[paper.id] = reason
        return missing


_WORD = re.compile(r"[A-Za-z][A-Za-z-]{3,}")
_STOPWORDS = frozenset(
    """
    about above after again against also among and any are because been before being below between both
    but can could does doing down during each even every from further have having here into itself just like
    more most must never only other over same should some such than that their them then there these they
    this those through under until very what when where which while will with without would your yours
    paper papers reader relevant irrelevant topic topics keep pass work known task field score scores method
    methods new using used use areas follows follow signal match unless less variants designs
    """.split()
)
_GENERIC_WORDS = frozenset({"methods", "method", "variants", "other", "new", "designs", "advances", "the", "a", "an"})


def topic_terms(topics: str) -> list[str]:
    """Pick matchable terms from topics.md: short phrases listed after a colon, plus abbreviations.

    Lines labelled "Relevant:" or "Keywords ...:" are preferred; lines about what the reader does
    not follow are skipped. Without such lines, every listed phrase counts, then every long word.
    """
    labelled: list[str] = []
    listed: list[str] = []
    for line in topics.splitlines():
        label, colon, body = line.partition(":")
        label = label.lower()
        if not colon or "not" in label or "score low" in label:
            continue
        terms = _phrases(body)
        if "relevant" in label or "keyword" in label:
            labelled.extend(terms)
        listed.extend(terms)
    terms = labelled or listed
    if not terms:
        terms = [w for w in _WORD.findall(topics) if w.lower() not in _STOPWORDS]
    return list(dict.fromkeys(terms))


def _phrases(body: str) -> list[str]:
    """Split a comma-separated list into phrases of one to three meaningful words."""
    phrases = re.findall(r"\(([A-Z][A-Za-z]{1,8})\)", body)
    body = re.sub(r"\(.*?\)", "", body)
    for part in re.split(r"[,;.]|\band\b|\bor\b", body):
        words = [w for w in part.split() if w.lower() not in _GENERIC_WORDS]
        if 1 <= len(words) <= 3 and all(len(w) > 2 and w.lower() not in _STOPWORDS for w in words):
            phrases.append(" ".join(words))
    return phrases


def _term_pattern(term: str) -> re.Pattern[str]:
    """Match a topic term loosely: hyphens and spaces alike, an optional plural ending."""
    words = [re.escape(w) for w in re.split(r"[\s-]+", term.strip()) if w]
    last = words[-1]
    if len(last) > 4 and last.endswith("s") and not last.endswith("ss"):
        last = last[:-1]
    words[-1] = last + "(?:s|es)?"
    return re.compile(r"(?<!\w)" + r"[\s-]+".join(words) + r"(?!\w)", re.IGNORECASE)


class KeywordScorer:
    """Offline scorer: ranks candidates by matches of the rule keywords and the terms of topics.md.

    A term found in the title counts 3 points, in the abstract 2; relevance is 1 plus the points,
    capped at 10. It has no notion of novelty, so novelty repeats the relevance score.
    """

    name = "keywords"

    def __init__(self, keywords: Sequence[str], topics: str):
        self.terms: list[tuple[str, re.Pattern[str]]] = [(k, Keyword.parse(k).pattern) for k in keywords]
        self.terms += [(t, _term_pattern(t)) for t in topic_terms(topics) if t not in keywords]

    def score(self, candidates: Sequence[Paper]) -> ScoringOutcome:
        outcome = ScoringOutcome()
        for paper in candidates:
            in_title = [text for text, pattern in self.terms if pattern.search(paper.title)]
            in_abstract = [text for text, pattern in self.terms if text not in in_title and pattern.search(paper.abstract)]
            relevance = max(1, min(10, 1 + 3 * len(in_title) + 2 * len(in_abstract)))
            if in_title or in_abstract:
                comment = "Keyword matches: " + ", ".join(in_title + in_abstract) + "."
            else:
                comment = "No keyword matched."
            outcome.scores[paper.id] = Score(paper.id, relevance, relevance, comment)
        return outcome
