"""Command line: options, messages and exit codes. The work happens in pipeline.py."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import click

from paperdigest import __version__
from paperdigest.config import LoadedConfig, load_config
from paperdigest.cost import format_cost_cells
from paperdigest.errors import (
    ConfigError,
    FatalLLMError,
    FetchError,
    LLMError,
    MissingKeyError,
    PaperdigestError,
    StaleFeedError,
)
from paperdigest.arxiv.calendar import latest_announcement
from paperdigest.fsutil import LockedError
from paperdigest.models import Cost
from paperdigest.ranking import RANKERS
from paperdigest.pipeline import SCORERS, USER_AGENT, BackfillLine, Context, DryRunPlan, RunOptions, RunResult, backfill, run
from paperdigest.progress import make_progress
from paperdigest.digest_io import DigestFormatError
from paperdigest.store import CacheError

log = logging.getLogger("paperdigest")

# Exit codes; the README lists them.
EXIT_OK = 0
EXIT_ERROR = 1  # unexpected internal error
EXIT_USAGE = 2  # invalid option, config or prompt file, missing API key
EXIT_FETCH = 3  # the arXiv source could not be read or parsed
EXIT_STALE = 4  # the feed contains another announcement date: retry later
EXIT_PARTIAL = 5  # digest written, but some candidate papers have no score
EXIT_LOCKED = 6  # another run is writing to the same output folder
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT

FIRST_ANNOUNCEMENT = dt.date(1991, 8, 14)  # arXiv's first day of operation

_EXIT_BY_ERROR: list[tuple[type[PaperdigestError], int]] = [
    (LockedError, EXIT_LOCKED),
    (CacheError, EXIT_USAGE),
    (DigestFormatError, EXIT_USAGE),
    (StaleFeedError, EXIT_STALE),
    (FetchError, EXIT_FETCH),
    (ConfigError, EXIT_USAGE),
    (MissingKeyError, EXIT_USAGE),
    (FatalLLMError, EXIT_USAGE),
    (LLMError, EXIT_PARTIAL),
]


def _secrets() -> list[str]:
    """Values of the environment's *_API_KEY variables: they must never be printed."""
    return [value for name, value in os.environ.items() if name.endswith("API_KEY") and len(value) >= 8]


def redact(text: str) -> str:
    for secret in _secrets():
        text = text.replace(secret, "[redacted]")
    return text


class _RedactingFormatter(logging.Formatter):
    """Formats records, tracebacks included, with every API key replaced by a placeholder."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING
    if quiet:
        level = logging.ERROR
    elif verbose == 1:
        level = logging.INFO
    elif verbose >= 2:
        level = logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedactingFormatter("%(levelname)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_paperdigest", False):
            root.removeHandler(old)
    handler._paperdigest = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("paperdigest").setLevel(level)
    # The openai and httpx loggers report each retry at INFO; show them only with -vv.
    for name in ("openai", "httpx", "httpx2"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbose >= 2 else logging.WARNING)


def _exit_code(exc: Exception) -> int:
    for error_type, code in _EXIT_BY_ERROR:
        if isinstance(exc, error_type):
            return code
    return EXIT_ERROR


def _fail(exc: Exception, verbose: int) -> NoReturn:
    code = _exit_code(exc)
    if verbose >= 2:
        log.error("details", exc_info=exc)
    click.echo(redact(f"Error: {exc}"), err=True)
    sys.exit(code)


def _parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2025-09-12") from None
    if day < FIRST_ANNOUNCEMENT:
        raise click.BadParameter(f"{value} is before arXiv's first announcement ({FIRST_ANNOUNCEMENT}); give a later date")
    return day


def _common_options(func: Callable) -> Callable:
    func = click.option("-q", "--quiet", is_flag=True, help="Show only errors on stderr.")(func)
    func = click.option("-v", "--verbose", count=True, help="Show progress (-v) or debug details and tracebacks (-vv).")(func)
    func = click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Config file to use. Default: $PAPERDIGEST_CONFIG, then ./config.toml, then the user config folder.",
    )(func)
    return func


def _load(config_path: Path | None, verbose: int) -> LoadedConfig:
    try:
        loaded = load_config(config_path)
    except PaperdigestError as exc:
        _fail(exc, verbose)
    if loaded.path is None:
        log.warning("no config file found; using the built-in defaults (see README: Configuration)")
    else:
        log.info("config: %s", loaded.path)
    return loaded


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="paperdigest")
def main() -> None:
    """Turn one day's arXiv announcement into a personalized Markdown digest."""


