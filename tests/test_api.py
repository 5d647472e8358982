"""Tests for the arXiv API parser (paperdigest.arxiv.api) and fetch_day (paperdigest.arxiv.api_client)."""

from __future__ import annotations

import copy
import datetime as dt
import logging
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from arxiv_server import CannedResponse, RecordedRequest
from paperdigest.arxiv.api import NS_ARXIV, NS_ATOM, NS_OPENSEARCH, api_error_message, parse_api_page
from paperdigest.arxiv.api_client import _Throttle, fetch_day, submission_query
from paperdigest.errors import FeedFormatError, FetchError

API = Path(__file__).parent / "fixtures" / "api"
LISTING_FIXTURE = API / "query-cat_cs.AI_OR_cat_cs.LG-max50-2026-07-13.xml"
LEGACY_FIXTURE = API / "legacy-2020-2025" / "query-cat_cs.RO_AND_neural-max2-2025-10-17.xml"
ERROR_FIXTURE = API / "query-idlist_abc-HTTP400-ERROR-2026-04-12.xml"
EMPTY_FIXTURE = API / "query-idlist_0000.0000-EMPTY-2026-04-12.xml"
PAPER_FIXTURES = sorted(
    path for path in API.rglob("*.xml") if path not in (ERROR_FIXTURE, EMPTY_FIXTURE)
)

CATEGORIES = ["cs.LG", "cs.AI"]
DAY = dt.date(2025, 9, 10)  # a Wednesday: submissions Mon 09-08 14:00 to Tue 09-09 14:00 EDT
API_PATH = "/api/query"
USER_AGENT = "paperdigest-tests/0.1 (mailto:tests@example.org)"
ARXIV_CATEGORY = re.compile(r"[a-z]+(-[a-z]+)?(\.[A-Za-z]+(-[a-z]+)?)?")

ET.register_namespace("", NS_ATOM)
ET.register_namespace("arxiv", NS_ARXIV)
ET.register_namespace("opensearch", NS_OPENSEARCH)


def parse_file(path: Path, categories=("cs.LG", "cs.AI")):
    return parse_api_page(path.read_bytes(), str(path), categories)


def feed_with_entries(entries_xml: str, total: int = 1) -> bytes:
    """Wrap entry elements in a current-format API feed."""
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="{NS_OPENSEARCH}" xmlns:arxiv="{NS_ARXIV}" xmlns="{NS_ATOM}">
  <id>https://arxiv.org/api/test</id>
  <title>arXiv Query: test</title>
  <opensearch:itemsPerPage>10</opensearch:itemsPerPage>
  <opensearch:totalResults>{total}</opensearch:totalResults>
  <opensearch:startIndex>0</opensearch:startIndex>
  {entries_xml}
</feed>""".encode()


def entry_xml(
    arxiv_id: str = "2509.09001v2",
    primary: str | None = "cs.LG",
    terms: tuple[str, ...] = ("cs.LG",),
    authors: tuple[str, ...] = ("Ada Lovelace",),
) -> str:
    primary_xml = f'<arxiv:primary_category term="{primary}"/>' if primary else ""
    terms_xml = "".join(f'<category term="{term}" scheme="http://arxiv.org/schemas/atom"/>' for term in terms)
    authors_xml = "".join(f"<author><name>{name}</name></author>" for name in authors)
    return f"""<entry>
    <id>http://arxiv.org/abs/{arxiv_id}</id>
    <title>A  Title
      on two lines</title>
    <summary>  First line of the abstract
