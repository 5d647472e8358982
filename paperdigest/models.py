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
    PREFILTERED = "prefiltered"  # the free ranking placed it below the prefilter's cut
    SCORED = "scored"
    UNSCORED = "unscored"  # it was a candidate, but no valid score came back


@dataclass(frozen=True, slots=True)
class Score:
    """The verdict on one paper: the model's, or an offline ranker's."""

    paper_id: str
    relevance: int  # 1..10
    novelty: int | None  # 1..10; None when not assessed (the offline rankers)
    comment: str
    rank: int | None = None  # place in an offline ranking, 1 the best; orders ties in the digest


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


@dataclass(frozen=True, slots=True)
class PrefilterReport:
    """The prefilter's ranker, setting and counts, as the digest reports them."""

    method: str  # a ranker name, e.g. "keywords+embeddings"
    keep: float | int  # fraction or count, as configured
    ranked: int  # candidates it ranked (followed authors excluded: they always pass)
    kept: int
    dropped: int
    followed: int = 0  # papers by followed authors, sent to the model without ranking
    warning: str = ""  # why the ranking may be no better than the listing order
    cached: int = 0  # papers whose model score was cached already, kept without ranking

    @property
    def keep_text(self) -> str:
        """The setting in words: "60%" or "the top 50"."""
        return f"{self.keep * 100:.3g}%" if isinstance(self.keep, float) else f"the top {self.keep}"


@dataclass(frozen=True)
class Digest:
    """Everything the renderers need for one dated digest."""

    date: dt.date
    model: str
    scorer: str  # "openai", or an offline ranker: "keywords", "embeddings", "keywords+embeddings"
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
    prefilter: PrefilterReport | None = None

    @property
    def novelty_assessed(self) -> bool:
        """False for offline rankings; digests of the old keyword scorer carried a novelty, so they count."""
        return self.scorer == "openai" or any(r.score is not None and r.score.novelty is not None for r in self.results)

    @property
    def total_papers(self) -> int:
        return len(self.results)

    @property
    def scanned(self) -> tuple[PaperResult, ...]:
        """Papers that were sent to the scorer (scored or not)."""
        return tuple(r for r in self.results if r.fate not in (Fate.DROPPED, Fate.PREFILTERED))

    @property
    def prefiltered(self) -> tuple[PaperResult, ...]:
        return tuple(r for r in self.results if r.fate is Fate.PREFILTERED)

    @property
    def unscored(self) -> tuple[PaperResult, ...]:
        return tuple(r for r in self.results if r.fate is Fate.UNSCORED)

    @property
    def selected(self) -> tuple[PaperResult, ...]:
        """Relevant papers in digest order: followed first, then by scores."""
        chosen = [r for r in self.results if r.relevant]
        return tuple(sorted(chosen, key=digest_order_key))


def offline_label(scorer: str) -> str:
    """Return the name a digest shows for an offline ranker in place of a model: "keywords (offline)"."""
    return f"{scorer} (offline)"


def digest_order_key(result: PaperResult) -> tuple:
    """Sort key: followed authors first, then relevance + novelty, then relevance, then offline rank, then id."""
    score = result.score
    relevance = score.relevance if score else 0
    novelty = (score.novelty or 0) if score else 0
    rank = score.rank if score and score.rank is not None else 0
    return (not result.followed, -(relevance + novelty), -relevance, rank, result.paper.id)
