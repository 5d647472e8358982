"""Tests for the HTML digest: escaping, links and structure, then the page in headless Chromium."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shutil
import signal
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from paperdigest.arxiv.rss import parse_feed
from paperdigest.models import Cost, Digest, Fate, Paper, PaperResult, PromptText, Score, Usage
from paperdigest.render_html import CONTENT_SECURITY_POLICY, arxiv_url, render_html, score_level

FEED = Path(__file__).parent / "fixtures" / "rss" / "2025-09-12" / "cs.LG+cs.AI+cs.CL.xml"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_TIMEOUT_SECONDS = 60

SCRIPT_TITLE = "<script>alert(1)</script> Bayes with $O(n$ and `ticks`"
LINK_TITLE = "Attack](javascript:alert(1)) | pipe"
IMG_AUTHOR = "<img src=x onerror=alert(1)>"
HOSTILE_COMMENT = "Fits: $k$-hop, costs $5 | <b>bold</b> `code` [x](javascript:y)"
HOSTILE_ABSTRACT = "We show <script>alert(2)</script> and <img src=x onerror=alert(3)> for $a<b$."
ALLOWED_HREF = re.compile(r"#paper-\d+|https://arxiv\.org/abs/[A-Za-z0-9._/%-]+")

# (relevance, novelty, comment) for the first papers of the feed. Both cutoffs are 7.
SCORES = [
    (9, 8, HOSTILE_COMMENT),
    (10, 9, "Strong match on scaling laws."),
    (7, 7, "Borderline but on topic."),
    (8, 10, "New benchmark for agents."),
    (3, 2, "Followed author, off topic."),
    (9, 6, "Relevant, but the method is known."),
    (6, 9, "Novel, but off topic."),
    (8, 8, "Solid work on uncertainty."),
    (10, 10, "Exactly the topic."),
    (7, 9, "Good fit."),
]
UNSCORED_INDEX = 10
FOLLOWED_UNSCORED_INDEX = 11
DROPPED_REASONS = {12: "excluded keyword: survey", 13: "excluded keyword: survey", 14: "excluded author: A. Nonymous"}


def make_digest(**changes) -> Digest:
    """Build a digest from the real 2025-09-12 feed, with scores assigned by hand."""
    listing = parse_feed(FEED.read_bytes(), str(FEED))
    papers = list(listing.papers)
    papers[0] = dataclasses.replace(papers[0], title=SCRIPT_TITLE, abstract=HOSTILE_ABSTRACT)
    papers[1] = dataclasses.replace(papers[1], title=LINK_TITLE)
    papers[2] = dataclasses.replace(papers[2], authors=(IMG_AUTHOR, *papers[2].authors))

    results = []
    for index, paper in enumerate(papers):
        results.append(_result(index, paper))

    fields = {
        "date": dt.date(2025, 9, 12),
        "model": "gpt-5",
        "scorer": "openai",
        "categories": ("cs.LG", "cs.AI"),
        "results": tuple(results),
        "usage": Usage(prompt_tokens=26364, cached_prompt_tokens=1024, completion_tokens=29620, requests=2),
        "cost": Cost(prompt=0.032955, completion=0.2962),
        "prompt": PromptText(system="Be strict.\n\n<script>alert(4)</script>", user_template="Papers:\n[PAPERS]"),
        "source": str(FEED),
        "relevance_cutoff": 7,
        "novelty_cutoff": 7,
        "warnings": ("1 candidate papers have no score; see the unscored list",),
    }
    fields.update(changes)
    return Digest(**fields)


def _result(index: int, paper: Paper) -> PaperResult:
    if index < len(SCORES):
        relevance, novelty, comment = SCORES[index]
        followed = paper.authors[:1] if index == 4 else ()
        meets = relevance >= 7 and novelty >= 7
        score = Score(paper.id, relevance, novelty, comment)
        return PaperResult(paper, Fate.SCORED, "", score, bool(followed), followed, meets or bool(followed))
    if index == UNSCORED_INDEX:
        return PaperResult(paper, Fate.UNSCORED, "missing from the answer")
    if index == FOLLOWED_UNSCORED_INDEX:
        followed = paper.authors[:1]
        return PaperResult(paper, Fate.UNSCORED, "invalid line", None, True, followed, True)
    if index in DROPPED_REASONS:
        return PaperResult(paper, Fate.DROPPED, DROPPED_REASONS[index])
    score = Score(paper.id, 1 + index % 5, 1 + index % 4, "Off topic.")
    return PaperResult(paper, Fate.SCORED, "", score)


class PageParser(HTMLParser):
    """Collect every start tag with its attributes, and the text outside script and style."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text_parts: list[str] = []
        self._skip_text = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._skip_text += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip_text:
            self._skip_text -= 1

    def handle_data(self, data):
        if not self._skip_text:
            self.text_parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def find(self, tag: str, css_class: str | None = None) -> list[dict[str, str | None]]:
        found = []
        for name, attrs in self.tags:
            classes = (attrs.get("class") or "").split()
            if name == tag and (css_class is None or css_class in classes):
                found.append(attrs)
        return found


