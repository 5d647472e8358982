"""The CLI end to end: real feed fixtures, the real openai client, a fake model server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from fake_openai import Fault, FakeOpenAI
from paperdigest.arxiv.rss import parse_feed
from paperdigest.cli import EXIT_FETCH, EXIT_PARTIAL, EXIT_USAGE, main
from paperdigest.config import load_config
from paperdigest.pipeline import Context, RunOptions, run

FIXTURES = Path(__file__).parent / "fixtures"
FEED_DIR = FIXTURES / "rss" / "2025-09-12"
API_KEY = "sk-test-0123456789abcdef"

# Scores the fake server gives; every other paper gets 5/5.
SCORES = {
    "2509.09001": (10, 9),  # sum 19, relevance 10
    "2509.09660": (9, 10),  # sum 19, relevance 9: after the one above
    "2509.09679": (8, 8),
    "2509.09090": (7, 7),  # exactly at both cutoffs: included
    "2509.08954": (7, 6),  # novelty below the cutoff
    "2509.09371": (6, 9),  # relevance below the cutoff
}
FOLLOWED_PAPER = "2509.09088"  # "An entropy formula for the Deep Linear Network", by Govind Menon, Tianmin Yu


def config_text(base_url: str = "", **extra: str) -> str:
    llm = f'base_url = "{base_url}"\n' if base_url else ""
    return f"""
[arxiv]
categories = ["cs.LG", "cs.AI"]
[rules]
authors = ["govind menon"]
[llm]
model = "{extra.get("model", "gpt-5")}"
batch_size = {extra.get("batch_size", "40")}
batch_tokens = {extra.get("batch_tokens", "100000")}
{llm}
[selection]
relevance_cutoff = 7
novelty_cutoff = 7
[output]
dir = "out"
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PAPERDIGEST_CONFIG", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(FIXTURES / "tiktoken"))
    return tmp_path


def invoke(args: list[str], env: dict[str, str] | None = None):
    runner = CliRunner()
    return runner.invoke(main, args, env=env or {}, catch_exceptions=False)


def usage_for(request, ids):
    return 1000, 250, 30 * len(ids)


def test_digest_lists_server_scores_in_order(workdir):
    (workdir / "config.toml").write_text(config_text())
    with FakeOpenAI(SCORES, usage_for=usage_for) as server:
        result = invoke(
            ["run", "--date", "2025-09-12", "--source", str(FEED_DIR)],
            env={"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": server.base_url},
        )
        requests = server.requests
    assert result.exit_code == 0, result.output
    markdown = (workdir / "out" / "2025-09-12.md").read_text()
    headings = re.findall(r"^## \d+\. \[.*\]\(https://arxiv\.org/abs/([^)]+)\)", markdown, re.MULTILINE)
    assert headings == [FOLLOWED_PAPER, "2509.09001", "2509.09660", "2509.09679", "2509.09090"]
    scanned = sum(len(r.paper_ids) for r in requests)
    assert scanned == 162
    assert "Total scanned papers: 162" in markdown
    assert "Total relevant papers: 5" in markdown
    prompt_tokens = 1000 * len(requests)
    assert f"| **Token** | {prompt_tokens:,} | {30 * 162:,} | {prompt_tokens + 30 * 162:,} |" in markdown


def test_usage_and_cost_in_json(workdir):
    (workdir / "config.toml").write_text(config_text())
    with FakeOpenAI(SCORES, usage_for=usage_for) as server:
        invoke(["run", "--date", "2025-09-12", "--source", str(FEED_DIR)], env={"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": server.base_url})
        count = len(server.requests)
    data = json.loads((workdir / "out" / "2025-09-12.json").read_text())
    assert data["usage"]["prompt_tokens"] == 1000 * count
    assert data["usage"]["cached_prompt_tokens"] == 250 * count
    assert data["usage"]["completion_tokens"] == 30 * 162
    assert {p["fate"] for p in data["papers"]} == {"scored"}
    assert len(data["papers"]) == 162
    followed = next(p for p in data["papers"] if p["id"] == FOLLOWED_PAPER)
    assert followed["followed"] is True


