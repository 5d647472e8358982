"""Which announcement a run builds: weekends, holidays, stale feeds, past dates and backfill."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from arxiv_server import CannedResponse
from fake_openai import FakeOpenAI
from paperdigest.cli import EXIT_FETCH, EXIT_STALE, main
from paperdigest.config import load_config
from paperdigest.errors import StaleFeedError
from paperdigest.pipeline import Context, RunOptions, backfill, run

FIXTURES = Path(__file__).parent / "fixtures"
FEED = FIXTURES / "rss" / "2025-09-12" / "cs.LG+cs.AI+cs.CL.xml"
API_PAGE = FIXTURES / "api" / "query-cat_cs.AI_OR_cat_cs.LG-max50-2026-07-13.xml"
API_KEY = "sk-test-dates-0123456789"
NEW_YORK = dt.timezone(dt.timedelta(hours=-4))


def empty_feed(pub_date: str | None = None) -> bytes:
    date_line = f"<pubDate>{pub_date}</pubDate>" if pub_date else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">'
        "<channel><title>cs.LG, cs.AI updates on arXiv.org</title><link>http://rss.arxiv.org/rss/cs.LG+cs.AI</link>"
        f"<description>cs.LG, cs.AI updates on the arXiv.org e-print archive.</description>{date_line}"
        "<skipDays><day>Saturday</day><day>Sunday</day></skipDays></channel></rss>"
    ).encode()


def feed_dated(text_date: str) -> bytes:
    """The 2025-09-12 fixture feed with another channel and item pubDate."""
    return FEED.read_bytes().replace(b"Fri, 12 Sep 2025 00:00:00 -0400", text_date.encode())


@pytest.fixture
def workdir(tmp_path, monkeypatch, arxiv_server):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text(
        f"""