def parse_page(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def digest() -> Digest:
    return make_digest()


@pytest.fixture(scope="module")
def html(digest) -> str:
    return render_html(digest)


@pytest.fixture(scope="module")
def page(html) -> PageParser:
    return parse_page(html)


# --- structure ----------------------------------------------------------------------------


def test_page_title_has_date(page):
    assert page.find("title")
    assert "Personalized Daily ArXiv Papers 2025-09-12" in page.text


def test_page_sections_match_selected(page, digest):
    assert len(page.find("section", "paper")) == len(digest.selected)


def test_page_selected_count_is_realistic(digest):
    assert len(digest.selected) == 9


def test_page_section_ids_in_order(page, digest):
    ids = [attrs["id"] for attrs in page.find("section", "paper")]
    assert ids == [f"paper-{number}" for number in range(1, len(digest.selected) + 1)]


def test_page_contents_link_every_section(page, digest):
    anchors = [attrs["href"] for attrs in page.find("a") if (attrs.get("href") or "").startswith("#")]
    assert anchors == [f"#paper-{number}" for number in range(1, len(digest.selected) + 1)]


def test_page_title_links_to_abs(html, digest):
    first = digest.selected[0].paper
    assert f'href="https://arxiv.org/abs/{first.id}" target="_blank" rel="noopener"' in html


def test_page_followed_paper_first(digest, page):
    followed_author = digest.selected[0].followed_authors[0]
    assert digest.selected[0].followed
    assert page.find("strong", "followed")
    assert f"★ {followed_author}" in page.text


def test_page_usage_table(page):
    assert "26,364" in page.text
    assert "29,620" in page.text
    assert "55,984" in page.text
    assert "$0.0330" in page.text
    assert "Cached prompt tokens: 1,024" in page.text


def test_page_counts(page):
    assert "Total arXiv papers 188" in page.text
    assert "Total scanned papers 185" in page.text
    assert "Total relevant papers 9" in page.text


def test_page_dropped_summary(page):
    assert "2 (excluded keyword: survey), 1 (excluded author: A. Nonymous)" in page.text


def test_page_warning_shown(page):
    assert "Warning: 1 candidate papers have no score" in page.text


def test_page_unscored_list(page, digest):
    unscored = digest.results[UNSCORED_INDEX].paper
    assert f"({unscored.id}): missing from the answer" in page.text


def test_page_followed_unscored_not_scored(page):
    assert "Comment: not scored: invalid line" in page.text
    assert page.find("span", "badge-none")


def test_page_badges_by_value(html):
    assert '<span class="badge badge-high" title="Relevance 10 of 10">R 10</span>' in html
    assert '<span class="badge badge-mid" title="Novelty 7 of 10">N 7</span>' in html


def test_page_abstract_collapsed(page, digest):
    assert len(page.find("details")) == len(digest.selected) + 1
    assert "details" not in {tag for tag, attrs in page.tags if "open" in attrs}


def test_page_prompt_appendix(page):
    assert "Paper selection prompt" in page.text
    assert "Papers: [PAPERS]" in page.text


def test_page_without_prompt():
    page = parse_page(render_html(make_digest(prompt=None)))
    assert "Paper selection prompt" not in page.text


def test_page_empty_day():
    digest = make_digest(results=(), notice="No announcement on 2025-09-13 (Saturday).", warnings=())
    page = parse_page(render_html(digest))
    assert not page.find("section", "paper")
    assert "No announcement on 2025-09-13 (Saturday)." in page.text
    assert "No paper met both cutoffs (relevance ≥ 7, novelty ≥ 7)." in page.text


def test_page_keyword_scorer_costs_nothing():
    page = parse_page(render_html(make_digest(scorer="keywords", model="keywords (offline)")))
    assert "keywords (offline)" in page.text
    assert "Token 0 0 0" in page.text
    assert "Cost $0.0000 $0.0000 $0.0000" in page.text


def test_page_unknown_price_shows_na():
    page = parse_page(render_html(make_digest(cost=None)))
    assert "Cost n/a n/a n/a" in page.text


# --- escaping and safety ------------------------------------------------------------------


def test_page_has_no_script(html, page):
    assert "<script" not in html
    assert not page.find("script")


@pytest.mark.parametrize("text", [SCRIPT_TITLE, LINK_TITLE, IMG_AUTHOR, HOSTILE_COMMENT])
def test_page_hostile_text_literal(page, text):
    assert text in page.text


def test_page_hostile_abstract_literal(page):
    assert HOSTILE_ABSTRACT in page.text


def test_page_no_event_handlers(page):
    handlers = [(tag, name) for tag, attrs in page.tags for name in attrs if name.startswith("on")]
    assert handlers == []


def test_page_no_img_tag(page):
    assert not page.find("img")


def test_page_no_src_attribute(page):
    sources = [(tag, attrs["src"]) for tag, attrs in page.tags if "src" in attrs]
    assert sources == []


def test_page_links_only_allowed(page):
    hrefs = [attrs.get("href") or "" for tag, attrs in page.tags if "href" in attrs]
    unexpected = [href for href in hrefs if not ALLOWED_HREF.fullmatch(href)]
    assert hrefs
    assert unexpected == []


def test_page_only_anchors_link(page):
    linking_tags = {tag for tag, attrs in page.tags if "href" in attrs}
    assert linking_tags == {"a"}


def test_page_no_external_resources(html):
    assert "<link" not in html
    assert "@import" not in html
    assert "url(" not in html


def test_page_csp_meta(page):
    policies = [attrs for attrs in page.find("meta") if attrs.get("http-equiv") == "Content-Security-Policy"]
    assert len(policies) == 1
    assert policies[0]["content"] == "default-src 'none'; style-src 'unsafe-inline'"


def test_page_csp_before_style(html):
    assert html.index("Content-Security-Policy") < html.index("<style>")


def test_page_hostile_id_quoted():
    paper = Paper('2509.0001"><script>x', 1, "T", ("A",), "", ("cs.LG",), "new")
    score = Score(paper.id, 9, 9, "c")
    result = PaperResult(paper, Fate.SCORED, "", score, relevant=True)
    html = render_html(make_digest(results=(result,)))
    assert "<script" not in html
    assert 'href="https://arxiv.org/abs/2509.0001%22%3E%3Cscript%3Ex"' in html


def test_arxiv_url_keeps_old_style_slash():
    assert arxiv_url("hep-th/9901001") == "https://arxiv.org/abs/hep-th/9901001"


@pytest.mark.parametrize(("value", "level"), [(10, "high"), (8, "high"), (7, "mid"), (5, "mid"), (4, "low"), (1, "low")])
def test_score_level_bands(value, level):
    assert score_level(value) == level


def test_csp_constant_matches_page():
    assert CONTENT_SECURITY_POLICY == "default-src 'none'; style-src 'unsafe-inline'"


# --- headless Chromium --------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"{CHROMIUM} not found: install the Debian package chromium to run the browser tests",
)


