"""One run: fetch -> rules -> score -> render. No click here: the CLI calls run()."""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from paperdigest import __version__
from paperdigest.arxiv.calendar import NEW_YORK, is_weekend, latest_announcement
from paperdigest.arxiv.source import load_listing
from paperdigest.config import LoadedConfig
from paperdigest.cost import Price, TokenCounter, compute_cost, find_price
from paperdigest.errors import MissingKeyError, StaleFeedError
from paperdigest.fsutil import write_atomic
from paperdigest.llm import ChatModel, RequestSettings
from paperdigest.models import Cost, Digest, Fate, Listing, Paper, PaperResult, Usage
from paperdigest.prompt import PromptSet, build_messages, load_prompts
from paperdigest.render import render_json, render_markdown
from paperdigest.rules import Rules, Triage
from paperdigest.scoring import KeywordScorer, LLMScorer, Scorer, ScoringOutcome, batched

log = logging.getLogger(__name__)

USER_AGENT = f"paperdigest/{__version__} (personal arXiv digest tool; +https://pypi.org/project/paperdigest/)"
# Completion tokens expected per paper, for estimates only: a JSON line plus reasoning overhead.
EXPECTED_COMPLETION_PER_PAPER = 150
SCORERS = ("openai", "keywords")


@dataclass(frozen=True)
class RunOptions:
    date: dt.date | None = None  # None: the latest announcement
    source: Path | None = None  # saved feed files instead of the network
    out_dir: Path | None = None  # overrides [output] dir
    model: str | None = None  # overrides [llm] model
    scorer: str = "openai"
    dry_run: bool = False


@dataclass(frozen=True)
class BatchPlan:
    papers: int
    prompt_tokens: int  # estimate
    completion_tokens: int  # estimate


@dataclass(frozen=True)
class DryRunPlan:
    date: dt.date
    model: str
    total_papers: int
    candidates: int
    dropped: int
    batches: tuple[BatchPlan, ...]
    exact_tokens: bool  # False when tiktoken could not load and counts are estimates
    cost: Cost | None

    @property
    def prompt_tokens(self) -> int:
        return sum(b.prompt_tokens for b in self.batches)

    @property
    def completion_tokens(self) -> int:
        return sum(b.completion_tokens for b in self.batches)


@dataclass(frozen=True)
class RunResult:
    digest: Digest | None = None
    written: tuple[Path, ...] = ()
    plan: DryRunPlan | None = None

    @property
    def partial(self) -> bool:
        """True when some candidates ended without a score."""
        return bool(self.digest and self.digest.unscored)


@dataclass
class Context:
    """What a run needs besides the options, so tests can replace the clock or the environment."""

    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(NEW_YORK)
    on_batch: Callable[[int, Usage], None] | None = None


def run(config: LoadedConfig, options: RunOptions, context: Context | None = None) -> RunResult:
    context = context or Context()
    settings = config.settings
    model = options.model or settings.llm.model
    scorer_name = options.scorer
    api_key = _api_key(config, scorer_name, options.dry_run, context.env)
    prompts = load_prompts(config.prompts_dir)
    out_dir = options.out_dir or config.output_dir

    if options.date is not None and is_weekend(options.date):
        notice = f"No announcement: arXiv does not announce on weekends ({options.date:%A})."
        digest = _empty_digest(config, options.date, model, scorer_name, notice, source="calendar")
        return RunResult(digest=digest, written=_write(digest, out_dir, settings.output.formats))

    listing = load_listing(
        settings.arxiv.categories,
        source=_dated_source(options.source, options.date),
        rss_base_url=settings.arxiv.rss_url,
        timeout=settings.arxiv.timeout,
        user_agent=USER_AGENT,
    )
    date = _announcement_date(listing, options.date, context)
    if not listing.papers:
        notice = (
            f"No announcement: the feed holds no papers for {date}. "
            "This is usually an arXiv holiday; check arxiv.org for the announcement schedule."
        )
        digest = _empty_digest(config, date, model, scorer_name, notice, source=listing.source)
        return RunResult(digest=digest, written=_write(digest, out_dir, settings.output.formats))

    rules = Rules(settings.rules, settings.arxiv.announce_types)
    triage = rules.triage(listing.papers)
    log.info(
        "%d papers in the listing, %d candidates after rules, %d dropped",
        len(listing.papers),
        len(triage.candidates),
        len(triage.dropped),
    )
    if options.dry_run:
        return RunResult(plan=_plan(config, model, date, listing, triage, prompts, scorer_name))

    scorer = _make_scorer(config, model, scorer_name, api_key, prompts, context)
    outcome = scorer.score(triage.candidates)
    digest = _build_digest(config, model, scorer_name, date, listing, triage, outcome)
    return RunResult(digest=digest, written=_write(digest, out_dir, settings.output.formats))


