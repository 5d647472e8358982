"""Parse an rss.arxiv.org RSS 2.0 feed into a Listing. Pure: bytes in, records out, no I/O."""

from __future__ import annotations

import datetime as dt
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from paperdigest.arxiv.xmlparse import html_page_message, parse_xml
from paperdigest.errors import FeedFormatError
from paperdigest.models import ANNOUNCE_TYPES, Listing, Paper
from paperdigest.textclean import strip_unsafe
from paperdigest.tex import decode_tex, split_authors

logger = logging.getLogger(__name__)

NS_ARXIV = "http://arxiv.org/schemas/atom"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_ATOM = "http://www.w3.org/2005/Atom"

# guid: "oai:arXiv.org:2203.01250v3", or an old-style id such as "oai:arXiv.org:hep-th/9901001v2".
_GUID = re.compile(r"oai:arXiv\.org:(?P<id>\S+?)v(?P<version>\d+)")
# description: "arXiv:2203.01250v3 Announce Type: replace-cross \nAbstract: ...". arXiv puts
# a space before the newline, and the pattern also accepts the line without it.
_DESCRIPTION_PREFIX = re.compile(
    r"arXiv:(?P<id>\S+?)v(?P<version>\d+) Announce Type: (?P<type>\S+) ?\r?\nAbstract: ?"
)
_TITLE_CATEGORIES = re.compile(r"(?P<codes>.+?) updates on arXiv\.org")


def feed_url(base_url: str, categories: Sequence[str]) -> str:
    """Build the feed URL for categories, e.g. https://rss.arxiv.org/rss/cs.LG+cs.AI."""
    return base_url.rstrip("/") + "/" + "+".join(categories)


def parse_feed(data: bytes, source: str) -> Listing:
    """Parse the raw bytes of an RSS 2.0 feed from rss.arxiv.org.

    `source` is the URL or file path, used in the Listing and in error messages. Items
    without a usable arXiv id are skipped with one summary warning. Papers that occur
    twice keep their first item.

    Raises FeedFormatError when the bytes are not XML, the root is not <rss> or there
    is no <channel>.
    """
    root = parse_xml(data, source, "an RSS feed")
    if root.tag != "rss":
        if root.tag.rsplit("}", 1)[-1].lower() == "html":
            raise FeedFormatError(html_page_message(source, "an RSS feed"))
        raise FeedFormatError(
            f"{source} is XML but not an RSS feed: the root element is <{root.tag}>, expected <rss>. "
            "Check that the URL or file is an rss.arxiv.org feed."
        )
    channel = root.find("channel")
    if channel is None:
        raise FeedFormatError(
            f"{source} has no <channel> element inside <rss>, so it contains no papers. "
            "Fetch the feed again or check the file."
        )

    items = channel.findall("item")
    feed_categories = _feed_categories(channel)
    papers: dict[str, Paper] = {}
    skipped = 0
    duplicates = 0
    for position, item in enumerate(items, start=1):
        paper = _parse_item(item, feed_categories)
        if paper is None:
            skipped += 1
            logger.debug("%s: item %d has no arXiv id in <guid> or <description>", source, position)
            continue
        if paper.id in papers:
            duplicates += 1
            continue
        papers[paper.id] = paper

    if skipped:
        logger.warning("%s: skipped %d of %d items without an arXiv id", source, skipped, len(items))
    if duplicates:
        logger.debug("%s: ignored %d repeated items", source, duplicates)

    return Listing(
        announced=_announced(channel, source),
        papers=tuple(papers.values()),
        source=source,
        feed_categories=feed_categories,
        reported_count=len(items),
    )


def _text(element: ET.Element | None) -> str:
    if element is None or element.text is None:
        return ""
    return element.text.strip()


def _announced(channel: ET.Element, source: str) -> dt.date | None:
    """Return the announcement date: the date of the channel pubDate in its own offset (New York time)."""
    raw = _text(channel.find("pubDate"))
    if not raw:
        return None
    try:
        return parsedate_to_datetime(raw).date()
    except (TypeError, ValueError) as error:
        raise FeedFormatError(
            f"{source} has an invalid channel <pubDate> {raw!r} ({error}); "
            "expected an RFC 822 date such as 'Thu, 07 Aug 2025 00:00:00 -0400'."
        ) from error


def _feed_categories(channel: ET.Element) -> tuple[str, ...]:
    """Read the categories the feed covers from its link, atom:link or title."""
    atom_link = channel.find(f"{{{NS_ATOM}}}link")
    links = [_text(channel.find("link"))]
    if atom_link is not None:
        links.append(atom_link.get("href", "").strip())
    for link in links:
        path = urlsplit(link).path.rstrip("/")
        if "/" in path:
            codes = path.rsplit("/", 1)[1]
            if codes and codes not in ("rss", "atom"):
                return tuple(code for code in codes.split("+") if code)

    title = _TITLE_CATEGORIES.fullmatch(_text(channel.find("title")))
    if title:
        return tuple(code.strip() for code in title["codes"].split(",") if code.strip())
    return ()


def _parse_item(item: ET.Element, feed_categories: tuple[str, ...]) -> Paper | None:
    description = item.findtext("description") or ""
    prefix = _DESCRIPTION_PREFIX.match(description)
    identity = _GUID.fullmatch(_text(item.find("guid"))) or prefix
    if identity is None:
        return None
    version = int(identity["version"])

    categories = tuple(_text(element) for element in item.findall("category") if _text(element))
    announce_type = _text(item.find(f"{{{NS_ARXIV}}}announce_type"))
    if announce_type not in ANNOUNCE_TYPES and prefix is not None:
        announce_type = prefix["type"]
    if announce_type not in ANNOUNCE_TYPES:
        announce_type = _infer_announce_type(categories, feed_categories, version)

    abstract = description[prefix.end():] if prefix else description
    creator = item.findtext(f"{{{NS_DC}}}creator")
    if creator is None:
        # A feed that declares Dublin Core under another namespace URI still names the element "creator".
        creator = next((child.text or "" for child in item if child.tag.rsplit("}", 1)[-1] == "creator"), "")
    return Paper(
        id=identity["id"],
        version=version,
        title=strip_unsafe(" ".join((item.findtext("title") or "").split())),
        authors=tuple(strip_unsafe(decode_tex(name)) for name in split_authors(creator)),
        abstract=strip_unsafe(abstract.strip()),
        categories=categories,
        announce_type=announce_type,
    )


def _infer_announce_type(categories: Sequence[str], feed_categories: Sequence[str], version: int) -> str:
    """Guess the announce type of an item that states none, from its primary category and version."""
    folded = {code.casefold() for code in feed_categories}
    primary_in_feed = not folded or (bool(categories) and categories[0].casefold() in folded)
    if version > 1:
        return "replace" if primary_in_feed else "replace-cross"
    return "new" if primary_in_feed else "cross"
