"""Render a Digest as Markdown (jinja2 template) and as JSON.

Every text that comes from arXiv or from the model passes one of the escaping filters
below, so a title, author, comment or abstract renders as literal text. It cannot open a
link, raw HTML, a table cell, emphasis or a new block.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import urllib.parse
from collections import Counter

import jinja2

from paperdigest.cost import format_cost_cells
from paperdigest.models import Cost, Digest, Fate, PaperResult, PrefilterReport, Usage, offline_label

logger = logging.getLogger(__name__)

LLM_SCORER = "openai"
TEMPLATE_NAME = "digest.md.j2"

# ASCII punctuation that can start Markdown syntax in running text. "~" is here for
# GitHub's strikethrough. "&" and "$" get their own treatment in _escape_plain.
_MD_PUNCTUATION = frozenset("\\`*_[]<>|#~")

# Inside a kept math span these become LaTeX for the same symbol, so a renderer without
# math support still parses no HTML tag and no entity.
# NOTE: "*" and "_" stay raw inside math, so a renderer without math support may show
# emphasis between two math spans, as in "$a_1$ and $b_2$".
_MATH_REPLACEMENTS = {"<": r"\lt ", ">": r"\gt ", "&": r"\&"}


# --- escaping -----------------------------------------------------------------------------


def escape_md_inline(text: str) -> str:
    """Escape a title, author name, comment or id for use inside a Markdown line.

    Newlines and runs of whitespace collapse to one space. Markdown punctuation is
    backslash-escaped and "&" becomes "&amp;". Matched `$...$` or `$$...$$` pairs stay,
    so GitHub can render the math. An unmatched "$" is escaped and so is every other "$"
    of the text (see _find_math_spans).
    """
    flat = " ".join(str(text).split())
    spans = _find_math_spans(flat)
    if spans is None:
        return _escape_plain(flat)

    pieces: list[str] = []
    position = 0
    for start, end, delimiter in spans:
        pieces.append(_escape_plain(flat[position:start]))
        content = flat[start + len(delimiter) : end - len(delimiter)]
        pieces.append(delimiter + _escape_math(content) + delimiter)
        position = end
    pieces.append(_escape_plain(flat[position:]))
    return "".join(pieces)


def escape_md_block(text: str) -> str:
    """Escape an abstract for a Markdown paragraph that a label such as "**Abstract:**" opens.

    The guarantees are those of escape_md_inline. Because newlines collapse to spaces, the
    text stays on the label's line and cannot start a heading, list, quote or table.
    """
    return escape_md_inline(text)


def escape_md_cell(text: str) -> str:
    """Escape a value for a Markdown table cell: every "$" too, because a cell contains no math."""
    return _escape_plain(" ".join(str(text).split()))


def format_code_span(text: str) -> str:
    """Wrap text in a code span whose fence is longer than any backtick run inside it."""
    flat = " ".join(str(text).split())
    longest_run = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest_run + 1)
    if longest_run:
        return f"{fence} {flat} {fence}"
    return f"{fence}{flat}{fence}"


def quote_url(url: str) -> str:
    """Percent-encode characters that could end a Markdown link destination early."""
    return urllib.parse.quote(str(url), safe=":/?#=&%+~.-_")


def format_blockquote(text: str) -> str:
    """Prefix every line with "> ", and a blank line with ">" alone.

    Markdown in the prompt (headings, lists) stays, but "<" becomes "&lt;" so that a tag the
    prompt mentions, such as <paper>, shows as text instead of being read as raw HTML.
    """
    lines = str(text).replace("&", "&amp;").replace("<", "&lt;").strip("\n").splitlines() or [""]
    return "\n".join(f"> {line}" if line.strip() else ">" for line in lines)


def _escape_plain(text: str) -> str:
    pieces = []
    for char in text:
        if char in _MD_PUNCTUATION or char == "$":
            pieces.append("\\" + char)
        elif char == "&":
            pieces.append("&amp;")
        else:
            pieces.append(char)
    return "".join(pieces)


def _escape_math(content: str) -> str:
    return "".join(_MATH_REPLACEMENTS.get(char, char) for char in content)


def _find_math_spans(text: str) -> list[tuple[int, int, str]] | None:
    """Return (start, end, delimiter) of each math span, or None to treat all "$" as text.

    A "$" right after a backslash is TeX's literal dollar and no delimiter. The remaining
    delimiters ("$$" or "$") must pair up in order with the same kind. A "$" span must
    not start or end with a space, as on GitHub, so "$5 and $10" stays text. A span that
    could still build a link or code span in a renderer without math support (unbalanced
    brackets, "](", a backtick) also makes the whole text plain.
    """
    delimiters: list[tuple[int, str]] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "$":
            delimiter = "$$" if text.startswith("$$", index) else "$"
            delimiters.append((index, delimiter))
            index += len(delimiter)
            continue
        index += 1

    if len(delimiters) % 2:
        return None

    spans = []
    for (start, opening), (close, closing) in zip(delimiters[::2], delimiters[1::2]):
        if opening != closing:
            return None
        content = text[start + len(opening) : close]
        if not _is_safe_math(content, opening):
            return None
        spans.append((start, close + len(closing), opening))
    return spans


def _is_safe_math(content: str, delimiter: str) -> bool:
    if not content.strip():
        return False
    if delimiter == "$" and content != content.strip():
        return False
    if "`" in content or "](" in content:
        return False
    depth = 0
    for char in content:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


# --- Markdown -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("paperdigest", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Markdown: the filters below do the escaping
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["md_inline"] = escape_md_inline
    environment.filters["md_block"] = escape_md_block
    environment.filters["md_cell"] = escape_md_cell
    environment.filters["code_span"] = format_code_span
    environment.filters["blockquote"] = format_blockquote
    environment.filters["url"] = quote_url
    environment.filters["thousands"] = "{:,}".format
    return environment


def render_markdown(digest: Digest) -> str:
    """Render the digest as a Markdown document. An empty day still gives a full document."""
    template = _environment().get_template(TEMPLATE_NAME)
    return template.render(**digest_context(digest))


def digest_context(digest: Digest) -> dict:
    if digest.scorer != LLM_SCORER:
        model_label = offline_label(digest.scorer)
        usage = Usage()
        cost_cells = format_cost_cells(Cost(prompt=0.0, completion=0.0))
    else:
        model_label = digest.model
        usage = digest.usage
        cost_cells = format_cost_cells(digest.cost)

    selected = digest.selected
    return {
        "date": digest.date.isoformat(),
        "model_label": model_label,
        "usage": usage,
        "cost_cells": cost_cells,
        "total_papers": digest.total_papers,
        "scanned_count": len(digest.scanned),
        "selected_count": len(selected),
        "source": digest.source,
        "categories": digest.categories,
        "notice": digest.notice,
        "warnings": digest.warnings,
        "dropped_summary": _dropped_summary(digest.results),
        "papers": [_paper_view(number, result) for number, result in enumerate(selected, 1)],
        "unscored": digest.unscored,
        "relevance_cutoff": digest.relevance_cutoff,
        "novelty_cutoff": digest.novelty_cutoff,
        "novelty_assessed": digest.novelty_assessed,
        "prefilter": digest.prefilter,
        "prompt": digest.prompt,
    }


def _paper_view(number: int, result: PaperResult) -> dict:
    return {
        "number": number,
        "anchor": f"paper-{number}",
        "paper": result.paper,
        "result": result,
        "score": result.score,
    }


def _dropped_summary(results: tuple[PaperResult, ...]) -> list[tuple[int, str]]:
    """Count dropped papers per rule reason: most frequent first, then by reason."""
    counts = Counter(r.reason or "no reason given" for r in results if r.fate is Fate.DROPPED)
    return sorted(((count, reason) for reason, count in counts.items()), key=lambda item: (-item[0], item[1]))


# --- JSON ---------------------------------------------------------------------------------


def render_json(digest: Digest) -> str:
    """Render every paper of the listing with its fate as indented JSON, ending in a newline.

    Papers come in digest order (the selected ones), then the rest in listing order.
    """
    return json.dumps(digest_to_dict(digest), ensure_ascii=False, indent=2) + "\n"


def digest_to_dict(digest: Digest) -> dict:
    """Build the plain dict behind render_json."""
    selected = digest.selected
    selected_ids = {result.paper.id for result in selected}
    rest = [result for result in digest.results if result.paper.id not in selected_ids]
    usage = digest.usage
    dropped = [result for result in digest.results if result.fate is Fate.DROPPED]

    return {
        "date": digest.date.isoformat(),
        "model": digest.model,
        "scorer": digest.scorer,
        "categories": list(digest.categories),
        "source": digest.source,
        "notice": digest.notice,
        "warnings": list(digest.warnings),
        "cutoffs": {"relevance": digest.relevance_cutoff, "novelty": digest.novelty_cutoff if digest.novelty_assessed else None},
        "usage": {
            "prompt_tokens": usage.prompt_tokens,
            "cached_prompt_tokens": usage.cached_prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
            "requests": usage.requests,
        },
        "cost_usd": _cost_to_dict(digest.cost),
        "counts": {
            "total": digest.total_papers,
            "scanned": len(digest.scanned),
            "relevant": len(selected),
            "unscored": len(digest.unscored),
            "dropped": len(dropped),
            "prefiltered": len(digest.prefiltered),
        },
        "prefilter": _prefilter_to_dict(digest.prefilter),
        "papers": [_result_to_dict(result) for result in (*selected, *rest)],
        "prompt": _prompt_to_dict(digest),
    }


def _prefilter_to_dict(report: PrefilterReport | None) -> dict | None:
    if report is None:
        return None
    return {
        "method": report.method,
        "keep": report.keep,
        "ranked": report.ranked,
        "kept": report.kept,
        "dropped": report.dropped,
        "followed": report.followed,
        "cached": report.cached,
    }


def _cost_to_dict(cost: Cost | None) -> dict | None:
    if cost is None:
        return None
    # Rounded to a millionth of a dollar so float noise such as 0.32915499999999997 stays out.
    return {
        "prompt": round(cost.prompt, 6),
        "completion": round(cost.completion, 6),
        "total": round(cost.total, 6),
    }


def _prompt_to_dict(digest: Digest) -> dict | None:
    if digest.prompt is None:
        return None
    return {"system": digest.prompt.system, "user_template": digest.prompt.user_template}


def _result_to_dict(result: PaperResult) -> dict:
    paper = result.paper
    score = result.score
    return {
        "id": paper.id,
        "version": paper.version,
        "url": paper.abs_url,
        "title": paper.title,
        "authors": list(paper.authors),
        "abstract": paper.abstract,
        "categories": list(paper.categories),
        "announce_type": paper.announce_type,
        "fate": result.fate.value,
        "reason": result.reason,
        "followed": result.followed,
        "followed_authors": list(result.followed_authors),
        "relevant": result.relevant,
        "relevance": score.relevance if score else None,
        "novelty": score.novelty if score else None,
        "comment": score.comment if score else None,
        "rank": score.rank if score else None,
    }