def test_api_key_never_written(workdir):
    (workdir / "config.toml").write_text(config_text())
    with FakeOpenAI(SCORES) as server:
        result = invoke(
            ["run", "--date", "2025-09-12", "--source", str(FEED_DIR), "-vv"],
            env={"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": server.base_url},
        )
        sent = server.requests[0].headers.get("authorization")
    assert sent == f"Bearer {API_KEY}"
    assert API_KEY not in result.output
    for path in (workdir / "out").iterdir():
        assert API_KEY not in path.read_text(), path


def test_request_parameters_for_gpt5(workdir):
    (workdir / "config.toml").write_text(config_text())
    with FakeOpenAI(SCORES) as server:
        invoke(["run", "--date", "2025-09-12", "--source", str(FEED_DIR)], env={"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": server.base_url})
        body = server.requests[0].body
    assert body["model"] == "gpt-5"
    assert "max_completion_tokens" in body
    assert "max_tokens" not in body
    assert "temperature" not in body


def test_request_parameters_for_gpt4o(workdir):
    (workdir / "config.toml").write_text(config_text(model="gpt-4o-mini"))
    with FakeOpenAI(SCORES) as server:
        invoke(["run", "--date", "2025-09-12", "--source", str(FEED_DIR)], env={"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": server.base_url})
        body = server.requests[0].body
    assert "max_tokens" in body
    assert "max_completion_tokens" not in body


def test_instruction_prefix_identical(workdir):
    (workdir / "config.toml").write_text(config_text(batch_size="30"))
    with FakeOpenAI(SCORES) as server:
        invoke(["run", "--date", "2025-09-12", "--source", str(FEED_DIR)], env={"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": server.base_url})
        systems = {r.body["messages"][0]["content"] for r in server.requests}
        count = len(server.requests)
    assert count == 6
    assert len(systems) == 1


def test_base_url_from_config(workdir):
    with FakeOpenAI(SCORES) as server:
        (workdir / "config.toml").write_text(config_text(base_url=server.base_url))
        result = invoke(["run", "--date", "2025-09-12", "--source", str(FEED_DIR)], env={"OPENAI_API_KEY": API_KEY})
        count = len(server.requests)
    assert result.exit_code == 0, result.output
    assert count > 0


def test_missing_paper_asked_again(workdir):
    (workdir / "config.toml").write_text(config_text(batch_size="200"))
    with FakeOpenAI(SCORES) as server:
        everything_but_one = "\n".join(
            line for line in server.answer_for([p.id for p in _candidates()]).splitlines() if "2509.09001" not in line
        )
        server.queue(Fault(answer="Here are the scores:\n```jsonl\n" + everything_but_one + "\n```"))
        result = invoke(["run", "--date", "2025-09-12", "--source", str(FEED_DIR)], env={"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": server.base_url})
        second = server.requests[1].paper_ids
    assert result.exit_code == 0, result.output
    assert second == ["2509.09001"]
    assert "2509.09001" in (workdir / "out" / "2025-09-12.md").read_text()


def test_unanswered_paper_listed_unscored(workdir):
    (workdir / "config.toml").write_text(config_text(batch_size="200"))
    with FakeOpenAI(SCORES) as server:
        ids = [p.id for p in _candidates()]
        partial = "\n".join(line for line in server.answer_for(ids).splitlines() if "2509.09679" not in line)
        server.queue(Fault(answer=partial), Fault(answer="I cannot score that paper."))
        result = invoke(["run", "--date", "2025-09-12", "--source", str(FEED_DIR)], env={"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": server.base_url})
    assert result.exit_code == EXIT_PARTIAL
    data = json.loads((workdir / "out" / "2025-09-12.json").read_text())
    unscored = [p["id"] for p in data["papers"] if p["fate"] == "unscored"]
    assert unscored == ["2509.09679"]
    markdown = (workdir / "out" / "2025-09-12.md").read_text()
    assert "Unscored papers" in markdown


