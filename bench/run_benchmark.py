"""Measure paperdigest's speed and prompt frugality; print a Markdown report and save it.

Usage (from the repository root):

    .venv/bin/python bench/run_benchmark.py [--shared DIR] [--report docs/benchmarks.md]

One run does four things and takes about 6 minutes on 2 cores:
1. Starts a simulated OpenAI server on 127.0.0.1 (bench/sim_server.py) with a latency of
   1.0 s + 0.2 s per paper and a rate limit. Then it runs the real CLI against it on the
   188-paper day tests/fixtures/rss/2025-09-12: at the defaults, at 5-paper batches one at a
   time, with max_concurrency 1 to 16, and once against a tokens-per-minute limit it exceeds.
2. Compares the prompt tokens per paper that the server counted with the tokens of the common
   layout (the whole instruction prompt in every 5-paper batch).
3. Times everything but the model (feed parsing, rules, rendering) for 1,000 and 5,000 papers.
4. Writes the report to --report, with the machine and the command.

No traffic leaves 127.0.0.1. Every subprocess has a timeout and every server is shut down.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import pstats
import random
import resource
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(REPO_ROOT / "tests" / "fixtures" / "tiktoken"))

import feeds  # noqa: E402
from sim_server import TOKENS_PER_MESSAGE, TOKENS_PER_REPLY, Latency, SimulatedOpenAI, chat_tokens  # noqa: E402

from fake_openai import RateLimit  # noqa: E402  (tests/ is on sys.path through sim_server)

DAY = dt.date(2025, 9, 12)
DAY_FEED = REPO_ROOT / "tests" / "fixtures" / "rss" / "2025-09-12" / "cs.LG+cs.AI+cs.CL.xml"
DAY_CATEGORIES = ("cs.LG", "cs.AI", "cs.CL")

# Token count (o200k_base) of the "Paper Selection Prompt" in the 2025-09-12 output of
# DaizeDong/ChatGPT-ArXiv-Paper-Assistant: 52 tokens of system prompt plus 1,115 of user prompt
# without its "[PAPER LIST HERE]" placeholder. Only the count is used here, not the text.
REFERENCE_PROMPT_TOKENS = 52 + 1115
# Tokens of that prompt before the paper list (52 + 749): under 1,024, so a provider's prompt
# cache would not hold any of it.
REFERENCE_PREFIX_TOKENS = 52 + 749
COMMON_BATCH_SIZE = 5
COMMON_ABSTRACT_CHARS = 4000

CONCURRENCY_SWEEP = (1, 2, 4, 8, 16)
DEFAULT_CONCURRENCY = 8
# Server limits for the ordinary runs: the defaults stay well under them.
ROOMY_LIMIT = RateLimit(requests_per_minute=500, tokens_per_minute=500_000)
# A low tokens-per-minute limit that the default run (about 65,000 prompt tokens sent at once) exceeds.
TIGHT_LIMIT = RateLimit(requests_per_minute=500, tokens_per_minute=40_000)

DEFAULT_REPEATS = 3  # the default run is short, so other load on the machine shifts it most
SCALE_SIZES = (1000, 5000)
SCALE_REPEATS = 3
SCORING_TIMEOUT = 300.0  # seconds per scoring run; the slowest (5-paper batches) takes about 80
SCALE_TIMEOUT = 120.0  # seconds per run without the model
GOAL_SPEEDUP = 10.0
GOAL_FLOOR_RATIO = 1.25
GOAL_TOKEN_RATIO = 0.6
GOAL_SECONDS = 2.0
GOAL_MEGABYTES = 200.0
LINEAR_MAX_GROWTH = 6.0  # 5x the papers may cost at most 6x the time or memory to count as linear

# Rules of the scaling runs: followed and excluded authors and keywords, so every rule runs.
SCALE_RULES = {
    "authors": ["Yoshua Bengio", "Percy Liang", "Chelsea Finn"],
    "exclude_authors": ["Jane Doe"],
    "exclude_keywords": ["/\\bblockchain\\b/", "medical imaging"],
}


# Processes ---------------------------------------------------------------------------------


@dataclass
class ProcessResult:
    returncode: int
    seconds: float
    max_rss_mb: float
    stdout: str
    stderr: str


def run_process(command: list[str], env: dict[str, str], timeout: float, workdir: Path) -> ProcessResult:
    """Run a command with a timeout; return its exit code, wall time and peak RSS (os.wait4)."""
    workdir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = workdir / "stdout.txt", workdir / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=REPO_ROOT)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.01)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode == -signal.SIGKILL and seconds >= timeout:
        raise TimeoutError(f"{shlex.join(command)} timed out after {timeout:.0f} s; see {err_path}")
    return ProcessResult(
        returncode=process.returncode,
        seconds=seconds,
        max_rss_mb=usage.ru_maxrss / 1024,  # Linux reports kilobytes
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )


def child_env(home: Path, base_url: str | None = None) -> dict[str, str]:
    """Environment of the CLI runs: no proxies, user folders in `home`, a dummy key."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith(("OPENAI_", "PAPERDIGEST_"))}
    env.update(
        {
            "TIKTOKEN_CACHE_DIR": str(REPO_ROOT / "tests" / "fixtures" / "tiktoken"),
            "NO_PROXY": "127.0.0.1,localhost",
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "OPENAI_API_KEY": "sk-benchmark-dummy",
        }
    )
    if base_url:
        env["OPENAI_BASE_URL"] = base_url
    return env


