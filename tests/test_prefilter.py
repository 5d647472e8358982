"""The prefilter end to end: a free ranking picks which candidates the real openai client sends
to a fake model server on 127.0.0.1; the digest and JSON report what it dropped."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from fake_openai import FakeOpenAI
from paperdigest.arxiv.rss import parse_feed
from paperdigest.cli import EXIT_USAGE, main
from paperdigest.config import load_config
from paperdigest.prompt import load_prompts
from paperdigest.ranking import Ranker
from paperdigest.rules import Rules
from paperdigest.topics import parse_topics

FIXTURES = Path(__file__).parent / "fixtures"
FEED_DIR = FIXTURES / "rss" / "2025-09-12"
API_KEY = "sk-test-0123456789abcdef"
FOLLOWED_PAPER = "2509.09088"  # by Govind Menon, whom the config follows
SCORES = {"2509.09001": (10, 9), "2509.09679": (8, 8)}


def config_text(prefilter: str, keep: str) -> str:
    return f"""
[arxiv]
categories = ["cs.LG", "cs.AI"]
[rules]
authors = ["govind menon"]
[llm]
model = "gpt-5"
batch_size = 40
batch_tokens = 100000
[selection]
prefilter = "{prefilter}"
prefilter_keep = {keep}
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("PAPERDIGEST_CONFIG", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(FIXTURES / "tiktoken"))
    return tmp_path


def invoke(args: list[str], env: dict[str, str] | None = None):
    return CliRunner().invoke(main, args, env=env or {}, catch_exceptions=False)


def expected_kept(workdir: Path, method: str, keep: float | int) -> tuple[set[str], int]:
    """The candidates the ranker places in its top share, computed apart from the pipeline."""
    config = load_config(workdir / "config.toml")
    listing = parse_feed((FEED_DIR / "cs.LG+cs.AI+cs.CL.xml").read_bytes(), "fixture")
    categories = set(config.settings.arxiv.categories)
    papers = [p for p in listing.papers if categories & set(p.categories)]
    triage = Rules(config.settings.rules, config.settings.arxiv.announce_types).triage(papers)
    pool = [p for p in triage.candidates if p.id not in triage.followed]
    ranking = Ranker(method, parse_topics(load_prompts(config.prompts_dir).topics)).rank(pool)
    count = math.ceil(keep * len(ranking)) if isinstance(keep, float) else keep
    return {item.paper.id for item in ranking[:count]}, len(ranking)


def run_with_server(workdir: Path, prefilter: str, keep: str, extra: list[str] | None = None):
    (workdir / "config.toml").write_text(config_text(prefilter, keep))
    with FakeOpenAI(SCORES) as server:
        result = invoke(
            ["run", "--date", "2025-09-12", "--source", str(FEED_DIR), *(extra or [])],
            env={"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": server.base_url},
        )
        sent = [paper_id for record in server.requests for paper_id in record.paper_ids]
    return result, sent


def test_only_kept_papers_reach_the_model(workdir):
    result, sent = run_with_server(workdir, "keywords", "0.6")

    assert result.exit_code == 0, result.output
    kept, ranked = expected_kept(workdir, "keywords", 0.6)
    assert len(sent) == len(set(sent))
    assert set(sent) == kept | {FOLLOWED_PAPER}
    assert len(kept) == math.ceil(0.6 * ranked)


def test_followed_author_passes_a_tiny_prefilter(workdir):
    result, sent = run_with_server(workdir, "keywords", "2")

    assert result.exit_code == 0, result.output
    kept, _ = expected_kept(workdir, "keywords", 2)
    assert set(sent) == kept | {FOLLOWED_PAPER}


def test_digest_and_json_report_the_prefilter(workdir):
    result, sent = run_with_server(workdir, "keywords", "0.6")

    assert result.exit_code == 0, result.output
    data = json.loads((workdir / "out" / "2025-09-12.json").read_text())
    report = data["prefilter"]
    assert report["method"] == "keywords"
    assert report["keep"] == 0.6
    assert report["kept"] + report["dropped"] == report["ranked"]
    assert data["counts"]["prefiltered"] == report["dropped"]
    assert data["counts"]["scanned"] == len(sent)
    prefiltered = [p for p in data["papers"] if p["fate"] == "prefiltered"]
    assert len(prefiltered) == report["dropped"]
    assert all(p["reason"].startswith("prefilter (keywords) ranked it") for p in prefiltered)
    markdown = (workdir / "out" / "2025-09-12.md").read_text()
    assert report["followed"] == 1
    line = (
        f"Prefilter (keywords, keeps 60%): {report['kept']} of {report['ranked']} ranked candidates kept for the "
        f"model, {report['dropped']} dropped before scoring; 1 paper by followed authors kept without ranking"
    )
    assert line + "\n\nSource:" in markdown
    assert line in markdown
    assert f"Total scanned papers: {len(sent)}" in markdown


def test_rendered_again_from_json_keeps_the_report(workdir):
    run_with_server(workdir, "keywords", "0.6")
    first = (workdir / "out" / "2025-09-12.md").read_text()
    (workdir / "out" / "2025-09-12.md").unlink()

    result = invoke(["render", str(workdir / "out" / "2025-09-12.json")])

    assert result.exit_code == 0, result.output
    assert (workdir / "out" / "2025-09-12.md").read_text() == first


