"""Fast checks of the benchmark's simulated server and feed builder: .venv/bin/pytest bench"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(REPO_ROOT / "tests" / "fixtures" / "tiktoken"))

import feeds  # noqa: E402
from run_benchmark import floor_seconds  # noqa: E402
from sim_server import Latency, SimulatedOpenAI, cached_tokens, common_prefix  # noqa: E402

from fake_openai import FakeOpenAI, RateLimit  # noqa: E402


def post(base_url: str, content: str) -> tuple[int, dict, dict]:
    """Send one chat request straight to the server, bypassing any proxy settings."""
    body = json.dumps({"model": "m", "messages": [{"role": "system", "content": "S" * 40}, {"role": "user", "content": content}]})
    request = urllib.request.Request(f"{base_url}/chat/completions", body.encode(), {"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_cached_tokens_below_minimum():
    assert cached_tokens(1023) == 0


def test_cached_tokens_rounds_down():
    assert cached_tokens(1300) == 1280


def test_common_prefix_stops_at_difference():
    assert common_prefix([1, 2, 3, 4], [1, 2, 9, 4]) == 2


def test_floor_groups_largest_batches():
    # Batches of 25, 25 and 5 papers with 2 at a time: one round of 6 s, then one of 2 s.
    assert floor_seconds([5, 25, 25], 2, Latency(1.0, 0.2)) == pytest.approx(8.0)


def test_rate_limit_answers_429_with_retry_after():
    limit = RateLimit(requests_per_minute=1)
    with FakeOpenAI(rate_limit=limit) as server:
        first, _, _ = post(server.base_url, 'ArXiv ID: 1')
        second, headers, _ = post(server.base_url, 'ArXiv ID: 2')
    assert first == 200
    assert second == 429
    assert 55 <= int(headers["Retry-After"]) <= 60


def test_rate_limit_counts_tokens():
    limit = RateLimit(tokens_per_minute=30, count_tokens=lambda request: 20)
    with FakeOpenAI(rate_limit=limit) as server:
        statuses = [post(server.base_url, f'ArXiv ID: {n}')[0] for n in range(2)]
        rejected = server.rate_limited
    assert statuses == [200, 429]
    assert rejected == 1


def test_simulated_usage_reports_cached_prefix():
    long_prefix = "word " * 1500
    with SimulatedOpenAI(Latency(0.0, 0.0)) as server:
        post(server.base_url, long_prefix + '\nArXiv ID: 1')
        _, _, answer = post(server.base_url, long_prefix + '\nArXiv ID: 2')
    cached = answer["usage"]["prompt_tokens_details"]["cached_tokens"]
    assert cached >= 1024
    assert cached % 128 == 0


def test_simulated_answer_has_line_per_paper():
    with SimulatedOpenAI(Latency(0.0, 0.0)) as server:
        _, _, answer = post(server.base_url, 'ArXiv ID: 2509.00001\nArXiv ID: 2509.00002')
    lines = answer["choices"][0]["message"]["content"].splitlines()
    assert len(lines) == 2


def test_write_feed_makes_unique_ids(tmp_path):
    from paperdigest.arxiv.rss import parse_feed

    papers = feeds.papers_from_fixtures()[:3]
    feeds.write_feed(papers, 7, tmp_path / "feed.xml")
    listing = parse_feed((tmp_path / "feed.xml").read_bytes(), "feed.xml")
    assert len({paper.id for paper in listing.papers}) == 7
