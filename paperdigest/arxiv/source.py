"""Load one announcement's listing from saved feed files or from rss.arxiv.org."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from paperdigest.arxiv.client import fetch_url
from paperdigest.arxiv.rss import feed_url, parse_feed
from paperdigest.errors import FeedFormatError, FetchError
from paperdigest.models import Listing, Paper

logger = logging.getLogger(__name__)

_DATE_FOLDER = re.compile(r"\d{4}-\d{2}-\d{2}")


def load_listing(
    categories: Sequence[str],
    *,
    source: Path | None,
    rss_base_url: str,
    timeout: float,
    user_agent: str,
    save_dir: Path | None = None,
) -> Listing:
    """Return the papers of the configured categories from saved feeds or one HTTP request.

    With `source`, read that feed file, or every *.xml file directly inside that folder.
    Without it, fetch feed_url(rss_base_url, categories) and, when `save_dir` is given,
    save the raw bytes there as "<categories joined by +>.xml". Papers that have none of
    `categories` are dropped. When the feeds cover other categories than the configured
    ones, announce types are recomputed relative to `categories`.

    Raises FetchError for a missing path or a failed download, and FeedFormatError for a
    feed that cannot be parsed or files with different announcement dates.
    """
    if not categories:
        raise ValueError("load_listing needs at least one category")

    if source is not None:
        source = Path(source)
        listings = [parse_feed(path.read_bytes(), str(path)) for path in feed_files(source)]
        origin = str(source)
    else:
        url = feed_url(rss_base_url, categories)
        data = fetch_url(url, timeout=timeout, user_agent=user_agent)
        if save_dir is not None:
            save_feed(data, Path(save_dir) / f"{'+'.join(categories)}.xml")
        listings = [parse_feed(data, url)]
        origin = url

    return select_categories(merge_listings(listings, origin), categories)


def feed_files(source: Path) -> list[Path]:
    """List the feed files to read: `source` itself, or the *.xml files directly inside it, by name.

    Subfolders, such as dated ones that `paperdigest fetch` creates, are not read.
    """
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise FetchError(
            f"feed source {source} does not exist. Run `paperdigest fetch --out DIR` first "
            "and pass that folder or one of its .xml files."
        )

    files = sorted(path for path in source.glob("*.xml") if path.is_file())
    if not files:
        dated = sorted(path.name for path in source.iterdir() if path.is_dir() and _DATE_FOLDER.fullmatch(path.name))
        hint = f" It has dated subfolders ({', '.join(dated)}); pass one of them." if dated else ""
        raise FetchError(
            f"feed folder {source} contains no .xml files.{hint} "
            "Run `paperdigest fetch --out DIR` first to save a feed there."
        )
    return files


def save_feed(data: bytes, path: Path) -> None:
    """Write the raw feed bytes to `path` atomically (temporary file, then os.replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False)
    temp_path = Path(handle.name)
    try:
        with handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_path, 0o644)
        os.replace(temp_path, path)
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise
    logger.info("saved feed to %s (%d bytes)", path, len(data))


def merge_listings(listings: Sequence[Listing], source: str) -> Listing:
    """Merge the listings of several feeds of one announcement; the first copy of a paper wins.

    Raises FeedFormatError when the feeds carry different announcement dates.
    """
    dates = {listing.source: listing.announced for listing in listings if listing.announced is not None}
    if len(set(dates.values())) > 1:
        found = ", ".join(f"{name}: {date.isoformat()}" for name, date in dates.items())
        raise FeedFormatError(
            f"the feeds in {source} are from different announcements ({found}). "
            "Keep only the files of one day in the folder."
        )

    papers: dict[str, Paper] = {}
    feed_categories: list[str] = []
    warnings: list[str] = []
    for listing in listings:
        if listing.reported_count is not None and listing.reported_count != len(listing.papers):
            message = f"the feed {listing.source} has {listing.reported_count} items, but {len(listing.papers)} papers were parsed from it"
            logger.warning(message)
            warnings.append(message)
        for paper in listing.papers:
            papers.setdefault(paper.id, paper)
        for code in listing.feed_categories:
            if code not in feed_categories:
                feed_categories.append(code)

    logger.debug("%s: %d papers after merging %d feeds", source, len(papers), len(listings))
    return Listing(
        announced=next(iter(dates.values()), None),
        papers=tuple(papers.values()),
        source=source,
        feed_categories=tuple(feed_categories),
        reported_count=len(papers),
        warnings=tuple(warnings),
    )


def select_categories(listing: Listing, categories: Sequence[str]) -> Listing:
    """Keep the papers with at least one of `categories`, with announce types relative to them.

    Category codes match case-insensitively, and an archive code such as "cs" or "math" matches
    every category of that archive ("cs.LG", "cs.AI"), as the feed of an archive does.
    reported_count stays the count before the filter.
    """
    wanted = {code.casefold() for code in categories}
    covered = {code.casefold() for code in listing.feed_categories}
    if covered:
        missing = [code for code in categories if not in_categories(code.casefold(), covered)]
        if missing:
            logger.warning(
                "%s does not cover %s; papers listed only there are missing from this run",
                listing.source,
                ", ".join(missing),
            )

    recompute = covered != wanted
    kept = []
    for paper in listing.papers:
        if not any(in_categories(code.casefold(), wanted) for code in paper.categories):
            continue
        if recompute:
            paper = dataclasses.replace(paper, announce_type=_relative_announce_type(paper, wanted))
        kept.append(paper)

    logger.debug("%s: kept %d of %d papers in %s", listing.source, len(kept), len(listing.papers), ", ".join(categories))
    return dataclasses.replace(listing, papers=tuple(kept))


def in_categories(code: str, wanted: set[str]) -> bool:
    """True when `code` (casefolded) is one of `wanted` or belongs to a wanted archive."""
    return code in wanted or code.partition(".")[0] in wanted


def _relative_announce_type(paper: Paper, wanted: set[str]) -> str:
    """Return new/replace when the primary category is wanted, else cross/replace-cross."""
    is_replacement = paper.announce_type.startswith("replace")
    if in_categories(paper.primary_category.casefold(), wanted):
        return "replace" if is_replacement else "new"
    return "replace-cross" if is_replacement else "cross"