@main.command("run")
@click.option("--date", "date", callback=_parse_date, metavar="YYYY-MM-DD", help="Announcement date of the digest. Default: the latest announcement, in New York time.")
@click.option("--since", callback=_parse_date, metavar="YYYY-MM-DD", help="Backfill: write one digest per announcement date from this date on.")
@click.option("--until", callback=_parse_date, metavar="YYYY-MM-DD", help="Backfill: last date (default: the latest announcement). Needs --since.")
@click.option(
    "--source",
    type=click.Path(path_type=Path, exists=True),
    help="Read saved feed files (*.xml, as written by `paperdigest fetch`) from this folder or file instead of the network.",
)
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), help="Folder for the digest files. Default: [output] dir.")
@click.option("--model", help="Model name to score with. Default: [llm] model.")
@click.option("--scorer", type=click.Choice(SCORERS), default="openai", show_default=True, help="openai: score with the model. keywords, embeddings, keywords+embeddings: rank offline against topics.md, no key and no cost (embeddings needs the [embeddings] extra).")
@click.option("--dry-run", is_flag=True, help="Print the planned requests, estimated tokens and cost; send nothing and write nothing.")
@click.option("--force", is_flag=True, help="Rebuild the digest even if OUT/YYYY-MM-DD.md exists (cached scores are reused).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the score cache: every candidate is sent to the model.")
@_common_options
def run_command(
    date: dt.date | None,
    since: dt.date | None,
    until: dt.date | None,
    source: Path | None,
    out_dir: Path | None,
    model: str | None,
    scorer: str,
    dry_run: bool,
    force: bool,
    no_cache: bool,
    config_path: Path | None,
    verbose: int,
    quiet: bool,
) -> None:
    """Build the digest of one announcement and write OUT/YYYY-MM-DD.md (and .json)."""
    _setup_logging(verbose, quiet)
    if until is not None and since is None:
        raise click.UsageError("--until needs --since")
    if since is not None and date is not None:
        raise click.UsageError("use either --date or --since/--until, not both")
    config = _load(config_path, verbose)
    options = RunOptions(
        date=date,
        source=source,
        out_dir=out_dir,
        model=model,
        scorer=scorer,
        dry_run=dry_run,
        force=force,
        use_cache=not no_cache,
    )
    if since is not None:
        _run_backfill(config, since, until, options, verbose, quiet)
        return
    progress = None if (quiet or dry_run) else make_progress(verbose)
    try:
        result = run(config, options, Context(progress=progress))
    except KeyboardInterrupt:
        _interrupted(options.use_cache)
    except PaperdigestError as exc:
        _fail(exc, verbose)
    except OSError as exc:
        _fail(OSError(f"cannot write {exc.filename or 'the output'}: {exc.strerror}; check the folder and its permissions"), verbose)
    _report(result, quiet)


