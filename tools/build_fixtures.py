"""Rebuild the test and example fixtures from the shared arXiv data folder.

Usage: python tools/build_fixtures.py DATA_DIR

DATA_DIR is the folder that contains data/arxiv/ and tiktoken/. The script writes
tests/fixtures/{rss,api,tiktoken}/ and examples/2025-09-12/ below the repository root.
It is the only code in the project that reads DATA_DIR, and it is not part of the package.

DATA_DIR contains no whole raw rss.arxiv.org feed. The RSS fixtures are therefore rebuilt in
the RSS 2.0 form that rss.arxiv.org serves, with the element order and envelope of arXiv's RSS
specification. Their content is real and comes from feedparser JSON dumps and daily listings.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures"
EXAMPLES = REPO_ROOT / "examples"

NS_ATOM = "http://www.w3.org/2005/Atom"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_ARXIV = "http://arxiv.org/schemas/atom"
ET.register_namespace("atom", NS_ATOM)
ET.register_namespace("dc", NS_DC)
ET.register_namespace("arxiv", NS_ARXIV)

# arXiv category codes such as "cs.LG", "hep-th", "math-ph", "q-bio.NC". Listings built from
# the arXiv API also carry ACM and MSC class strings ("I.2.7", "68T07 (Primary)"), which do not match.
ARXIV_CATEGORY = re.compile(r"[a-z][a-z-]*(\.[A-Za-z][A-Za-z-]*)?")
GUID = re.compile(r"oai:arXiv\.org:(?P<id>.+)v(?P<version>\d+)$")
DESCRIPTION_PREFIX = re.compile(r"arXiv:(?P<vid>\S+) Announce Type: (?P<type>\S+) \nAbstract: ")


def arxiv_categories(raw: list[str]) -> list[str]:
    return [term for term in raw if ARXIV_CATEGORY.fullmatch(term)]


def build_channel(feed_categories: list[str], pub_date: str, last_build_date: str) -> tuple[ET.Element, ET.Element]:
    """Build the <rss> root and its <channel> with arXiv's envelope, items not yet added."""
    joined = "+".join(feed_categories)
    listed = ", ".join(feed_categories)
    url = f"http://rss.arxiv.org/rss/{joined}"

    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = f"{listed} updates on arXiv.org"
    ET.SubElement(channel, "link").text = url
    ET.SubElement(channel, "description").text = f"{listed} updates on the arXiv.org e-print archive."
    ET.SubElement(channel, f"{{{NS_ATOM}}}link", {"href": url, "rel": "self", "type": "application/rss+xml"})
    ET.SubElement(channel, "docs").text = "http://www.rssboard.org/rss-specification"
    ET.SubElement(channel, "language").text = "en-us"
    ET.SubElement(channel, "lastBuildDate").text = last_build_date
    ET.SubElement(channel, "managingEditor").text = "rss-help@arxiv.org"
    ET.SubElement(channel, "pubDate").text = pub_date
    skip_days = ET.SubElement(channel, "skipDays")
    ET.SubElement(skip_days, "day").text = "Saturday"
    ET.SubElement(skip_days, "day").text = "Sunday"
    return rss, channel


def add_item(
    channel: ET.Element,
    *,
    paper_id: str,
    version: int,
    title: str,
    description: str,
    announce_type: str,
    categories: list[str],
    pub_date: str,
    creator: str,
) -> None:
    """Append one <item> in arXiv's element order. dc:rights is omitted because no source records it."""
    item = ET.SubElement(channel, "item")
    ET.SubElement(item, "title").text = title
    ET.SubElement(item, "link").text = f"https://arxiv.org/abs/{paper_id}"
    ET.SubElement(item, "description").text = description
    ET.SubElement(item, "guid", {"isPermaLink": "false"}).text = f"oai:arXiv.org:{paper_id}v{version}"
    for category in categories:
        ET.SubElement(item, "category").text = category
    ET.SubElement(item, "pubDate").text = pub_date
    ET.SubElement(item, f"{{{NS_ARXIV}}}announce_type").text = announce_type
    ET.SubElement(item, f"{{{NS_DC}}}creator").text = creator


def write_feed(rss: ET.Element, path: Path) -> None:
    # ElementTree declares the atom, dc and arxiv prefixes on <rss> because the items use them.
    ET.indent(rss, space="  ")
    path.parent.mkdir(parents=True, exist_ok=True)
    data = ET.tostring(rss, encoding="utf-8", xml_declaration=True)
    path.write_bytes(data + b"\n")
    print(f"wrote {path.relative_to(REPO_ROOT)} ({len(data)} bytes)")