def run_chromium(profile: Path, *arguments: str) -> subprocess.CompletedProcess:
    """Run headless Chromium offline, and kill its whole process group if it times out."""
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        # Every host name lookup fails, so Chromium cannot reach a server by name.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
        *arguments,
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = process.communicate(timeout=CHROMIUM_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"Chromium did not finish within {CHROMIUM_TIMEOUT_SECONDS} s: {' '.join(command)}")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def page_file(html, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("html") / "2025-09-12.html"
    path.write_text(html, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def dom(page_file, tmp_path_factory) -> str:
    profile = tmp_path_factory.mktemp("chromium-profile")
    completed = run_chromium(profile, "--dump-dom", page_file.as_uri())
    shutil.rmtree(profile, ignore_errors=True)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


@needs_chromium
def test_browser_sections_match_selected(dom, digest):
    assert len(parse_page(dom).find("section", "paper")) == len(digest.selected)


@needs_chromium
def test_browser_no_script_element(dom):
    assert "<script" not in dom
    assert not parse_page(dom).find("script")


@needs_chromium
def test_browser_hostile_title_is_text(dom):
    parsed = parse_page(dom)
    assert SCRIPT_TITLE in parsed.text
    assert not parsed.find("img")


@needs_chromium
def test_browser_screenshot_written(page_file, tmp_path):
    shot = tmp_path / "shot.png"
    completed = run_chromium(
        tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000", page_file.as_uri()
    )
    assert completed.returncode == 0, completed.stderr
    assert shot.exists()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000