def test_missing_key_stops_before_work(workdir):
    (workdir / "config.toml").write_text(config_text())
    result = invoke(["run", "--date", "2025-09-12", "--source", str(FEED_DIR)])
    assert result.exit_code == EXIT_USAGE
    assert "OPENAI_API_KEY" in result.output
    assert "--scorer keywords" in result.output
    assert not (workdir / "out").exists()


def test_offline_keyword_scorer(workdir):
    (workdir / "config.toml").write_text(config_text())
    result = invoke(["run", "--date", "2025-09-12", "--source", str(FEED_DIR), "--scorer", "keywords"])
    assert result.exit_code == 0, result.output
    markdown = (workdir / "out" / "2025-09-12.md").read_text()
    assert markdown.startswith("# Personalized Daily ArXiv Papers 2025-09-12\n")
    assert "Total arXiv papers: 162" in markdown
    assert "# Paper Selection Prompt" not in markdown


def test_saved_feed_of_other_date(workdir):
    (workdir / "config.toml").write_text(config_text())
    with FakeOpenAI(SCORES) as server:
        result = invoke(["run", "--date", "2025-09-11", "--source", str(FEED_DIR)], env={"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": server.base_url})
        count = len(server.requests)
    assert result.exit_code == EXIT_FETCH
    assert "2025-09-12" in result.output
    assert "without --source" in result.output
    assert count == 0
    assert not (workdir / "out" / "2025-09-11.md").exists()


def test_weekend_writes_notice(workdir):
    (workdir / "config.toml").write_text(config_text())
    with FakeOpenAI(SCORES) as server:
        result = invoke(["run", "--date", "2025-09-13", "--source", str(FEED_DIR)], env={"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": server.base_url})
        count = len(server.requests)
    assert result.exit_code == 0, result.output
    assert count == 0
    assert "weekend" in (workdir / "out" / "2025-09-13.md").read_text()


def test_dry_run_sends_nothing(workdir):
    (workdir / "config.toml").write_text(config_text())
    with FakeOpenAI(SCORES) as server:
        result = invoke(["run", "--date", "2025-09-12", "--source", str(FEED_DIR), "--dry-run"], env={"OPENAI_BASE_URL": server.base_url})
        count = len(server.requests)
    assert result.exit_code == 0, result.output
    assert count == 0
    assert "Requests: 5" in result.output
    assert "Estimated cost: $" in result.output
    assert not (workdir / "out").exists()


def test_version_and_help():
    assert invoke(["--version"]).output.startswith("paperdigest, version ")
    help_text = invoke(["run", "--help"]).output
    for option in ("--date", "--config", "--source", "--out", "--model", "--scorer", "--dry-run", "--verbose", "--quiet"):
        assert option in help_text


def _candidates():
    """The cs.LG/cs.AI papers of the fixture feed, as the pipeline sees them."""
    listing = parse_feed((FEED_DIR / "cs.LG+cs.AI+cs.CL.xml").read_bytes(), "fixture")
    return [p for p in listing.papers if {"cs.LG", "cs.AI"} & set(p.categories)]


def test_fetch_then_run_from_saved_feed(workdir, arxiv_server):
    feed = (FEED_DIR / "cs.LG+cs.AI+cs.CL.xml").read_bytes()
    arxiv_server.serve_bytes("/rss/cs.LG+cs.AI", feed)
    text = config_text().replace('[arxiv]\n', f'[arxiv]\nrss_url = "{arxiv_server.url("/rss/")}"\n')
    (workdir / "config.toml").write_text(text)
    fetched = invoke(["fetch", "--out", "feeds"])
    assert fetched.exit_code == 0, fetched.output
    saved = workdir / "feeds" / "2025-09-12" / "cs.LG+cs.AI.xml"
    assert saved.read_bytes() == feed
    user_agent = arxiv_server.requests_to("/rss/cs.LG+cs.AI")[0].headers.get("User-Agent", "")
    assert user_agent.startswith("paperdigest/")
    result = invoke(["run", "--date", "2025-09-12", "--source", "feeds", "--scorer", "keywords"])
    assert result.exit_code == 0, result.output
    assert "Total arXiv papers: 162" in (workdir / "out" / "2025-09-12.md").read_text()
    assert len(arxiv_server.requests) == 1


