"""Large RSS 2.0 feeds for the scaling benchmark, built from real arXiv listings.

The papers (titles, authors, abstracts, categories) come from the JSONL listings under
SHARED/data/arxiv/listings, or, without that folder, from the feeds in tests/fixtures/rss.
They are repeated as often as needed, and every copy gets a new unique arXiv id.
"""

from __future__ import annotations

import importlib.util
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from paperdigest.arxiv.rss import parse_feed
from paperdigest.arxiv.taxonomy import canonical_category

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE_FEEDS = REPO_ROOT / "tests" / "fixtures" / "rss"
PUB_DATE = "Fri, 12 Sep 2025 00:00:00 -0400"
LAST_BUILD_DATE = "Fri, 12 Sep 2025 04:00:00 +0000"


def _load_fixture_tools():
    """Import tools/build_fixtures.py, which is a script and not part of the package."""
    spec = importlib.util.spec_from_file_location("build_fixtures", REPO_ROOT / "tools" / "build_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class SourcePaper:
    title: str
    authors: tuple[str, ...]
    abstract: str
    categories: tuple[str, ...]  # known arXiv codes, primary first


def papers_from_listings(listings_dir: Path) -> list[SourcePaper]:
    """Read every *.jsonl listing in the folder, one paper per arXiv id (first copy wins)."""
    seen: set[str] = set()
    papers = []
    for path in sorted(listings_dir.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if not line.strip():
                    continue
                row = json.loads(line)
                if row["id"] in seen:
                    continue
                seen.add(row["id"])
                categories = _known_categories(row.get("categories", []), row.get("primary_category"))
                if not categories:
                    continue
                papers.append(
                    SourcePaper(
                        title=" ".join(row["title"].split()),
                        authors=tuple(row["authors"]),
                        abstract=re.sub(r"\s+", " ", row["summary"]).strip(),
                        categories=categories,
                    )
                )
    return papers


def papers_from_fixtures(folder: Path = FIXTURE_FEEDS) -> list[SourcePaper]:
    """Read the papers of the recorded feeds in tests/fixtures/rss, one per arXiv id."""
    seen: set[str] = set()
    papers = []
    for path in sorted(folder.glob("*/*.xml")):
        for paper in parse_feed(path.read_bytes(), str(path)).papers:
            if paper.id in seen:
                continue
            seen.add(paper.id)
            categories = _known_categories(list(paper.categories), None)
            if categories:
                papers.append(SourcePaper(paper.title, paper.authors, paper.abstract, categories))
    return papers


def _known_categories(raw: list[str], primary: str | None) -> tuple[str, ...]:
    codes = [canonical_category(code) for code in raw]
    known = [code for code in codes if code is not None]
    primary_code = canonical_category(primary) if primary else None
    if primary_code is not None:
        known = [primary_code, *[code for code in known if code != primary_code]]
    return tuple(dict.fromkeys(known))


def write_feed(papers: list[SourcePaper], count: int, path: Path) -> tuple[str, ...]:
    """Write a feed of `count` papers, repeating `papers` with fresh ids; return its categories.

    Every paper is announced as new on 2025-09-12. The feed's categories are all those that
    its papers' primary categories use, so a config that follows them keeps every paper.
    """
    if not papers:
        raise ValueError("no source papers to build a feed from")
    tools = _load_fixture_tools()
    chosen = [papers[i % len(papers)] for i in range(count)]
    feed_categories = tuple(sorted({paper.categories[0] for paper in chosen}))
    rss, channel = tools.build_channel(list(feed_categories), PUB_DATE, LAST_BUILD_DATE)
    for number, paper in enumerate(chosen):
        # Ids 2509.10000 and up: arXiv's five-digit form, unique within the feed.
        paper_id = f"2509.{10000 + number:05d}"
        tools.add_item(
            channel,
            paper_id=paper_id,
            version=1,
            title=paper.title,
            description=f"arXiv:{paper_id}v1 Announce Type: new \nAbstract: {paper.abstract}",
            announce_type="new",
            categories=list(paper.categories),
            pub_date=PUB_DATE,
            creator=", ".join(paper.authors),
        )
    ET.indent(rss, space="  ")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(ET.tostring(rss, encoding="utf-8", xml_declaration=True) + b"\n")
    return feed_categories