def test_dry_run_shows_the_saving(workdir):
    (workdir / "config.toml").write_text(config_text("keywords", "0.6"))
    with FakeOpenAI(SCORES) as server:
        result = invoke(["run", "--date", "2025-09-12", "--source", str(FEED_DIR), "--dry-run"], env={"OPENAI_BASE_URL": server.base_url})
        count = len(server.requests)

    assert result.exit_code == 0, result.output
    assert count == 0
    assert "Prefilter (keywords, keep 60%): " in result.output
    assert "Without the prefilter: " in result.output
    assert "Prefilter saves: about $" in result.output
    assert not (workdir / "out").exists()


def test_no_prefilter_sends_every_candidate(workdir):
    result, sent = run_with_server(workdir, "none", "0.6")

    assert result.exit_code == 0, result.output
    data = json.loads((workdir / "out" / "2025-09-12.json").read_text())
    assert data["prefilter"] is None
    assert len(sent) == data["counts"]["scanned"] == data["counts"]["total"] - data["counts"]["dropped"]


def test_embeddings_prefilter_end_to_end(workdir):
    pytest.importorskip("wordllama")
    result, sent = run_with_server(workdir, "keywords+embeddings", "25")

    assert result.exit_code == 0, result.output
    kept, _ = expected_kept(workdir, "keywords+embeddings", 25)
    assert set(sent) == kept | {FOLLOWED_PAPER}


def test_missing_embeddings_extra_is_a_usage_error(workdir, monkeypatch):
    import paperdigest.embeddings as embeddings

    monkeypatch.setitem(__import__("sys").modules, "wordllama", None)
    monkeypatch.setattr(embeddings, "_model", None)
    result, sent = run_with_server(workdir, "embeddings", "0.6")

    assert result.exit_code == EXIT_USAGE
    assert "pip install 'paperdigest[embeddings]'" in result.output
    assert sent == []


def test_topics_without_terms_stop_offline_ranking(workdir):
    (workdir / "config.toml").write_text(config_text("none", "0.6"))
    prompts = workdir / "prompts"
    prompts.mkdir()
    packaged = Path(__file__).parent.parent / "prompts"
    for name in ("system.md", "criteria.md"):
        (prompts / name).write_text((packaged / name).read_text())
    (prompts / "topics.md").write_text("I like good papers.\n")

    result = invoke(["run", "--date", "2025-09-12", "--source", str(FEED_DIR), "--scorer", "keywords"])

    assert result.exit_code == EXIT_USAGE
    assert "topics.md names no numbered topic sections and no keywords" in result.output
    assert not (workdir / "out" / "2025-09-12.md").exists()


def write_topics(workdir: Path, text: str) -> None:
    prompts = workdir / "prompts"
    prompts.mkdir(exist_ok=True)
    packaged = Path(__file__).parent.parent / "prompts"
    for name in ("system.md", "criteria.md"):
        (prompts / name).write_text((packaged / name).read_text())
    (prompts / "topics.md").write_text(text)


def test_prefilter_without_matches_warns(workdir):
    (workdir / "config.toml").write_text(config_text("keywords", "0.6"))
    write_topics(workdir, "- zxqv-nonexistent-term\n")

    with FakeOpenAI(SCORES) as server:
        result = invoke(
            ["run", "--date", "2025-09-12", "--source", str(FEED_DIR)],
            env={"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": server.base_url},
        )

    assert result.exit_code == 0, result.output
    data = json.loads((workdir / "out" / "2025-09-12.json").read_text())
    assert any(w.startswith("prefilter: no term of topics.md") for w in data["warnings"])
    assert "no term of topics.md" in result.output


def test_offline_scorer_without_matches_warns(workdir):
    (workdir / "config.toml").write_text(config_text("none", "0.6"))
    write_topics(workdir, "- zxqv-nonexistent-term\n")

    result = invoke(["run", "--date", "2025-09-12", "--source", str(FEED_DIR), "--scorer", "keywords"])

    assert result.exit_code == 0, result.output
    data = json.loads((workdir / "out" / "2025-09-12.json").read_text())
    assert any("ranking follows the listing order" in w for w in data["warnings"])


def test_backfill_dry_run_line_shows_prefilter(workdir):
    (workdir / "config.toml").write_text(config_text("keywords", "0.6"))

    result = invoke(["run", "--since", "2025-09-12", "--until", "2025-09-12", "--source", str(FEED_DIR), "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "2025-09-12 planned: 162 candidates, prefilter keeps 97 of 161, " in result.output
    assert "estimated $" in result.output


def test_cached_scores_pass_the_prefilter(workdir):
    first, sent_first = run_with_server(workdir, "none", "0.6")
    assert first.exit_code == 0, first.output

    second, sent_second = run_with_server(workdir, "keywords", "2", extra=["--force"])

    assert second.exit_code == 0, second.output
    assert sent_second == []
    data = json.loads((workdir / "out" / "2025-09-12.json").read_text())
    assert data["prefilter"]["cached"] == len(sent_first) - 1  # the followed author's paper is counted apart
    assert data["counts"]["prefiltered"] == 0


def test_dry_run_stores_no_vectors(workdir):
    pytest.importorskip("wordllama")
    import sqlite3

    from paperdigest.store import default_cache_path

    (workdir / "config.toml").write_text(config_text("embeddings", "0.6"))
    result = invoke(["run", "--date", "2025-09-12", "--source", str(FEED_DIR), "--dry-run"])

    assert result.exit_code == 0, result.output
    path = default_cache_path()
    if path.exists():
        with sqlite3.connect(path) as connection:
            assert connection.execute("SELECT COUNT(*) FROM vectors").fetchone()[0] == 0
