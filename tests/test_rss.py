import datetime as dt
import logging
from collections import Counter
from pathlib import Path

import pytest

from paperdigest.arxiv.rss import feed_url, parse_feed
from paperdigest.errors import FeedFormatError

FIXTURES = Path(__file__).parent / "fixtures" / "rss"
COMBINED = FIXTURES / "2025-08-07" / "cs.CL+cs.CV+cs.MM+cs.LG+cs.SI.xml"
SEPTEMBER = FIXTURES / "2025-09-12" / "cs.LG+cs.AI+cs.CL.xml"


@pytest.fixture(scope="module")
def combined():
    return parse_feed(COMBINED.read_bytes(), str(COMBINED))


def by_id(listing, paper_id):
    return next(paper for paper in listing.papers if paper.id == paper_id)


def feed(items: str, pub_date: str = "<pubDate>Thu, 07 Aug 2025 00:00:00 -0400</pubDate>") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "<channel><title>cs.LG updates on arXiv.org</title>"
        f"<link>http://rss.arxiv.org/rss/cs.LG</link>{pub_date}{items}</channel></rss>"
    ).encode("utf-8")


def item(guid: str, description: str = "arXiv:2501.00001v1 Announce Type: new \nAbstract: Text.", extra: str = "") -> str:
    return (
        f"<item><title>T</title><description>{description}</description>"
        f'<guid isPermaLink="false">{guid}</guid><category>cs.LG</category>{extra}'
        "<dc:creator>A B</dc:creator></item>"
    )


def test_combined_paper_count(combined):
    assert len(combined.papers) == 605


def test_combined_announce_types(combined):
    counts = Counter(paper.announce_type for paper in combined.papers)
    assert counts == {"new": 288, "cross": 85, "replace": 187, "replace-cross": 45}


def test_combined_announced_date(combined):
    assert combined.announced == dt.date(2025, 8, 7)


def test_combined_feed_categories(combined):
    assert combined.feed_categories == ("cs.CL", "cs.CV", "cs.MM", "cs.LG", "cs.SI")


def test_combined_reported_count(combined):
    assert combined.reported_count == 605


def test_combined_source(combined):
    assert combined.source == str(COMBINED)


def test_known_new_paper(combined):
    paper = by_id(combined, "2508.03699")
    assert paper.version == 1
    assert paper.title.startswith("Text2VR: Automated instruction Generation in Virtual Reality")
    assert paper.abstract.startswith("Virtual Reality (VR) has emerged as a powerful tool")
    assert paper.categories == ("cs.CV", "cs.HC", "cs.MM")
    assert paper.announce_type == "new"
    assert paper.authors == ("Subin Raj Peter",)


def test_known_replace_cross_paper(combined):
    paper = by_id(combined, "2306.07886")
    assert paper.version == 5
    assert paper.announce_type == "replace-cross"
    assert paper.primary_category == "math.OC"


def test_cross_paper_with_version_two(combined):
    paper = by_id(combined, "2312.10925")
    assert paper.announce_type == "cross"
    assert paper.version == 3


def test_abstract_prefix_removed(combined):
    starts = [paper.id for paper in combined.papers if paper.abstract.startswith(("arXiv:", "Abstract:"))]
    assert starts == []


def test_abstract_no_surrounding_whitespace(combined):
    padded = [paper.id for paper in combined.papers if paper.abstract != paper.abstract.strip()]
    assert padded == []


def test_creator_affiliations_split(combined):
    paper = by_id(combined, "2508.03753")
    assert paper.authors == ("Trung-tin Dinh", "Hervé Carfantan", "Antoine Monmayrant", "Simon Lacroix")


def test_creator_consortium_affiliations(combined):
    paper = next(paper for paper in combined.papers if paper.authors and paper.authors[0] == "Anindo Saha")
    assert len(paper.authors) == 29
    assert "Jurgen J. Fütterer" in paper.authors
    assert "Tobias Nordström" in paper.authors


def test_creator_tex_decoded(combined):
    assert by_id(combined, "2508.03720").authors == ("Ahmet Gökhan Poyraz",)


def test_no_tex_left_in_authors(combined):
    escaped = [name for paper in combined.papers for name in paper.authors if "\\" in name]
    assert escaped == []


def test_september_paper_count():
    listing = parse_feed(SEPTEMBER.read_bytes(), str(SEPTEMBER))
    assert len(listing.papers) == 188


def test_september_announced_date():
    listing = parse_feed(SEPTEMBER.read_bytes(), str(SEPTEMBER))
    assert listing.announced == dt.date(2025, 9, 12)


def test_september_unicode_authors():
    listing = parse_feed(SEPTEMBER.read_bytes(), str(SEPTEMBER))
    names = [name for paper in listing.papers for name in paper.authors]
    assert any(not name.isascii() for name in names)


def test_old_style_guid():
    listing = parse_feed(feed(item("oai:arXiv.org:hep-th/9901001v2")), "test")
    assert listing.papers[0].id == "hep-th/9901001"
    assert listing.papers[0].version == 2


def test_description_missing_space():
    description = "arXiv:2501.00001v1 Announce Type: new\nAbstract: Text."
    listing = parse_feed(feed(item("oai:arXiv.org:2501.00001v1", description)), "test")
    assert listing.papers[0].abstract == "Text."


