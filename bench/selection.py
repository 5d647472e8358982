"""Measure the offline rankers: how many of a model's picks they rank high, and how fast they rank.

Usage (from the repository root):

    .venv/bin/python bench/selection.py [--eval-only | --speed-only]

It prints a Markdown report to stdout and writes no file. A whole run takes under a minute on 2 cores.

1. Agreement: ranks the 188 papers of 2025-09-12 (tests/fixtures/selection) with every ranker
   against two topics files, the one the real digest used and our paraphrase in prompts/topics.md.
   It calls the functions of `paperdigest eval`, so its tables equal that command's output,
   except the seconds column, which is measured again on each run.
2. Speed: ranks 1,000 and 5,000 papers with each ranker, in a fresh process per ranker and size.
   Loading WordLlama is timed on its own, before any ranking. The cold time is a new Ranker
   ranking the papers with no embedding in memory, and the warm time is the same Ranker ranking
   them again. Each time is the best of 3 runs.

It needs the optional WordLlama package (pip install -e '.[embeddings]'). Nothing goes over the network.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import resource
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from run_benchmark import machine  # noqa: E402

from paperdigest import embeddings  # noqa: E402
from paperdigest.errors import EmbeddingsUnavailable  # noqa: E402
from paperdigest.evaluate import Evaluation, evaluate, format_ranks, format_table, load_listing_file, load_picks  # noqa: E402
from paperdigest.models import Paper  # noqa: E402
from paperdigest.ranking import RANKERS, Ranker  # noqa: E402
from paperdigest.topics import TopicProfile, parse_topics  # noqa: E402

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "selection"
LISTING = FIXTURES / "2025-09-12.listing.jsonl"
PICKS = FIXTURES / "2025-09-12.picks.json"
REFERENCE_TOPICS = FIXTURES / "topics-reference.md"
PARAPHRASE_TOPICS = REPO_ROOT / "prompts" / "topics.md"
TOPICS_FILES = (("reference topics", REFERENCE_TOPICS), ("paraphrase", PARAPHRASE_TOPICS))

SPEED_SIZES = (1000, 5000)
SPEED_REPEATS = 3
SPEED_TOPICS = REFERENCE_TOPICS
WORKER_TIMEOUT = 300.0  # seconds per speed process. The slowest (5,000 papers, keywords+embeddings) takes about 10.

GOAL_TOP_20 = 9  # picks in the top 20 of the offline scorer
GOAL_KEPT_AT_60 = 17  # picks a prefilter keeping 60% keeps
GOAL_SECONDS_5000 = 3.0  # new Ranker plus a cold ranking of 5,000 papers, model loaded


# Agreement with the picks ------------------------------------------------------------------


@dataclass
class TopicsEvaluation:
    label: str
    path: Path
    papers: int
    picks: int
    results: list[Evaluation]


def evaluate_topics(label: str, topics_path: Path) -> TopicsEvaluation:
    """Evaluate every ranker on the fixture day as `paperdigest eval` does, with the same calls in the same order."""
    papers = load_listing_file(LISTING)
    picks = load_picks(PICKS)
    profile = parse_topics(topics_path.read_text(encoding="utf-8"))
    results = []
    for name in RANKERS:
        ranker = Ranker(name, profile)
        started = time.perf_counter()
        ranked = ranker.rank(papers)
        results.append(evaluate(name, ranked, picks, time.perf_counter() - started))
    return TopicsEvaluation(label, topics_path, len(papers), results[0].picks, results)


# Speed -------------------------------------------------------------------------------------


@dataclass
class SpeedRun:
    method: str
    papers: int
    model_load: float | None  # seconds of the first load_model() in the process, or None for keywords
    new_ranker: float  # best of SPEED_REPEATS
    cold: float
    warm: float
    peak_rss_mb: float  # the process's peak over its whole life
    rss_growth_mb: float  # peak after ranking minus the peak before the first Ranker


def scaled_papers(base: list[Paper], count: int) -> list[Paper]:
    """Build `count` distinct papers by cycling `base` with new ids and the copy number after the title."""
    papers = []
    for index in range(count):
        paper = base[index % len(base)]
        copy = index // len(base) + 1
        papers.append(dataclasses.replace(paper, id=f"9999.{index:05d}", title=f"{paper.title} [{copy}]"))
    return papers


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB.

    Linux's VmHWM comes first because getrusage's ru_maxrss survives exec: a child started from a
    large parent reports at least the parent's size at the fork, which would hide the growth.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports kilobytes


def speed_worker(method: str, count: int) -> dict:
    """Time one ranker on `count` papers in this process; return the figures of a SpeedRun."""
    papers = scaled_papers(load_listing_file(LISTING), count)
    profile: TopicProfile = parse_topics(SPEED_TOPICS.read_text(encoding="utf-8"))
    model_load = None
    if "embeddings" in method:
        started = time.perf_counter()
        embeddings.load_model()
        model_load = time.perf_counter() - started
    rss_before = peak_rss_mb()

    new_ranker_times, cold_times, warm_times = [], [], []
    ranker = None
    for _ in range(SPEED_REPEATS):
        ranker = None  # free the previous Ranker and its cached vectors before building the next
        started = time.perf_counter()
        ranker = Ranker(method, profile, store=None)
        new_ranker_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        ranked = ranker.rank(papers)
        cold_times.append(time.perf_counter() - started)
        if len(ranked) != count:
            raise RuntimeError(f"{method} returned a ranking of {len(ranked)} papers, expected {count}")
    for _ in range(SPEED_REPEATS):
        started = time.perf_counter()
        ranker.rank(papers)
        warm_times.append(time.perf_counter() - started)

    peak = peak_rss_mb()
    return dataclasses.asdict(
        SpeedRun(method, count, model_load, min(new_ranker_times), min(cold_times), min(warm_times), peak, peak - rss_before)
    )


def run_speed_worker(method: str, count: int) -> SpeedRun:
    command = [sys.executable, str(Path(__file__).resolve()), "--speed-worker", method, "--papers", str(count)]
    print(f"timing {method} on {count:,} papers", file=sys.stderr)
    try:
        completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=WORKER_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"timing {method} on {count:,} papers timed out after {WORKER_TIMEOUT:.0f} s") from None
    if completed.returncode != 0:
        raise RuntimeError(
            f"timing {method} on {count:,} papers failed with exit code {completed.returncode}:\n{completed.stderr.strip()}"
        )
    return SpeedRun(**json.loads(completed.stdout.strip().splitlines()[-1]))


# Report ------------------------------------------------------------------------------------


def relative(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


def meeting(evaluations: list[TopicsEvaluation], passes) -> str:
    """Name the rankers whose Evaluation passes on each topics file, e.g. "keywords (both files)"."""
    parts = []
    for name in RANKERS:
        passed = [e.label for e in evaluations for r in e.results if r.ranker == name and passes(r)]
        if len(passed) == len(evaluations) and len(evaluations) > 1:
            parts.append(f"{name} (both files)")
        elif passed:
            parts.append(f"{name} ({', '.join(passed)} only)")
    return ", ".join(parts) or "none"


def figures(evaluations: list[TopicsEvaluation], value) -> str:
    return "; ".join(
        f"{e.label}: " + ", ".join(f"{r.ranker} {value(r)}" for r in e.results) for e in evaluations
    )


def goals_section(evaluations: list[TopicsEvaluation], speed: list[SpeedRun]) -> list[str]:
    lines = ["### Goals", "", "| goal | result | met by |", "|---|---|---|"]
    if evaluations:
        picks = evaluations[0].picks
        lines.append(
            f"| offline scorer: at least {GOAL_TOP_20} of the {picks} picks in its top 20 | "
            f"{figures(evaluations, lambda r: r.in_top(20))} | {meeting(evaluations, lambda r: r.in_top(20) >= GOAL_TOP_20)} |"
        )
        lines.append(
            f"| prefilter keeping 60%: at least {GOAL_KEPT_AT_60} of the {picks} picks kept | "
            f"{figures(evaluations, lambda r: r.kept_at(0.6))} | "
            f"{meeting(evaluations, lambda r: r.kept_at(0.6) >= GOAL_KEPT_AT_60)} |"
        )
    largest = [run for run in speed if run.papers == max(SPEED_SIZES)]
    if largest:
        result = ", ".join(f"{run.method} {run.new_ranker + run.cold:.2f} s" for run in largest)
        met_by = ", ".join(run.method for run in largest if run.new_ranker + run.cold < GOAL_SECONDS_5000) or "none"
        lines.append(
            f"| ranking {max(SPEED_SIZES):,} papers under {GOAL_SECONDS_5000:g} s once the model is loaded "
            f"(new Ranker + cold ranking) | {result} | {met_by} |"
        )
    return [*lines, ""]


def agreement_section(evaluations: list[TopicsEvaluation]) -> list[str]:
    lines = [
        "### Agreement with the model's picks",
        "",
        f"Listing `{relative(LISTING)}`, picks `{relative(PICKS)}`. The reference topics are the text the "
        f"digest used, `{relative(REFERENCE_TOPICS)}`. The paraphrase is `{relative(PARAPHRASE_TOPICS)}`, our own "
        "wording of the same interests. The tables and rank lists are those `paperdigest eval` prints for the "
        "same files. Its seconds column is the ranking alone (model load excluded) and changes from run to run.",
        "",
    ]
    for evaluation in evaluations:
        lines += [
            f"#### {evaluation.label.capitalize()}: `{relative(evaluation.path)}`",
            "",
            f"{evaluation.papers} papers, {evaluation.picks} picks, topics from {relative(evaluation.path)}",
            "",
            format_table(evaluation.results),
            "",
            "```text",
            format_ranks(evaluation.results),
            "```",
            "",
        ]
    return lines


def speed_section(speed: list[SpeedRun]) -> list[str]:
    loads = [run.model_load for run in speed if run.model_load is not None]
    lines = [
        "### Ranking speed",
        "",
        f"Papers: the {len(load_listing_file(LISTING))} papers of the listing, cycled with new ids and the copy "
        f"number after the title so that every text differs. Topics: `{relative(SPEED_TOPICS)}`. Each ranker and "
        f"size runs in a fresh process, and each time is the best of {SPEED_REPEATS} runs. The new Ranker column "
        "is building the Ranker (term index, and for embeddings a copy of the tokenizer), with the model already "
        "loaded. The cold column is that new Ranker's first ranking, with no embedding in memory and no vector "
        "store. The warm column is the same Ranker ranking the same papers again, with the paper vectors taken "
        "from memory. keywords keeps nothing between rankings, so its warm time is a second cold run. Peak RSS is "
        "the process's peak (VmHWM in /proc/self/status), and the growth is that peak minus the peak before the first Ranker, so it includes "
        "the Ranker itself.",
        "",
    ]
    if loads:
        lines += [
            f"Loading WordLlama ({embeddings.MODEL_NAME}, imports included) the first time in a process took "
            f"{min(loads):.2f} to {max(loads):.2f} s over the {len(loads)} processes that use it. "
            "It is not part of any time below.",
            "",
        ]
    lines += [
        "| ranker | papers | new Ranker s | cold rank s | warm rank s | peak RSS MB | RSS growth MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {run.method} | {run.papers:,} | {run.new_ranker:.3f} | {run.cold:.3f} | {run.warm:.3f} | "
            f"{run.peak_rss_mb:.0f} | {run.rss_growth_mb:.0f} |"
            for run in speed
        ),
        "",
    ]
    return lines


def render_report(command: str, seconds: float, evaluations: list[TopicsEvaluation], speed: list[SpeedRun]) -> str:
    info = machine()
    lines = [
        "## Offline rankers: agreement with a model's picks and speed",
        "",
        f"Printed by `bench/selection.py` on {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC in {seconds:.0f} s.",
        "",
        f"- Command: `{command}`",
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['memory']} memory, {info['os']}",
        f"- Python {info['python']}",
        "",
        *goals_section(evaluations, speed),
    ]
    if evaluations:
        lines += agreement_section(evaluations)
    if speed:
        lines += speed_section(speed)
    return "\n".join(lines).rstrip("\n") + "\n"


# Main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--eval-only", action="store_true", help="run only the agreement with the picks (a few seconds)")
    only.add_argument("--speed-only", action="store_true", help="run only the ranking speed for 1,000 and 5,000 papers")
    parser.add_argument("--speed-worker", choices=RANKERS, help=argparse.SUPPRESS)
    parser.add_argument("--papers", type=int, default=SPEED_SIZES[0], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.speed_worker:
        print(json.dumps(speed_worker(args.speed_worker, args.papers)))
        return 0

    command = shlex.join([".venv/bin/python", "bench/selection.py", *(argv if argv is not None else sys.argv[1:])])
    started = time.perf_counter()
    evaluations: list[TopicsEvaluation] = []
    speed: list[SpeedRun] = []
    try:
        if not args.speed_only:
            print("evaluating the rankers against the picks", file=sys.stderr)
            evaluations = [evaluate_topics(label, path) for label, path in TOPICS_FILES]
        if not args.eval_only:
            speed = [run_speed_worker(method, count) for count in SPEED_SIZES for method in RANKERS]
    except (EmbeddingsUnavailable, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(render_report(command, time.perf_counter() - started, evaluations, speed), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