second line.</summary>
    {terms_xml}{primary_xml}{authors_xml}
  </entry>"""


# Parser: every recorded response


@pytest.mark.parametrize("path", PAPER_FIXTURES, ids=lambda path: str(path.relative_to(API)))
def test_parse_fixture_papers(path):
    page = parse_file(path)
    assert page.papers
    assert len(page.papers) == page.entry_count
    for paper in page.papers:
        assert paper.version >= 1
        assert not paper.id.startswith("http")
        assert paper.title
        assert paper.title == " ".join(paper.title.split())
        assert paper.abstract
        assert paper.abstract == " ".join(paper.abstract.split())
        assert paper.authors
        assert paper.categories
        assert all(ARXIV_CATEGORY.fullmatch(code) for code in paper.categories)
        assert paper.announce_type in ("new", "cross")


@pytest.mark.parametrize("path", PAPER_FIXTURES, ids=lambda path: str(path.relative_to(API)))
def test_parse_fixture_counts(path):
    page = parse_file(path)
    assert page.total_results is not None
    assert page.total_results >= len(page.papers)
    assert page.start_index is not None
    assert page.items_per_page is not None


def test_parse_legacy_format():
    page = parse_file(LEGACY_FIXTURE)
    first = page.papers[0]
    assert (page.total_results, page.start_index, page.items_per_page) == (5619, 0, 2)
    assert first.versioned_id == "2510.14968v1"
    assert first.title == "RDD: Retrieval-Based Demonstration Decomposer for Planner Alignment in Long-Horizon Tasks"
    assert first.abstract.startswith("To tackle long-horizon tasks, recent hierarchical vision-language-action (VLAs)")
    assert first.abstract.endswith("Code and more results are available at rdd-neurips.github.io.")
    assert first.categories == ("cs.RO", "cs.AI", "cs.CV", "cs.LG", "cs.SY", "eess.SY")
    assert first.announce_type == "cross"


def test_parse_legacy_2016_old_style_id():
    page = parse_file(API / "legacy-2016" / "query-search_query_au_del_maestro.xml", ["cond-mat.str-el"])
    ids = [paper.versioned_id for paper in page.papers]
    assert "cond-mat/0412498v1" in ids


def test_parse_current_format():
    page = parse_file(LISTING_FIXTURE)
    first = page.papers[0]
    assert (page.total_results, page.start_index, page.items_per_page) == (386601, 0, 50)
    assert first.versioned_id == "2607.09662v1"
    assert first.categories == ("q-bio.NC", "cs.AI", "cs.LG", "eess.SP", "math.AT")
    assert first.authors == ("Ren Takahashi", "Emre Yusuf", "Jayabrata Bhaduri")


def test_parse_announce_type_from_primary():
    papers = {paper.id: paper for paper in parse_file(LISTING_FIXTURE).papers}
    assert papers["2607.09649"].primary_category == "cs.AI"
    assert papers["2607.09649"].announce_type == "new"
    assert papers["2607.09657"].primary_category == "cs.CV"
    assert papers["2607.09657"].announce_type == "cross"


def test_parse_announce_type_case_insensitive():
    page = parse_api_page(feed_with_entries(entry_xml()), "test", ["CS.lg"])
    assert page.papers[0].announce_type == "new"


def test_parse_old_style_id_and_affiliation():
    page = parse_file(API / "query-idlist_astro-ph_0601001-2026-05-11.xml", ["astro-ph"])
    paper = page.papers[0]
    assert paper.id == "astro-ph/0601001"
    assert paper.version == 1
    assert paper.authors == ("Andrew Gould", "Susan Dorsher", "B. Scott Gaudi", "Andrzej Udalski")
    assert paper.announce_type == "new"


def test_parse_old_style_versioned_id():
    page = parse_file(API / "query-idlist_quant-ph_0201082v1-2026-04-12.xml")
    assert page.papers[0].id == "quant-ph/0201082"
    assert page.papers[0].version == 1


def test_parse_unicode_author_names():
    page = parse_file(API / "query-idlist_1707.08567-2026-04-12.xml")
    assert "Dirk Wübben" in page.papers[0].authors


def test_parse_utf8_bytes_not_latin1():
    page = parse_file(API / "query-search_testing-start0-max100-2026-04-12.xml")
    titles = [paper.title for paper in page.papers]
    assert "$ω$Test: WebView-Oriented Testing for Android Applications" in titles


def test_parse_tex_escapes_in_names():
    data = feed_with_entries(entry_xml(authors=('Ahmet G\\"okhan Poyraz', "Frank Hau{\\ss}er")))
    page = parse_api_page(data, "test", CATEGORIES)
    assert page.papers[0].authors == ("Ahmet Gökhan Poyraz", "Frank Haußer")


def test_parse_whitespace_collapsed():
    page = parse_api_page(feed_with_entries(entry_xml()), "test", CATEGORIES)
    assert page.papers[0].title == "A Title on two lines"
    assert page.papers[0].abstract == "First line of the abstract second line."


def test_parse_drops_acm_and_msc_classes():
    terms = ("cs.CL", "I.2.7", "I.2.7; I.2.6; H.3.3", "68T07 (Primary) 68T09, 68T10 (Secondary)", "cs.LG")
    page = parse_api_page(feed_with_entries(entry_xml(primary="cs.CL", terms=terms)), "test", CATEGORIES)
    assert page.papers[0].categories == ("cs.CL", "cs.LG")


def test_parse_primary_category_first():
    data = feed_with_entries(entry_xml(primary="stat.ML", terms=("cs.LG", "stat.ML", "cond-mat.dis-nn")))
    page = parse_api_page(data, "test", CATEGORIES)
    assert page.papers[0].categories == ("stat.ML", "cs.LG", "cond-mat.dis-nn")
    assert page.papers[0].announce_type == "cross"


def test_parse_without_primary_category():
    data = feed_with_entries(entry_xml(primary=None, terms=("cs.AI", "cs.LG")))
    page = parse_api_page(data, "test", CATEGORIES)
    assert page.papers[0].categories == ("cs.AI", "cs.LG")
    assert page.papers[0].announce_type == "new"


def test_parse_version_from_id():
    page = parse_api_page(feed_with_entries(entry_xml("2509.09001v12")), "test", CATEGORIES)
    assert page.papers[0].id == "2509.09001"
    assert page.papers[0].version == 12


def test_parse_skips_entry_without_id(caplog):
    entries = entry_xml("2509.09001") + entry_xml("2509.09002v1")
    with caplog.at_level(logging.WARNING, logger="paperdigest.arxiv.api"):
        page = parse_api_page(feed_with_entries(entries, total=2), "test", CATEGORIES)
    assert [paper.id for paper in page.papers] == ["2509.09002"]
    assert page.entry_count == 2
    assert "skipped 1 of 2 entries" in caplog.text


def test_parse_repeated_entry_once():
    entries = entry_xml("2509.09001v1") + entry_xml("2509.09001v1")
    page = parse_api_page(feed_with_entries(entries, total=2), "test", CATEGORIES)
    assert len(page.papers) == 1
    assert page.entry_count == 2


def test_parse_invalid_total_results():
    data = feed_with_entries(entry_xml()).replace(b">1</opensearch:totalResults>", b">many</opensearch:totalResults>")
    page = parse_api_page(data, "test", CATEGORIES)
    assert page.total_results is None


def test_parse_empty_result():
    page = parse_file(EMPTY_FIXTURE)
    assert page.papers == ()
    assert page.entry_count == 0
    assert page.total_results == 0
    assert page.items_per_page == 100


def test_parse_error_feed_raises():
    with pytest.raises(FeedFormatError, match="incorrect id format for abc") as info:
        parse_file(ERROR_FIXTURE)
    assert str(ERROR_FIXTURE) in str(info.value)


def test_api_error_message_found():
    assert api_error_message(ERROR_FIXTURE.read_bytes()) == "incorrect id format for abc"


def test_api_error_message_absent():
    assert api_error_message(LEGACY_FIXTURE.read_bytes()) is None
    assert api_error_message(b"not xml") is None


def test_parse_html_raises():
    data = b"<!DOCTYPE html><html><body><p>Service unavailable</body></html>"
    with pytest.raises(FeedFormatError, match="HTML page"):
        parse_api_page(data, "http://127.0.0.1/api", CATEGORIES)


def test_parse_xhtml_raises():
    data = b"<html><body><p>Service unavailable</p></body></html>"
    with pytest.raises(FeedFormatError, match="HTML page"):
        parse_api_page(data, "http://127.0.0.1/api", CATEGORIES)


def test_parse_not_xml_raises():
    with pytest.raises(FeedFormatError, match="not valid XML"):
        parse_api_page(b"<feed><entry>", "cut.xml", CATEGORIES)


def test_parse_rss_root_raises():
    data = (Path(__file__).parent / "fixtures" / "rss" / "2025-09-12" / "cs.LG+cs.AI+cs.CL.xml").read_bytes()
    with pytest.raises(FeedFormatError, match="not an arXiv API response"):
        parse_api_page(data, "feed.xml", CATEGORIES)


# fetch_day against the local server


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def listing_entries(count: int) -> list[ET.Element]:
    root = ET.fromstring(LISTING_FIXTURE.read_bytes())
    return root.findall(f"{{{NS_ATOM}}}entry")[:count]


def entry_id(entry: ET.Element) -> str:
    return entry.findtext(f"{{{NS_ATOM}}}id").rsplit("/", 1)[1].split("v")[0]


def make_page(entries: list[ET.Element], total: int, start: int, per_page: int) -> bytes:
    """Serialize `entries` as one API page, keeping the fixture's feed header."""
    root = ET.fromstring(LISTING_FIXTURE.read_bytes())
    for entry in root.findall(f"{{{NS_ATOM}}}entry"):
        root.remove(entry)
    root.find(f"{{{NS_OPENSEARCH}}}totalResults").text = str(total)
    root.find(f"{{{NS_OPENSEARCH}}}startIndex").text = str(start)
    root.find(f"{{{NS_OPENSEARCH}}}itemsPerPage").text = str(per_page)
    root.extend(copy.deepcopy(entry) for entry in entries)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def query_of(request: RecordedRequest) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(request.path).query, keep_blank_values=True).items()}