def test_run_fetches_over_http(workdir, arxiv_server):
    feed = (FEED_DIR / "cs.LG+cs.AI+cs.CL.xml").read_bytes()
    arxiv_server.serve_bytes("/rss/cs.LG+cs.AI", feed)
    text = config_text().replace('[arxiv]\n', f'[arxiv]\nrss_url = "{arxiv_server.url("/rss/")}"\n')
    (workdir / "config.toml").write_text(text)
    result = invoke(["run", "--date", "2025-09-12", "--scorer", "keywords"])
    assert result.exit_code == 0, result.output
    assert (workdir / "out" / "2025-09-12.md").exists()


def test_latest_announcement_without_date(workdir, arxiv_server):
    feed = (FEED_DIR / "cs.LG+cs.AI+cs.CL.xml").read_bytes()
    arxiv_server.serve_bytes("/rss/cs.LG+cs.AI", feed)
    text = config_text().replace('[arxiv]\n', f'[arxiv]\nrss_url = "{arxiv_server.url("/rss/")}"\n')
    (workdir / "config.toml").write_text(text)
    beijing_saturday_morning = dt.datetime(2025, 9, 13, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    context = Context(now=lambda: beijing_saturday_morning)
    result = run(load_config(workdir / "config.toml"), RunOptions(scorer="keywords"), context)
    assert result.date == dt.date(2025, 9, 12)
    assert (workdir / "out" / "2025-09-12.md").exists()


def test_html_error_page_is_fetch_error(workdir, arxiv_server):
    arxiv_server.serve_bytes("/rss/cs.LG+cs.AI", b"<!DOCTYPE html><html><body>Service unavailable</body></html>")
    text = config_text().replace('[arxiv]\n', f'[arxiv]\nrss_url = "{arxiv_server.url("/rss/")}"\n')
    (workdir / "config.toml").write_text(text)
    result = invoke(["run", "--scorer", "keywords"])
    assert result.exit_code == 3
    assert "HTML" in result.output or "html" in result.output
    assert "Traceback" not in result.output


def test_offline_scorer_marks_novelty_not_assessed(workdir):
    (workdir / "config.toml").write_text(config_text())
    result = invoke(["run", "--date", "2025-09-12", "--source", str(FEED_DIR), "--scorer", "keywords"])
    assert result.exit_code == 0, result.output
    data = json.loads((workdir / "out" / "2025-09-12.json").read_text())
    scored = [p for p in data["papers"] if p["fate"] == "scored"]
    assert scored and all(p["novelty"] is None and p["rank"] >= 1 for p in scored)
    assert data["cutoffs"]["novelty"] is None
    # Only the relevance cutoff applies, and the default of 7 takes at most the top 20% of the ranking.
    assert all(p["relevant"] == (p["relevance"] >= 7 or p["followed"]) for p in scored)
    assert all(p["rank"] <= math.ceil(0.2 * len(scored)) for p in scored if p["relevance"] >= 7)
    markdown = (workdir / "out" / "2025-09-12.md").read_text()
    assert "**Novelty:** not assessed" in markdown
    assert "| *[keywords (offline)]* |" in markdown


def test_weekend_needs_no_key(workdir):
    (workdir / "config.toml").write_text(config_text())
    result = invoke(["run", "--date", "2025-09-13", "--source", str(FEED_DIR)])
    assert result.exit_code == 0, result.output
    assert "weekend" in (workdir / "out" / "2025-09-13.md").read_text()