def _interrupted(use_cache: bool = True) -> NoReturn:
    """Leave at once on Ctrl-C: requests still in flight are abandoned, not waited for.

    Scores already received are committed to the cache, and the output-folder lock is released
    by the operating system with the process, so running the same command again resumes.
    """
    if use_cache:
        click.echo("\nInterrupted: no digest was written. Scores received so far are cached; run the same command again to continue.", err=True)
    else:
        click.echo("\nInterrupted: no digest was written. With --no-cache no score was kept, so a new run starts over.", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def _report(result: RunResult, quiet: bool) -> None:
    if result.existing is not None:
        if not quiet:
            click.echo(f"{result.existing} exists; nothing to do (use --force to rebuild it)", err=True)
        return
    if result.plan is not None:
        if result.digest is not None and result.digest.notice:
            click.echo(result.digest.notice)
        _print_plan(result.plan)
        return
    digest = result.digest
    assert digest is not None
    for path in result.written:
        click.echo(str(path))
    if not quiet:
        counts = f"{digest.total_papers} papers, {len(digest.scanned)} scanned, {len(digest.selected)} relevant"
        summary = counts if digest.results else digest.notice
        click.echo(f"{digest.date}: {summary}", err=True)
    if result.partial:
        click.echo(
            f"Warning: {len(digest.unscored)} candidate papers have no score (listed in the digest); "
            "run again with --force to retry them (scores already received come from the cache)",
            err=True,
        )
        sys.exit(EXIT_PARTIAL)


def _run_backfill(config: LoadedConfig, since: dt.date, until: dt.date | None, options: RunOptions, verbose: int, quiet: bool) -> None:
    context = Context(progress=None if quiet else make_progress(verbose))
    until = until or latest_announcement(context.now())

    def report(line: BackfillLine) -> None:
        click.echo(f"{line.date} {line.status}: {line.message}")

    try:
        lines = backfill(config, since, until, options, context, report)
    except KeyboardInterrupt:
        _interrupted(options.use_cache)
    except PaperdigestError as exc:
        _fail(exc, verbose)
    codes = [_exit_code(line.error) for line in lines if line.error is not None]
    if any(line.status == "partial" for line in lines):
        codes.append(EXIT_PARTIAL)
    if codes:
        sys.exit(max(codes))


def _print_plan(plan: DryRunPlan) -> None:
    prompt_cost, completion_cost, total_cost = format_cost_cells(plan.cost)
    kind = "counted with tiktoken" if plan.exact_tokens else "estimated at 4 characters per token (tiktoken unavailable)"
    click.echo(f"Dry run for {plan.date} with {plan.model}: nothing sent, nothing written.")
    click.echo(f"Papers: {plan.total_papers} in the listing, {plan.dropped} dropped by rules, {plan.candidates} candidates")
    if plan.prefilter is not None:
        report = plan.prefilter
        click.echo(
            f"Prefilter ({report.method}, keep {report.keep_text}): {report.kept} of {report.ranked} ranked "
            f"candidates go to the model, {report.dropped} dropped"
            + (f"; {report.followed} by followed authors go without ranking" if report.followed else "")
            + (f"; {report.cached} with cached scores need no request" if report.cached else "")
        )
    if plan.cached:
        click.echo(f"Cached scores: {plan.cached} candidates need no request")
    click.echo(f"Requests: {len(plan.batches)}")
    for number, batch in enumerate(plan.batches, 1):
        papers = "1 paper" if batch.papers == 1 else f"{batch.papers} papers"
        click.echo(f"  batch {number}: {papers}, {batch.prompt_tokens:,} prompt tokens")
    click.echo(f"Prompt tokens: {plan.prompt_tokens:,} ({kind})")
    click.echo(f"Completion tokens: ~{plan.completion_tokens:,} (a guess: about 150 per paper)")
    click.echo(f"Estimated cost: {total_cost} (prompt {prompt_cost} + completion {completion_cost})")
    if plan.without_prefilter is not None:
        saving = plan.without_prefilter
        _, _, unfiltered_total = format_cost_cells(saving.cost)
        click.echo(
            f"Without the prefilter: {len(saving.batches)} requests, {saving.prompt_tokens:,} prompt tokens, "
            f"~{saving.completion_tokens:,} completion tokens, {unfiltered_total}"
        )
        if saving.cost is not None and plan.cost is not None:
            difference = Cost(saving.cost.prompt - plan.cost.prompt, saving.cost.completion - plan.cost.completion)
            click.echo(f"Prefilter saves: about {format_cost_cells(difference)[2]} of {unfiltered_total}")
    if plan.max_cost_usd is not None:
        click.echo(f"Budget: [llm] max_cost_usd = ${plan.max_cost_usd:.4f}; requests stop before crossing it")


@main.command("fetch")
@click.option("--date", "date", callback=_parse_date, metavar="YYYY-MM-DD", help="Announcement date expected in the feed. Default: the date in the feed.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), required=True, help="Folder to save the raw feed files in.")
@_common_options
def fetch_command(date: dt.date | None, out_dir: Path, config_path: Path | None, verbose: int, quiet: bool) -> None:
    """Download the announcement feed of the configured categories and save the raw files."""
    from paperdigest.arxiv.source import load_listing

    _setup_logging(verbose, quiet)
    config = _load(config_path, verbose)
    arxiv = config.settings.arxiv
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        listing = load_listing(
            arxiv.categories,
            source=None,
            rss_base_url=arxiv.rss_url,
            timeout=arxiv.timeout,
            user_agent=USER_AGENT,
            save_dir=out_dir,
        )
    except PaperdigestError as exc:
        _fail(exc, verbose)
    except OSError as exc:
        _fail(FetchError(f"cannot write to {out_dir}: {exc.strerror}"), verbose)
    saved = out_dir / f"{'+'.join(arxiv.categories)}.xml"
    if listing.announced is not None:
        dated = out_dir / listing.announced.isoformat()
        dated.mkdir(exist_ok=True)
        saved = saved.replace(dated / saved.name)
    click.echo(str(saved.parent))
    if not quiet:
        click.echo(f"feed of {listing.announced or 'no date (empty feed)'}: {len(listing.papers)} papers, saved in {saved}", err=True)
    if date is not None and listing.announced not in (None, date):
        _fail(
            StaleFeedError(
                f"the feed contains the announcement of {listing.announced}, not {date}; the files were saved anyway",
                feed_date=listing.announced,
                requested=date,
            ),
            verbose,
        )


@main.command("init")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False), default=".")
@click.option("--force", is_flag=True, help="Overwrite config.toml and prompts/*.md if they exist.")
def init_command(folder: Path, force: bool) -> None:
    """Write a commented config.toml and prompts/ (topics, rubric, answer format) into FOLDER."""
    from paperdigest.scaffold import write_starter

    _setup_logging(0, False)
    try:
        written = write_starter(folder, force=force)
    except PaperdigestError as exc:
        _fail(exc, 0)
    except OSError as exc:
        _fail(OSError(f"cannot write into {folder}: {exc.strerror}"), 0)
    for path in written:
        click.echo(str(path))
    config = folder / "config.toml"
    click.echo(
        "\nNext: edit prompts/topics.md to describe your interests, then rank today's papers "
        "without a model (this downloads the feed):\n"
        f"  paperdigest run --config {config} --scorer keywords\n"
        "or see what scoring with the model would cost (no key needed for this):\n"
        f"  paperdigest run --config {config} --dry-run",
        err=True,
    )