def _dated_source(source: Path | None, date: dt.date | None) -> Path | None:
    """Use SOURCE/YYYY-MM-DD when it exists, the layout `paperdigest fetch --out SOURCE` writes."""
    if source is None or date is None:
        return source
    dated = source / date.isoformat()
    return dated if dated.is_dir() else source


def _api_key(config: LoadedConfig, scorer: str, dry_run: bool, env: Mapping[str, str]) -> str:
    if scorer != "openai" or dry_run:
        return ""
    name = config.settings.llm.api_key_env
    key = env.get(name, "").strip()
    if not key:
        raise MissingKeyError(
            f"no API key: the environment variable {name} is not set. "
            f"Set it (export {name}=sk-...), or run offline with --scorer keywords"
        )
    return key


def _announcement_date(listing: Listing, requested: dt.date | None, context: Context) -> dt.date:
    if listing.announced is None:
        # An empty feed carries no date: trust the request, else the calendar.
        return requested or latest_announcement(context.now())
    if requested is not None and listing.announced != requested:
        raise StaleFeedError(
            f"the feed at {listing.source} holds the announcement of {listing.announced}, "
            f"not {requested}; no digest was written. Try again after the next announcement "
            f"(20:00 New York time), or pass --date {listing.announced}",
            feed_date=listing.announced,
            requested=requested,
        )
    return listing.announced


def _base_url(config: LoadedConfig, env: Mapping[str, str]) -> str | None:
    """OPENAI_BASE_URL overrides [llm] base_url, as the environment overrides files elsewhere."""
    return env.get("OPENAI_BASE_URL") or config.settings.llm.base_url


def _make_scorer(
    config: LoadedConfig, model: str, name: str, api_key: str, prompts: PromptSet, context: Context
) -> Scorer:
    llm = config.settings.llm
    if name == "keywords":
        return KeywordScorer(config.settings.rules.keywords, prompts.topics)
    request = RequestSettings(model, llm.max_completion_tokens, llm.reasoning_effort, llm.temperature)
    base_url = _base_url(config, context.env)
    chat = ChatModel(request, api_key=api_key, base_url=base_url, timeout=llm.timeout, max_retries=llm.max_retries)
    log.info("scoring with %s at %s", model, chat.base_url)
    return LLMScorer(chat, prompts, llm.batch_size, on_batch=context.on_batch)


def _price(config: LoadedConfig, model: str) -> Price | None:
    overrides = {
        name: Price(p.input, p.cached_input if p.cached_input is not None else p.input, p.output)
        for name, p in config.settings.pricing.items()
    }
    return find_price(model, overrides)


