"""One run: fetch -> rules -> score -> render. No click here: the CLI calls run() and backfill()."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from paperdigest import __version__
from paperdigest.arxiv.calendar import NEW_YORK, is_weekend, latest_announcement
from paperdigest.arxiv.source import load_listing
from paperdigest.budget import Budget
from paperdigest.config import LoadedConfig
from paperdigest.cost import Price, TokenCounter, compute_cost, find_price, format_cost_cells
from paperdigest.errors import ConfigError, EmbeddingsUnavailable, FeedFormatError, FetchError, MissingKeyError, PaperdigestError, StaleFeedError
from paperdigest.fsutil import FolderLock, write_atomic
from paperdigest.llm import ChatModel, RequestSettings
from paperdigest.models import Cost, Digest, Fate, Listing, Paper, PaperResult, PrefilterReport, Usage, offline_label
from paperdigest.prompt import PromptSet, build_messages, load_prompts
from paperdigest.ranking import RANKERS, OfflineScorer, Ranker, keep_count, weak_ranking_warning
from paperdigest.ratelimit import RateLimiter
from paperdigest.render import render_json, render_markdown
from paperdigest.rules import Rules, Triage
from paperdigest.scoring import CHAT_OVERHEAD_TOKENS, BatchLimits, LLMScorer, Progress, Scorer, ScoringOutcome, make_batches
from paperdigest.topics import parse_topics

log = logging.getLogger(__name__)

USER_AGENT = f"paperdigest/{__version__} (personal arXiv digest tool; +https://pypi.org/project/paperdigest/)"
SCORERS = ("openai", *RANKERS)
MAX_BACKFILL_DAYS = 366


@dataclass(frozen=True)
class RunOptions:
    date: dt.date | None = None  # None: the latest announcement
    source: Path | None = None  # saved feed files instead of the network
    out_dir: Path | None = None  # overrides [output] dir
    model: str | None = None  # overrides [llm] model
    scorer: str = "openai"
    dry_run: bool = False
    force: bool = False  # rebuild a digest that exists already
    use_cache: bool = True


@dataclass(frozen=True)
class BatchPlan:
    papers: int
    prompt_tokens: int  # estimate
    completion_tokens: int  # estimate


@dataclass(frozen=True)
class Saving:
    """The estimate a run would have without its prefilter, to show what the prefilter saves."""

    batches: tuple[BatchPlan, ...]
    cost: Cost | None

    @property
    def prompt_tokens(self) -> int:
        return sum(b.prompt_tokens for b in self.batches)

    @property
    def completion_tokens(self) -> int:
        return sum(b.completion_tokens for b in self.batches)


@dataclass(frozen=True)
class DryRunPlan:
    date: dt.date
    model: str
    total_papers: int
    candidates: int
    dropped: int
    cached: int  # candidates whose score is in the cache already
    batches: tuple[BatchPlan, ...]
    exact_tokens: bool  # False when tiktoken could not load and counts are estimates
    cost: Cost | None
    max_cost_usd: float | None = None
    prefilter: PrefilterReport | None = None
    without_prefilter: Saving | None = None  # the same estimate with every candidate sent

    @property
    def prompt_tokens(self) -> int:
        return sum(b.prompt_tokens for b in self.batches)

    @property
    def completion_tokens(self) -> int:
        return sum(b.completion_tokens for b in self.batches)


@dataclass(frozen=True)
class RunResult:
    date: dt.date | None = None
    digest: Digest | None = None
    written: tuple[Path, ...] = ()
    plan: DryRunPlan | None = None
    existing: Path | None = None  # the digest was there already; nothing was done

    @property
    def partial(self) -> bool:
        """True when some candidates ended without a score."""
        return bool(self.digest and self.digest.unscored)


@dataclass
class Context:
    """Clock, environment, sleep and progress display of a run, replaceable in tests."""

    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(NEW_YORK)
    sleep: Callable[[float], None] = time.sleep
    progress: Progress | None = None
    feed: Listing | None = None  # the RSS feed once read, reused by the other dates of a backfill
    last_api_call: float = float("-inf")  # time.monotonic() when the last arXiv API fetch ended


def run(config: LoadedConfig, options: RunOptions, context: Context | None = None) -> RunResult:
    """Build the digest of one announcement date (options.date, or the latest one)."""
    context = context or Context()
    settings = config.settings
    out_dir = options.out_dir or config.output_dir
    date = options.date or latest_announcement(context.now())
    primary = out_dir / f"{date.isoformat()}.{settings.output.formats[0]}"
    if primary.exists() and not options.force and not options.dry_run:
        log.info("%s exists; nothing to do (use --force to rebuild it)", primary)
        return RunResult(date=date, existing=primary)

    # A weekend sends no request, so it needs no key.
    api_key = "" if is_weekend(date) else _api_key(config, options.scorer, options.dry_run, context.env)
    prompts = load_prompts(config.prompts_dir)
    if options.scorer == "openai":
        # Loading the tiktoken encoding takes a large part of a second: do it while the feed loads.
        model = options.model or settings.llm.model
        threading.Thread(target=TokenCounter(model).count, args=("",), daemon=True, name="tiktoken-load").start()
    if options.dry_run:
        return _run_locked(config, options, context, date, out_dir, api_key, prompts)
    try:
        lock = FolderLock(out_dir)
        lock.acquire()
    except OSError as exc:
        raise ConfigError(
            f"cannot create or lock the output folder {out_dir}: {exc.strerror}; "
            "choose another folder with --out or [output] dir"
        ) from None
    try:
        if primary.exists() and not options.force:
            return RunResult(date=date, existing=primary)
        return _run_locked(config, options, context, date, out_dir, api_key, prompts)
    finally:
        lock.release()


def _run_locked(
    config: LoadedConfig,
    options: RunOptions,
    context: Context,
    date: dt.date,
    out_dir: Path,
    api_key: str,
    prompts: PromptSet,
) -> RunResult:
    settings = config.settings
    model = options.model or settings.llm.model
    formats = settings.output.formats

    if is_weekend(date):
        notice = f"No announcement: arXiv does not announce on weekends ({date:%A})."
        return _write_empty(config, options, date, model, notice, "arXiv calendar", out_dir)

    listing = _fetch(config, options, context, date)
    if listing is None:
        notice = (
            f"No announcement for {date} ({date:%A}): the feed was empty twice. This is most likely "
            "an arXiv holiday; see arxiv.org for the announcement schedule."
        )
        return _write_empty(config, options, date, model, notice, "rss.arxiv.org (empty feed)", out_dir)
    if not listing.papers:
        if listing.reported_count is not None and "API" in listing.source:
            notice = (
                f"No announcement for {date} ({date:%A}): the arXiv API has no papers of "
                f"{', '.join(settings.arxiv.categories)} submitted in this date's window. This is most likely "
                "an arXiv holiday; see arxiv.org for the announcement schedule."
            )
        else:
            notice = f"No announcement for {date}: the source contains no papers of {', '.join(settings.arxiv.categories)}."
        return _write_empty(config, options, date, model, notice, listing.source, out_dir)

    rules = Rules(settings.rules, settings.arxiv.announce_types)
    triage = rules.triage(listing.papers)
    log.info(
        "%s: %d papers in the listing, %d candidates after rules, %d dropped",
        date,
        len(listing.papers),
        len(triage.candidates),
        len(triage.dropped),
    )
    cache = _open_cache(config, options)
    try:
        full_triage = triage
        # A dry run writes nothing, so the prefilter's paper vectors stay out of the cache.
        triage, report = _prefilter(config, options, triage, prompts, cache, None if options.dry_run else cache)
        if options.dry_run:
            plan = _plan(config, options, model, date, listing, triage, prompts, report, full_triage)
            return RunResult(date=date, plan=plan)
        scorer = _make_scorer(config, model, options.scorer, api_key, prompts, context, cache)
        outcome = scorer.score(triage.candidates)
    finally:
        cache.close()
    digest = _build_digest(config, model, options.scorer, date, listing, triage, outcome, report)
    primary = out_dir / f"{date.isoformat()}.{formats[0]}"
    if digest.unscored and primary.exists():
        # A --force rebuild that lost papers must not replace a digest that may be complete.
        log.warning(
            "%d papers have no score, so %s is kept and this run's digest is written beside it as %s.partial.*",
            len(digest.unscored),
            primary,
            date.isoformat(),
        )
        return RunResult(date=date, digest=digest, written=_write(digest, out_dir, formats, suffix=".partial"))
    return RunResult(date=date, digest=digest, written=_write(digest, out_dir, formats))


@dataclass(frozen=True)
class BackfillLine:
    date: dt.date
    status: str  # "written", "partial", "exists", "failed"
    message: str
    result: RunResult | None = None
    error: PaperdigestError | None = None


def backfill(
    config: LoadedConfig,
    since: dt.date,
    until: dt.date,
    options: RunOptions,
    context: Context | None = None,
    report: Callable[[BackfillLine], None] | None = None,
) -> list[BackfillLine]:
    """Write one digest per announcement date from `since` to `until`, weekends skipped.

    A failing date does not stop the others; each date gets one line.
    """
    if until < since:
        raise ConfigError(f"--until {until} is before --since {since}; swap them")
    span = (until - since).days + 1
    if span > MAX_BACKFILL_DAYS:
        raise ConfigError(
            f"--since {since} --until {until} covers {span} days; backfill at most {MAX_BACKFILL_DAYS} "
            "days per run (each past date costs arXiv API requests and model requests), so split the range"
        )
    lines = []
    for offset in range(span):
        day = since + dt.timedelta(days=offset)
        if not is_weekend(day):
            line = _backfill_one(config, day, options, context)
            lines.append(line)
            if report:
                report(line)
    return lines


def _backfill_one(config: LoadedConfig, day: dt.date, options: RunOptions, context: Context | None) -> BackfillLine:
    try:
        result = run(config, RunOptions(**{**options.__dict__, "date": day}), context)
    except PaperdigestError as exc:
        return BackfillLine(day, "failed", str(exc), error=exc)
    if result.existing is not None:
        return BackfillLine(day, "exists", f"{result.existing} exists; skipped (use --force to rebuild)", result)
    if result.plan is not None:
        plan = result.plan
        parts = [f"{plan.candidates} candidates"]
        if plan.prefilter is not None:
            parts.append(f"prefilter keeps {plan.prefilter.kept} of {plan.prefilter.ranked}")
        parts.append(f"{len(plan.batches)} requests")
        if plan.cost is not None:
            parts.append(f"estimated {format_cost_cells(plan.cost)[2]}")
        return BackfillLine(day, "planned", ", ".join(parts), result)
    digest = result.digest
    assert digest is not None
    status = "partial" if result.partial else "written"
    summary = f"{digest.total_papers} papers, {len(digest.selected)} relevant"
    if not digest.results:
        summary = digest.notice
    return BackfillLine(day, status, f"{result.written[0] if result.written else ''}: {summary}", result)


def _api_key(config: LoadedConfig, scorer: str, dry_run: bool, env: Mapping[str, str]) -> str:
    if scorer != "openai" or dry_run:
        return ""
    name = config.settings.llm.api_key_env
    key = env.get(name, "").strip()
    if not key:
        state = "is empty" if name in env else "is not set"
        raise MissingKeyError(
            f"no API key: the environment variable {name} {state}. "
            f"Set it (export {name}=sk-...), or run offline with --scorer keywords"
        )
    return key


def _dated_source(source: Path, date: dt.date) -> Path:
    """Use SOURCE/YYYY-MM-DD when it exists, the layout `paperdigest fetch --out SOURCE` writes."""
    dated = source / date.isoformat()
    if dated.is_dir() or not source.is_dir() or any(source.glob("*.xml")):
        return dated if dated.is_dir() else source
    saved = sorted(p.name for p in source.iterdir() if p.is_dir() and re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.name))
    if saved:
        raise FetchError(
            f"no saved feed for {date} in {source} (it has {', '.join(saved[-5:])}{' and more' if len(saved) > 5 else ''}); "
            f"save that day's feed with `paperdigest fetch --out {source}` on the day, or run without --source "
            "to fetch a past date through the arXiv API"
        )
    return source


def _fetch(config: LoadedConfig, options: RunOptions, context: Context, date: dt.date) -> Listing | None:
    """Return the listing of `date`, or None when the weekday feed stayed empty (a holiday).

    Saved files (--source) must hold `date`. Otherwise the RSS feed is read; a date older than
    the feed's announcement is fetched through the arXiv API instead.
    """
    arxiv = config.settings.arxiv
    if options.source is not None:
        listing = _load_rss(config, _dated_source(options.source, date))
        return _check_feed_date(listing, date, from_files=True)

    listing = context.feed or _load_rss(config, None)
    if listing.announced is None and not listing.papers:
        latest = latest_announcement(context.now())
        if date > latest:
            raise _stale(listing, date, "the feed is empty and that date is not announced yet")
        if date < latest:
            return _fetch_api(config, date, context)
        log.warning("the feed of %s is empty; asking again in %.0f s", date, arxiv.empty_feed_retry_seconds)
        context.sleep(arxiv.empty_feed_retry_seconds)
        listing = _load_rss(config, None)
        if listing.announced is None and not listing.papers:
            return None
    context.feed = listing  # a backfill reads the feed once for all its dates
    if listing.announced is not None and date < listing.announced:
        log.info("%s is older than the feed's announcement (%s); using the arXiv API", date, listing.announced)
        return _fetch_api(config, date, context)
    return _check_feed_date(listing, date, from_files=False)


def _load_rss(config: LoadedConfig, source: Path | None) -> Listing:
    arxiv = config.settings.arxiv
    return load_listing(
        arxiv.categories, source=source, rss_base_url=arxiv.rss_url, timeout=arxiv.timeout, user_agent=USER_AGENT
    )


def _check_feed_date(listing: Listing, date: dt.date, *, from_files: bool) -> Listing | None:
    if listing.announced is None:
        if listing.papers:
            raise FeedFormatError(
                f"the feed at {listing.source} has papers but no <pubDate>, so its announcement date is "
                "unknown; save the feed again with `paperdigest fetch`"
            )
        return None  # an empty feed: no announcement
    if listing.announced == date:
        return listing
    if from_files:
        # Saved files do not change, so retrying (exit code 4) cannot help: this is a source error.
        raise FetchError(
            f"the saved feed at {listing.source} contains the announcement of {listing.announced}, not {date}. "
            f"Pass the folder of {date} (as saved by `paperdigest fetch` on that day), or run without "
            "--source: a past date is then fetched through the arXiv API"
        )
    raise _stale(listing, date, "try again after the next announcement (20:00 New York time, in the feed from about midnight)")


def _stale(listing: Listing, date: dt.date, hint: str) -> StaleFeedError:
    held = listing.announced.isoformat() if listing.announced else "no dated announcement"
    return StaleFeedError(
        f"the feed at {listing.source} contains {held}, not the announcement of {date}, so no digest was written: {hint}",
        feed_date=listing.announced,
        requested=date,
    )


def _fetch_api(config: LoadedConfig, date: dt.date, context: Context) -> Listing:
    from paperdigest.arxiv.api_client import fetch_day

    arxiv = config.settings.arxiv
    # fetch_day spaces its own requests. In a backfill, the first request for the next date
    # must also wait api_delay_seconds after the last request for the previous date.
    since_last = time.monotonic() - context.last_api_call
    if since_last < arxiv.api_delay_seconds:
        context.sleep(arxiv.api_delay_seconds - since_last)
    listing = fetch_day(
        arxiv.categories,
        date,
        api_url=arxiv.api_url,
        user_agent=USER_AGENT,
        delay_seconds=arxiv.api_delay_seconds,
        retries=arxiv.retries,
        timeout=arxiv.timeout,
    )
    context.last_api_call = time.monotonic()
    return listing


def _base_url(config: LoadedConfig, env: Mapping[str, str]) -> str | None:
    """OPENAI_BASE_URL overrides [llm] base_url, as the environment overrides files elsewhere."""
    from_env = env.get("OPENAI_BASE_URL", "").strip()
    if from_env and not re.match(r"^https?://[^/\s]+", from_env):
        raise ConfigError(
            f"OPENAI_BASE_URL={from_env!r} is not an http(s) URL; set it like "
            "http://localhost:11434/v1, or unset it to use [llm] base_url"
        )
    return from_env or config.settings.llm.base_url


def _request_settings(config: LoadedConfig, model: str) -> RequestSettings:
    llm = config.settings.llm
    return RequestSettings(model, llm.max_completion_tokens, llm.reasoning_effort, llm.temperature)


def _prefilter(
    config: LoadedConfig, options: RunOptions, triage: Triage, prompts: PromptSet, cache, store
) -> tuple[Triage, PrefilterReport | None]:
    """Keep the top of the free ranking for the model; followed authors always pass.

    Papers whose score is in the cache already pass too, since they cost nothing. `store` keeps the
    paper vectors (None: keep them in memory only). Returns the triage with the cut papers moved
    to `prefiltered`, and what was done.
    """
    selection = config.settings.selection
    if selection.prefilter == "none" or options.scorer != "openai":
        return triage, None
    try:
        ranker = _make_ranker(config, selection.prefilter, prompts, store)
    except EmbeddingsUnavailable as exc:
        where = config.path or "the built-in defaults"
        raise EmbeddingsUnavailable(f'[selection] prefilter = "{selection.prefilter}" in {where}: {exc}') from None
    cached = _cached_ids(config, options.model or config.settings.llm.model, triage.candidates, prompts, cache)
    ranked_pool = [p for p in triage.candidates if p.id not in triage.followed and p.id not in cached]
    ranking = ranker.rank(ranked_pool)
    kept_count = keep_count(selection.prefilter_keep, len(ranking))
    cut = {item.paper.id: item.rank for item in ranking[kept_count:]}
    total = len(ranking)
    prefiltered = {
        paper_id: f"prefilter ({selection.prefilter}) ranked it {rank} of {total}; it keeps the top {kept_count}"
        for paper_id, rank in cut.items()
    }
    followed = sum(1 for p in triage.candidates if p.id in triage.followed)
    passed_cached = len(triage.candidates) - total - followed
    warning = weak_ranking_warning(ranking, selection.prefilter)
    if warning:
        log.warning("prefilter: %s", warning)
    report = PrefilterReport(
        selection.prefilter, selection.prefilter_keep, total, kept_count, len(cut), followed, warning, passed_cached
    )
    log.info(
        "prefilter (%s): %d of %d candidates kept for the model, %d dropped; %d by followed authors "
        "and %d with cached scores pass",
        selection.prefilter, kept_count, total, len(cut), followed, passed_cached,
    )  # fmt: skip
    to_score = tuple(p for p in triage.candidates if p.id not in cut)
    return Triage(to_score, triage.dropped, triage.followed, prefiltered), report


def _cached_ids(config: LoadedConfig, model: str, candidates, prompts: PromptSet, cache) -> set[str]:
    """Return the ids of the candidates whose score by `model` with these prompts is in the cache."""
    from paperdigest.store import score_key

    params = _request_settings(config, model).params()
    keys = {score_key(p, prompts.digest, model, params): p.id for p in candidates}
    return {keys[key] for key in cache.get_many(list(keys))}


def _make_ranker(config: LoadedConfig, method: str, prompts: PromptSet, cache) -> Ranker:
    profile = parse_topics(prompts.topics)
    keywords = config.settings.rules.keywords
    if profile.empty and not keywords:
        where = "the packaged topics.md" if prompts.origin == "packaged defaults" else f"{prompts.origin}/topics.md"
        raise ConfigError(
            f"{where} names no numbered topic sections and no keywords, and [rules] keywords is empty, so the "
            f"{method} ranker has nothing to rank by. Add sections such as '1. Model compression' with an "
            "indented '- Relevant: pruning, quantization' line, a 'Keywords: ...' line, or a bulleted list "
            "of phrases (the README lists the layouts)"
        )
    return Ranker(method, profile, keywords, store=cache)


def _open_cache(config: LoadedConfig, options: RunOptions):
    from paperdigest.store import ScoreCache, default_cache_path

    # The offline keywords ranker stores nothing; the model's scores and paper embeddings are cached.
    needed = options.scorer == "openai" or "embeddings" in options.scorer
    if not needed or not options.use_cache or not config.settings.cache.enabled:
        return ScoreCache.disabled()
    path = config.resolve(config.settings.cache.path) if config.settings.cache.path else default_cache_path()
    log.debug("score cache: %s", path)
    return ScoreCache(path)


def _budget(config: LoadedConfig, model: str) -> Budget:
    cap = config.settings.llm.max_cost_usd
    price = _price(config, model)
    if cap is not None and price is None:
        raise ConfigError(
            f'[llm] max_cost_usd is set, but model {model!r} has no known price, so the cap cannot be '
            f'enforced. Add [pricing."{model}"] input, cached_input and output (USD per 1M tokens)'
        )
    return Budget(cap, price)


def _make_scorer(
    config: LoadedConfig,
    model: str,
    name: str,
    api_key: str,
    prompts: PromptSet,
    context: Context,
    cache,
) -> Scorer:
    llm = config.settings.llm
    if name in RANKERS:
        return OfflineScorer(_make_ranker(config, name, prompts, cache))
    request = _request_settings(config, model)
    limiter = RateLimiter(llm.requests_per_minute, llm.tokens_per_minute)
    chat = ChatModel(
        request,
        api_key=api_key,
        base_url=_base_url(config, context.env),
        timeout=llm.timeout,
        max_retries=llm.max_retries,
        limiter=limiter,
        sleep=context.sleep,
    )
    log.info("scoring with %s at %s, up to %d requests at once", model, chat.base_url, llm.max_concurrency)
    return LLMScorer(
        chat,
        prompts,
        BatchLimits(llm.batch_size, llm.batch_tokens),
        TokenCounter(model),
        max_concurrency=llm.max_concurrency,
        budget=_budget(config, model),
        cache=cache,
        cache_params=request.params(),
        progress=context.progress,
    )


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
    prefilter: PrefilterReport | None = None,
) -> Digest:
    selection = config.settings.selection
    results = [_result(p, triage, outcome, selection.relevance_cutoff, selection.novelty_cutoff) for p in listing.papers]
    warnings: list[str] = []
    if scorer != "openai":
        cost: Cost | None = Cost(0.0, 0.0)
        shown_model = offline_label(scorer)
    else:
        shown_model = model
        price = _price(config, model)
        if price is None:
            cost = None
            message = (
                f"no price known for model {model!r}: cost shown as n/a. "
                f'Add [pricing."{model}"] input, cached_input and output (USD per 1M tokens) to the config'
            )
            log.warning(message)
            warnings.append(message)
        else:
            cost = compute_cost(outcome.usage, price)
    warnings.extend(listing.warnings)
    for message in outcome.warnings:
        log.warning(message)
    warnings.extend(outcome.warnings)
    if prefilter is not None and prefilter.warning:
        warnings.append(f"prefilter: {prefilter.warning}")
    if outcome.requests_without_usage:
        message = (
            f"the model server reported no token usage for {outcome.requests_without_usage} of "
            f"{outcome.usage.requests} requests: tokens and cost are incomplete"
        )
        log.warning(message)
        warnings.append(message)
        if outcome.requests_without_usage == outcome.usage.requests:
            cost = None
    notice = ""
    if outcome.cached:
        notice = f"{outcome.cached} scores came from the cache of earlier runs; the token table counts only this run's requests."
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
        notice=notice,
        warnings=tuple(warnings),
        prefilter=prefilter,
    )


def _result(paper: Paper, triage: Triage, outcome: ScoringOutcome, relevance_cutoff: int, novelty_cutoff: int) -> PaperResult:
    if paper.id in triage.dropped:
        return PaperResult(paper, Fate.DROPPED, reason=triage.dropped[paper.id])
    if paper.id in triage.prefiltered:
        return PaperResult(paper, Fate.PREFILTERED, reason=triage.prefiltered[paper.id])
    followed = triage.followed.get(paper.id, ())
    score = outcome.scores.get(paper.id)
    if score is None:
        reason = outcome.unscored.get(paper.id, "no score in the answer")
        return PaperResult(paper, Fate.UNSCORED, reason, None, bool(followed), followed, relevant=bool(followed))
    # An offline ranker does not assess novelty, so only the relevance cutoff applies to it.
    meets = score.relevance >= relevance_cutoff and (score.novelty is None or score.novelty >= novelty_cutoff)
    return PaperResult(paper, Fate.SCORED, "", score, bool(followed), followed, relevant=meets or bool(followed))


def _write_empty(
    config: LoadedConfig, options: RunOptions, date: dt.date, model: str, notice: str, source: str, out_dir: Path
) -> RunResult:
    """Write a dated digest that explains why it has no papers; no request is sent."""
    log.info(notice)
    selection = config.settings.selection
    digest = Digest(
        date=date,
        model=model if options.scorer == "openai" else offline_label(options.scorer),
        scorer=options.scorer,
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
    if options.dry_run:
        plan = DryRunPlan(date, model, 0, 0, 0, 0, (), True, Cost(0.0, 0.0))
        return RunResult(date=date, digest=digest, plan=plan)
    return RunResult(date=date, digest=digest, written=_write(digest, out_dir, config.settings.output.formats))


def _plan(
    config: LoadedConfig,
    options: RunOptions,
    model: str,
    date: dt.date,
    listing: Listing,
    triage: Triage,
    prompts: PromptSet,
    prefilter: PrefilterReport | None = None,
    full_triage: Triage | None = None,
) -> DryRunPlan:
    counter = TokenCounter(model)
    price = _price(config, model)
    batches: tuple[BatchPlan, ...] = ()
    cached = 0
    saving: Saving | None = None
    if options.scorer == "openai":
        batches, cached = _estimate_batches(config, options, model, triage.candidates, prompts, counter)
        if prefilter is not None and full_triage is not None:
            unfiltered, _ = _estimate_batches(config, options, model, full_triage.candidates, prompts, counter)
            saving = Saving(unfiltered, _batches_cost(unfiltered, price))
    if options.scorer != "openai":
        cost: Cost | None = Cost(0.0, 0.0)
    else:
        cost = _batches_cost(batches, price)
    return DryRunPlan(
        date=date,
        model=model if options.scorer == "openai" else offline_label(options.scorer),
        total_papers=len(listing.papers),
        candidates=len((full_triage or triage).candidates),
        dropped=len(triage.dropped),
        cached=cached,
        batches=batches,
        exact_tokens=counter.exact,
        cost=cost,
        max_cost_usd=config.settings.llm.max_cost_usd,
        prefilter=prefilter,
        without_prefilter=saving,
    )


def _estimate_batches(
    config: LoadedConfig, options: RunOptions, model: str, candidates, prompts: PromptSet, counter: TokenCounter
) -> tuple[tuple[BatchPlan, ...], int]:
    """Estimate the requests for candidates whose score is not cached; return them and the cached count."""
    cache = _open_cache(config, options)
    try:
        cached = _cached_ids(config, model, candidates, prompts, cache)
    finally:
        cache.close()
    todo = [p for p in candidates if p.id not in cached]
    budget = Budget(None, _price(config, model))
    instruction_tokens = counter.count(prompts.instructions)
    batches = []
    for batch in make_batches(todo, counter, BatchLimits(config.settings.llm.batch_size, config.settings.llm.batch_tokens)):
        user = build_messages(prompts, batch)[1]["content"]
        prompt_tokens = instruction_tokens + counter.count(user) + CHAT_OVERHEAD_TOKENS
        completion = round(budget.completion_per_paper() * len(batch))
        batches.append(BatchPlan(len(batch), prompt_tokens, completion))
    return tuple(batches), len(candidates) - len(todo)


def _batches_cost(batches: tuple[BatchPlan, ...], price: Price | None) -> Cost | None:
    if price is None:
        return None
    usage = Usage(
        prompt_tokens=sum(b.prompt_tokens for b in batches),
        completion_tokens=sum(b.completion_tokens for b in batches),
        requests=len(batches),
    )
    return compute_cost(usage, price)


def _write(digest: Digest, out_dir: Path, formats: tuple[str, ...], suffix: str = "") -> tuple[Path, ...]:
    """Write each format atomically; the primary (first) format last, so it marks a finished run."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {fmt: out_dir / f"{digest.date.isoformat()}{suffix}.{fmt}" for fmt in formats}
    for fmt in (*formats[1:], formats[0]):
        write_atomic(paths[fmt], render_format(fmt, digest))
    return tuple(paths[fmt] for fmt in formats)


def render_format(fmt: str, digest: Digest) -> str:
    if fmt == "md":
        return render_markdown(digest)
    if fmt == "json":
        return render_json(digest)
    from paperdigest.render_html import render_html

    return render_html(digest)
