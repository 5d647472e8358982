"""Parse one page of an arXiv API (export.arxiv.org/api/query) Atom response. Pure: bytes in, records out.

Both response formats that the API has served parse: the legacy one (namespaces declared on
each element, hard-wrapped titles and summaries) and the current one (namespaces declared once
on <feed>, mostly single-line summaries). The Atom <summary> becomes Paper.abstract here.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from paperdigest.arxiv.xmlparse import html_page_message, parse_xml
from paperdigest.errors import FeedFormatError
from paperdigest.models import Paper
from paperdigest.textclean import strip_unsafe
from paperdigest.tex import decode_tex

logger = logging.getLogger(__name__)

NS_ATOM = "http://www.w3.org/2005/Atom"
NS_ARXIV = "http://arxiv.org/schemas/atom"
NS_OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"

_FEED = f"{{{NS_ATOM}}}feed"
_ENTRY = f"{{{NS_ATOM}}}entry"

# Entry id: "http://arxiv.org/abs/2509.09001v1", or an old-style "http://arxiv.org/abs/hep-th/9901001v2".
_ENTRY_ID = re.compile(r"https?://arxiv\.org/abs/(?P<id>\S+?)v(?P<version>\d+)")
# The API reports a bad request as an entry with an id such as
# "https://arxiv.org/api/errors#incorrect_id_format_for_abc".
_ERROR_ID = re.compile(r"https?://arxiv\.org/api/errors\b")
# arXiv category codes: an archive such as "astro-ph" or "cs", optionally followed by a subject
# class such as ".AI" or ".mes-hall". ACM classes ("I.2.7") and MSC classes ("68T07 (Primary)")
# that the legacy API put into <category term> do not match.
_CATEGORY = re.compile(r"[a-z]+(?:-[a-z]+)?(?:\.[A-Za-z]+(?:-[a-z]+)?)?")


@dataclass(frozen=True, slots=True)
class ApiPage:
    """One page of API results, with the OpenSearch counts that drive paging."""

    papers: tuple[Paper, ...]  # in feed order, de-duplicated by id
    total_results: int | None  # opensearch:totalResults of the whole query, or None when absent
    start_index: int | None  # opensearch:startIndex, 0-based
    items_per_page: int | None  # opensearch:itemsPerPage, the max_results of the request
    entry_count: int = 0  # <entry> elements on the page, including skipped and repeated ones


def parse_api_page(data: bytes, source: str, categories: Sequence[str]) -> ApiPage:
    """Parse the raw bytes of one arXiv API response page.

    `source` is the URL or file path, used in error messages. `categories` are the requested
    categories: a paper whose primary category is among them gets announce type "new", any
    other paper "cross". The API cannot tell replacements apart, so "replace" never occurs.
    Entries without a versioned arXiv id are skipped with one summary warning.

    Raises FeedFormatError when the bytes are not XML or the root is not an Atom <feed>. It also
    raises FeedFormatError with the API's message when the feed is the API's error report.
    """
    root = parse_xml(data, source, "an arXiv API response")
    if root.tag != _FEED:
        if root.tag.rsplit("}", 1)[-1].lower() == "html":
            raise FeedFormatError(html_page_message(source, "an arXiv API response"))
        raise FeedFormatError(
            f"{source} is XML but not an arXiv API response: the root element is <{root.tag}>, "
            "expected an Atom <feed>. Check that the URL points at the arXiv API query endpoint."
        )

    entries = root.findall(_ENTRY)
    error_message = _error_message(entries)
    if error_message is not None:
        raise FeedFormatError(
            f"the arXiv API rejected the request {source}: {error_message}. "
            "Check the category codes and the query syntax."
        )

    requested = {code.casefold() for code in categories}
    papers: dict[str, Paper] = {}
    skipped = 0
    for position, entry in enumerate(entries, start=1):
        paper = _parse_entry(entry, requested)
        if paper is None:
            skipped += 1
            logger.debug("%s: entry %d has no versioned arXiv id in <id>", source, position)
            continue
        papers.setdefault(paper.id, paper)

    if skipped:
        logger.warning("%s: skipped %d of %d entries without an arXiv id", source, skipped, len(entries))

    return ApiPage(
        papers=tuple(papers.values()),
        total_results=_opensearch_int(root, "totalResults", source),
        start_index=_opensearch_int(root, "startIndex", source),
        items_per_page=_opensearch_int(root, "itemsPerPage", source),
        entry_count=len(entries),
    )


def api_error_message(data: bytes) -> str | None:
    """Return the message of the API's error entry in `data`, or None when `data` is no error feed.

    The API responds to a rejected request with HTTP 400 and an Atom feed whose only entry has
    an id under https://arxiv.org/api/errors and the message as its summary.
    """
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return None
    return _error_message(root.findall(_ENTRY))


def _error_message(entries: Sequence[ET.Element]) -> str | None:
    for entry in entries:
        entry_id = _text(entry.find(f"{{{NS_ATOM}}}id"))
        if _ERROR_ID.match(entry_id):
            return _collapse(entry.findtext(f"{{{NS_ATOM}}}summary") or "") or entry_id
    return None


def _opensearch_int(root: ET.Element, name: str, source: str) -> int | None:
    raw = _text(root.find(f"{{{NS_OPENSEARCH}}}{name}"))
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        logger.warning("%s: ignoring opensearch:%s %r, which is not an integer", source, name, raw)
        return None


def _parse_entry(entry: ET.Element, requested: set[str]) -> Paper | None:
    identity = _ENTRY_ID.fullmatch(_text(entry.find(f"{{{NS_ATOM}}}id")))
    if identity is None:
        return None

    categories = _categories(entry)
    primary = categories[0].casefold() if categories else ""
    primary_requested = not requested or (bool(primary) and (primary in requested or primary.partition(".")[0] in requested))
    # Only <name> is read, so <arxiv:affiliation> inside <author> is dropped. API names are
    # Unicode already, and decode_tex leaves them unchanged unless they carry TeX escapes.
    authors = tuple(
        decode_tex(_collapse(author.findtext(f"{{{NS_ATOM}}}name") or ""))
        for author in entry.findall(f"{{{NS_ATOM}}}author")
    )
    return Paper(
        id=identity["id"],
        version=int(identity["version"]),
        title=strip_unsafe(_collapse(entry.findtext(f"{{{NS_ATOM}}}title") or "")),
        authors=tuple(strip_unsafe(name) for name in authors if name),
        abstract=strip_unsafe(_collapse(entry.findtext(f"{{{NS_ATOM}}}summary") or "")),
        categories=categories,
        announce_type="new" if primary_requested else "cross",
    )


def _categories(entry: ET.Element) -> tuple[str, ...]:
    """Return the arXiv category codes of an entry, primary first, without ACM or MSC classes."""
    primary = entry.find(f"{{{NS_ARXIV}}}primary_category")
    terms = [primary.get("term", "") if primary is not None else ""]
    terms += [element.get("term", "") for element in entry.findall(f"{{{NS_ATOM}}}category")]

    codes: list[str] = []
    for term in terms:
        term = term.strip()
        if _CATEGORY.fullmatch(term) and term not in codes:
            codes.append(term)
    return tuple(codes)


def _text(element: ET.Element | None) -> str:
    if element is None or element.text is None:
        return ""
    return element.text.strip()


def _collapse(text: str) -> str:
    """Join hard-wrapped lines and runs of spaces into single spaces."""
    return " ".join(text.split())