class PagedApi:
    """Serves API pages from a list of entries, sliced by the start and max_results parameters.

    `first` responses are sent, one per request, before any page. `total` overrides the
    totalResults that every page reports.
    """

    def __init__(self, entries: list[ET.Element], *, total: int | None = None, first=()) -> None:
        self.entries = entries
        self.total = len(entries) if total is None else total
        self.first = list(first)

    def __call__(self, request: RecordedRequest) -> CannedResponse:
        if self.first:
            return self.first.pop(0)
        query = query_of(request)
        start = int(query["start"])
        per_page = int(query["max_results"])
        chunk = self.entries[start : start + per_page]
        return CannedResponse(make_page(chunk, self.total, start, per_page), headers={"Content-Type": "application/atom+xml"})


def fetch(server, clock: FakeClock, day: dt.date = DAY, **options):
    settings = {
        "api_url": server.url(API_PATH),
        "user_agent": USER_AGENT,
        "page_size": 3,
        "timeout": 5.0,
        "sleep": clock.sleep,
        "clock": clock,
    }
    settings.update(options)
    return fetch_day(CATEGORIES, day, **settings)


def test_fetch_day_pages(arxiv_server):
    entries = listing_entries(5)
    arxiv_server.respond_with(API_PATH, PagedApi(entries))
    listing = fetch(arxiv_server, FakeClock())
    starts = [query_of(request)["start"] for request in arxiv_server.requests_to_path(API_PATH)]
    assert starts == ["0", "3"]
    assert [paper.id for paper in listing.papers] == [entry_id(entry) for entry in entries]