def _build_digest(
    config: LoadedConfig,
    model: str,
    scorer: str,
    date: dt.date,
    listing: Listing,
    triage: Triage,
    outcome: ScoringOutcome,
) -> Digest:
    selection = config.settings.selection
    results = []
    for paper in listing.papers:
        results.append(_result(paper, triage, outcome, selection.relevance_cutoff, selection.novelty_cutoff))
    warnings: list[str] = []
    if scorer == "keywords":
        cost: Cost | None = Cost(0.0, 0.0)
        shown_model = "keywords (offline)"
    else:
        shown_model = model
        price = _price(config, model)
        if price is None:
            cost = None
            message = (
                f'no price known for model {model!r}: cost shown as n/a. '
                f'Add [pricing."{model}"] input, cached_input and output (USD per 1M tokens) to the config'
            )
            log.warning(message)
            warnings.append(message)
        else:
            cost = compute_cost(outcome.usage, price)
    if outcome.unscored:
        warnings.append(f"{len(outcome.unscored)} candidate papers have no score; see the unscored list")
    return Digest(
        date=date,
        model=shown_model,
        scorer=scorer,
        categories=config.settings.arxiv.categories,
        results=tuple(results),
        usage=outcome.usage,
        cost=cost,
        prompt=outcome.prompt,
        source=listing.source,
        relevance_cutoff=selection.relevance_cutoff,
        novelty_cutoff=selection.novelty_cutoff,
        warnings=tuple(warnings),
    )


def _result(paper: Paper, triage: Triage, outcome: ScoringOutcome, relevance_cutoff: int, novelty_cutoff: int) -> PaperResult:
    if paper.id in triage.dropped:
        return PaperResult(paper, Fate.DROPPED, reason=triage.dropped[paper.id])
    followed = triage.followed.get(paper.id, ())
    score = outcome.scores.get(paper.id)
    if score is None:
        reason = outcome.unscored.get(paper.id, "no score in the answer")
        return PaperResult(paper, Fate.UNSCORED, reason, None, bool(followed), followed, relevant=bool(followed))
    meets = score.relevance >= relevance_cutoff and score.novelty >= novelty_cutoff
    return PaperResult(paper, Fate.SCORED, "", score, bool(followed), followed, relevant=meets or bool(followed))


def _empty_digest(config: LoadedConfig, date: dt.date, model: str, scorer: str, notice: str, source: str) -> Digest:
    selection = config.settings.selection
    log.info(notice)
    return Digest(
        date=date,
        model="keywords (offline)" if scorer == "keywords" else model,
        scorer=scorer,
        categories=config.settings.arxiv.categories,
        results=(),
        usage=Usage(),
        cost=Cost(0.0, 0.0),
        prompt=None,
        source=source,
        relevance_cutoff=selection.relevance_cutoff,
        novelty_cutoff=selection.novelty_cutoff,
        notice=notice,
    )


def _plan(
    config: LoadedConfig,
    model: str,
    date: dt.date,
    listing: Listing,
    triage: Triage,
    prompts: PromptSet,
    scorer: str,
) -> DryRunPlan:
    batches: list[BatchPlan] = []
    counter = TokenCounter(model)
    if scorer == "openai":
        for batch in batched(triage.candidates, config.settings.llm.batch_size):
            messages = build_messages(prompts, batch)
            # Chat formatting adds a few tokens per message on top of the text.
            prompt_tokens = sum(counter.count(m["content"]) + 4 for m in messages) + 3
            batches.append(BatchPlan(len(batch), prompt_tokens, EXPECTED_COMPLETION_PER_PAPER * len(batch)))
    price = _price(config, model)
    usage = Usage(
        prompt_tokens=sum(b.prompt_tokens for b in batches),
        completion_tokens=sum(b.completion_tokens for b in batches),
        requests=len(batches),
    )
    cost = compute_cost(usage, price) if price else None
    return DryRunPlan(
        date=date,
        model=model if scorer == "openai" else "keywords (offline)",
        total_papers=len(listing.papers),
        candidates=len(triage.candidates),
        dropped=len(triage.dropped),
        batches=tuple(batches),
        exact_tokens=counter.exact,
        cost=cost if scorer == "openai" else Cost(0.0, 0.0),
    )


def _write(digest: Digest, out_dir: Path, formats: tuple[str, ...]) -> tuple[Path, ...]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    renderers = {"md": render_markdown, "json": render_json}
    for fmt in formats:
        path = out_dir / f"{digest.date.isoformat()}.{fmt}"
        write_atomic(path, renderers[fmt](digest))
        written.append(path)
    return tuple(written)


def expected_batches(candidates: int, batch_size: int) -> int:
    return math.ceil(candidates / batch_size) if candidates else 0