def load_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def build_2025_08_07(data_dir: Path) -> None:
    """Rebuild both feeds of Thu 2025-08-07 from the feedparser dump, with categories from the listing."""
    arxiv_dir = data_dir / "data" / "arxiv"
    dump = json.loads((arxiv_dir / "rss" / "feedparser-json" / "dzdydx-rss_cache-2025-08-07.json").read_text("utf-8"))
    listing = {
        row["id"]: row for row in load_jsonl(arxiv_dir / "listings" / "2025-08-07.xmkxabc-InsightArxiv.all-cs.jsonl")
    }

    missing = 0
    for url, feed in dump.items():
        feed_categories = url.rsplit("/", 1)[1].split("+")
        rss, channel = build_channel(feed_categories, feed["feed"]["published"], feed["feed"]["updated"])
        for entry in feed["entries"]:
            guid = GUID.match(entry["id"])
            prefix = DESCRIPTION_PREFIX.match(entry["summary"])
            if guid is None or prefix is None:
                raise SystemExit(f"unexpected entry in {url}: id {entry['id']!r}")
            paper_id = guid["id"]
            announce_type = prefix["type"]

            row = listing.get(paper_id)
            if row is not None:
                # The listing sorts categories alphabetically, so put its primary_category first.
                others = [c for c in arxiv_categories(row["categories"]) if c != row["primary_category"]]
                categories = [row["primary_category"], *others]
            else:
                # NOTE: a guess. The primary category is right only for new and replace items.
                missing += 1
                categories = [feed_categories[0]]

            add_item(
                channel,
                paper_id=paper_id,
                version=int(guid["version"]),
                title=entry["title"],
                description=entry["summary"],
                announce_type=announce_type,
                categories=categories,
                pub_date=entry["published"],
                creator=entry["author"],
            )
        write_feed(rss, FIXTURES / "rss" / "2025-08-07" / f"{'+'.join(feed_categories)}.xml")
    print(f"2025-08-07: {missing} papers missing from the listing; categories guessed from the feed")


def build_2025_09_12(data_dir: Path) -> None:
    """Reconstruct the cs.LG+cs.AI+cs.CL feed of Fri 2025-09-12 from a new+cross listing."""
    feed_categories = ["cs.LG", "cs.AI", "cs.CL"]
    pub_date = "Fri, 12 Sep 2025 00:00:00 -0400"
    # Chosen, not recorded. The recorded 2025-08-07 feeds were built at 04:02 and 04:25 UTC.
    last_build_date = "Fri, 12 Sep 2025 04:00:00 +0000"

    rows = load_jsonl(data_dir / "data" / "arxiv" / "listings" / "2025-09-12.Tensionteng-daily-arXiv-ai-enhanced.jsonl")
    rss, channel = build_channel(feed_categories, pub_date, last_build_date)
    seen: set[str] = set()
    for row in rows:
        if row["id"] in seen:
            continue
        seen.add(row["id"])
        categories = arxiv_categories(row["categories"])
        announce_type = "new" if categories[0] in feed_categories else "cross"
        abstract = re.sub(r"\s*\n\s*", " ", row["summary"]).strip()
        add_item(
            channel,
            paper_id=row["id"],
            version=1,
            title=" ".join(row["title"].split()),
            description=f"arXiv:{row['id']}v1 Announce Type: {announce_type} \nAbstract: {abstract}",
            announce_type=announce_type,
            categories=categories,
            pub_date=pub_date,
            creator=", ".join(row["authors"]),
        )
    name = f"{'+'.join(feed_categories)}.xml"
    target = FIXTURES / "rss" / "2025-09-12" / name
    write_feed(rss, target)
    (EXAMPLES / "2025-09-12").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(target, EXAMPLES / "2025-09-12" / name)
    print(f"2025-09-12: {len(seen)} papers from {len(rows)} listing lines; copied to examples/2025-09-12/")


def copy_verbatim(data_dir: Path) -> None:
    """Copy the tiktoken cache files and the recorded arXiv API responses unchanged."""
    tiktoken_target = FIXTURES / "tiktoken"
    tiktoken_target.mkdir(parents=True, exist_ok=True)
    for source in sorted((data_dir / "tiktoken").iterdir()):
        shutil.copyfile(source, tiktoken_target / source.name)

    api_dir = data_dir / "data" / "arxiv" / "api"
    for source in sorted([*api_dir.glob("*.xml"), *api_dir.glob("legacy-*/*.xml")]):
        target = FIXTURES / "api" / source.relative_to(api_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    print("copied tiktoken/ and api/ files")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    data_dir = Path(argv[1])
    if not (data_dir / "data" / "arxiv" / "SOURCES.md").is_file():
        print(f"error: {data_dir}/data/arxiv/SOURCES.md not found. Pass the folder that contains data/arxiv/.", file=sys.stderr)
        return 2
    build_2025_08_07(data_dir)
    build_2025_09_12(data_dir)
    copy_verbatim(data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