def test_fetch_day_listing_fields(arxiv_server):
    arxiv_server.respond_with(API_PATH, PagedApi(listing_entries(5)))
    listing = fetch(arxiv_server, FakeClock())
    assert listing.announced == DAY
    assert listing.reported_count == 5
    assert listing.feed_categories == ("cs.LG", "cs.AI")
    assert listing.source == "arXiv API (submissions 2025-09-08 14:00 to 2025-09-09 14:00 New York time)"


def test_fetch_day_announce_types(arxiv_server):
    arxiv_server.respond_with(API_PATH, PagedApi(listing_entries(5)))
    papers = {paper.id: paper for paper in fetch(arxiv_server, FakeClock()).papers}
    assert papers["2607.09649"].announce_type == "new"
    assert papers["2607.09662"].announce_type == "cross"


def test_fetch_day_query_string(arxiv_server):
    arxiv_server.respond_with(API_PATH, PagedApi(listing_entries(2)))
    fetch(arxiv_server, FakeClock())
    query = query_of(arxiv_server.requests_to_path(API_PATH)[0])
    assert query["search_query"] == "(cat:cs.LG OR cat:cs.AI) AND submittedDate:[202509081800 TO 202509091800]"
    assert query["sortBy"] == "submittedDate"
    assert query["sortOrder"] == "ascending"
    assert query["start"] == "0"
    assert query["max_results"] == "3"