[arxiv]
categories = ["cs.LG", "cs.AI"]
rss_url = "{arxiv_server.url("/rss/")}"
api_url = "{arxiv_server.url("/api/query")}"
api_delay_seconds = 0
empty_feed_retry_seconds = 90
"""
    )
    return tmp_path


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def context_at(when: dt.datetime, base_url: str = "http://127.0.0.1:9/v1", sleep: Sleeps | None = None) -> Context:
    return Context(env={"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": base_url}, now=lambda: when, sleep=sleep or Sleeps())


def test_saturday_notice_no_request(workdir):
    with FakeOpenAI() as server:
        result = CliRunner().invoke(
            main,
            ["run", "--date", "2025-09-13", "--source", str(FEED.parent)],
            env={"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": server.base_url},
        )
        count = len(server.requests)
    assert result.exit_code == 0, result.output
    assert count == 0
    markdown = (workdir / "out" / "2025-09-13.md").read_text()
    assert "no announcement" in markdown.lower()
    assert "weekend" in markdown


def test_empty_weekday_feed_retried_then_holiday(workdir, arxiv_server):
    arxiv_server.serve("/rss/cs.LG+cs.AI", CannedResponse(empty_feed()), CannedResponse(empty_feed()))
    sleeps = Sleeps()
    with FakeOpenAI() as server:
        thanksgiving_evening = dt.datetime(2025, 11, 27, 9, 0, tzinfo=NEW_YORK)
        result = run(load_config(workdir / "config.toml"), RunOptions(date=dt.date(2025, 11, 27)), context_at(thanksgiving_evening, server.base_url, sleeps))
        count = len(server.requests)
    assert count == 0
    assert sleeps.calls == [90.0]
    assert len(arxiv_server.requests_to("/rss/cs.LG+cs.AI")) == 2
    assert "holiday" in result.digest.notice
    assert (workdir / "out" / "2025-11-27.md").exists()


def test_empty_feed_file_holiday(workdir, tmp_path):
    source = tmp_path / "saved"
    source.mkdir()
    (source / "cs.LG+cs.AI.xml").write_bytes(empty_feed("Thu, 27 Nov 2025 00:00:00 -0500"))
    result = CliRunner().invoke(main, ["run", "--date", "2025-11-27", "--source", str(source), "--scorer", "keywords"])
    assert result.exit_code == 0, result.output
    assert "no announcement" in (workdir / "out" / "2025-11-27.md").read_text().lower()


def test_stale_feed_exit_code(workdir, arxiv_server):
    arxiv_server.serve_bytes("/rss/cs.LG+cs.AI", feed_dated("Thu, 11 Sep 2025 00:00:00 -0400"))
    with FakeOpenAI() as server:
        result = CliRunner().invoke(
            main, ["run", "--date", "2025-09-12"], env={"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": server.base_url}
        )
        count = len(server.requests)
    assert result.exit_code == EXIT_STALE
    assert "2025-09-11" in result.output
    assert count == 0
    assert not (workdir / "out" / "2025-09-12.md").exists()


def test_stale_feed_without_date(workdir, arxiv_server):
    arxiv_server.serve_bytes("/rss/cs.LG+cs.AI", feed_dated("Thu, 11 Sep 2025 00:00:00 -0400"))
    friday_noon = dt.datetime(2025, 9, 12, 12, 0, tzinfo=NEW_YORK)
    with pytest.raises(StaleFeedError) as info:
        run(load_config(workdir / "config.toml"), RunOptions(scorer="keywords"), context_at(friday_noon))
    assert info.value.feed_date == dt.date(2025, 9, 11)
    assert info.value.requested == dt.date(2025, 9, 12)


def test_tuesday_evening_gets_tuesday(workdir, arxiv_server):
    arxiv_server.serve_bytes("/rss/cs.LG+cs.AI", feed_dated("Tue, 09 Sep 2025 00:00:00 -0400"))
    tuesday_evening = dt.datetime(2025, 9, 9, 19, 0, tzinfo=NEW_YORK)
    result = run(load_config(workdir / "config.toml"), RunOptions(scorer="keywords"), context_at(tuesday_evening))
    assert result.date == dt.date(2025, 9, 9)


def test_future_date_is_stale(workdir, arxiv_server):
    arxiv_server.serve_bytes("/rss/cs.LG+cs.AI", FEED.read_bytes())
    result = CliRunner().invoke(main, ["run", "--date", "2025-09-15", "--scorer", "keywords"])
    assert result.exit_code == EXIT_STALE
    assert "2025-09-12" in result.output


def test_past_date_uses_api(workdir, arxiv_server):
    arxiv_server.serve_bytes("/rss/cs.LG+cs.AI", FEED.read_bytes())
    page = API_PAGE.read_bytes()
    total = re.search(rb"<opensearch:totalResults[^>]*>(\d+)<", page).group(1)
    arxiv_server.respond_with("/api/query", lambda request: CannedResponse(page.replace(b">" + total + b"<", b">50<")))
    friday = dt.datetime(2025, 9, 12, 9, 0, tzinfo=NEW_YORK)
    result = run(load_config(workdir / "config.toml"), RunOptions(date=dt.date(2025, 9, 10), scorer="keywords"), context_at(friday))
    assert result.digest.total_papers == 50
    assert "arXiv API" in result.digest.source
    query = arxiv_server.requests_to_path("/api/query")[0].path
    assert "submittedDate" in query
    markdown = (workdir / "out" / "2025-09-10.md").read_text()
    assert "arXiv API" in markdown


def test_backfill_one_line_per_date(workdir, tmp_path):
    saved = tmp_path / "feeds"
    (saved / "2025-09-12").mkdir(parents=True)
    (saved / "2025-09-12" / "cs.LG+cs.AI+cs.CL.xml").write_bytes(FEED.read_bytes())
    (saved / "2025-09-15").mkdir()
    (saved / "2025-09-15" / "cs.LG+cs.AI.xml").write_bytes(feed_dated("Mon, 15 Sep 2025 00:00:00 -0400"))
    runner = CliRunner()
    first = runner.invoke(main, ["run", "--since", "2025-09-11", "--until", "2025-09-15", "--source", str(saved), "--scorer", "keywords"])
    lines = first.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["2025-09-11", "2025-09-12", "2025-09-15"]
    assert lines[0].split()[1] == "failed:"
    assert lines[1].split()[1] == "written:"
    assert first.exit_code == EXIT_FETCH
    second = runner.invoke(main, ["run", "--since", "2025-09-12", "--until", "2025-09-15", "--source", str(saved), "--scorer", "keywords"])
    assert [line.split()[1] for line in second.stdout.strip().splitlines()] == ["exists:", "exists:"]
    forced = runner.invoke(main, ["run", "--since", "2025-09-12", "--until", "2025-09-12", "--source", str(saved), "--scorer", "keywords", "--force"])
    assert forced.stdout.split()[1] == "written:"


def test_backfill_skips_weekends(workdir):
    lines = backfill(
        load_config(workdir / "config.toml"),
        dt.date(2025, 9, 13),
        dt.date(2025, 9, 14),
        RunOptions(scorer="keywords", source=FEED.parent),
    )
    assert lines == []


def api_page(total: int | None = None, keep: int | None = None) -> bytes:
    """The recorded 50-entry API page, with totalResults set and only the first `keep` entries."""
    page = API_PAGE.read_bytes()
    old_total = re.search(rb"<opensearch:totalResults[^>]*>(\d+)<", page).group(1)
    if keep is not None:
        head, *entries = page.split(b"<entry>")
        tail = entries[-1].split(b"</entry>", 1)[1]
        kept = [e.split(b"</entry>", 1)[0] for e in entries[:keep]]
        page = head + b"".join(b"<entry>" + e + b"</entry>" for e in kept) + tail
    return page.replace(b">" + old_total + b"<", b">" + str(total if total is not None else 50).encode() + b"<")


def test_backfill_spaces_api_requests(workdir, arxiv_server):
    (workdir / "config.toml").write_text((workdir / "config.toml").read_text().replace("api_delay_seconds = 0", "api_delay_seconds = 3"))
    arxiv_server.serve_bytes("/rss/cs.LG+cs.AI", FEED.read_bytes())
    arxiv_server.respond_with("/api/query", lambda request: CannedResponse(api_page()))
    sleeps = Sleeps()
    friday = dt.datetime(2025, 9, 12, 9, 0, tzinfo=NEW_YORK)
    lines = backfill(
        load_config(workdir / "config.toml"),
        dt.date(2025, 9, 9),
        dt.date(2025, 9, 11),
        RunOptions(scorer="keywords"),
        context_at(friday, sleep=sleeps),
    )
    assert [line.status for line in lines] == ["written", "written", "written"]
    assert len(arxiv_server.requests_to("/rss/cs.LG+cs.AI")) == 1
    assert len(sleeps.calls) == 2
    assert all(2.5 < seconds <= 3 for seconds in sleeps.calls)


def test_api_count_mismatch_in_digest(workdir, arxiv_server):
    arxiv_server.serve_bytes("/rss/cs.LG+cs.AI", FEED.read_bytes())
    arxiv_server.respond_with("/api/query", lambda request: CannedResponse(api_page(total=55)))
    friday = dt.datetime(2025, 9, 12, 9, 0, tzinfo=NEW_YORK)
    result = run(load_config(workdir / "config.toml"), RunOptions(date=dt.date(2025, 9, 10), scorer="keywords"), context_at(friday))
    assert "reported 55 papers for this window, but 50 were parsed" in result.digest.warnings[0]
    assert "but 50 were parsed" in (workdir / "out" / "2025-09-10.md").read_text()


def test_empty_api_day_says_api(workdir, arxiv_server):
    arxiv_server.serve_bytes("/rss/cs.LG+cs.AI", FEED.read_bytes())
    arxiv_server.respond_with("/api/query", lambda request: CannedResponse(api_page(total=0, keep=0)))
    friday = dt.datetime(2025, 9, 12, 9, 0, tzinfo=NEW_YORK)
    result = run(load_config(workdir / "config.toml"), RunOptions(date=dt.date(2025, 9, 10), scorer="keywords"), context_at(friday))
    assert "arXiv API has no papers" in result.digest.notice
    assert "API" in result.digest.source


def test_future_date_empty_feed_no_wait(workdir, arxiv_server):
    arxiv_server.serve_bytes("/rss/cs.LG+cs.AI", empty_feed())
    sleeps = Sleeps()
    friday = dt.datetime(2025, 9, 12, 9, 0, tzinfo=NEW_YORK)
    with pytest.raises(StaleFeedError):
        run(load_config(workdir / "config.toml"), RunOptions(date=dt.date(2025, 9, 16), scorer="keywords"), context_at(friday, sleep=sleeps))
    assert sleeps.calls == []
