"""Tests for the Markdown and JSON renderers, the escaping filters and write_atomic."""

from __future__ import annotations

import datetime as dt
import json
import os
from decimal import Decimal

import pytest

from paperdigest.fsutil import write_atomic
from paperdigest.models import Cost, Digest, Fate, Paper, PaperResult, PrefilterReport, PromptText, Score, Usage
from paperdigest.render import (
    escape_md_block,
    escape_md_cell,
    escape_md_inline,
    render_json,
    render_markdown,
)

markdown_it = pytest.importorskip("markdown_it")

HOSTILE_TITLES = [
    "Attack](javascript:alert(1))",
    "<script>alert(1)</script>",
    "a | b",
    "*bold* _it_",
    "`code`",
    "[x]",
    "# not a heading",
    "costs $5 only",
    "&lt;b&gt; entity",
    "[a](http://evil.example)",
    "ends with a backslash \\",
    "~~struck~~",
    "$[0,1]$](javascript:x)",
]


def make_paper(paper_id: str, title: str = "A title", **changes) -> Paper:
    fields = {
        "id": paper_id,
        "version": 1,
        "title": title,
        "authors": ("Ada Lovelace", "Alan Turing"),
        "abstract": "We study things.",
        "categories": ("cs.LG",),
        "announce_type": "new",
    }
    fields.update(changes)
    return Paper(**fields)


def scored(paper: Paper, relevance: int, novelty: int, **changes) -> PaperResult:
    score = Score(paper.id, relevance, novelty, changes.pop("comment", "fits"))
    return PaperResult(paper, Fate.SCORED, score=score, relevant=True, **changes)


def make_digest(results=(), **changes) -> Digest:
    fields = {
        "date": dt.date(2025, 9, 12),
        "model": "gpt-5",
        "scorer": "openai",
        "categories": ("cs.LG", "stat.ML"),
        "results": tuple(results),
        "usage": Usage(prompt_tokens=26364, completion_tokens=29620, requests=2),
        "cost": Cost(prompt=0.032955, completion=0.2962),
        "prompt": PromptText(system="Be strict.\n\nScore papers.", user_template="Papers:\n[PAPERS]"),
        "source": "https://rss.arxiv.org/rss/cs.LG",
        "relevance_cutoff": 6,
        "novelty_cutoff": 5,
    }
    fields.update(changes)
    return Digest(**fields)


def parse(markdown: str):
    return markdown_it.MarkdownIt("commonmark").enable("table").parse(markdown)


def to_html(markdown: str) -> str:
    return markdown_it.MarkdownIt("commonmark").enable("table").render(markdown)