def test_fetch_day_winter_window(arxiv_server):
    arxiv_server.respond_with(API_PATH, PagedApi(listing_entries(2)))
    fetch(arxiv_server, FakeClock(), day=dt.date(2025, 1, 14))  # Tuesday: Fri 01-10 to Mon 01-13 EST
    query = query_of(arxiv_server.requests_to_path(API_PATH)[0])
    assert query["search_query"].endswith("submittedDate:[202501101900 TO 202501131900]")


def test_submission_query_utc():
    start = dt.datetime(2025, 3, 7, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    end = dt.datetime(2025, 3, 10, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    query = submission_query(["cs.CL"], start, end)
    assert query == "(cat:cs.CL) AND submittedDate:[202503071900 TO 202503101800]"


def test_submission_query_naive_raises():
    with pytest.raises(ValueError, match="timezone-aware"):
        submission_query(["cs.CL"], dt.datetime(2025, 3, 7, 14), dt.datetime(2025, 3, 10, 14))


def test_fetch_day_user_agent(arxiv_server):
    arxiv_server.respond_with(API_PATH, PagedApi(listing_entries(2)))
    fetch(arxiv_server, FakeClock())
    assert arxiv_server.requests_to_path(API_PATH)[0].headers["User-Agent"] == USER_AGENT


def test_fetch_day_delay_between_pages(arxiv_server):
    arxiv_server.respond_with(API_PATH, PagedApi(listing_entries(7)))
    clock = FakeClock()
    listing = fetch(arxiv_server, clock)
    assert len(arxiv_server.requests_to_path(API_PATH)) == 3
    assert clock.sleeps == [3.0, 3.0]
    assert len(listing.papers) == 7


def test_fetch_day_custom_delay(arxiv_server):
    arxiv_server.respond_with(API_PATH, PagedApi(listing_entries(4)))
    clock = FakeClock()
    fetch(arxiv_server, clock, delay_seconds=5.0)
    assert clock.sleeps == [5.0]


def test_fetch_day_single_page_no_sleep(arxiv_server):
    arxiv_server.respond_with(API_PATH, PagedApi(listing_entries(3)))
    clock = FakeClock()
    fetch(arxiv_server, clock)
    assert clock.sleeps == []


def test_throttle_counts_elapsed_time():
    clock = FakeClock()
    throttle = _Throttle(3.0, clock.sleep, clock)
    throttle.wait()
    throttle.done()
    clock.now += 2.0
    throttle.wait()
    assert clock.sleeps == [1.0]


def test_throttle_no_wait_after_delay():
    clock = FakeClock()
    throttle = _Throttle(3.0, clock.sleep, clock)
    throttle.done()
    clock.now += 4.0
    throttle.wait()
    assert clock.sleeps == []


def test_fetch_day_503_retry_after(arxiv_server):
    unavailable = CannedResponse(b"busy", 503, {"Retry-After": "7"})
    arxiv_server.respond_with(API_PATH, PagedApi(listing_entries(2), first=[unavailable]))
    clock = FakeClock()
    listing = fetch(arxiv_server, clock)
    assert len(arxiv_server.requests_to_path(API_PATH)) == 2
    assert clock.sleeps == [7.0]
    assert len(listing.papers) == 2


def test_fetch_day_429_retry_after_below_delay(arxiv_server):
    limited = CannedResponse(b"slow down", 429, {"Retry-After": "1"})
    arxiv_server.respond_with(API_PATH, PagedApi(listing_entries(2), first=[limited]))
    clock = FakeClock()
    fetch(arxiv_server, clock)
    assert clock.sleeps == [3.0]


def test_fetch_day_retry_after_capped(arxiv_server):
    unavailable = CannedResponse(b"busy", 503, {"Retry-After": "600"})
    arxiv_server.respond_with(API_PATH, PagedApi(listing_entries(2), first=[unavailable]))
    clock = FakeClock()
    fetch(arxiv_server, clock, max_wait=10.0)
    assert clock.sleeps == [10.0]


def test_fetch_day_backoff_without_retry_after(arxiv_server):
    failures = [CannedResponse(b"busy", 503), CannedResponse(b"oops", 500)]
    arxiv_server.respond_with(API_PATH, PagedApi(listing_entries(2), first=failures))
    clock = FakeClock()
    fetch(arxiv_server, clock)
    assert clock.sleeps == [3.0, 6.0]


def test_fetch_day_retries_exhausted(arxiv_server):
    arxiv_server.respond_with(API_PATH, lambda request: CannedResponse(b"busy", 503, {"Retry-After": "0"}))
    clock = FakeClock()
    with pytest.raises(FetchError, match="failed after 3 attempts") as info:
        fetch(arxiv_server, clock, retries=2)
    assert "HTTP 503" in str(info.value)
    assert arxiv_server.url(API_PATH) in str(info.value)
    assert len(arxiv_server.requests_to_path(API_PATH)) == 3
    assert clock.sleeps == [3.0, 3.0]


def test_fetch_day_http_400_error_feed(arxiv_server):
    rejected = CannedResponse(ERROR_FIXTURE.read_bytes(), 400, {"Content-Type": "application/atom+xml"})
    arxiv_server.respond_with(API_PATH, lambda request: rejected)
    with pytest.raises(FeedFormatError, match="incorrect id format for abc") as info:
        fetch(arxiv_server, FakeClock())
    assert arxiv_server.url(API_PATH) in str(info.value)
    assert len(arxiv_server.requests_to_path(API_PATH)) == 1


def test_fetch_day_http_400_without_feed(arxiv_server):
    arxiv_server.respond_with(API_PATH, lambda request: CannedResponse(b"Bad Request", 400))
    with pytest.raises(FeedFormatError, match="HTTP 400 but sent no error entry"):
        fetch(arxiv_server, FakeClock())


def test_fetch_day_http_404_not_retried(arxiv_server):
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(arxiv_server, FakeClock(), api_url=arxiv_server.url("/missing"))
    assert len(arxiv_server.requests_to_path("/missing")) == 1


def test_fetch_day_html_response(arxiv_server):
    page = CannedResponse(b"<!DOCTYPE html><html><body>maintenance</body></html>", 200)
    arxiv_server.respond_with(API_PATH, lambda request: page)
    with pytest.raises(FeedFormatError, match="HTML page"):
        fetch(arxiv_server, FakeClock())


def test_fetch_day_empty_first_page_retried(arxiv_server):
    empty = CannedResponse(EMPTY_FIXTURE.read_bytes())
    arxiv_server.respond_with(API_PATH, PagedApi(listing_entries(2), first=[empty]))
    clock = FakeClock()
    listing = fetch(arxiv_server, clock)
    assert len(arxiv_server.requests_to_path(API_PATH)) == 2
    assert clock.sleeps == [3.0]
    assert len(listing.papers) == 2
    assert listing.reported_count == 2


def test_fetch_day_empty_day_believed(arxiv_server, caplog):
    arxiv_server.respond_with(API_PATH, PagedApi([]))
    clock = FakeClock()
    with caplog.at_level(logging.WARNING, logger="paperdigest.arxiv.api_client"):
        listing = fetch(arxiv_server, clock)
    assert len(arxiv_server.requests_to_path(API_PATH)) == 2
    assert listing.papers == ()
    assert listing.reported_count == 0
    assert "parsed" not in caplog.text


def test_fetch_day_no_empty_retries(arxiv_server):
    arxiv_server.respond_with(API_PATH, PagedApi([]))
    fetch(arxiv_server, FakeClock(), empty_page_retries=0)
    assert len(arxiv_server.requests_to_path(API_PATH)) == 1


def test_fetch_day_count_warning(arxiv_server, caplog):
    arxiv_server.respond_with(API_PATH, PagedApi(listing_entries(5), total=6))
    with caplog.at_level(logging.WARNING, logger="paperdigest.arxiv.api_client"):
        listing = fetch(arxiv_server, FakeClock())
    starts = [query_of(request)["start"] for request in arxiv_server.requests_to_path(API_PATH)]
    assert starts == ["0", "3", "5", "5"]
    assert len(listing.papers) == 5
    assert listing.reported_count == 6
    assert "reported 6 papers for this window, but 5 were parsed" in caplog.text
    assert listing.warnings == ("the arXiv API reported 6 papers for this window, but 5 were parsed",)


def test_fetch_day_duplicates_dropped(arxiv_server, caplog):
    entries = listing_entries(3)
    arxiv_server.respond_with(API_PATH, PagedApi(entries + [entries[0]]))
    with caplog.at_level(logging.WARNING, logger="paperdigest.arxiv.api_client"):
        listing = fetch(arxiv_server, FakeClock())
    assert [paper.id for paper in listing.papers] == [entry_id(entry) for entry in entries]
    assert "reported 4 papers for this window, but 3 were parsed" in caplog.text


def test_fetch_day_max_pages(arxiv_server, caplog):
    arxiv_server.respond_with(API_PATH, PagedApi(listing_entries(5)))
    with caplog.at_level(logging.WARNING, logger="paperdigest.arxiv.api_client"):
        listing = fetch(arxiv_server, FakeClock(), max_pages=1)
    assert len(arxiv_server.requests_to_path(API_PATH)) == 1
    assert len(listing.papers) == 3
    assert "stopped after 1 pages" in caplog.text


def test_fetch_day_weekend_raises(arxiv_server):
    with pytest.raises(ValueError, match="Saturday"):
        fetch(arxiv_server, FakeClock(), day=dt.date(2025, 9, 13))
    assert arxiv_server.requests == []


@pytest.mark.parametrize("page_size", [0, 2001])
def test_fetch_day_page_size_invalid(arxiv_server, page_size):
    with pytest.raises(ValueError, match="page_size"):
        fetch(arxiv_server, FakeClock(), page_size=page_size)


def test_fetch_day_no_categories_raises():
    with pytest.raises(ValueError, match="category"):
        fetch_day([], DAY, user_agent=USER_AGENT)


def test_fetch_day_api_url_invalid():
    with pytest.raises(ValueError, match="api_url"):
        fetch_day(CATEGORIES, DAY, api_url="ftp://127.0.0.1/api", user_agent=USER_AGENT)
