import logging
from collections import Counter
from pathlib import Path

import pytest

from paperdigest.arxiv.rss import parse_feed
from paperdigest.arxiv.source import load_listing
from paperdigest.errors import FeedFormatError, FetchError

FIXTURES = Path(__file__).parent / "fixtures" / "rss"
AUGUST = FIXTURES / "2025-08-07"
SEPTEMBER = FIXTURES / "2025-09-12" / "cs.LG+cs.AI+cs.CL.xml"
USER_AGENT = "paperdigest-tests"


def load(categories, source=None, base_url="http://127.0.0.1:9/rss", save_dir=None):
    return load_listing(
        categories, source=source, rss_base_url=base_url, timeout=5.0, user_agent=USER_AGENT, save_dir=save_dir
    )


def test_http_matches_file(arxiv_server):
    arxiv_server.serve_bytes("/rss/cs.LG+cs.AI+cs.CL", SEPTEMBER.read_bytes())
    over_http = load(["cs.LG", "cs.AI", "cs.CL"], base_url=arxiv_server.url("/rss"))
    from_file = load(["cs.LG", "cs.AI", "cs.CL"], source=SEPTEMBER)
    assert over_http.papers == from_file.papers
    assert over_http.announced == from_file.announced
    assert over_http.source == arxiv_server.url("/rss/cs.LG+cs.AI+cs.CL")


def test_http_save_dir_byte_identical(arxiv_server, tmp_path):
    arxiv_server.serve_bytes("/rss/cs.LG+cs.AI+cs.CL", SEPTEMBER.read_bytes())
    load(["cs.LG", "cs.AI", "cs.CL"], base_url=arxiv_server.url("/rss"), save_dir=tmp_path / "feeds")
    saved = tmp_path / "feeds" / "cs.LG+cs.AI+cs.CL.xml"
    assert saved.read_bytes() == SEPTEMBER.read_bytes()
    assert sorted(path.name for path in saved.parent.iterdir()) == ["cs.LG+cs.AI+cs.CL.xml"]


def test_category_filter_keeps_matching():
    listing = load(["cs.LG", "cs.AI"], source=SEPTEMBER)
    unmatched = [paper.id for paper in listing.papers if not {"cs.LG", "cs.AI"} & set(paper.categories)]
    assert unmatched == []
    assert len(listing.papers) == 162
    assert listing.reported_count == 188


def test_category_filter_recomputes_announce_types():
    listing = load(["cs.LG", "cs.AI"], source=SEPTEMBER)
    wrong = [
        paper.id
        for paper in listing.papers
        if (paper.announce_type == "new") != (paper.primary_category in ("cs.LG", "cs.AI"))
    ]
    assert wrong == []
    assert Counter(paper.announce_type for paper in listing.papers) == {"new": 78, "cross": 84}


def test_category_filter_case_insensitive():
    listing = load(["CS.lg", "cs.ai"], source=SEPTEMBER)
    assert len(listing.papers) == 162


def test_same_categories_keep_feed_types():
    listing = load(["cs.LG", "cs.AI", "cs.CL"], source=SEPTEMBER)
    original = parse_feed(SEPTEMBER.read_bytes(), str(SEPTEMBER))
    assert listing.papers == original.papers


def test_folder_merges_feeds():
    listing = load(["cs.CL", "cs.CV", "cs.MM", "cs.LG", "cs.SI", "cs.SD", "eess.AS"], source=AUGUST)
    assert len(listing.papers) == 626
    assert listing.source == str(AUGUST)


def test_folder_ignores_subfolders(tmp_path):
    (tmp_path / "2025-09-12").mkdir()
    (tmp_path / "2025-09-12" / "cs.LG+cs.AI+cs.CL.xml").write_bytes(SEPTEMBER.read_bytes())
    (tmp_path / "cs.SD+eess.AS.xml").write_bytes((AUGUST / "cs.SD+eess.AS.xml").read_bytes())
    listing = load(["cs.SD", "eess.AS"], source=tmp_path)
    assert len(listing.papers) == 34


def test_uncovered_category_warns(caplog):
    with caplog.at_level(logging.WARNING):
        load(["cs.LG", "math.OC"], source=SEPTEMBER)
    assert "does not cover math.OC" in caplog.text


def test_missing_path_names_fetch(tmp_path):
    missing = tmp_path / "nothing"
    with pytest.raises(FetchError, match="paperdigest fetch --out DIR") as raised:
        load(["cs.LG"], source=missing)
    assert str(missing) in str(raised.value)


def test_folder_without_xml(tmp_path):
    (tmp_path / "2025-09-12").mkdir()
    with pytest.raises(FetchError, match="contains no .xml files") as raised:
        load(["cs.LG"], source=tmp_path)
    assert "2025-09-12" in str(raised.value)


def test_files_with_different_dates(tmp_path):
    (tmp_path / "a.xml").write_bytes(SEPTEMBER.read_bytes())
    (tmp_path / "b.xml").write_bytes((AUGUST / "cs.SD+eess.AS.xml").read_bytes())
    with pytest.raises(FeedFormatError, match="different announcements") as raised:
        load(["cs.LG"], source=tmp_path)
    assert "2025-08-07" in str(raised.value)
    assert "2025-09-12" in str(raised.value)


def test_http_error_raises_fetch_error(arxiv_server):
    with pytest.raises(FetchError, match="HTTP 404"):
        load(["cs.XX"], base_url=arxiv_server.url("/rss"))