def table_row(markdown: str, label: str) -> list[str]:
    line = next(line for line in markdown.splitlines() if line.startswith(f"| **{label}** |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def heading_inline(markdown: str, level: str = "h2"):
    """Return the inline token of the first heading of that level."""
    tokens = parse(markdown)
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == level:
            return tokens[index + 1]
    raise AssertionError(f"no {level} heading in the rendered Markdown")


def inline_text(inline_token) -> str:
    return "".join(child.content for child in inline_token.children if child.type in ("text", "code_inline"))


# --- escaping ---------------------------------------------------------------------------


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_escape_inline_renders_literal(title):
    html = to_html(f"Title: {escape_md_inline(title)}")
    inline = parse(f"Title: {escape_md_inline(title)}")[1]
    child_types = {child.type for child in inline.children}
    assert "<script" not in html
    assert "link_open" not in child_types
    assert "html_inline" not in child_types
    assert "em_open" not in child_types
    assert "code_inline" not in child_types
    assert inline_text(inline) == f"Title: {title}"


def test_escape_inline_entity_stays_literal():
    assert escape_md_inline("&lt;b&gt;") == "&amp;lt;b&amp;gt;"


def test_escape_inline_collapses_newlines():
    assert escape_md_inline("line one\n\n  line   two\r\n") == "line one line two"


def test_escape_inline_keeps_matched_math():
    assert escape_md_inline("$k$-hop with $O(n \\log n)$") == "$k$-hop with $O(n \\log n)$"


def test_escape_inline_escapes_unmatched_dollar():
    assert escape_md_inline("costs $5 and $x$") == "costs \\$5 and \\$x\\$"


def test_escape_inline_dollars_around_spaces():
    assert escape_md_inline("$5 and $10") == "\\$5 and \\$10"


def test_escape_inline_math_html_neutralised():
    assert escape_md_inline("$a<b$") == "$a\\lt b$"


def test_escape_inline_tex_dollar_not_delimiter():
    assert escape_md_inline("\\$5 and $x$") == "\\\\\\$5 and $x$"


def test_escape_block_no_block_start():
    text = "# Heading\n- item\n> quote\n| a | b |\n|---|---|\n<div>x</div>"
    inline = parse(f"**Abstract:** {escape_md_block(text)}")[1]
    child_types = {child.type for child in inline.children}
    assert "\n" not in escape_md_block(text)
    assert "html_inline" not in child_types
    assert "hardbreak" not in child_types


def test_escape_cell_escapes_pipe_and_dollar():
    assert escape_md_cell("a|b $x$") == "a\\|b \\$x\\$"


# --- Markdown ---------------------------------------------------------------------------


def test_markdown_title_line():
    markdown = render_markdown(make_digest())
    assert markdown.splitlines()[0] == "# Personalized Daily ArXiv Papers 2025-09-12"


def test_markdown_ends_with_newline():
    assert render_markdown(make_digest()).endswith("\n")


def test_markdown_table_header():
    markdown = render_markdown(make_digest())
    assert "| *[gpt-5]* | Prompt | Completion | Total |" in markdown.splitlines()


def test_markdown_token_row():
    markdown = render_markdown(make_digest())
    assert table_row(markdown, "Token") == ["**Token**", "26,364", "29,620", "55,984"]


def test_markdown_cost_cells_add_up():
    cells = table_row(render_markdown(make_digest()), "Cost")
    prompt, completion, total = (Decimal(cell.replace("\\$", "")) for cell in cells[1:])
    assert prompt == Decimal("0.0330")
    assert completion == Decimal("0.2962")
    assert prompt + completion == total


def test_markdown_unknown_cost_shows_na():
    cells = table_row(render_markdown(make_digest(cost=None)), "Cost")
    assert cells[1:] == ["n/a", "n/a", "n/a"]


def test_markdown_table_has_four_columns():
    markdown = render_markdown(make_digest(model="gpt|5 <b>"))
    header_cells = [token for token in parse(markdown) if token.type == "th_open"]
    assert len(header_cells) == 4
    assert "<b>" not in to_html(markdown)


def test_markdown_cached_tokens_line():
    usage = Usage(prompt_tokens=26364, cached_prompt_tokens=12000, completion_tokens=29620)
    markdown = render_markdown(make_digest(usage=usage))
    assert "Cached prompt tokens: 12,000 (priced at the cached rate)" in markdown


def test_markdown_no_cached_line_when_zero():
    assert "Cached prompt tokens" not in render_markdown(make_digest())


def test_markdown_keyword_scorer_table():
    digest = make_digest(scorer="keywords", model="gpt-5", usage=Usage(), cost=None)
    markdown = render_markdown(digest)
    assert "| *[keywords (offline)]* | Prompt | Completion | Total |" in markdown.splitlines()
    assert table_row(markdown, "Token")[1:] == ["0", "0", "0"]
    assert table_row(markdown, "Cost")[1:] == ["\\$0.0000", "\\$0.0000", "\\$0.0000"]


def test_markdown_counts():
    results = [
        scored(make_paper("2509.00001"), 8, 7),
        PaperResult(make_paper("2509.00002"), Fate.SCORED, score=Score("2509.00002", 2, 2, "off-topic")),
        PaperResult(make_paper("2509.00003"), Fate.UNSCORED, reason="missing from the answer"),
        PaperResult(make_paper("2509.00004"), Fate.DROPPED, reason="announce type replace"),
    ]
    lines = render_markdown(make_digest(results)).splitlines()
    assert "Total arXiv papers: 4" in lines
    assert "Total scanned papers: 3" in lines
    assert "Total relevant papers: 1" in lines


def test_markdown_dropped_summary():
    results = [
        PaperResult(make_paper("2509.00001"), Fate.DROPPED, reason="announce type replace"),
        PaperResult(make_paper("2509.00002"), Fate.DROPPED, reason='excluded keyword "survey"'),
        PaperResult(make_paper("2509.00003"), Fate.DROPPED, reason="announce type replace"),
    ]
    lines = render_markdown(make_digest(results)).splitlines()
    assert 'Dropped by rules: 2 (announce type replace), 1 (excluded keyword "survey")' in lines


def test_markdown_source_and_categories():
    lines = render_markdown(make_digest()).splitlines()
    assert "Source: `https://rss.arxiv.org/rss/cs.LG`" in lines
    assert "Categories: cs.LG, stat.ML" in lines


def test_markdown_order_followed_then_scores():
    results = [
        scored(make_paper("2509.00001", "Relevance nine"), 9, 5),
        scored(make_paper("2509.00002", "Sum fifteen"), 8, 7),
        scored(make_paper("2509.00003", "Followed"), 6, 5, followed=True, followed_authors=("Ada Lovelace",)),
        scored(make_paper("2509.00004", "Relevance eight"), 8, 6),
    ]
    headings = [line for line in render_markdown(make_digest(results)).splitlines() if line.startswith("## ")]
    assert headings[0].startswith("## 1. [Followed]")
    assert headings[1].startswith("## 2. [Sum fifteen]")
    assert headings[2].startswith("## 3. [Relevance nine]")
    assert headings[3].startswith("## 4. [Relevance eight]")


def test_markdown_followed_marker():
    results = [scored(make_paper("2509.00001", "Followed"), 6, 5, followed=True, followed_authors=("Ada Lovelace",))]
    markdown = render_markdown(make_digest(results))
    assert "1. ★ [Followed](#paper-1) (followed author: Ada Lovelace)\\" in markdown.splitlines()


def test_markdown_toc_anchor_matches_section():
    markdown = render_markdown(make_digest([scored(make_paper("2509.00001"), 8, 7)]))
    html = to_html(markdown)
    assert 'href="#paper-1"' in html
    assert '<a id="paper-1"></a>' in html


def test_markdown_relevance_novelty_separate_lines():
    markdown = render_markdown(make_digest([scored(make_paper("2509.00001"), 8, 7)]))
    html = to_html(markdown)
    assert "<strong>Relevance:</strong> 8<br />\n<strong>Novelty:</strong> 7" in html


def test_markdown_paper_fields():
    paper = make_paper("2509.00001", abstract="Line one\nline two with <b>tags</b>.")
    lines = render_markdown(make_digest([scored(paper, 8, 7, comment="Model Architecture")])).splitlines()
    assert "**ArXiv ID:** 2509.00001" in lines
    assert "**Authors:** Ada Lovelace, Alan Turing" in lines
    assert "**Abstract:** Line one line two with \\<b\\>tags\\</b\\>." in lines
    assert "**Comment:** Model Architecture" in lines


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_markdown_hostile_title_heading(title):
    markdown = render_markdown(make_digest([scored(make_paper("2509.00001", title), 8, 7)]))
    heading_line = next(line for line in markdown.splitlines() if line.startswith("## 1. "))
    inline = heading_inline(markdown)
    links = [child for child in inline.children if child.type == "link_open"]
    child_types = {child.type for child in inline.children}
    assert "<script" not in to_html(markdown)
    assert heading_line.count("](https://arxiv.org/abs/") == 1
    assert heading_line.endswith("](https://arxiv.org/abs/2509.00001)")
    assert len(links) == 1
    assert links[0].attrs["href"] == "https://arxiv.org/abs/2509.00001"
    assert "html_inline" not in child_types
    assert "em_open" not in child_types
    assert inline_text(inline) == f"1. {title}"


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_markdown_hostile_title_toc(title):
    markdown = render_markdown(make_digest([scored(make_paper("2509.00001", title), 8, 7)]))
    tokens = parse(markdown)
    toc_links = [
        child
        for token in tokens
        if token.type == "inline"
        for child in token.children
        if child.type == "link_open" and child.attrs["href"].startswith("#")
    ]
    assert len(toc_links) == 1
    assert toc_links[0].attrs["href"] == "#paper-1"


def test_markdown_hostile_comment_and_authors():
    paper = make_paper("2509.00001", authors=("<img src=x onerror=alert(1)>", "A | B"))
    markdown = render_markdown(make_digest([scored(paper, 8, 7, comment="[click](javascript:x) <script>")]))
    html = to_html(markdown)
    hrefs = [
        child.attrs["href"]
        for token in parse(markdown)
        if token.type == "inline"
        for child in token.children
        if child.type == "link_open"
    ]
    assert "<img" not in html
    assert "<script" not in html
    assert "javascript:x" not in hrefs


def test_markdown_unscored_section():
    results = [
        scored(make_paper("2509.00001"), 8, 7),
        PaperResult(make_paper("2509.00002", "Lost <paper>"), Fate.UNSCORED, reason="missing from the answer"),
    ]
    lines = render_markdown(make_digest(results)).splitlines()
    assert "## Unscored papers" in lines
    assert "- [Lost \\<paper\\>](https://arxiv.org/abs/2509.00002) (2509.00002): missing from the answer" in lines


def test_markdown_no_unscored_section():
    markdown = render_markdown(make_digest([scored(make_paper("2509.00001"), 8, 7)]))
    assert "## Unscored papers" not in markdown


def test_markdown_empty_day_with_notice():
    notice = "No announcement: arXiv does not announce on weekends."
    markdown = render_markdown(make_digest(notice=notice, usage=Usage(), cost=Cost(0.0, 0.0)))
    lines = markdown.splitlines()
    assert lines[0] == "# Personalized Daily ArXiv Papers 2025-09-12"
    assert notice in lines
    assert "No paper met both cutoffs (relevance ≥ 6, novelty ≥ 5)." in lines
    assert "Total arXiv papers: 0" in lines
    assert "**Table of contents with paper titles:**" not in markdown


def test_markdown_warnings_quoted():
    lines = render_markdown(make_digest(warnings=("3 papers had no abstract", "feed count differs"))).splitlines()
    assert "> **Warning:** 3 papers had no abstract" in lines
    assert "> **Warning:** feed count differs" in lines


def test_markdown_prompt_appendix_quoted():
    lines = render_markdown(make_digest()).splitlines()
    system_start = lines.index("## System Prompt")
    user_start = lines.index("## User Prompt")
    system_lines = lines[system_start + 2 : user_start - 1]
    user_lines = [line for line in lines[user_start + 2 :] if line]
    assert system_lines == ["> Be strict.", ">", "> Score papers."]
    assert user_lines == ["> Papers:", "> [PAPERS]"]


def test_markdown_prompt_appendix_skipped():
    assert "# Paper Selection Prompt" not in render_markdown(make_digest(prompt=None))


# --- JSON -------------------------------------------------------------------------------


def json_digest() -> Digest:
    results = [
        PaperResult(make_paper("2509.00001"), Fate.DROPPED, reason="announce type replace"),
        scored(make_paper("2509.00002", "Low"), 6, 5),
        PaperResult(make_paper("2509.00003"), Fate.UNSCORED, reason="missing from the answer"),
        scored(make_paper("2509.00004", "High"), 9, 9),
        PaperResult(make_paper("2509.00005"), Fate.SCORED, score=Score("2509.00005", 2, 3, "off-topic")),
    ]
    return make_digest(results, warnings=("a warning",), notice="")


def test_json_every_paper_with_fate():
    data = json.loads(render_json(json_digest()))
    fates = {paper["id"]: paper["fate"] for paper in data["papers"]}
    assert fates == {
        "2509.00001": "dropped",
        "2509.00002": "scored",
        "2509.00003": "unscored",
        "2509.00004": "scored",
        "2509.00005": "scored",
    }


def test_json_paper_order():
    data = json.loads(render_json(json_digest()))
    ids = [paper["id"] for paper in data["papers"]]
    assert ids == ["2509.00004", "2509.00002", "2509.00001", "2509.00003", "2509.00005"]


def test_json_header_fields():
    data = json.loads(render_json(json_digest()))
    assert data["date"] == "2025-09-12"
    assert data["cutoffs"] == {"relevance": 6, "novelty": 5}
    assert data["counts"] == {"total": 5, "scanned": 4, "relevant": 2, "unscored": 1, "dropped": 1, "prefiltered": 0}
    assert data["usage"]["total_tokens"] == 55984
    assert data["cost_usd"] == {"prompt": 0.032955, "completion": 0.2962, "total": 0.329155}
    assert data["prompt"]["user_template"] == "Papers:\n[PAPERS]"
    assert data["warnings"] == ["a warning"]


def test_json_paper_fields():
    data = json.loads(render_json(json_digest()))
    first = data["papers"][0]
    assert first["url"] == "https://arxiv.org/abs/2509.00004"
    assert first["relevance"] == 9
    assert first["novelty"] == 9
    assert first["comment"] == "fits"
    assert first["relevant"] is True
    assert first["authors"] == ["Ada Lovelace", "Alan Turing"]


def test_json_unknown_cost_is_null():
    data = json.loads(render_json(make_digest(cost=None, prompt=None)))
    assert data["cost_usd"] is None
    assert data["prompt"] is None


def test_json_keeps_non_ascii():
    text = render_json(make_digest([scored(make_paper("2509.00001", "Schrödinger"), 8, 7)]))
    assert "Schrödinger" in text
    assert text.endswith("}\n")


# --- write_atomic -----------------------------------------------------------------------


def test_write_atomic_creates_file(tmp_path):
    target = tmp_path / "2025-09-12.md"
    write_atomic(target, "# digest\n")
    assert target.read_text(encoding="utf-8") == "# digest\n"
    assert os.listdir(tmp_path) == ["2025-09-12.md"]


def test_write_atomic_replaces_existing(tmp_path):
    target = tmp_path / "2025-09-12.md"
    target.write_text("old", encoding="utf-8")
    write_atomic(target, "new ★\n")
    assert target.read_text(encoding="utf-8") == "new ★\n"
    assert os.listdir(tmp_path) == ["2025-09-12.md"]


def test_write_atomic_removes_temp_on_error(tmp_path, monkeypatch):
    target = tmp_path / "2025-09-12.md"
    target.write_text("old", encoding="utf-8")

    def failing_replace(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        write_atomic(target, "new")
    assert os.listdir(tmp_path) == ["2025-09-12.md"]
    assert target.read_text(encoding="utf-8") == "old"


def test_markdown_empty_selection_is_not_a_heading():
    html = to_html(render_markdown(make_digest(results=())))
    assert "<p>No paper met both cutoffs (relevance ≥ 6, novelty ≥ 5).</p>" in html
    assert "<h2>No paper" not in html


def test_markdown_prefilter_line_is_own_paragraph():
    report = PrefilterReport("keywords", 0.6, 10, 6, 4, followed=1)
    html = to_html(render_markdown(make_digest(prefilter=report)))
    assert (
        "<p>Prefilter (keywords, keeps 60%): 6 of 10 ranked candidates kept for the model, 4 dropped before "
        "scoring; 1 paper by followed authors kept without ranking</p>"
    ) in html


def test_old_keyword_digest_keeps_its_novelty():
    paper = Paper("2509.00001", 1, "T", ("A",), "x", ("cs.LG",), "new")
    result = PaperResult(paper, Fate.SCORED, "", Score("2509.00001", 8, 8, "old"), relevant=True)
    digest = make_digest(results=[result], scorer="keywords")

    markdown = render_markdown(digest)

    assert "**Novelty:** 8" in markdown
    assert "novelty is not assessed" not in markdown
    assert json.loads(render_json(digest))["cutoffs"]["novelty"] == 5