def toml_list(values) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


# bench/selection.py's section of the page: this script leaves it as it is.
SELECTION_HEADING = "\n## Offline ranking and prefilter"


def kept_sections(report_path: Path) -> str:
    """Return the part of the existing page that another script writes, to append unchanged."""
    try:
        text = report_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    start = text.find(SELECTION_HEADING)
    return "" if start < 0 else text[start:]


def write_config(path: Path, categories, llm: dict[str, object], rules: dict[str, list[str]] | None = None) -> Path:
    lines = ["[arxiv]", f"categories = {toml_list(categories)}", "", "[llm]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in llm.items()]
    if rules:
        lines += ["", "[rules]"] + [f"{key} = {toml_list(values)}" for key, values in rules.items()]
    lines += ["", "[cache]", "enabled = false", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def cli_command(config: Path, source: Path, scorer: str = "openai", out: Path | None = None) -> list[str]:
    command = [
        sys.executable, "-m", "paperdigest", "run", "--date", DAY.isoformat(), "--source", str(source),
        "--config", str(config), "--no-cache", "--scorer", scorer,
    ]  # fmt: skip
    return [*command, "--out", str(out)] if out is not None else command


# Scoring runs ------------------------------------------------------------------------------


@dataclass
class ScoringRun:
    name: str
    concurrency: int
    batch_size: int
    seconds: float
    returncode: int
    scanned: int
    scored: int
    batch_papers: list[int]  # papers of each request that got HTTP 200, in order of arrival
    rate_limited: int  # requests that got HTTP 429
    prompt_tokens: int  # usage as the digest reports it, from the server
    cached_tokens: int
    requests: int
    shared_prefix: int  # leading tokens identical in every prompt of the run
    server_seconds: float  # first request received to last response sent
    floor: float = 0.0

    @property
    def completeness(self) -> float:
        return self.scored / self.scanned if self.scanned else 0.0


def floor_seconds(batch_papers: list[int], concurrency: int, latency: Latency) -> float:
    """Return the time the batches need at best: ceil(batches / concurrency) rounds of requests.

    Batches differ in size, so the largest go together: each round lasts as long as its
    largest batch takes to answer.
    """
    latencies = sorted((latency.fixed + latency.per_paper * n for n in batch_papers), reverse=True)
    return sum(latencies[start] for start in range(0, len(latencies), concurrency))


def run_scoring(
    name: str,
    concurrency: int,
    batch_size: int | None,
    latency: Latency,
    rate_limit: RateLimit,
    workdir: Path,
    repeats: int = 1,
) -> ScoringRun:
    """Run the CLI `repeats` times against a fresh simulated server; return the run of median wall time."""
    runs = [
        _run_scoring_once(name, concurrency, batch_size, latency, rate_limit, workdir / f"run{attempt}")
        for attempt in range(repeats)
    ]
    return sorted(runs, key=lambda run: run.seconds)[len(runs) // 2]


def _run_scoring_once(
    name: str,
    concurrency: int,
    batch_size: int | None,
    latency: Latency,
    rate_limit: RateLimit,
    workdir: Path,
) -> ScoringRun:
    llm: dict[str, object] = {"model": "gpt-5", "max_concurrency": concurrency, "timeout": 120.0}
    if batch_size is not None:
        llm["batch_size"] = batch_size
    config = write_config(workdir / "config.toml", DAY_CATEGORIES, llm)
    out = workdir / "out"
    with SimulatedOpenAI(latency, rate_limit) as server:
        result = run_process(
            cli_command(config, DAY_FEED.parent, out=out), child_env(workdir / "home", server.base_url), SCORING_TIMEOUT, workdir
        )
        succeeded = [r for r in server.requests if r.status == 200]
        rate_limited = sum(1 for r in server.requests if r.status == 429)
        shared_prefix = server.shared_prefix()
    if result.returncode not in (0, 5):
        raise RuntimeError(f"run {name!r} failed with exit code {result.returncode}:\n{result.stderr[-2000:]}")
    digest = json.loads((out / f"{DAY.isoformat()}.json").read_text(encoding="utf-8"))
    counts, usage = digest["counts"], digest["usage"]
    first = min((r.received for r in succeeded), default=0.0)
    last = max((r.received + r.delay for r in succeeded), default=0.0)
    run = ScoringRun(
        name=name,
        concurrency=concurrency,
        batch_size=batch_size or 25,
        seconds=result.seconds,
        returncode=result.returncode,
        scanned=counts["scanned"],
        scored=counts["scanned"] - counts["unscored"],
        batch_papers=[len(r.paper_ids) for r in succeeded],
        rate_limited=rate_limited,
        prompt_tokens=usage["prompt_tokens"],
        cached_tokens=usage["cached_prompt_tokens"],
        requests=usage["requests"],
        shared_prefix=shared_prefix,
        server_seconds=last - first,
    )
    run.floor = floor_seconds(run.batch_papers, concurrency, latency)
    print(f"  {name}: {run.seconds:.1f} s, {len(run.batch_papers)} requests, {run.rate_limited} got HTTP 429", file=sys.stderr)
    return run


# Prompt tokens -----------------------------------------------------------------------------


@dataclass
class TokenComparison:
    scanned: int
    paperdigest: int  # prompt tokens the server counted
    cached: int  # of which the server reported as cached
    shared_prefix_tokens: int  # prefix identical in every request, times the requests
    common_own_prompt: int  # common layout with paperdigest's instructions
    common_reference_prompt: int  # common layout with the reference tool's prompt
    common_papers_only: int  # the papers of the common layout alone, no instructions
    common_batches: int

    def per_paper(self, tokens: int) -> float:
        return tokens / self.scanned


def format_common_paper(paper) -> str:
    abstract = " ".join(paper.abstract.split())[:COMMON_ABSTRACT_CHARS]
    return f"ArXiv ID: {paper.id}\nTitle: {paper.title}\nAuthors: {', '.join(paper.authors)}\nAbstract: {abstract}"


def compare_tokens(run: ScoringRun) -> TokenComparison:
    """Count the common layout's prompt tokens for the papers the default run scanned."""
    import tiktoken

    from paperdigest.arxiv.source import load_listing
    from paperdigest.config import Settings
    from paperdigest.prompt import load_prompts
    from paperdigest.rules import Rules

    encoding = tiktoken.get_encoding("o200k_base")
    settings = Settings()
    listing = load_listing(DAY_CATEGORIES, source=DAY_FEED.parent, rss_base_url=settings.arxiv.rss_url, timeout=30, user_agent="bench")
    candidates = Rules(settings.rules, settings.arxiv.announce_types).triage(listing.papers).candidates
    instructions = load_prompts(None).instructions

    own = reference = papers_only = 0
    batches = [candidates[i : i + COMMON_BATCH_SIZE] for i in range(0, len(candidates), COMMON_BATCH_SIZE)]
    for batch in batches:
        papers = "\n\n".join(format_common_paper(p) for p in batch)
        paper_tokens = len(encoding.encode(papers, disallowed_special=()))
        chat_markup = 2 * TOKENS_PER_MESSAGE + TOKENS_PER_REPLY
        own += len(chat_tokens([{"role": "system", "content": instructions}, {"role": "user", "content": papers}], encoding))
        reference += REFERENCE_PROMPT_TOKENS + paper_tokens + chat_markup
        papers_only += paper_tokens
    return TokenComparison(
        scanned=len(candidates),
        paperdigest=run.prompt_tokens,
        cached=run.cached_tokens,
        shared_prefix_tokens=run.shared_prefix * run.requests,
        common_own_prompt=own,
        common_reference_prompt=reference,
        common_papers_only=papers_only,
        common_batches=len(batches),
    )


# Everything but the model ------------------------------------------------------------------


def stage_worker(feed_dir: Path, categories: list[str], repeats: int) -> dict:
    """Time load_listing, Rules.triage, the digest and both renderers in this process.

    Returns the median seconds of each stage over `repeats`, the process's peak RSS after the
    timed passes, and the peak of Python allocations (tracemalloc) in one more pass.
    """
    from paperdigest.config import RuleSettings
    from paperdigest.models import Digest, Fate, PaperResult, Score, Usage, Cost
    from paperdigest.prompt import load_prompts
    from paperdigest.arxiv.source import load_listing
    from paperdigest.render import render_json, render_markdown
    from paperdigest.rules import Rules

    rules = Rules(RuleSettings(**SCALE_RULES), ("new", "cross"))
    prompt = load_prompts(None).as_prompt_text()

    def one_pass() -> dict[str, float]:
        times = {}
        # Synthetic scores, uniform over 1-10: about 16% of papers meet both cutoffs of 7.
        scores = random.Random(20250912)
        started = time.perf_counter()
        listing = load_listing(categories, source=feed_dir, rss_base_url="https://rss.arxiv.org/rss/", timeout=30, user_agent="bench")
        times["parse"] = time.perf_counter() - started

        started = time.perf_counter()
        triage = rules.triage(listing.papers)
        times["rules"] = time.perf_counter() - started

        started = time.perf_counter()
        results = []
        for paper in listing.papers:
            if paper.id in triage.dropped:
                results.append(PaperResult(paper, Fate.DROPPED, reason=triage.dropped[paper.id]))
                continue
            score = Score(paper.id, scores.randint(1, 10), scores.randint(1, 10), "Synthetic score for the benchmark.")
            followed = triage.followed.get(paper.id, ())
            relevant = (score.relevance >= 7 and score.novelty >= 7) or bool(followed)
            results.append(PaperResult(paper, Fate.SCORED, "", score, bool(followed), followed, relevant))
        digest = Digest(
            date=DAY, model="gpt-5", scorer="openai", categories=tuple(categories), results=tuple(results),
            usage=Usage(1_000_000, 0, 40_000, 40), cost=Cost(1.25, 0.4), prompt=prompt, source=str(feed_dir),
            relevance_cutoff=7, novelty_cutoff=7,
        )  # fmt: skip
        times["digest"] = time.perf_counter() - started

        started = time.perf_counter()
        markdown = render_markdown(digest)
        times["render_md"] = time.perf_counter() - started
        started = time.perf_counter()
        rendered_json = render_json(digest)
        times["render_json"] = time.perf_counter() - started
        times["papers"] = len(listing.papers)
        times["output_bytes"] = len(markdown.encode()) + len(rendered_json.encode())
        return times

    passes = [one_pass() for _ in range(repeats)]
    medians = {key: statistics.median(p[key] for p in passes) for key in passes[0]}
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    tracemalloc.start()
    one_pass()
    traced_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()

    return {"stages": medians, "rss_mb": rss_mb, "traced_peak_mb": traced_peak_mb}


@dataclass
class ScaleRun:
    papers: int
    instant_seconds: float  # median CLI wall time with the openai scorer and instant answers
    instant_rss_mb: float  # largest peak RSS of those runs
    instant_requests: int
    keywords_seconds: float  # median CLI wall time with --scorer keywords
    keywords_rss_mb: float
    stages: dict[str, float]
    stage_rss_mb: float
    traced_peak_mb: float
    profile: list[tuple[str, float, float]] = field(default_factory=list)

    @property
    def stage_seconds(self) -> float:
        return sum(self.stages[k] for k in ("parse", "rules", "digest", "render_md", "render_json"))


def run_cli_repeated(command: list[str], env: dict[str, str], workdir: Path, label: str) -> list[ProcessResult]:
    results = []
    for attempt in range(SCALE_REPEATS):
        result = run_process([*command, "--out", str(workdir / f"out{attempt}")], env, SCALE_TIMEOUT, workdir / f"run{attempt}")
        if result.returncode != 0:
            raise RuntimeError(f"{label} failed with exit code {result.returncode}:\n{result.stderr[-2000:]}")
        results.append(result)
    return results


def profile_cli(command: list[str], env: dict[str, str], workdir: Path) -> list[tuple[str, float, float]]:
    """Run the CLI under cProfile; return the 10 functions with the largest own time."""
    profile_path = workdir / "cli.prof"
    profiled = [sys.executable, "-m", "cProfile", "-o", str(profile_path), *command[1:], "--out", str(workdir / "out")]
    result = run_process(profiled, env, SCALE_TIMEOUT, workdir)
    if result.returncode != 0:
        raise RuntimeError(f"profiled run failed with exit code {result.returncode}:\n{result.stderr[-2000:]}")
    stats = pstats.Stats(str(profile_path), stream=io.StringIO())
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)  # by own time
    top = []
    for (filename, line, function), (_, _, own, cumulative, _) in rows[:10]:
        where = filename.replace(str(REPO_ROOT) + "/", "").replace(sys.base_prefix + "/", "")
        top.append((f"{where}:{line} {function}", own, cumulative))
    return top


def run_scale(size: int, papers: list, workdir: Path, profile: bool) -> ScaleRun:
    """Time a run of `size` papers three ways: the CLI with instant answers, with --scorer keywords, and in-process stages."""
    from fake_openai import FakeOpenAI

    feed_dir = workdir / "feed"
    categories = feeds.write_feed(papers, size, feed_dir / "feed.xml")
    config = write_config(workdir / "config.toml", categories, {"model": "gpt-5", "timeout": 60.0}, SCALE_RULES)
    base = cli_command(config, feed_dir)

    # The openai scorer against a server that answers at once with length-based usage, so the
    # time is everything a real run does except waiting for the model.
    with FakeOpenAI() as server:
        env = child_env(workdir / "home", server.base_url)
        instant = run_cli_repeated(base, env, workdir / "instant", f"instant-answer run of {size} papers")
        requests = len(server.requests) // SCALE_REPEATS
        top = profile_cli(base, env, workdir / "profile") if profile else []

    env = child_env(workdir / "home")
    keywords_command = cli_command(config, feed_dir, scorer="keywords")
    keywords = run_cli_repeated(keywords_command, env, workdir / "keywords", f"keywords run of {size} papers")

    worker = [sys.executable, str(Path(__file__).resolve()), "--stage-worker", str(feed_dir), "--categories", ",".join(categories)]
    result = run_process(worker, env, SCALE_TIMEOUT, workdir / "worker")
    if result.returncode != 0:
        raise RuntimeError(f"stage worker for {size} papers failed:\n{result.stderr[-2000:]}")
    measured = json.loads(result.stdout)
    run = ScaleRun(
        papers=int(measured["stages"]["papers"]),
        instant_seconds=statistics.median(r.seconds for r in instant),
        instant_rss_mb=max(r.max_rss_mb for r in instant),
        instant_requests=requests,
        keywords_seconds=statistics.median(r.seconds for r in keywords),
        keywords_rss_mb=max(r.max_rss_mb for r in keywords),
        stages=measured["stages"],
        stage_rss_mb=measured["rss_mb"],
        traced_peak_mb=measured["traced_peak_mb"],
        profile=top,
    )
    print(
        f"  {size} papers: instant answers {run.instant_seconds:.2f} s, {run.instant_rss_mb:.0f} MB; "
        f"keywords {run.keywords_seconds:.2f} s; stages {run.stage_seconds:.2f} s",
        file=sys.stderr,
    )
    return run


def python_startup_seconds(env: dict[str, str], workdir: Path) -> float:
    """Median time to start Python and import the CLI module, the fixed cost of every run."""
    command = [sys.executable, "-c", "import paperdigest.cli"]
    return statistics.median(run_process(command, env, 60, workdir / f"startup{i}").seconds for i in range(3))


# Report ------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def met(flag: bool) -> str:
    return "**met**" if flag else "**missed**"


def render_report(
    command: str,
    started: dt.datetime,
    elapsed: float,
    latency: Latency,
    default: ScoringRun,
    common: ScoringRun,
    sweep: list[ScoringRun],
    limited: ScoringRun,
    tokens: TokenComparison,
    scale: list[ScaleRun],
    startup: float,
) -> str:
    info = machine()
    speedup = common.seconds / default.seconds
    floor_ratio = default.seconds / default.floor
    own_ratio = tokens.paperdigest / tokens.common_own_prompt
    reference_ratio = tokens.paperdigest / tokens.common_reference_prompt
    complete = default.completeness >= common.completeness
    small, large = scale[0], scale[-1]
    time_growth = large.instant_seconds / small.instant_seconds
    stage_growth = large.stage_seconds / small.stage_seconds
    traced_growth = large.traced_peak_mb / small.traced_peak_mb
    scale_met = large.stage_seconds < GOAL_SECONDS and large.stage_rss_mb < GOAL_MEGABYTES
    whole_met = large.instant_seconds < GOAL_SECONDS and large.instant_rss_mb < GOAL_MEGABYTES
    linear = stage_growth <= LINEAR_MAX_GROWTH and traced_growth <= LINEAR_MAX_GROWTH

    lines = [
        "# Benchmarks",
        "",
        f"Written by `bench/run_benchmark.py` on {started:%Y-%m-%d %H:%M} UTC in {elapsed / 60:.1f} minutes. "
        "See bench/README.md for what it simulates. Rerun it to refresh this page.",
        "",
        f"- Command: `{command}`",
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['memory']} memory, {info['os']}",
        f"- Python {info['python']}; one CLI start (interpreter + imports) takes {startup:.2f} s here.",
        "",
        "## Goals",
        "",
        "| goal | result | |",
        "|---|---|---|",
        f"| a ~200-paper day at least {GOAL_SPEEDUP:.0f}x faster than 5-paper batches one at a time | "
        f"{speedup:.1f}x ({common.seconds:.1f} s → {default.seconds:.1f} s) | {met(speedup >= GOAL_SPEEDUP)} |",
        f"| within {GOAL_FLOOR_RATIO}x of the floor | {floor_ratio:.2f}x ({default.seconds:.1f} s vs {default.floor:.1f} s) | "
        f"{met(floor_ratio <= GOAL_FLOOR_RATIO)} |",
        f"| prompt tokens per scanned paper ≤ {GOAL_TOKEN_RATIO}x the common layout, equal or better completeness | "
        f"{own_ratio:.2f}x (same instructions), {reference_ratio:.2f}x (reference prompt); completeness "
        f"{default.completeness:.0%} vs {common.completeness:.0%} | "
        f"{met(max(own_ratio, reference_ratio) <= GOAL_TOKEN_RATIO and complete)} |",
        f"| everything but the model (read the saved feed, parse, rules, render md + json) under {GOAL_SECONDS:.0f} s "
        f"and {GOAL_MEGABYTES:.0f} MB for 5,000 papers | {large.stage_seconds:.2f} s, {large.stage_rss_mb:.0f} MB peak RSS "
        f"(stages in one process) | {met(scale_met)} |",
        f"| the same for a whole CLI run with the model answering at once (adds the Python start, imports, tiktoken, "
        f"HTTP, writing) | {large.instant_seconds:.2f} s, {large.instant_rss_mb:.0f} MB peak RSS | {met(whole_met)} |",
        f"| ... growing linearly (5,000 / 1,000 papers at most {LINEAR_MAX_GROWTH:.0f}x) | stages {stage_growth:.1f}x time, "
        f"{traced_growth:.1f}x Python memory | {met(linear)} |",
        "",
    ]
    lines += scoring_section(latency, default, common, sweep, limited)
    lines += token_section(tokens, default)
    lines += scale_section(scale, startup, time_growth, stage_growth, traced_growth)
    return "\n".join(lines) + "\n"


def scoring_row(run: ScoringRun) -> str:
    return (
        f"| {run.name} | {run.concurrency} | {run.batch_size} | {len(run.batch_papers)} | {run.seconds:.1f} | "
        f"{run.floor:.1f} | {run.seconds / run.floor:.2f} | {run.server_seconds:.1f} | {run.rate_limited} | "
        f"{run.scored}/{run.scanned} ({run.completeness:.0%}) |"
    )


def scoring_section(latency: Latency, default: ScoringRun, common: ScoringRun, sweep: list[ScoringRun], limited: ScoringRun) -> list[str]:
    header = [
        "| run | max_concurrency | batch_size | requests | wall s | floor s | wall / floor | server busy s | 429s | scored / scanned |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    sizes = ", ".join(str(n) for n in sorted(default.batch_papers, reverse=True))
    lines = [
        "## Speed of a ~200-paper day",
        "",
        f"The CLI (`paperdigest run --no-cache`) scores the {default.scanned} papers of 2025-09-12 (cs.LG, cs.AI, cs.CL, "
        f"`tests/fixtures/rss/2025-09-12`) against the simulated server. Each answer takes {latency.fixed:g} s + "
        f"{latency.per_paper:g} s per paper. The server allows {ROOMY_LIMIT.requests_per_minute} requests and "
        f"{ROOMY_LIMIT.tokens_per_minute:,} prompt tokens per minute. Wall time is the whole CLI process, start to "
        "exit, so it includes the Python start, feed parsing and rendering. The floor is ceil(requests / max_concurrency) "
        "rounds of requests, each as long as its largest batch takes, for the batch sizes that run sent. "
        f"Server busy is the time from the first request's arrival to the last response. The defaults row is the median "
        f"of {DEFAULT_REPEATS} runs, and every other row ran once.",
        "",
        *header,
        scoring_row(default),
        scoring_row(common),
        "",
        f"The default run sent batches of {sizes} papers (`batch_size` 25 and `batch_tokens` 8,000 limit them). "
        f"Speedup over 5-paper batches one at a time: {common.seconds / default.seconds:.1f}x. Of its "
        f"{default.seconds:.1f} s, the server was busy {default.server_seconds:.1f} s "
        f"({default.server_seconds / default.floor:.2f}x the floor). The other "
        f"{default.seconds - default.server_seconds:.1f} s are the Python start, imports, loading the tiktoken encoding "
        "and parsing before the first request, and rendering and writing after the last.",
        "",
        "### max_concurrency at the default batch settings",
        "",
        *header,
        *(scoring_row(run) for run in sweep),
        "",
        concurrency_comment(sweep),
        "",
        "### Rate limit exceeded",
        "",
        f"The same default run against a server that allows only {TIGHT_LIMIT.tokens_per_minute:,} prompt tokens per minute "
        "and answers HTTP 429 with Retry-After (whole seconds, the time until enough tokens leave the one-minute window):",
        "",
        *header,
        scoring_row(limited),
        "",
        f"{limited.rate_limited} requests got 429. The run waited and finished with {limited.scored} of {limited.scanned} "
        f"papers scored (exit code {limited.returncode}), "
        f"{'so the limit slowed the run but did not fail it' if limited.completeness == 1 else 'so some papers stayed unscored'}. "
        "Setting `[llm] tokens_per_minute` to the account's limit makes the client pace itself, which should avoid the "
        "429s (this benchmark does not run that case). The run would take about as long, because the limit sets the pace.",
        "",
    ]
    return lines


def concurrency_comment(sweep: list[ScoringRun]) -> str:
    by_concurrency = {run.concurrency: run for run in sweep}
    requests = len(by_concurrency[DEFAULT_CONCURRENCY].batch_papers)
    best = min(sweep, key=lambda run: run.seconds)
    return (
        f"The ~200-paper day makes {requests} requests, so max_concurrency {DEFAULT_CONCURRENCY} sends them all in one round. "
        f"16 gains nothing on this day ({by_concurrency[16].seconds:.1f} s vs {by_concurrency[DEFAULT_CONCURRENCY].seconds:.1f} s). "
        f"It only helps days with more than {DEFAULT_CONCURRENCY} batches (about {DEFAULT_CONCURRENCY * 25} papers), "
        "and it sends more requests at once against the provider's rate limits. "
        f"Fastest here: max_concurrency {best.concurrency} ({best.seconds:.1f} s)."
    )


def token_section(tokens: TokenComparison, default: ScoringRun) -> list[str]:
    per = tokens.per_paper
    papers_and_markup = tokens.common_papers_only + tokens.common_batches * (2 * TOKENS_PER_MESSAGE + TOKENS_PER_REPLY)
    floor_ratio = tokens.paperdigest / papers_and_markup
    needed_own = GOAL_TOKEN_RATIO * per(tokens.common_own_prompt)
    needed_reference = GOAL_TOKEN_RATIO * per(tokens.common_reference_prompt)
    uncached = tokens.paperdigest - tokens.cached
    return [
        "## Prompt tokens per scanned paper",
        "",
        f"paperdigest's count is the usage the simulated server reported for the default run: tiktoken o200k_base "
        f"on the messages as sent, plus {TOKENS_PER_MESSAGE} tokens of chat markup per message and {TOKENS_PER_REPLY} "
        f"for the reply. The common layout sends the whole instruction prompt with every {COMMON_BATCH_SIZE}-paper batch, "
        f"each paper as `ArXiv ID / Title / Authors / Abstract` lines, abstracts cut at {COMMON_ABSTRACT_CHARS:,} characters "
        f"({tokens.common_batches} requests for {tokens.scanned} papers), counted the same way. The reference prompt is the "
        f"\"Paper Selection Prompt\" of DaizeDong/ChatGPT-ArXiv-Paper-Assistant's 2025-09-12 digest "
        f"({REFERENCE_PROMPT_TOKENS:,} tokens of system and user text).",
        "",
        "| layout | prompt tokens | per scanned paper | paperdigest / this |",
        "|---|---|---|---|",
        f"| paperdigest, default run ({default.requests} requests) | {tokens.paperdigest:,} | {per(tokens.paperdigest):.0f} | 1.00 |",
        f"| common layout, paperdigest's instructions | {tokens.common_own_prompt:,} | {per(tokens.common_own_prompt):.0f} | "
        f"{tokens.paperdigest / tokens.common_own_prompt:.2f} |",
        f"| common layout, reference prompt | {tokens.common_reference_prompt:,} | {per(tokens.common_reference_prompt):.0f} | "
        f"{tokens.paperdigest / tokens.common_reference_prompt:.2f} |",
        f"| common layout without any instructions (papers and chat markup only) | "
        f"{papers_and_markup:,} | {per(papers_and_markup):.0f} | {floor_ratio:.2f} |",
        "",
        f"- Cacheable prefix: the first {default.shared_prefix:,} tokens are identical in all {default.requests} requests, "
        f"{tokens.shared_prefix_tokens / tokens.paperdigest:.1%} of paperdigest's prompt tokens.",
        f"- Cached share the server reported: {tokens.cached:,} tokens, {tokens.cached / tokens.paperdigest:.1%} "
        f"(the first request of a run is never cached, and caching counts whole 128-token steps from 1,024 on). "
        f"Uncached prompt tokens per scanned paper: {per(uncached):.0f}.",
        f"- The reference prompt puts the papers in the middle of its user message, after {REFERENCE_PREFIX_TOKENS} tokens, "
        "below the 1,024 tokens from which a provider caches a prefix, so none of it would be cached.",
        f"- The last row is the paper text alone: {per(papers_and_markup):.0f} tokens per paper. A ratio of "
        f"{GOAL_TOKEN_RATIO} means at most {needed_own:.0f} tokens per paper against the common layout with the same "
        f"instructions and {needed_reference:.0f} against the reference prompt. Titles, authors and abstracts alone come "
        f"close to that, so the goal needs the paper text itself shortened (for example without the author list, which "
        f"the rules already use), not only fewer copies of the instructions.",
        "",
    ]


def scale_section(scale: list[ScaleRun], startup: float, time_growth: float, stage_growth: float, traced_growth: float) -> list[str]:
    lines = [
        "## Everything but the model: 1,000 and 5,000 papers",
        "",
        "Feeds of 1,000 and 5,000 papers are built from real listings (repeated with fresh ids) and written as RSS 2.0; "
        "the config follows every primary category they use. Rules: 3 followed authors, 1 excluded author, "
        "2 excluded keywords. Three measurements, each the median of "
        f"{SCALE_REPEATS} runs, with peak RSS from wait4:",
        "",
        "- **instant answers**: `paperdigest run --no-cache` with the openai scorer against a local server that answers "
        "at once. This is everything a real run does (start, parse, rules, batching with tiktoken counts, HTTP, "
        "answer parsing, rendering, writing) except waiting for the model.",
        "- **keywords**: `paperdigest run --scorer keywords`, the offline scorer in place of the model.",
        "- **stages**: in a fresh process, load_listing on the saved feed, Rules.triage, a Digest with synthetic scores "
        "(uniform 1-10, so about 16% relevant), render_markdown and render_json. Python memory is tracemalloc's peak "
        "over one pass. The goal is judged on these stages, and stated for the whole run too.",
        "",
        "| papers | instant answers s | requests | peak RSS MB | keywords s | peak RSS MB | parse s | rules s | digest s | "
        "render md s | render json s | stages s | Python memory MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in scale:
        stages = run.stages
        lines.append(
            f"| {run.papers:,} | {run.instant_seconds:.2f} | {run.instant_requests} | {run.instant_rss_mb:.0f} | "
            f"{run.keywords_seconds:.2f} | {run.keywords_rss_mb:.0f} | {stages['parse']:.3f} | {stages['rules']:.3f} | "
            f"{stages['digest']:.3f} | {stages['render_md']:.3f} | {stages['render_json']:.3f} | {run.stage_seconds:.2f} | "
            f"{run.traced_peak_mb:.1f} |"
        )
    lines += [
        "",
        f"Growth from 1,000 to 5,000 papers: instant-answer CLI run {time_growth:.1f}x (it includes a fixed "
        f"{startup:.2f} s to start Python and import the CLI), stages {stage_growth:.1f}x, Python memory {traced_growth:.1f}x.",
        "",
        f"Largest own-time costs of one instant-answer CLI run at {scale[-1].papers:,} papers (cProfile, "
        "which slows the run down):",
        "",
        "| function | own s | cumulative s |",
        "|---|---|---|",
        *(f"| `{name}` | {own:.3f} | {cumulative:.3f} |" for name, own, cumulative in scale[-1].profile),
        "",
        "`acquire` of `_thread.lock` is the main thread waiting for the request threads, so it is the HTTP round "
        "trips to the local server. `CoreBPE.encode` and `load_tiktoken_bpe` are tiktoken counting the batches and "
        "loading its encoding. The `tex.py` rows are author names: split while parsing and folded by the rules.",
        "",
    ]
    return lines


# Main --------------------------------------------------------------------------------------


def source_papers(shared: Path) -> tuple[list, str]:
    listings = shared / "data" / "arxiv" / "listings"
    if listings.is_dir() and any(listings.glob("*.jsonl")):
        return feeds.papers_from_listings(listings), f"{len(list(listings.glob('*.jsonl')))} listings in {listings}"
    print(f"warning: {listings} not found; repeating the fixture feeds instead", file=sys.stderr)
    return feeds.papers_from_fixtures(), "the feeds in tests/fixtures/rss"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared", help="folder that contains data/arxiv/listings (default: ../shared)")
    parser.add_argument("--report", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md", help="Markdown file to write")
    parser.add_argument("--fixed-latency", type=float, default=1.0, help="seconds of every simulated answer")
    parser.add_argument("--per-paper-latency", type=float, default=0.2, help="seconds per paper of a simulated answer")
    parser.add_argument("--stage-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--categories", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.stage_worker:
        print(json.dumps(stage_worker(args.stage_worker, args.categories.split(","), SCALE_REPEATS)))
        return 0

    command = shlex.join([".venv/bin/python", "bench/run_benchmark.py", *(argv if argv is not None else sys.argv[1:])])
    started_at = dt.datetime.now(dt.timezone.utc)
    started = time.perf_counter()
    latency = Latency(args.fixed_latency, args.per_paper_latency)
    with tempfile.TemporaryDirectory(prefix="paperdigest-bench-") as tmp:
        work = Path(tmp)
        papers, origin = source_papers(args.shared)
        print(f"scaling feeds from {origin} ({len(papers)} distinct papers)", file=sys.stderr)

        print("scoring runs:", file=sys.stderr)
        default = run_scoring("defaults", DEFAULT_CONCURRENCY, None, latency, ROOMY_LIMIT, work / "default", DEFAULT_REPEATS)
        common = run_scoring("5-paper batches, one at a time", 1, COMMON_BATCH_SIZE, latency, ROOMY_LIMIT, work / "common")
        sweep = []
        for concurrency in CONCURRENCY_SWEEP:
            if concurrency == DEFAULT_CONCURRENCY:
                sweep.append(default)
                continue
            sweep.append(run_scoring(f"max_concurrency {concurrency}", concurrency, None, latency, ROOMY_LIMIT, work / f"c{concurrency}"))
        limited = run_scoring("defaults, 40k tokens/min limit", DEFAULT_CONCURRENCY, None, latency, TIGHT_LIMIT, work / "limited")
        tokens = compare_tokens(default)

        print("runs without the model:", file=sys.stderr)
        scale = [run_scale(size, papers, work / f"scale{size}", profile=size == SCALE_SIZES[-1]) for size in SCALE_SIZES]
        startup = python_startup_seconds(child_env(work / "home"), work / "startup")

    report = render_report(command, started_at, time.perf_counter() - started, latency, default, common, sweep, limited, tokens, scale, startup)
    print(report)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(report + kept_sections(args.report), encoding="utf-8")
    print(f"wrote {args.report}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