@main.command("render")
@click.argument("digest_json", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--format", "formats", type=click.Choice(["md", "html"]), multiple=True, help="Format to write; repeat for several. Default: md.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), help="Folder to write to. Default: the JSON file's folder.")
def render_command(digest_json: Path, formats: tuple[str, ...], out_dir: Path | None) -> None:
    """Re-render a digest from its saved JSON (OUT/YYYY-MM-DD.json), with no network and no cost."""
    from paperdigest.digest_io import load_digest_json
    from paperdigest.fsutil import write_atomic
    from paperdigest.pipeline import render_format

    _setup_logging(0, False)
    try:
        digest = load_digest_json(digest_json.read_text(encoding="utf-8"), str(digest_json))
        folder = out_dir or digest_json.parent
        folder.mkdir(parents=True, exist_ok=True)
        for fmt in formats or ("md",):
            path = folder / f"{digest.date.isoformat()}.{fmt}"
            write_atomic(path, render_format(fmt, digest))
            click.echo(str(path))
    except PaperdigestError as exc:
        _fail(exc, 0)
    except (OSError, UnicodeDecodeError) as exc:
        _fail(OSError(f"cannot read {digest_json} or write the digest: {exc}"), 0)


def _eval_categories(text: str | None) -> list[str]:
    """Check the --categories of eval as the config checks [arxiv] categories."""
    from paperdigest.arxiv.taxonomy import canonical_category, suggest_categories

    codes = []
    for code in (c.strip() for c in (text or "").split(",")):
        if not code:
            continue
        canonical = canonical_category(code)
        if canonical is None:
            close = suggest_categories(code)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(f"--categories: unknown arXiv category {code!r}{hint}")
        codes.append(canonical)
    return codes


