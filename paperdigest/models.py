"""Frozen records shared by every stage of a run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum

ANNOUNCE_TYPES = ("new", "cross", "replace", "replace-cross")


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper of a listing, as the arXiv source described it."""

    id: str  # arXiv id without version, e.g. "2509.09001" or "hep-th/9901001"
    version: int
    title: str
    authors: tuple[str, ...]  # display form: TeX accent escapes already decoded
    abstract: str
    categories: tuple[str, ...]  # the first one is the primary category
    announce_type: str  # one of ANNOUNCE_TYPES

    @property
    def primary_category(self) -> str:
        return self.categories[0] if self.categories else ""

    @property
    def versioned_id(self) -> str:
        return f"{self.id}v{self.version}"

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.id}"


@dataclass(frozen=True, slots=True)
class Listing:
    """All papers of one announcement, de-duplicated by id."""

    announced: dt.date | None  # None when the source carried no date (an empty feed)
    papers: tuple[Paper, ...]
    source: str  # URL or file path the listing was read from
    feed_categories: tuple[str, ...] = ()  # categories the feed itself covers
    reported_count: int | None = None  # count the source claims, to compare with len(papers)
    warnings: tuple[str, ...] = ()  # problems the digest should mention, e.g. counts that differ


class Fate(str, Enum):
    """The outcome of a paper in a run."""

    DROPPED = "dropped"  # a rule removed it before scoring
    SCORED = "scored"
    UNSCORED = "unscored"  # it was a candidate, but no valid score came back


@dataclass(frozen=True, slots=True)
class Score:
    """The model's verdict on one paper."""

    paper_id: str
    relevance: int  # 1..10
    novelty: int  # 1..10
    comment: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts reported by the API, summed over requests."""

    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0  # part of prompt_tokens served from the provider's cache
    completion_tokens: int = 0
    requests: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.cached_prompt_tokens + other.cached_prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.requests + other.requests,
        )


@dataclass(frozen=True, slots=True)
class Cost:
    """Dollar cost of a run's usage, in USD."""

    prompt: float
    completion: float

    @property
    def total(self) -> float:
        return self.prompt + self.completion


@dataclass(frozen=True, slots=True)
class PaperResult:
    """A paper of the listing with its fate in this run."""

    paper: Paper
    fate: Fate
    reason: str = ""  # the rule that dropped it, or why it stayed unscored
    score: Score | None = None
    followed: bool = False  # an author matches [rules] authors
    followed_authors: tuple[str, ...] = ()  # which of the paper's authors matched
    relevant: bool = False  # both cutoffs met, or followed


@dataclass(frozen=True, slots=True)
class PromptText:
    """The prompt as sent, for the digest's appendix."""

    system: str
    user_template: str  # the user message with the papers replaced by a placeholder


@dataclass(frozen=True)
class Digest:
    """Everything the renderers need for one dated digest."""

    date: dt.date
    model: str
    scorer: str  # "openai" or "keywords"
    categories: tuple[str, ...]
    results: tuple[PaperResult, ...]
    usage: Usage
    cost: Cost | None  # None when the model has no known price
    prompt: PromptText | None
    source: str
    relevance_cutoff: int
    novelty_cutoff: int
    notice: str = ""  # shown at the top, e.g. why there are no papers
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total_papers(self) -> int:
        return len(self.results)

    @property
    def scanned(self) -> tuple[PaperResult, ...]:
        """Papers that were sent to the scorer (scored or not)."""
        return tuple(r for r in self.results if r.fate is not Fate.DROPPED)

    @property
    def unscored(self) -> tuple[PaperResult, ...]:
        return tuple(r for r in self.results if r.fate is Fate.UNSCORED)

    @property
    def selected(self) -> tuple[PaperResult, ...]:
        """Relevant papers in digest order: followed first, then by scores."""
        chosen = [r for r in self.results if r.relevant]
        return tuple(sorted(chosen, key=digest_order_key))


def digest_order_key(result: PaperResult) -> tuple:
    """Sort key: followed authors first, then relevance + novelty, then relevance, then id."""
    relevance = result.score.relevance if result.score else 0
    novelty = result.score.novelty if result.score else 0
    return (not result.followed, -(relevance + novelty), -relevance, result.paper.id)