def test_prefix_removed_only_once():
    description = "arXiv:2501.00001v1 Announce Type: new \nAbstract: arXiv:2501.00001v1 Announce Type: new \nAbstract: X"
    listing = parse_feed(feed(item("oai:arXiv.org:2501.00001v1", description)), "test")
    assert listing.papers[0].abstract == "arXiv:2501.00001v1 Announce Type: new \nAbstract: X"


def test_announce_type_element_wins():
    extra = "<arxiv:announce_type>cross</arxiv:announce_type>"
    listing = parse_feed(feed(item("oai:arXiv.org:2501.00001v1", extra=extra)), "test")
    assert listing.papers[0].announce_type == "cross"


def test_announce_type_from_description():
    listing = parse_feed(feed(item("oai:arXiv.org:2501.00001v1")), "test")
    assert listing.papers[0].announce_type == "new"


def test_duplicate_ids_first_wins():
    first = item("oai:arXiv.org:2501.00001v1", extra="<arxiv:announce_type>new</arxiv:announce_type>")
    second = item("oai:arXiv.org:2501.00001v2", extra="<arxiv:announce_type>replace</arxiv:announce_type>")
    listing = parse_feed(feed(first + second), "test")
    assert len(listing.papers) == 1
    assert listing.papers[0].version == 1
    assert listing.reported_count == 2


def test_item_without_id_skipped(caplog):
    broken = item("not-an-id", description="no prefix here")
    good = item("oai:arXiv.org:2501.00002v1")
    with caplog.at_level(logging.WARNING):
        listing = parse_feed(feed(broken + good), "test")
    assert [paper.id for paper in listing.papers] == ["2501.00002"]
    assert "skipped 1 of 2 items" in caplog.text


def test_html_page_rejected():
    page = b"<!DOCTYPE html>\n<html><head><title>503</title></head><body><p>Down<br></body></html>"
    with pytest.raises(FeedFormatError, match="looks like an HTML page") as raised:
        parse_feed(page, "https://rss.arxiv.org/rss/cs.LG")
    assert "https://rss.arxiv.org/rss/cs.LG" in str(raised.value)


def test_wellformed_html_rejected():
    with pytest.raises(FeedFormatError, match="looks like an HTML page"):
        parse_feed(b"<html><body>maintenance</body></html>", "test")


def test_truncated_xml_rejected():
    data = COMBINED.read_bytes()[:5000]
    with pytest.raises(FeedFormatError, match="not valid XML"):
        parse_feed(data, str(COMBINED))


def test_non_rss_root_rejected():
    atom = b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>'
    with pytest.raises(FeedFormatError, match="expected <rss>"):
        parse_feed(atom, "test")


def test_missing_channel_rejected():
    with pytest.raises(FeedFormatError, match="no <channel>"):
        parse_feed(b'<rss version="2.0"></rss>', "test")


def test_empty_channel():
    listing = parse_feed(feed(""), "test")
    assert listing.papers == ()
    assert listing.announced == dt.date(2025, 8, 7)
    assert listing.reported_count == 0


def test_empty_channel_without_pubdate():
    listing = parse_feed(feed("", pub_date=""), "test")
    assert listing.announced is None


def test_invalid_pubdate_rejected():
    with pytest.raises(FeedFormatError, match="invalid channel <pubDate>"):
        parse_feed(feed("", pub_date="<pubDate>yesterday</pubDate>"), "test")


def test_announced_uses_feed_offset():
    pub_date = "<pubDate>Thu, 07 Aug 2025 23:30:00 -0400</pubDate>"
    assert parse_feed(feed("", pub_date=pub_date), "test").announced == dt.date(2025, 8, 7)


def test_feed_categories_from_title():
    data = b'<rss version="2.0"><channel><title>cs.LG, stat.ML updates on arXiv.org</title></channel></rss>'
    assert parse_feed(data, "test").feed_categories == ("cs.LG", "stat.ML")


def test_feed_url_joins_categories():
    assert feed_url("https://rss.arxiv.org/rss/", ["cs.LG", "cs.AI"]) == "https://rss.arxiv.org/rss/cs.LG+cs.AI"


def test_feed_url_without_trailing_slash():
    assert feed_url("http://127.0.0.1:8000/rss", ["cs.LG"]) == "http://127.0.0.1:8000/rss/cs.LG"


def test_creator_under_other_namespace():
    data = (
        b'<?xml version="1.0"?><rss version="2.0" xmlns:dcx="http://example.org/dc/">'
        b"<channel><title>cs.LG updates on arXiv.org</title><pubDate>Fri, 12 Sep 2025 00:00:00 -0400</pubDate>"
        b"<item><title>T</title><guid>oai:arXiv.org:2509.00001v1</guid><category>cs.LG</category>"
        b"<description>arXiv:2509.00001v1 Announce Type: new \nAbstract: A.</description>"
        b"<dcx:creator>Ann Author, Bo Builder</dcx:creator></item></channel></rss>"
    )
    listing = parse_feed(data, "variant.xml")
    assert listing.papers[0].authors == ("Ann Author", "Bo Builder")