@main.command("eval")
@click.option("--listing", "listing_path", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True, help="The day's papers: a JSON Lines listing, or a feed file saved by `paperdigest fetch`.")
@click.option("--picks", "picks_path", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True, help="The model's picks: a digest JSON of paperdigest, or an output JSON of gpt_paper_assistant keyed by arXiv id.")
@click.option("--topics", "topics_path", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True, help="The topics text the picks were made with, e.g. prompts/topics.md.")
@click.option("--ranker", "rankers", type=click.Choice(RANKERS), multiple=True, help="Ranker to evaluate; repeat for several. Default: all, skipping embeddings when its extra is missing.")
@click.option("--categories", help="Comma-separated arXiv categories: rank only the listing's papers in any of them, e.g. cs.LG,cs.AI.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON instead of a Markdown table.")
def eval_command(
    listing_path: Path, picks_path: Path, topics_path: Path, rankers: tuple[str, ...], categories: str | None, as_json: bool
) -> None:
    """Measure how many of a model's picks each free ranking keeps near its top; no network, no cost.

    Prints, per ranker: picks in the top 10 and 20, picks kept when a prefilter keeps 40%, 60% and
    80% of the papers, the seconds the ranking took (model loading excluded) and every pick's rank.
    """
    import json
    import time

    from paperdigest.errors import EmbeddingsUnavailable
    from paperdigest.evaluate import evaluate, format_ranks, format_table, load_listing_file, load_picks, select_categories
    from paperdigest.ranking import Ranker
    from paperdigest.topics import parse_topics

    _setup_logging(0, False)
    chosen_categories: list[str] = []
    try:
        papers = load_listing_file(listing_path)
        chosen_categories = _eval_categories(categories)
        if chosen_categories:
            papers = select_categories(papers, chosen_categories)
            if not papers:
                raise ConfigError(f"no paper of {listing_path} is in {', '.join(chosen_categories)}; check --categories")
        picks = load_picks(picks_path)
        profile = parse_topics(topics_path.read_text(encoding="utf-8"))
        if profile.empty:
            raise ConfigError(f"{topics_path} names no topic sections and no keywords, so no ranking can use it")
        results = []
        for name in dict.fromkeys(rankers or RANKERS):
            try:
                ranker = Ranker(name, profile)
            except EmbeddingsUnavailable as exc:
                if rankers:
                    raise
                click.echo(f"Skipped {name}: {exc}", err=True)
                continue
            started = time.perf_counter()
            ranking = ranker.rank(papers)
            results.append(evaluate(name, ranking, picks, time.perf_counter() - started))
    except PaperdigestError as exc:
        _fail(exc, 0)
    except UnicodeDecodeError as exc:
        _fail(ConfigError(f"{topics_path} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"), 0)
    except OSError as exc:
        _fail(ConfigError(f"cannot read {topics_path}: {exc.strerror}"), 0)
    found = results[0].picks if results else 0
    missing = len(picks) - found
    where = f"the papers of {listing_path}" + (f" in {', '.join(chosen_categories)}" if chosen_categories else "")
    if results and not found:
        hint = "check --categories, and" if chosen_categories else ""
        _fail(ConfigError(f"none of the {len(picks)} picks in {picks_path} is among {where}; {hint} check that both are of the same day"), 0)
    if missing:
        click.echo(f"Warning: {missing} of the {len(picks)} picks are not among {where} and are left out", err=True)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], indent=2))
        return
    click.echo(f"{len(papers)} papers, {len(picks) - missing} picks, topics from {topics_path}\n")
    click.echo(format_table(results))
    click.echo("")
    click.echo(format_ranks(results))
